//! 2-D rotary tables of the ViT (`rot_pos_emb`), in f32 and merge-block order.
//!
//! With `head_dim = d` the frequencies are `inv[i] = θ^(−2i/(d/2))`,
//! `i < d/4`; a patch at `(row, col)` gets angles
//! `f = [row·inv, col·inv]` (d/2) and the tables hold `cos/sin(cat(f, f))`
//! (d), the half-rotation layout `Tensor::rope` takes. The same
//! `(row, col)` repeat for every temporal slice.

use super::grid::VisionGrid;
use crate::backend::Device;
use crate::error::Result;
use crate::nn::RopeTables;
use crate::tensor::Tensor;

/// `inv_freq` as torch computes it in f32: `1 / θ^(arange(0, d/2, 2) / (d/2))`.
pub fn inv_freq(head_dim: usize, theta: f64) -> Vec<f32> {
    let spatial = head_dim / 2;
    (0..spatial)
        .step_by(2)
        .map(|i| 1.0 / (theta as f32).powf(i as f32 / spatial as f32))
        .collect()
}

/// cos and sin tables `[num_patches, head_dim]` (f32) for `grid`.
pub fn rot_pos_emb(
    grid: &VisionGrid,
    head_dim: usize,
    theta: f64,
    device: &Device,
) -> Result<RopeTables> {
    let inv = inv_freq(head_dim, theta);
    let positions = grid.patch_positions();
    let n = positions.len();
    let mut cos = Vec::with_capacity(n * head_dim);
    let mut sin = Vec::with_capacity(n * head_dim);
    let mut angles = Vec::with_capacity(head_dim / 2);
    for (row, col, _, _) in positions {
        angles.clear();
        angles.extend(inv.iter().map(|&f| row as f32 * f));
        angles.extend(inv.iter().map(|&f| col as f32 * f));
        for _ in 0..2 {
            cos.extend(angles.iter().map(|a| a.cos()));
            sin.extend(angles.iter().map(|a| a.sin()));
        }
    }
    Ok(RopeTables {
        cos: Tensor::from_slice(&cos, [n, head_dim], device)?,
        sin: Tensor::from_slice(&sin, [n, head_dim], device)?,
    })
}
