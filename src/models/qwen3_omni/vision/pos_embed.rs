//! The learned absolute position embedding: a square `side × side` table,
//! bilinearly resampled (`align_corners=True`) to each image's patch grid and
//! listed in merge-block order, as transformers' `fast_pos_embed_interpolate`
//! / `get_vision_interpolation_indices_and_weights` do.
//!
//! Taps and weights are computed on the host in f32 with the reference's
//! arithmetic; the weighted sum of the four gathered rows runs on the device
//! (gather, then a batched `[1, 4] · [4, hidden]` matmul per patch) in f32.

use super::grid::VisionGrid;
use crate::error::Result;
use crate::tensor::{DType, Tensor};

/// Bilinear taps along one axis: target `index` in `0..size` over a source axis
/// of `side` entries. Returns `([floor, floor+1] clamped, [w0, w1])`.
fn axis_taps(index: usize, size: usize, side: usize) -> ([usize; 2], [f32; 2]) {
    // src = index · (side-1) / max(size-1, 1), in f32 as torch computes it.
    let src = (index as f32 * (side - 1) as f32) / (size.saturating_sub(1).max(1) as f32);
    let floor = src.floor();
    let mut taps = [0usize; 2];
    let mut weights = [0f32; 2];
    for (o, (tap, weight)) in taps.iter_mut().zip(weights.iter_mut()).enumerate() {
        let raw = floor as i64 + o as i64;
        *tap = raw.clamp(0, side as i64 - 1) as usize;
        let distance = (src - floor - o as f32).abs();
        *weight = (1.0 - distance).max(0.0);
    }
    (taps, weights)
}

/// Per patch (in `grid` order): 4 row indices into the flattened table and
/// their weights, ordered `(r0,c0), (r0,c1), (r1,c0), (r1,c1)`.
pub fn interpolation_taps(grid: &VisionGrid, side: usize) -> (Vec<u32>, Vec<f32>) {
    let positions = grid.patch_positions();
    let mut indices = Vec::with_capacity(positions.len() * 4);
    let mut weights = Vec::with_capacity(positions.len() * 4);
    for (row, col, h, w) in positions {
        let (rt, rw) = axis_taps(row, h, side);
        let (ct, cw) = axis_taps(col, w, side);
        for i in 0..2 {
            for j in 0..2 {
                indices.push((rt[i] * side + ct[j]) as u32);
                weights.push(rw[i] * cw[j]);
            }
        }
    }
    (indices, weights)
}

pub struct PosEmbed {
    /// `[side², hidden]` in f32 (an exact upcast of the stored bf16).
    table: Tensor,
    side: usize,
}

impl PosEmbed {
    /// `table [side², hidden]` as stored.
    pub fn new(table: &Tensor, side: usize) -> Result<PosEmbed> {
        Ok(PosEmbed {
            table: table.to_dtype(DType::F32)?,
            side,
        })
    }

    /// `[num_patches, hidden]` in `dtype` (summed in f32, then cast, as v5 does).
    pub fn forward(&self, grid: &VisionGrid, dtype: DType) -> Result<Tensor> {
        let n = grid.num_patches();
        let device = self.table.device();
        let (indices, weights) = interpolation_taps(grid, self.side);
        let ids = Tensor::from_slice(&indices, [n, 4], device)?;
        let w = Tensor::from_slice(&weights, [n, 1, 4], device)?;
        let rows = self.table.gather_rows(&ids)?; // [n, 4, hidden]
        let hidden = rows.dim(2)?;
        w.matmul(&rows)?.reshape([n, hidden])?.to_dtype(dtype)
    }
}
