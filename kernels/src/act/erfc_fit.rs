//! The vectorisable erfc approximation behind the SIMD exact GELU.
//!
//! Two regions, both fitted for this crate with mpmath (Chebyshev interpolation,
//! near-minimax) and checked with f32 Horner evaluation:
//! - |z| < 0.5:  erfc z = 1 − z·P(z²), P of degree 4 (relative fit error 1.5e-9);
//! - |z| ≥ 0.5:  erfc |z| = e^(−z²) · R(t), t = 1/(1 + |z|/2), R of degree 10
//!   fitted to erfcx on [0.5, 10.1] (relative fit error 2.1e-10), and
//!   erfc z = 2 − erfc |z| for negative z.
//!
//! Keeping e^(−z²) as a separate factor is what makes the tail accurate in
//! relative terms (erfc underflows only past z ≈ 10). Simulated f32 evaluation
//! stays within ~4 ulp of the exact erfc for normal results.

/// P for |z| < `ERFC_SMALL_LIMIT`, highest degree first. (Its constant term is
/// the fitted value, close to but not exactly 2/√π.)
#[allow(clippy::approx_constant)]
pub(crate) const ERFC_SMALL: [f32; 5] = [
    4.7190827e-3,
    -2.6757732e-2,
    1.12828314e-1,
    -3.7612608e-1,
    1.1283791,
];
pub(crate) const ERFC_SMALL_LIMIT: f32 = 0.5;

/// R(t), highest degree first.
pub(crate) const ERFC_LARGE: [f32; 11] = [
    4.743681e-3,
    -9.870743e-2,
    4.055329e-1,
    -6.8059754e-1,
    4.6307594e-1,
    -1.3871655e-1,
    2.4649258e-1,
    2.3217475e-1,
    2.8404278e-1,
    2.8194582e-1,
    4.981101e-6,
];

/// erfc z rounds to 0 in f32 for z beyond this (the fit ends here too).
pub(crate) const ERFC_ZERO_BEYOND: f32 = 10.1;
