//! Reference activations: each function evaluated in f64 and rounded once to
//! f32, so the reference is correctly rounded in practice and tests measure the
//! SIMD variants' own error. (Inputs that PyTorch computes in f32 inside a
//! formula, like the tanh-GELU argument u, are computed the same way here.)
//!
//! Sigmoid-shaped functions use the forms that stay accurate in relative terms
//! on both tails: `x / (1 + e^(−x))` for silu, and the tanh GELU as
//! `x / (1 + e^(−2u))`, which equals PyTorch's `0.5·x·(1 + tanh(u))` without its
//! cancellation for negative x. Exact GELU uses `erfc` for the same reason.
//! `sqrt`, `rsqrt` (`1/sqrt`), `recip` and `square` are plain f32 operations,
//! which every variant reproduces bit for bit.

use super::erf::erfc_f64;
use super::UnaryOp;

/// √(2/π), the tanh-GELU scale.
pub(crate) const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// The cubic coefficient of the tanh-GELU argument.
pub(crate) const GELU_CUBIC: f32 = 0.044_715;
/// Added to exp(beta) in SnakeBeta so a very negative beta cannot divide by zero.
pub(crate) const SNAKE_EPS: f32 = 1e-9;

/// `f(x)` in f64, rounded to f32.
fn in_f64(x: f32, f: impl Fn(f64) -> f64) -> f32 {
    f(f64::from(x)) as f32
}

pub fn sigmoid(x: f32) -> f32 {
    in_f64(x, |x| 1.0 / (1.0 + (-x).exp()))
}

pub fn silu(x: f32) -> f32 {
    in_f64(x, |x| x / (1.0 + (-x).exp()))
}

/// `0.5·x·(1 + tanh(u))` with `u = √(2/π)·(x + 0.044715·x³)` (u in f32), as
/// `x / (1 + e^(−2u))`.
pub fn gelu_tanh(x: f32) -> f32 {
    let u = f64::from(SQRT_2_OVER_PI * (x + GELU_CUBIC * (x * x * x)));
    in_f64(x, |x| x / (1.0 + (-2.0 * u).exp()))
}

pub fn tanh(x: f32) -> f32 {
    in_f64(x, f64::tanh)
}

pub fn exp(x: f32) -> f32 {
    in_f64(x, f64::exp)
}

pub fn sin(x: f32) -> f32 {
    in_f64(x, f64::sin)
}

pub fn cos(x: f32) -> f32 {
    in_f64(x, f64::cos)
}

pub fn log(x: f32) -> f32 {
    in_f64(x, f64::ln)
}

/// `0.5·x·(1 + erf(x/√2))`, as `0.5·x·erfc(−x/√2)` evaluated in f64, so the
/// result is correctly rounded in practice. (PyTorch first rounds x/√2 to f32,
/// which alone moves the tail by a few ulp, e.g. 2 ulp at x = −3.)
pub fn gelu_erf(x: f32) -> f32 {
    let x = f64::from(x);
    (0.5 * x * erfc_f64(-x * std::f64::consts::FRAC_1_SQRT_2)) as f32
}

/// `max(x, 0)`, with NaN kept.
pub fn relu(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

/// One element of `op`.
pub fn apply(op: UnaryOp, x: f32) -> f32 {
    match op {
        UnaryOp::Silu => silu(x),
        UnaryOp::GeluTanh => gelu_tanh(x),
        UnaryOp::GeluErf => gelu_erf(x),
        UnaryOp::Sigmoid => sigmoid(x),
        UnaryOp::Tanh => tanh(x),
        UnaryOp::Exp => exp(x),
        UnaryOp::Relu => relu(x),
        UnaryOp::Neg => -x,
        UnaryOp::Abs => x.abs(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Rsqrt => 1.0 / x.sqrt(),
        UnaryOp::Recip => 1.0 / x,
        UnaryOp::Square => x * x,
        UnaryOp::Sin => sin(x),
        UnaryOp::Cos => cos(x),
        UnaryOp::Log => log(x),
    }
}

pub fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    // One loop per op so each body is a straight-line function call.
    macro_rules! map {
        ($f:expr) => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = $f(v);
            }
        };
    }
    match op {
        UnaryOp::Silu => map!(silu),
        UnaryOp::GeluTanh => map!(gelu_tanh),
        UnaryOp::GeluErf => map!(gelu_erf),
        UnaryOp::Sigmoid => map!(sigmoid),
        UnaryOp::Exp => map!(exp),
        UnaryOp::Relu => map!(relu),
        _ => map!(|v| apply(op, v)),
    }
}

pub fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = silu(g) * u;
    }
}

/// Per-channel constants of SnakeBeta: `(exp(alpha), 1 / (exp(beta) + 1e-9))`.
/// Every variant computes them here so they agree exactly.
pub(crate) fn snake_constants(alpha: f32, beta: f32) -> (f32, f32) {
    (alpha.exp(), 1.0 / (beta.exp() + SNAKE_EPS))
}

pub fn snake_beta(x: &[f32], len: usize, alpha: &[f32], beta: &[f32], out: &mut [f32]) {
    if len == 0 {
        return;
    }
    for (((xs, os), &a), &b) in x
        .chunks_exact(len)
        .zip(out.chunks_exact_mut(len))
        .zip(alpha)
        .zip(beta)
    {
        let (freq, inv_mag) = snake_constants(a, b);
        for (o, &v) in os.iter_mut().zip(xs) {
            let s = sin(v * freq);
            *o = v + inv_mag * (s * s);
        }
    }
}
