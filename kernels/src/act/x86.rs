//! AVX2 + FMA activation loops: 8 lanes per step; the tail goes through the same
//! vector code on a zero-padded copy, so every element sees the same math.

use std::arch::x86_64::*;

use super::x86_math as m;
use super::{scalar, UnaryOp};

/// `out[i] = f(x[i])` over 8-lane chunks plus a padded tail.
///
/// # Safety
/// The CPU must support AVX (call only from AVX2 + FMA functions, where this inlines).
#[inline(always)]
unsafe fn map(x: &[f32], out: &mut [f32], f: impl Fn(__m256) -> __m256) {
    let mut x8 = x.chunks_exact(8);
    let mut o8 = out.chunks_exact_mut(8);
    for (xs, os) in (&mut x8).zip(&mut o8) {
        // SAFETY: `xs` and `os` hold exactly 8 elements each.
        _mm256_storeu_ps(os.as_mut_ptr(), f(_mm256_loadu_ps(xs.as_ptr())));
    }
    let (xr, or) = (x8.remainder(), o8.into_remainder());
    if !xr.is_empty() {
        let mut buf = [0.0f32; 8];
        buf[..xr.len()].copy_from_slice(xr);
        // SAFETY: `buf` holds exactly 8 elements.
        _mm256_storeu_ps(buf.as_mut_ptr(), f(_mm256_loadu_ps(buf.as_ptr())));
        or.copy_from_slice(&buf[..or.len()]);
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    match op {
        UnaryOp::Silu => map(x, out, |v| m::silu(v)),
        UnaryOp::GeluTanh => map(x, out, |v| m::gelu_tanh(v)),
        UnaryOp::GeluErf => map(x, out, |v| m::gelu_erf(v)),
        UnaryOp::Sigmoid => map(x, out, |v| m::sigmoid(v)),
        UnaryOp::Tanh => map(x, out, |v| m::tanh(v)),
        UnaryOp::Exp => map(x, out, |v| m::exp(v)),
        // 0 > v ? 0 : v, which keeps NaN (max returns its second operand then).
        UnaryOp::Relu => map(x, out, |v| _mm256_max_ps(_mm256_setzero_ps(), v)),
        UnaryOp::Neg => map(x, out, |v| m::neg(v)),
        UnaryOp::Abs => map(x, out, |v| m::abs(v)),
        UnaryOp::Sqrt => map(x, out, |v| _mm256_sqrt_ps(v)),
        UnaryOp::Rsqrt => map(x, out, |v| {
            _mm256_div_ps(_mm256_set1_ps(1.0), _mm256_sqrt_ps(v))
        }),
        UnaryOp::Recip => map(x, out, |v| _mm256_div_ps(_mm256_set1_ps(1.0), v)),
        UnaryOp::Square => map(x, out, |v| _mm256_mul_ps(v, v)),
        UnaryOp::Sin => map(x, out, |v| m::sin(v)),
        UnaryOp::Cos => map(x, out, |v| m::cos(v)),
        UnaryOp::Log => scalar::unary(op, x, out),
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let mut g8 = gate.chunks_exact(8);
    let mut u8 = up.chunks_exact(8);
    let mut o8 = out.chunks_exact_mut(8);
    for ((gs, us), os) in (&mut g8).zip(&mut u8).zip(&mut o8) {
        // SAFETY: `gs`, `us` and `os` hold exactly 8 elements each.
        let g = _mm256_loadu_ps(gs.as_ptr());
        let u = _mm256_loadu_ps(us.as_ptr());
        _mm256_storeu_ps(os.as_mut_ptr(), _mm256_mul_ps(m::silu(g), u));
    }
    let (gr, ur, or) = (g8.remainder(), u8.remainder(), o8.into_remainder());
    if !gr.is_empty() {
        let mut g = [0.0f32; 8];
        let mut u = [0.0f32; 8];
        g[..gr.len()].copy_from_slice(gr);
        u[..ur.len()].copy_from_slice(ur);
        // SAFETY: `g` and `u` hold exactly 8 elements each.
        let y = _mm256_mul_ps(
            m::silu(_mm256_loadu_ps(g.as_ptr())),
            _mm256_loadu_ps(u.as_ptr()),
        );
        _mm256_storeu_ps(g.as_mut_ptr(), y);
        or.copy_from_slice(&g[..or.len()]);
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn snake_beta(
    x: &[f32],
    len: usize,
    alpha: &[f32],
    beta: &[f32],
    out: &mut [f32],
) {
    if len == 0 {
        return;
    }
    for (((xs, os), &a), &b) in x
        .chunks_exact(len)
        .zip(out.chunks_exact_mut(len))
        .zip(alpha)
        .zip(beta)
    {
        let (freq, inv_mag) = scalar::snake_constants(a, b);
        let (freq, inv_mag) = (_mm256_set1_ps(freq), _mm256_set1_ps(inv_mag));
        map(xs, os, |v| {
            let s = m::sin(_mm256_mul_ps(v, freq));
            _mm256_fmadd_ps(inv_mag, _mm256_mul_ps(s, s), v)
        });
    }
}
