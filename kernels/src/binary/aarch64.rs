//! NEON binary arithmetic: 4 lanes per step, tails through the same vector op
//! on zero-padded copies (so tails round exactly like the body).

use std::arch::aarch64::*;

use super::BinaryOp;

/// `a > b ? a : b` (or `<` for min) with NaN when either is NaN, matching the
/// reference; NEON's FMAX would order −0 below +0 instead.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn select_or_nan(a: float32x4_t, b: float32x4_t, take_a: uint32x4_t) -> float32x4_t {
    let ordered = vandq_u32(vceqq_f32(a, a), vceqq_f32(b, b));
    vbslq_f32(ordered, vbslq_f32(take_a, a, b), vaddq_f32(a, b))
}

/// Runs `$body` with `$f` bound to the 4-lane form of `$op`, so each op gets
/// its own monomorphised loop.
macro_rules! with_vector_op {
    ($op:expr, $f:ident => $body:expr) => {
        match $op {
            BinaryOp::Add => {
                let $f = |a, b| vaddq_f32(a, b);
                $body
            }
            BinaryOp::Sub => {
                let $f = |a, b| vsubq_f32(a, b);
                $body
            }
            BinaryOp::Mul => {
                let $f = |a, b| vmulq_f32(a, b);
                $body
            }
            BinaryOp::Div => {
                let $f = |a, b| vdivq_f32(a, b);
                $body
            }
            BinaryOp::Max => {
                let $f = |a, b| select_or_nan(a, b, vcgtq_f32(a, b));
                $body
            }
            BinaryOp::Min => {
                let $f = |a, b| select_or_nan(a, b, vcltq_f32(a, b));
                $body
            }
        }
    };
}

/// Loads up to 4 values, zero-padded.
#[inline(always)]
unsafe fn load_partial(src: &[f32]) -> float32x4_t {
    let mut buf = [0.0f32; 4];
    let n = src.len().min(4);
    buf[..n].copy_from_slice(&src[..n]);
    // SAFETY: `buf` holds exactly 4 elements.
    vld1q_f32(buf.as_ptr())
}

/// Stores the first `dst.len()` (≤ 4) lanes.
#[inline(always)]
unsafe fn store_partial(dst: &mut [f32], v: float32x4_t) {
    let mut buf = [0.0f32; 4];
    // SAFETY: `buf` holds exactly 4 elements.
    vst1q_f32(buf.as_mut_ptr(), v);
    let n = dst.len().min(4);
    dst[..n].copy_from_slice(&buf[..n]);
}

/// `out[i] = f(a[i], b[i])`.
#[inline(always)]
unsafe fn zip_map(
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    f: impl Fn(float32x4_t, float32x4_t) -> float32x4_t,
) {
    let mut a4 = a.chunks_exact(4);
    let mut b4 = b.chunks_exact(4);
    let mut o4 = out.chunks_exact_mut(4);
    for ((xa, xb), o) in (&mut a4).zip(&mut b4).zip(&mut o4) {
        // SAFETY: `xa`, `xb` and `o` hold exactly 4 elements each.
        vst1q_f32(
            o.as_mut_ptr(),
            f(vld1q_f32(xa.as_ptr()), vld1q_f32(xb.as_ptr())),
        );
    }
    let o = o4.into_remainder();
    if !o.is_empty() {
        store_partial(
            o,
            f(load_partial(a4.remainder()), load_partial(b4.remainder())),
        );
    }
}

/// `out[i] = f(x[i])`.
#[inline(always)]
unsafe fn map(x: &[f32], out: &mut [f32], f: impl Fn(float32x4_t) -> float32x4_t) {
    let mut x4 = x.chunks_exact(4);
    let mut o4 = out.chunks_exact_mut(4);
    for (xs, o) in (&mut x4).zip(&mut o4) {
        // SAFETY: `xs` and `o` hold exactly 4 elements each.
        vst1q_f32(o.as_mut_ptr(), f(vld1q_f32(xs.as_ptr())));
    }
    let o = o4.into_remainder();
    if !o.is_empty() {
        store_partial(o, f(load_partial(x4.remainder())));
    }
}

/// `acc[i] = f(acc[i], x[i])`.
#[inline(always)]
unsafe fn update(acc: &mut [f32], x: &[f32], f: impl Fn(float32x4_t, float32x4_t) -> float32x4_t) {
    let mut a4 = acc.chunks_exact_mut(4);
    let mut x4 = x.chunks_exact(4);
    for (a, xs) in (&mut a4).zip(&mut x4) {
        // SAFETY: `a` and `xs` hold exactly 4 elements each.
        let v = f(vld1q_f32(a.as_ptr()), vld1q_f32(xs.as_ptr()));
        vst1q_f32(a.as_mut_ptr(), v);
    }
    let a = a4.into_remainder();
    if !a.is_empty() {
        let v = f(load_partial(a), load_partial(x4.remainder()));
        store_partial(a, v);
    }
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn binary(op: BinaryOp, a: &[f32], b: &[f32], out: &mut [f32]) {
    with_vector_op!(op, f => zip_map(a, b, out, f))
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn binary_scalar(op: BinaryOp, a: &[f32], s: f32, out: &mut [f32]) {
    let s = vdupq_n_f32(s);
    with_vector_op!(op, f => map(a, out, |v| f(v, s)))
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn binary_scalar_lhs(op: BinaryOp, s: f32, b: &[f32], out: &mut [f32]) {
    let s = vdupq_n_f32(s);
    with_vector_op!(op, f => map(b, out, |v| f(s, v)))
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn add_inplace(acc: &mut [f32], x: &[f32]) {
    update(acc, x, |a, v| vaddq_f32(a, v))
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn axpy(acc: &mut [f32], alpha: f32, x: &[f32]) {
    let alpha = vdupq_n_f32(alpha);
    update(acc, x, |a, v| vfmaq_f32(a, alpha, v))
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn scale_inplace(x: &mut [f32], s: f32) {
    let s = vdupq_n_f32(s);
    let mut x4 = x.chunks_exact_mut(4);
    for c in &mut x4 {
        // SAFETY: `c` holds exactly 4 elements.
        vst1q_f32(c.as_mut_ptr(), vmulq_f32(vld1q_f32(c.as_ptr()), s));
    }
    let c = x4.into_remainder();
    if !c.is_empty() {
        let v = vmulq_f32(load_partial(c), s);
        store_partial(c, v);
    }
}
