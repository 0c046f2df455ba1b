//! Reference normalisation: row statistics in f64, the rest in f32 exactly as
//! the SIMD variants do it.

use crate::cast::Rounding;

/// `1 / sqrt(mean_sq + eps)` in f32, shared by every variant.
#[inline]
pub(crate) fn inv_rms(mean_sq: f32, eps: f32) -> f32 {
    1.0 / (mean_sq + eps).sqrt()
}

/// One RMSNorm output element (also the SIMD variants' tail).
#[inline]
pub(crate) fn rms_norm_element(x: f32, inv: f32, w: Option<f32>, rounding: Rounding) -> f32 {
    let y = rounding.apply(x * inv);
    match w {
        Some(w) => w * y,
        None => y,
    }
}

/// One LayerNorm output element (also the SIMD variants' tail).
#[inline]
pub(crate) fn layer_norm_element(
    x: f32,
    mean: f32,
    inv: f32,
    w: Option<f32>,
    b: Option<f32>,
) -> f32 {
    let y = (x - mean) * inv;
    let y = match w {
        Some(w) => y * w,
        None => y,
    };
    match b {
        Some(b) => y + b,
        None => y,
    }
}

pub fn rms_norm_rows(
    x: &[f32],
    weight: Option<&[f32]>,
    dim: usize,
    eps: f32,
    rounding: Rounding,
    out: &mut [f32],
) {
    for (row, out_row) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let sum_sq: f64 = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let inv = inv_rms((sum_sq / dim as f64) as f32, eps);
        for (i, (o, &v)) in out_row.iter_mut().zip(row).enumerate() {
            *o = rms_norm_element(v, inv, weight.map(|w| w[i]), rounding);
        }
    }
}

pub fn layer_norm_rows(
    x: &[f32],
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    dim: usize,
    eps: f32,
    out: &mut [f32],
) {
    for (row, out_row) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / dim as f64;
        let var = row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / dim as f64;
        let inv = inv_rms(var as f32, eps);
        let mean = mean as f32;
        for (i, (o, &v)) in out_row.iter_mut().zip(row).enumerate() {
            *o = layer_norm_element(v, mean, inv, weight.map(|w| w[i]), bias.map(|b| b[i]));
        }
    }
}
