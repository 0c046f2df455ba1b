//! Transposed 1-D convolution as a GEMM plus a scatter (col2im):
//! `C[l_in, c_out_g*kernel] = xᵀ · W_g` gives every (input position, output
//! channel, tap) product summed over input channels; each is then added to output
//! `i*stride + t*dilation - padding`.
//!
//! Parallel over (batch, group) and blocks of output channels; input positions go
//! in chunks so `C` stays small.

use std::ops::Range;

use rayon::prelude::*;

use super::bounds::{in_bounds, tap_offset};
use super::lowered::channel_block;
use super::ConvTranspose1dParams;
use crate::blocking::CacheInfo;
use crate::gemm::gemm_f32;

/// Upper bound on the GEMM result chunk, in floats (4 MiB).
const PRODUCT_BUDGET: usize = 1 << 20;

/// Sizes are validated by the caller; `out` is `[batch, c_out, l_out]`.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv_transpose1d(
    p: &ConvTranspose1dParams,
    batch: usize,
    c_in: usize,
    l_in: usize,
    c_out: usize,
    kernel: usize,
    l_out: usize,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    let (cin_g, cout_g) = (c_in / p.groups, c_out / p.groups);
    if out.is_empty() || cout_g == 0 {
        return;
    }
    let caches = CacheInfo::default();
    let block = channel_block(cout_g, batch * p.groups);
    let w_cols = cout_g * kernel; // columns of W_g viewed as [cin_g, cout_g*kernel]
                                  // For each tap, the input positions whose product lands inside the output.
    let tap_inputs: Vec<_> = (0..kernel)
        .map(|t| in_bounds(l_in, p.stride, tap_offset(t, p.dilation, p.padding), l_out))
        .collect();

    out.par_chunks_mut(cout_g * l_out)
        .enumerate()
        .for_each(|(bg, out_bg)| {
            let (b, g) = (bg / p.groups, bg % p.groups);
            let x = &input[(b * c_in + g * cin_g) * l_in..][..cin_g * l_in];
            let w_g = &weight[g * cin_g * w_cols..][..cin_g * w_cols];
            out_bg
                .par_chunks_mut(block * l_out)
                .enumerate()
                .for_each(|(blk, out_blk)| {
                    let rows = out_blk.len() / l_out;
                    let first_channel = blk * block;
                    match bias {
                        Some(bias) => {
                            let bias = &bias[g * cout_g + first_channel..][..rows];
                            for (row, &b) in out_blk.chunks_exact_mut(l_out).zip(bias) {
                                row.fill(b);
                            }
                        }
                        None => out_blk.fill(0.0),
                    }
                    if cin_g == 0 {
                        return;
                    }
                    let n = rows * kernel; // product columns of this block
                    let chunk = (PRODUCT_BUDGET / n.max(cin_g)).max(16).min(l_in);
                    let mut xt = vec![0.0f32; chunk * cin_g];
                    let mut product = vec![0.0f32; chunk * n];
                    for start in (0..l_in).step_by(chunk) {
                        let m = chunk.min(l_in - start);
                        // xᵀ chunk: [m, cin_g].
                        let xt = &mut xt[..m * cin_g];
                        for (ci, x_c) in x.chunks_exact(l_in).enumerate() {
                            for (i, &v) in x_c[start..start + m].iter().enumerate() {
                                xt[i * cin_g + ci] = v;
                            }
                        }
                        let product = &mut product[..m * n];
                        let w = &w_g[first_channel * kernel..];
                        gemm_f32(
                            &caches, m, n, cin_g, xt, cin_g, w, w_cols, false, product, n,
                        );
                        scatter(p, &tap_inputs, start..start + m, product, l_out, out_blk);
                    }
                });
        });
}

/// col2im: adds `product[i - inputs.start, co*kernel + t]` to
/// `out[co, i*stride + t*dilation - padding]` wherever that lands in the output.
/// Walks `product` row by row (one input position at a time).
fn scatter(
    p: &ConvTranspose1dParams,
    tap_inputs: &[Range<usize>],
    inputs: Range<usize>,
    product: &[f32],
    l_out: usize,
    out: &mut [f32],
) {
    let kernel = tap_inputs.len();
    let rows = out.len() / l_out;
    for (i, product_row) in inputs.zip(product.chunks_exact(rows * kernel)) {
        for (t, valid) in tap_inputs.iter().enumerate() {
            if !valid.contains(&i) {
                continue;
            }
            // Inside the output by construction of `tap_inputs`, so non-negative.
            let o = (i as i128 * p.stride as i128 + tap_offset(t, p.dilation, p.padding)) as usize;
            for (co, out_row) in out.chunks_exact_mut(l_out).enumerate() {
                out_row[o] += product_row[co * kernel + t];
            }
        }
    }
}
