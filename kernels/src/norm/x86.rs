//! AVX2 + FMA normalisation: f32 statistics over 32 lanes, then 8 lanes per
//! step with the same f32 operations as the reference element functions.

use std::arch::x86_64::*;

use super::scalar::{inv_rms, layer_norm_element, rms_norm_element};
use crate::cast::x86::round_through;
use crate::cast::Rounding;
use crate::reduce::x86::{dot, hsum, sum};

/// 8 values from `s[i..i + 8]`.
///
/// # Safety
/// The CPU must support AVX; `i + 8 <= s.len()`.
#[inline(always)]
unsafe fn load(s: &[f32], i: usize) -> __m256 {
    debug_assert!(i + 8 <= s.len());
    _mm256_loadu_ps(s.as_ptr().add(i))
}

/// Stores 8 values to `s[i..i + 8]`.
///
/// # Safety
/// The CPU must support AVX; `i + 8 <= s.len()`.
#[inline(always)]
unsafe fn store(s: &mut [f32], i: usize, v: __m256) {
    debug_assert!(i + 8 <= s.len());
    _mm256_storeu_ps(s.as_mut_ptr().add(i), v)
}

/// Σ (x − mean)², the second pass of the variance (32 partial sums).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn sum_squared_deviation(x: &[f32], mean: f32) -> f32 {
    let m = _mm256_set1_ps(mean);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut x32 = x.chunks_exact(32);
    for c in &mut x32 {
        for (a, v) in acc.iter_mut().zip(c.chunks_exact(8)) {
            // SAFETY: `v` holds exactly 8 elements.
            let d = _mm256_sub_ps(_mm256_loadu_ps(v.as_ptr()), m);
            *a = _mm256_fmadd_ps(d, d, *a);
        }
    }
    let mut x8 = x32.remainder().chunks_exact(8);
    for v in &mut x8 {
        // SAFETY: `v` holds exactly 8 elements.
        let d = _mm256_sub_ps(_mm256_loadu_ps(v.as_ptr()), m);
        acc[0] = _mm256_fmadd_ps(d, d, acc[0]);
    }
    let total = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    x8.remainder()
        .iter()
        .fold(hsum(total), |s, &v| s + (v - mean) * (v - mean))
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C; `dim > 0`.
#[target_feature(enable = "avx2,fma,f16c")]
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
    let body = dim - dim % 8;
    for (row, out_row) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let inv = inv_rms(dot(row, row) / dim as f32, eps);
        let vinv = _mm256_set1_ps(inv);
        for i in (0..body).step_by(8) {
            // SAFETY: i + 8 <= body <= dim, the length of `row`, `out_row` and `w`.
            let y = round_through(_mm256_mul_ps(load(row, i), vinv), rounding);
            let y = match weight {
                Some(w) => _mm256_mul_ps(load(w, i), y),
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
/// The CPU must support AVX2, FMA and F16C; `dim > 0`.
#[target_feature(enable = "avx2,fma,f16c")]
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
    let body = dim - dim % 8;
    for (row, out_row) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let mean = sum(row) / dim as f32;
        let inv = inv_rms(sum_squared_deviation(row, mean) / dim as f32, eps);
        let (vmean, vinv) = (_mm256_set1_ps(mean), _mm256_set1_ps(inv));
        for i in (0..body).step_by(8) {
            // SAFETY: i + 8 <= body <= dim, the length of every slice used.
            let mut y = _mm256_mul_ps(_mm256_sub_ps(load(row, i), vmean), vinv);
            if let Some(w) = weight {
                y = _mm256_mul_ps(y, load(w, i));
            }
            if let Some(b) = bias {
                y = _mm256_add_ps(y, load(b, i));
            }
            store(out_row, i, y);
        }
        for i in body..dim {
            out_row[i] =
                layer_norm_element(row[i], mean, inv, weight.map(|w| w[i]), bias.map(|b| b[i]));
        }
    }
}
