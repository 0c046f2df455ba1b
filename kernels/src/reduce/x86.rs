//! AVX2 + FMA reductions over 4 accumulators of 8 lanes. The slice helpers are
//! shared with the norm and softmax kernels.

use std::arch::x86_64::*;

use super::ReduceOp;

/// Sum of the 8 lanes.
///
/// # Safety
/// The CPU must support AVX.
#[inline]
#[target_feature(enable = "avx")]
pub(crate) unsafe fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// Σ x in f32 (32 partial sums).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn sum(x: &[f32]) -> f32 {
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut x32 = x.chunks_exact(32);
    for c in &mut x32 {
        for (a, v) in acc.iter_mut().zip(c.chunks_exact(8)) {
            // SAFETY: `v` holds exactly 8 elements.
            *a = _mm256_add_ps(*a, _mm256_loadu_ps(v.as_ptr()));
        }
    }
    let mut x8 = x32.remainder().chunks_exact(8);
    for v in &mut x8 {
        // SAFETY: `v` holds exactly 8 elements.
        acc[0] = _mm256_add_ps(acc[0], _mm256_loadu_ps(v.as_ptr()));
    }
    let total = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    x8.remainder().iter().fold(hsum(total), |s, &v| s + v)
}

/// Σ a·b in f32 with FMA (32 partial sums), over the common length.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut a32 = a.chunks_exact(32);
    let mut b32 = b.chunks_exact(32);
    for (ca, cb) in (&mut a32).zip(&mut b32) {
        for ((s, va), vb) in acc
            .iter_mut()
            .zip(ca.chunks_exact(8))
            .zip(cb.chunks_exact(8))
        {
            // SAFETY: `va` and `vb` hold exactly 8 elements each.
            *s = _mm256_fmadd_ps(
                _mm256_loadu_ps(va.as_ptr()),
                _mm256_loadu_ps(vb.as_ptr()),
                *s,
            );
        }
    }
    let mut a8 = a32.remainder().chunks_exact(8);
    let mut b8 = b32.remainder().chunks_exact(8);
    for (va, vb) in (&mut a8).zip(&mut b8) {
        // SAFETY: `va` and `vb` hold exactly 8 elements each.
        acc[0] = _mm256_fmadd_ps(
            _mm256_loadu_ps(va.as_ptr()),
            _mm256_loadu_ps(vb.as_ptr()),
            acc[0],
        );
    }
    let total = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let tail = a8.remainder().iter().zip(b8.remainder());
    tail.fold(hsum(total), |s, (&x, &y)| s + x * y)
}

/// Largest (`LARGEST`) or smallest element, or NaN if there is one.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn extremum<const LARGEST: bool>(x: &[f32]) -> f32 {
    let pick = |a: __m256, b: __m256| {
        if LARGEST {
            _mm256_max_ps(a, b)
        } else {
            _mm256_min_ps(a, b)
        }
    };
    let identity = if LARGEST {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    // maxps/minps drop NaNs, so NaN lanes are tracked on the side.
    let mut nan = _mm256_setzero_ps();
    let mut acc = [_mm256_set1_ps(identity); 4];
    let mut x32 = x.chunks_exact(32);
    for c in &mut x32 {
        for (a, v) in acc.iter_mut().zip(c.chunks_exact(8)) {
            // SAFETY: `v` holds exactly 8 elements.
            let v = _mm256_loadu_ps(v.as_ptr());
            nan = _mm256_or_ps(nan, _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
            *a = pick(*a, v);
        }
    }
    let mut x8 = x32.remainder().chunks_exact(8);
    for v in &mut x8 {
        // SAFETY: `v` holds exactly 8 elements.
        let v = _mm256_loadu_ps(v.as_ptr());
        nan = _mm256_or_ps(nan, _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
        acc[0] = pick(acc[0], v);
    }
    let tail = x8.remainder();
    if _mm256_movemask_ps(nan) != 0 || tail.iter().any(|v| v.is_nan()) {
        return f32::NAN;
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds exactly 8 elements.
    _mm256_storeu_ps(
        lanes.as_mut_ptr(),
        pick(pick(acc[0], acc[1]), pick(acc[2], acc[3])),
    );
    let better = |m: f32, v: f32| {
        if (LARGEST && v > m) || (!LARGEST && v < m) {
            v
        } else {
            m
        }
    };
    lanes
        .iter()
        .chain(tail)
        .fold(identity, |m, &v| better(m, v))
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C; `dim > 0`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn reduce_rows(op: ReduceOp, x: &[f32], dim: usize, out: &mut [f32]) {
    for (o, row) in out.iter_mut().zip(x.chunks_exact(dim)) {
        *o = match op {
            ReduceOp::Sum => sum(row),
            ReduceOp::Mean => sum(row) / dim as f32,
            ReduceOp::Max => extremum::<true>(row),
            ReduceOp::Min => extremum::<false>(row),
        };
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn dot_product(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b)
}
