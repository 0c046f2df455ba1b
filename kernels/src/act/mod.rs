//! Elementwise activations and math functions, SwiGLU and SnakeBeta.
//!
//! All math is f32. The SIMD variants build every transcendental on one
//! Cephes-style `exp` (≈1 ulp) — sigmoid, silu, tanh, gelu — plus a rational
//! `erfc` for exact GELU and Cephes `sin`/`cos`; `log` is scalar everywhere.
//! Measured maximum deviations from the scalar reference are documented (and
//! enforced) in `kernels/tests/act.rs`.

use crate::Isa;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64_math;
mod erf;
mod erfc_fit;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_math;

pub use erf::{erf, erfc};

/// An elementwise function `out[i] = f(x[i])`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `x · sigmoid(x)`.
    Silu,
    /// GELU with the tanh approximation (PyTorch `approximate="tanh"`).
    GeluTanh,
    /// Exact GELU, `0.5·x·(1 + erf(x/√2))`.
    GeluErf,
    Sigmoid,
    Tanh,
    Exp,
    /// `max(x, 0)`; NaN stays NaN.
    Relu,
    Neg,
    Abs,
    Sqrt,
    /// `1 / sqrt(x)`, correctly rounded division (no fast approximation).
    Rsqrt,
    /// `1 / x`.
    Recip,
    Square,
    Sin,
    Cos,
    /// Natural logarithm.
    Log,
}

impl UnaryOp {
    pub const ALL: [UnaryOp; 16] = [
        UnaryOp::Silu,
        UnaryOp::GeluTanh,
        UnaryOp::GeluErf,
        UnaryOp::Sigmoid,
        UnaryOp::Tanh,
        UnaryOp::Exp,
        UnaryOp::Relu,
        UnaryOp::Neg,
        UnaryOp::Abs,
        UnaryOp::Sqrt,
        UnaryOp::Rsqrt,
        UnaryOp::Recip,
        UnaryOp::Square,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Log,
    ];

    /// The reference value for one element.
    pub fn apply(self, x: f32) -> f32 {
        scalar::apply(self, x)
    }
}

/// `out[i] = op(x[i])`.
pub fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    unary_with(Isa::best(), op, x, out)
}

pub fn unary_with(isa: Isa, op: UnaryOp, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "unary {op:?}: x and out lengths differ");
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::unary(op, x, out) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::unary(op, x, out) },
        _ => scalar::unary(op, x, out),
    }
}

macro_rules! unary_fns {
    ($($name:ident, $name_with:ident => $op:ident),* $(,)?) => {$(
        #[doc = concat!("`out[i] = ", stringify!($name), "(x[i])`; see [`UnaryOp::", stringify!($op), "`].")]
        pub fn $name(x: &[f32], out: &mut [f32]) {
            unary(UnaryOp::$op, x, out)
        }

        #[doc = concat!("[`", stringify!($name), "`] with a chosen variant.")]
        pub fn $name_with(isa: Isa, x: &[f32], out: &mut [f32]) {
            unary_with(isa, UnaryOp::$op, x, out)
        }
    )*};
}

unary_fns! {
    silu, silu_with => Silu,
    gelu_tanh, gelu_tanh_with => GeluTanh,
    gelu_erf, gelu_erf_with => GeluErf,
    sigmoid, sigmoid_with => Sigmoid,
    tanh, tanh_with => Tanh,
    exp, exp_with => Exp,
    relu, relu_with => Relu,
    neg, neg_with => Neg,
    abs, abs_with => Abs,
    sqrt, sqrt_with => Sqrt,
    rsqrt, rsqrt_with => Rsqrt,
    recip, recip_with => Recip,
    square, square_with => Square,
    sin, sin_with => Sin,
    cos, cos_with => Cos,
    log, log_with => Log,
}

/// `out[i] = silu(gate[i]) · up[i]`, the SwiGLU MLP gate.
pub fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    swiglu_with(Isa::best(), gate, up, out)
}

pub fn swiglu_with(isa: Isa, gate: &[f32], up: &[f32], out: &mut [f32]) {
    assert!(
        gate.len() == up.len() && gate.len() == out.len(),
        "swiglu: gate, up and out lengths differ ({}, {}, {})",
        gate.len(),
        up.len(),
        out.len()
    );
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::swiglu(gate, up, out) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::swiglu(gate, up, out) },
        _ => scalar::swiglu(gate, up, out),
    }
}

/// SnakeBeta (BigVGAN) on one batch item laid out `[channels, len]`:
/// `y = x + 1/(exp(beta_c) + 1e-9) · sin(x · exp(alpha_c))²`, with `alpha` and
/// `beta` (one per channel) stored in log scale as in the checkpoints.
pub fn snake_beta(
    x: &[f32],
    channels: usize,
    len: usize,
    alpha: &[f32],
    beta: &[f32],
    out: &mut [f32],
) {
    snake_beta_with(Isa::best(), x, channels, len, alpha, beta, out)
}

pub fn snake_beta_with(
    isa: Isa,
    x: &[f32],
    channels: usize,
    len: usize,
    alpha: &[f32],
    beta: &[f32],
    out: &mut [f32],
) {
    let n = channels
        .checked_mul(len)
        .expect("snake_beta: channels × len overflows");
    assert!(
        x.len() == n && out.len() == n,
        "snake_beta: x and out must hold channels × len = {n} values"
    );
    assert!(
        alpha.len() == channels && beta.len() == channels,
        "snake_beta: alpha and beta must hold one value per channel ({channels})"
    );
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::snake_beta(x, len, alpha, beta, out) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::snake_beta(x, len, alpha, beta, out) },
        _ => scalar::snake_beta(x, len, alpha, beta, out),
    }
}
