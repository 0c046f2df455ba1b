//! Rotary tables in the `cat(freqs, freqs)` form the rope op takes. 1-D RoPE and
//! the interleaved M-RoPE of Qwen3-Omni differ only in which position row feeds
//! each frequency slot.

use crate::backend::Device;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// cos and sin tables `[positions, head_dim]`.
pub struct RopeTables {
    pub cos: Tensor,
    pub sin: Tensor,
}

fn inv_freq(head_dim: usize, theta: f64) -> Vec<f64> {
    (0..head_dim / 2)
        .map(|j| 1.0 / theta.powf(2.0 * j as f64 / head_dim as f64))
        .collect()
}

fn tables_from(freqs: Vec<f32>, rows: usize, half: usize, device: &Device) -> Result<RopeTables> {
    let mut cos = Vec::with_capacity(rows * half * 2);
    let mut sin = Vec::with_capacity(rows * half * 2);
    for r in freqs.chunks(half.max(1)).take(rows) {
        for _ in 0..2 {
            cos.extend(r.iter().map(|f| f.cos()));
            sin.extend(r.iter().map(|f| f.sin()));
        }
    }
    Ok(RopeTables {
        cos: Tensor::from_slice(&cos, [rows, 2 * half], device)?,
        sin: Tensor::from_slice(&sin, [rows, 2 * half], device)?,
    })
}

/// Plain 1-D RoPE for the given positions. Frequencies are computed in f32 as
/// the reference does (`pos · inv_freq` in f32).
pub fn rope_tables(
    positions: &[f32],
    head_dim: usize,
    theta: f64,
    device: &Device,
) -> Result<RopeTables> {
    let inv: Vec<f32> = inv_freq(head_dim, theta)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let freqs: Vec<f32> = positions
        .iter()
        .flat_map(|&p| inv.iter().map(move |&f| p * f))
        .collect();
    tables_from(freqs, positions.len(), head_dim / 2, device)
}

/// Interleaved M-RoPE: `positions` holds 3 rows (t, h, w) of equal length.
/// Slot j takes its position from row h when `j % 3 == 1 && j < 3·sections[1]`,
/// row w when `j % 3 == 2 && j < 3·sections[2]`, else row t.
pub fn mrope_interleaved_tables(
    positions: [&[f32]; 3],
    sections: &[usize],
    head_dim: usize,
    theta: f64,
    device: &Device,
) -> Result<RopeTables> {
    let n = positions[0].len();
    if positions[1].len() != n || positions[2].len() != n {
        return Err(Error::shape("mrope", "position rows differ in length"));
    }
    if sections.len() != 3 || sections.iter().sum::<usize>() != head_dim / 2 {
        return Err(Error::invalid(format!(
            "mrope sections {sections:?} must sum to {}",
            head_dim / 2
        )));
    }
    let inv: Vec<f32> = inv_freq(head_dim, theta)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let source = |j: usize| -> usize {
        if j % 3 == 1 && j < 3 * sections[1] {
            1
        } else if j % 3 == 2 && j < 3 * sections[2] {
            2
        } else {
            0
        }
    };
    let freqs: Vec<f32> = (0..n)
        .flat_map(|i| {
            inv.iter()
                .enumerate()
                .map(move |(j, &f)| positions[source(j)][i] * f)
        })
        .collect();
    tables_from(freqs, n, head_dim / 2, device)
}
