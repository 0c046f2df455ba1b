//! The error function and its complement for f32, correctly rounded except in
//! rare near-ties: both are evaluated in f64, to about 1e-15 relative, and
//! rounded once. std has no f32 `erf`, and this is the reference the SIMD
//! `gelu_erf` is tested against, so accuracy beats speed here.
//!
//! - |x| < 2.5: the series with only positive terms (Abramowitz–Stegun 7.1.6),
//!   `erf(x) = 2/√π · e^(−x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·…·(2n+1))`, which has no
//!   cancellation; `erfc = 1 − erf` then keeps ~1e-12 relative at x = 2.5.
//! - |x| ≥ 2.5: the continued fraction (A&S 7.1.14)
//!   `erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))`,
//!   which reaches f64 precision within 40 levels there.

use std::f64::consts::FRAC_2_SQRT_PI;

const SERIES_LIMIT: f64 = 2.5;
const FRACTION_DEPTH: usize = 40;

/// erf(x) for x ≥ 0 by the positive series.
fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    let mut n = 0.0;
    while term > sum * 1e-17 {
        n += 1.0;
        term *= 2.0 * x2 / (2.0 * n + 1.0);
        sum += term;
    }
    FRAC_2_SQRT_PI * (-x2).exp() * sum
}

/// erfc(x) for x ≥ 2.5 by the continued fraction, evaluated bottom-up.
fn erfc_fraction(x: f64) -> f64 {
    let mut tail = 0.0;
    for k in (1..=FRACTION_DEPTH).rev() {
        tail = (k as f64 * 0.5) / (x + tail);
    }
    0.5 * FRAC_2_SQRT_PI * (-x * x).exp() / (x + tail)
}

/// The error function, `2/√π ∫₀ˣ e^(−t²) dt`.
pub fn erf(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let ax = f64::from(x.abs());
    let magnitude = if ax < SERIES_LIMIT {
        erf_series(ax)
    } else {
        1.0 - erfc_fraction(ax)
    };
    (magnitude as f32).copysign(x)
}

/// The complementary error function, `1 − erf(x)`, accurate in relative terms
/// also where it is tiny (large positive x).
pub fn erfc(x: f32) -> f32 {
    erfc_f64(f64::from(x)) as f32
}

/// erfc in f64 (to ~1e-15 relative over the f32 range of results).
pub(crate) fn erfc_f64(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x >= SERIES_LIMIT {
        erfc_fraction(x)
    } else if x > -SERIES_LIMIT {
        1.0 - erf_series(x.abs()).copysign(x)
    } else {
        2.0 - erfc_fraction(-x)
    }
}
