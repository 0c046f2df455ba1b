//! Sinusoidal position embeddings (the reference's `SinusoidsPositionEmbedding`),
//! added to every CNN chunk from position 0 (they restart per chunk).
//!
//! `inv_i = exp(-i·ln(10000)/(C/2 - 1))`, `PE[p] = [sin(p·inv), cos(p·inv)]`
//! (sin half then cos half), computed in f32 as the reference does and cast to
//! the activation dtype before the add.

use crate::backend::Device;
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

const MAX_TIMESCALE: f64 = 10_000.0;

/// The first `length` rows of the table, `[length, channels]` row-major, f32.
pub fn sinusoids(length: usize, channels: usize) -> Result<Vec<f32>> {
    if channels < 4 || channels % 2 != 0 {
        return Err(Error::InvalidArgument(format!(
            "sinusoidal positions need an even channel count >= 4, got {channels}"
        )));
    }
    let half = channels / 2;
    // numpy computes the increment in f64; torch multiplies it into an f32 arange.
    let increment = (MAX_TIMESCALE.ln() / (half - 1) as f64) as f32;
    let inv: Vec<f32> = (0..half).map(|i| (-increment * i as f32).exp()).collect();
    let mut out = Vec::with_capacity(length * channels);
    for p in 0..length {
        let scaled: Vec<f32> = inv.iter().map(|&v| p as f32 * v).collect();
        out.extend(scaled.iter().map(|&s| (s as f64).sin() as f32));
        out.extend(scaled.iter().map(|&s| (s as f64).cos() as f32));
    }
    Ok(out)
}

/// `[length, channels]` positions on `device` in `dtype`.
pub fn position_embeddings(
    length: usize,
    channels: usize,
    device: &Device,
    dtype: DType,
) -> Result<Tensor> {
    let values = sinusoids(length, channels)?;
    Tensor::from_slice(&values, [length, channels], device)?.to_dtype(dtype)
}
