//! NEON normalisation: f32 statistics over 16 lanes, then 4 lanes per step
//! with the same f32 operations as the reference element functions.

use std::arch::aarch64::*;

use super::scalar::{inv_rms, layer_norm_element, rms_norm_element};
use crate::cast::aarch64::round_through;
use crate::cast::Rounding;
use crate::reduce::aarch64::{dot, sum};

/// 4 values from `s[i..i + 4]`.
///
/// # Safety
/// The CPU must support NEON; `i + 4 <= s.len()`.
#[inline(always)]
unsafe fn load(s: &[f32], i: usize) -> float32x4_t {
    debug_assert!(i + 4 <= s.len());
    vld1q_f32(s.as_ptr().add(i))
}

/// Stores 4 values to `s[i..i + 4]`.
///
/// # Safety
/// The CPU must support NEON; `i + 4 <= s.len()`.
#[inline(always)]
unsafe fn store(s: &mut [f32], i: usize, v: float32x4_t) {
    debug_assert!(i + 4 <= s.len());
    vst1q_f32(s.as_mut_ptr().add(i), v)
}

/// Σ (x − mean)², the second pass of the variance (16 partial sums).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn sum_squared_deviation(x: &[f32], mean: f32) -> f32 {
    let m = vdupq_n_f32(mean);
    let mut acc = [vdupq_n_f32(0.0); 4];
    let mut x16 = x.chunks_exact(16);
    for c in &mut x16 {
        for (a, v) in acc.iter_mut().zip(c.chunks_exact(4)) {
            // SAFETY: `v` holds exactly 4 elements.
            let d = vsubq_f32(vld1q_f32(v.as_ptr()), m);
            *a = vfmaq_f32(*a, d, d);
        }
    }
    let mut x4 = x16.remainder().chunks_exact(4);
    for v in &mut x4 {
        // SAFETY: `v` holds exactly 4 elements.
        let d = vsubq_f32(vld1q_f32(v.as_ptr()), m);
        acc[0] = vfmaq_f32(acc[0], d, d);
    }
    let total = vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3]));
    x4.remainder()
        .iter()
        .fold(vaddvq_f32(total), |s, &v| s + (v - mean) * (v - mean))
}

/// # Safety
/// The CPU must support NEON; `dim > 0`.
#[target_feature(enable = "neon")]
pub(super) unsafe fn rms_norm_rows(
    x: &[f32],
    weight: Option<&[f32]>,
    dim: usize,
    eps: f32,
    rounding: Rounding,
    out: &mut [f32],
) {
    // Slicing here makes every index below `dim` in bounds for all three.
    let weight = weight.map(|w| &w[..dim]);
    let body = dim - dim % 4;
    for (row, out_row) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let inv = inv_rms(dot(row, row) / dim as f32, eps);
        let vinv = vdupq_n_f32(inv);
        for i in (0..body).step_by(4) {
            // SAFETY: i + 4 <= body <= dim, the length of `row`, `out_row` and `w`.
            let y = round_through(vmulq_f32(load(row, i), vinv), rounding);
            let y = match weight {
                Some(w) => vmulq_f32(load(w, i), y),
                None => y,
            };
            store(out_row, i, y);
        }
        for i in body..dim {
            out_row[i] = rms_norm_element(row[i], inv, weight.map(|w| w[i]), rounding);
        }
    }
}

/// # Safety
/// The CPU must support NEON; `dim > 0`.
#[target_feature(enable = "neon")]
pub(super) unsafe fn layer_norm_rows(
    x: &[f32],
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    dim: usize,
    eps: f32,
    out: &mut [f32],
) {
    // Slicing here makes every index below `dim` in bounds for all four.
    let weight = weight.map(|w| &w[..dim]);
    let bias = bias.map(|b| &b[..dim]);
    let body = dim - dim % 4;
    for (row, out_row) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let mean = sum(row) / dim as f32;
        let inv = inv_rms(sum_squared_deviation(row, mean) / dim as f32, eps);
        let (vmean, vinv) = (vdupq_n_f32(mean), vdupq_n_f32(inv));
        for i in (0..body).step_by(4) {
            // SAFETY: i + 4 <= body <= dim, the length of every slice used.
            let mut y = vmulq_f32(vsubq_f32(load(row, i), vmean), vinv);
            if let Some(w) = weight {
                y = vmulq_f32(y, load(w, i));
            }
            if let Some(b) = bias {
                y = vaddq_f32(y, load(b, i));
            }
            store(out_row, i, y);
        }
        for i in body..dim {
            out_row[i] =
                layer_norm_element(row[i], mean, inv, weight.map(|w| w[i]), bias.map(|b| b[i]));
        }
    }
}
