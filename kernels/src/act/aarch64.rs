//! NEON activation loops: 4 lanes per step; the tail goes through the same
//! vector code on a zero-padded copy, so every element sees the same math.

use std::arch::aarch64::*;

use super::aarch64_math as m;
use super::{scalar, UnaryOp};

/// `out[i] = f(x[i])` over 4-lane chunks plus a padded tail.
///
/// # Safety
/// The CPU must support NEON.
#[inline(always)]
unsafe fn map(x: &[f32], out: &mut [f32], f: impl Fn(float32x4_t) -> float32x4_t) {
    let mut x4 = x.chunks_exact(4);
    let mut o4 = out.chunks_exact_mut(4);
    for (xs, os) in (&mut x4).zip(&mut o4) {
        // SAFETY: `xs` and `os` hold exactly 4 elements each.
        vst1q_f32(os.as_mut_ptr(), f(vld1q_f32(xs.as_ptr())));
    }
    let (xr, or) = (x4.remainder(), o4.into_remainder());
    if !xr.is_empty() {
        let mut buf = [0.0f32; 4];
        buf[..xr.len()].copy_from_slice(xr);
        // SAFETY: `buf` holds exactly 4 elements.
        vst1q_f32(buf.as_mut_ptr(), f(vld1q_f32(buf.as_ptr())));
        or.copy_from_slice(&buf[..or.len()]);
    }
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    match op {
        UnaryOp::Silu => map(x, out, |v| m::silu(v)),
        UnaryOp::GeluTanh => map(x, out, |v| m::gelu_tanh(v)),
        UnaryOp::GeluErf => map(x, out, |v| m::gelu_erf(v)),
        UnaryOp::Sigmoid => map(x, out, |v| m::sigmoid(v)),
        UnaryOp::Tanh => map(x, out, |v| m::tanh(v)),
        UnaryOp::Exp => map(x, out, |v| m::exp(v)),
        // x < 0 ? 0 : x, which keeps NaN and −0 like the reference.
        UnaryOp::Relu => map(x, out, |v| {
            vbslq_f32(vcltq_f32(v, vdupq_n_f32(0.0)), vdupq_n_f32(0.0), v)
        }),
        UnaryOp::Neg => map(x, out, |v| vnegq_f32(v)),
        UnaryOp::Abs => map(x, out, |v| vabsq_f32(v)),
        UnaryOp::Sqrt => map(x, out, |v| vsqrtq_f32(v)),
        UnaryOp::Rsqrt => map(x, out, |v| vdivq_f32(vdupq_n_f32(1.0), vsqrtq_f32(v))),
        UnaryOp::Recip => map(x, out, |v| vdivq_f32(vdupq_n_f32(1.0), v)),
        UnaryOp::Square => map(x, out, |v| vmulq_f32(v, v)),
        UnaryOp::Sin => map(x, out, |v| m::sin(v)),
        UnaryOp::Cos => map(x, out, |v| m::cos(v)),
        UnaryOp::Log => scalar::unary(op, x, out),
    }
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let mut g4 = gate.chunks_exact(4);
    let mut u4 = up.chunks_exact(4);
    let mut o4 = out.chunks_exact_mut(4);
    for ((gs, us), os) in (&mut g4).zip(&mut u4).zip(&mut o4) {
        // SAFETY: `gs`, `us` and `os` hold exactly 4 elements each.
        let g = vld1q_f32(gs.as_ptr());
        let u = vld1q_f32(us.as_ptr());
        vst1q_f32(os.as_mut_ptr(), vmulq_f32(m::silu(g), u));
    }
    let (gr, ur, or) = (g4.remainder(), u4.remainder(), o4.into_remainder());
    if !gr.is_empty() {
        let mut g = [0.0f32; 4];
        let mut u = [0.0f32; 4];
        g[..gr.len()].copy_from_slice(gr);
        u[..ur.len()].copy_from_slice(ur);
        // SAFETY: `g` and `u` hold exactly 4 elements each.
        let y = vmulq_f32(m::silu(vld1q_f32(g.as_ptr())), vld1q_f32(u.as_ptr()));
        vst1q_f32(g.as_mut_ptr(), y);
        or.copy_from_slice(&g[..or.len()]);
    }
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
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
        let (freq, inv_mag) = (vdupq_n_f32(freq), vdupq_n_f32(inv_mag));
        map(xs, os, |v| {
            let s = m::sin(vmulq_f32(v, freq));
            vfmaq_f32(v, inv_mag, vmulq_f32(s, s))
        });
    }
}
