//! AVX2 binary arithmetic: 8 lanes per step, tails through the same vector op
//! on zero-padded copies (so tails round exactly like the body).

use std::arch::x86_64::*;

use super::BinaryOp;

/// max/min with NaN propagation: `maxps` alone returns its second operand when
/// either is NaN, so NaN lanes are replaced by `a + b` (a NaN), as in the reference.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn propagate_nan(a: __m256, b: __m256, ordered_result: __m256) -> __m256 {
    let unordered = _mm256_cmp_ps::<_CMP_UNORD_Q>(a, b);
    _mm256_blendv_ps(ordered_result, _mm256_add_ps(a, b), unordered)
}

/// Runs `$body` with `$f` bound to the 8-lane form of `$op`, so each op gets
/// its own monomorphised loop.
macro_rules! with_vector_op {
    ($op:expr, $f:ident => $body:expr) => {
        match $op {
            BinaryOp::Add => {
                let $f = |a, b| _mm256_add_ps(a, b);
                $body
            }
            BinaryOp::Sub => {
                let $f = |a, b| _mm256_sub_ps(a, b);
                $body
            }
            BinaryOp::Mul => {
                let $f = |a, b| _mm256_mul_ps(a, b);
                $body
            }
            BinaryOp::Div => {
                let $f = |a, b| _mm256_div_ps(a, b);
                $body
            }
            BinaryOp::Max => {
                let $f = |a, b| propagate_nan(a, b, _mm256_max_ps(a, b));
                $body
            }
            BinaryOp::Min => {
                let $f = |a, b| propagate_nan(a, b, _mm256_min_ps(a, b));
                $body
            }
        }
    };
}

/// Loads up to 8 values, zero-padded.
#[inline(always)]
unsafe fn load_partial(src: &[f32]) -> __m256 {
    let mut buf = [0.0f32; 8];
    let n = src.len().min(8);
    buf[..n].copy_from_slice(&src[..n]);
    // SAFETY: `buf` holds exactly 8 elements.
    _mm256_loadu_ps(buf.as_ptr())
}

/// Stores the first `dst.len()` (≤ 8) lanes.
#[inline(always)]
unsafe fn store_partial(dst: &mut [f32], v: __m256) {
    let mut buf = [0.0f32; 8];
    // SAFETY: `buf` holds exactly 8 elements.
    _mm256_storeu_ps(buf.as_mut_ptr(), v);
    let n = dst.len().min(8);
    dst[..n].copy_from_slice(&buf[..n]);
}

/// `out[i] = f(a[i], b[i])`.
#[inline(always)]
unsafe fn zip_map(a: &[f32], b: &[f32], out: &mut [f32], f: impl Fn(__m256, __m256) -> __m256) {
    let mut a8 = a.chunks_exact(8);
    let mut b8 = b.chunks_exact(8);
    let mut o8 = out.chunks_exact_mut(8);
    for ((xa, xb), o) in (&mut a8).zip(&mut b8).zip(&mut o8) {
        // SAFETY: `xa`, `xb` and `o` hold exactly 8 elements each.
        let v = f(_mm256_loadu_ps(xa.as_ptr()), _mm256_loadu_ps(xb.as_ptr()));
        _mm256_storeu_ps(o.as_mut_ptr(), v);
    }
    let o = o8.into_remainder();
    if !o.is_empty() {
        store_partial(
            o,
            f(load_partial(a8.remainder()), load_partial(b8.remainder())),
        );
    }
}

/// `out[i] = f(x[i])`.
#[inline(always)]
unsafe fn map(x: &[f32], out: &mut [f32], f: impl Fn(__m256) -> __m256) {
    let mut x8 = x.chunks_exact(8);
    let mut o8 = out.chunks_exact_mut(8);
    for (xs, o) in (&mut x8).zip(&mut o8) {
        // SAFETY: `xs` and `o` hold exactly 8 elements each.
        _mm256_storeu_ps(o.as_mut_ptr(), f(_mm256_loadu_ps(xs.as_ptr())));
    }
    let o = o8.into_remainder();
    if !o.is_empty() {
        store_partial(o, f(load_partial(x8.remainder())));
    }
}

/// `acc[i] = f(acc[i], x[i])`.
#[inline(always)]
unsafe fn update(acc: &mut [f32], x: &[f32], f: impl Fn(__m256, __m256) -> __m256) {
    let mut a8 = acc.chunks_exact_mut(8);
    let mut x8 = x.chunks_exact(8);
    for (a, xs) in (&mut a8).zip(&mut x8) {
        // SAFETY: `a` and `xs` hold exactly 8 elements each.
        let v = f(_mm256_loadu_ps(a.as_ptr()), _mm256_loadu_ps(xs.as_ptr()));
        _mm256_storeu_ps(a.as_mut_ptr(), v);
    }
    let a = a8.into_remainder();
    if !a.is_empty() {
        let v = f(load_partial(a), load_partial(x8.remainder()));
        store_partial(a, v);
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn binary(op: BinaryOp, a: &[f32], b: &[f32], out: &mut [f32]) {
    with_vector_op!(op, f => zip_map(a, b, out, f))
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn binary_scalar(op: BinaryOp, a: &[f32], s: f32, out: &mut [f32]) {
    let s = _mm256_set1_ps(s);
    with_vector_op!(op, f => map(a, out, |v| f(v, s)))
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn binary_scalar_lhs(op: BinaryOp, s: f32, b: &[f32], out: &mut [f32]) {
    let s = _mm256_set1_ps(s);
    with_vector_op!(op, f => map(b, out, |v| f(s, v)))
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn add_inplace(acc: &mut [f32], x: &[f32]) {
    update(acc, x, |a, v| _mm256_add_ps(a, v))
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn axpy(acc: &mut [f32], alpha: f32, x: &[f32]) {
    let alpha = _mm256_set1_ps(alpha);
    update(acc, x, |a, v| _mm256_fmadd_ps(alpha, v, a))
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn scale_inplace(x: &mut [f32], s: f32) {
    let s = _mm256_set1_ps(s);
    let mut x8 = x.chunks_exact_mut(8);
    for c in &mut x8 {
        // SAFETY: `c` holds exactly 8 elements.
        _mm256_storeu_ps(
            c.as_mut_ptr(),
            _mm256_mul_ps(_mm256_loadu_ps(c.as_ptr()), s),
        );
    }
    let c = x8.into_remainder();
    if !c.is_empty() {
        let v = _mm256_mul_ps(load_partial(c), s);
        store_partial(c, v);
    }
}
