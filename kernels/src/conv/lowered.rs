//! A convolution lowered to GEMMs: for each (batch, group),
//! `out[c_out/groups, positions] = W_g[c_out/groups, taps] · cols[taps, positions]`,
//! with `cols` built by im2col a chunk of positions at a time (bounded scratch).
//!
//! Parallel over (batch, group) and, when those are too few for the pool, over
//! blocks of output channels (each block builds its own columns: cheap next to
//! its GEMM).

use rayon::prelude::*;

use super::im2col::Columns;
use crate::blocking::CacheInfo;
use crate::gemm::gemm_f32;

/// Upper bound on one column chunk, in floats (4 MiB).
const COLUMN_BUDGET: usize = 1 << 20;
/// Output channels below which splitting a GEMM further stops paying.
const MIN_BLOCK_CHANNELS: usize = 16;

pub(super) struct LoweredConv<'a, C> {
    pub batch: usize,
    pub groups: usize,
    pub c_in: usize,
    /// Input elements per channel (`l_in`, or `h*w`).
    pub in_len: usize,
    pub c_out: usize,
    pub columns: C,
    /// `[c_out, taps]` row-major.
    pub weight: &'a [f32],
    pub bias: Option<&'a [f32]>,
}

/// Output channels per parallel block: one block per (batch, group) when those
/// already give every thread about two tasks.
pub(super) fn channel_block(c_out_g: usize, outer_tasks: usize) -> usize {
    let blocks = (2 * rayon::current_num_threads()).div_ceil(outer_tasks.max(1));
    c_out_g
        .div_ceil(blocks)
        .max(MIN_BLOCK_CHANNELS)
        .min(c_out_g)
        .max(1)
}

/// Sizes are validated by the caller; `out` is `[batch, c_out, positions]`.
pub(super) fn run<C: Columns>(conv: &LoweredConv<C>, input: &[f32], out: &mut [f32]) {
    let positions = conv.columns.positions();
    let taps = conv.columns.taps();
    let (cin_g, cout_g) = (conv.c_in / conv.groups, conv.c_out / conv.groups);
    if out.is_empty() || cout_g == 0 {
        return;
    }
    let caches = CacheInfo::default();
    let block = channel_block(cout_g, conv.batch * conv.groups);
    let chunk = (COLUMN_BUDGET / taps.max(1)).max(64).min(positions);

    out.par_chunks_mut(cout_g * positions)
        .enumerate()
        .for_each(|(bg, out_bg)| {
            let (b, g) = (bg / conv.groups, bg % conv.groups);
            let x = &input[(b * conv.c_in + g * cin_g) * conv.in_len..][..cin_g * conv.in_len];
            let w_g = &conv.weight[g * cout_g * taps..][..cout_g * taps];
            out_bg
                .par_chunks_mut(block * positions)
                .enumerate()
                .for_each(|(blk, out_blk)| {
                    let rows = out_blk.len() / positions;
                    let first_channel = blk * block;
                    let w = &w_g[first_channel * taps..][..rows * taps];
                    if taps == 0 {
                        out_blk.fill(0.0);
                    } else if conv.columns.is_identity() {
                        gemm_f32(
                            &caches, rows, positions, taps, w, taps, x, positions, false, out_blk,
                            positions,
                        );
                    } else {
                        let mut cols = vec![0.0f32; taps * chunk];
                        for start in (0..positions).step_by(chunk) {
                            let n = chunk.min(positions - start);
                            let cols = &mut cols[..taps * n];
                            conv.columns.fill(x, start..start + n, cols);
                            gemm_f32(
                                &caches,
                                rows,
                                n,
                                taps,
                                w,
                                taps,
                                cols,
                                n,
                                false,
                                &mut out_blk[start..],
                                positions,
                            );
                        }
                    }
                    if let Some(bias) = conv.bias {
                        let bias = &bias[g * cout_g + first_channel..][..rows];
                        for (row, &b) in out_blk.chunks_exact_mut(positions).zip(bias) {
                            row.iter_mut().for_each(|o| *o += b);
                        }
                    }
                });
        });
}
