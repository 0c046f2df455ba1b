//! NEON reductions over 4 accumulators of 4 lanes. The slice helpers are
//! shared with the norm and softmax kernels.

use std::arch::aarch64::*;

use super::ReduceOp;

/// Σ x in f32 (16 partial sums).
///
/// # Safety
/// The CPU must support NEON.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn sum(x: &[f32]) -> f32 {
    let mut acc = [vdupq_n_f32(0.0); 4];
    let mut x16 = x.chunks_exact(16);
    for c in &mut x16 {
        for (a, v) in acc.iter_mut().zip(c.chunks_exact(4)) {
            // SAFETY: `v` holds exactly 4 elements.
            *a = vaddq_f32(*a, vld1q_f32(v.as_ptr()));
        }
    }
    let mut x4 = x16.remainder().chunks_exact(4);
    for v in &mut x4 {
        // SAFETY: `v` holds exactly 4 elements.
        acc[0] = vaddq_f32(acc[0], vld1q_f32(v.as_ptr()));
    }
    let total = vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3]));
    x4.remainder().iter().fold(vaddvq_f32(total), |s, &v| s + v)
}

/// Σ a·b in f32 with FMA (16 partial sums), over the common length.
///
/// # Safety
/// The CPU must support NEON.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [vdupq_n_f32(0.0); 4];
    let mut a16 = a.chunks_exact(16);
    let mut b16 = b.chunks_exact(16);
    for (ca, cb) in (&mut a16).zip(&mut b16) {
        for ((s, va), vb) in acc
            .iter_mut()
            .zip(ca.chunks_exact(4))
            .zip(cb.chunks_exact(4))
        {
            // SAFETY: `va` and `vb` hold exactly 4 elements each.
            *s = vfmaq_f32(*s, vld1q_f32(va.as_ptr()), vld1q_f32(vb.as_ptr()));
        }
    }
    let mut a4 = a16.remainder().chunks_exact(4);
    let mut b4 = b16.remainder().chunks_exact(4);
    for (va, vb) in (&mut a4).zip(&mut b4) {
        // SAFETY: `va` and `vb` hold exactly 4 elements each.
        acc[0] = vfmaq_f32(acc[0], vld1q_f32(va.as_ptr()), vld1q_f32(vb.as_ptr()));
    }
    let total = vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3]));
    let tail = a4.remainder().iter().zip(b4.remainder());
    tail.fold(vaddvq_f32(total), |s, (&x, &y)| s + x * y)
}

/// Largest (`LARGEST`) or smallest element, or NaN if there is one
/// (FMAX/FMIN and their across-lane forms propagate NaN).
///
/// # Safety
/// The CPU must support NEON.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn extremum<const LARGEST: bool>(x: &[f32]) -> f32 {
    let pick = |a, b| {
        if LARGEST {
            vmaxq_f32(a, b)
        } else {
            vminq_f32(a, b)
        }
    };
    let identity = if LARGEST {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    let mut acc = [vdupq_n_f32(identity); 4];
    let mut x16 = x.chunks_exact(16);
    for c in &mut x16 {
        for (a, v) in acc.iter_mut().zip(c.chunks_exact(4)) {
            // SAFETY: `v` holds exactly 4 elements.
            *a = pick(*a, vld1q_f32(v.as_ptr()));
        }
    }
    let mut x4 = x16.remainder().chunks_exact(4);
    for v in &mut x4 {
        // SAFETY: `v` holds exactly 4 elements.
        acc[0] = pick(acc[0], vld1q_f32(v.as_ptr()));
    }
    let all = pick(pick(acc[0], acc[1]), pick(acc[2], acc[3]));
    let lanes = if LARGEST {
        vmaxvq_f32(all)
    } else {
        vminvq_f32(all)
    };
    let tail = x4.remainder();
    if lanes.is_nan() || tail.iter().any(|v| v.is_nan()) {
        return f32::NAN;
    }
    let better = |m: f32, v: f32| {
        if (LARGEST && v > m) || (!LARGEST && v < m) {
            v
        } else {
            m
        }
    };
    tail.iter().fold(lanes, |m, &v| better(m, v))
}

/// # Safety
/// The CPU must support NEON; `dim > 0`.
#[target_feature(enable = "neon")]
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
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn dot_product(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b)
}
