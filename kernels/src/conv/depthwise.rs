//! Depthwise 1-D convolution (`groups == c_in == c_out`, e.g. the k=7 dwconv of
//! code2wav's ConvNeXt blocks): every channel convolved with its own kernel,
//! directly. A GEMM would have a single row per group, so there is nothing to
//! share; vectorising along the output positions is what pays.

use rayon::prelude::*;

use super::bounds::{in_bounds, tap_offset};
use super::Conv1dParams;

/// A variant's stride-1 interior loop:
/// `out[o] = bias + Σ_t w[t] · x[o + t*dilation]`, where every tap is inside `x`
/// (the kernel checks `x.len() >= out.len() + (w.len()-1)*dilation`).
pub(super) type RowKernel =
    unsafe fn(x: &[f32], w: &[f32], dilation: usize, bias: f32, out: &mut [f32]);

/// The portable interior loop (any stride): `out[j] = bias + Σ_t w[t]·x[j*stride + t*dilation]`.
fn interior_portable(
    x: &[f32],
    w: &[f32],
    stride: usize,
    dilation: usize,
    bias: f32,
    out: &mut [f32],
) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = bias
            + w.iter()
                .enumerate()
                .map(|(t, &wt)| wt * x[j * stride + t * dilation])
                .sum::<f32>();
    }
}

/// Sizes are validated by the caller (`c` channels, `out` is `[batch, c, l_out]`).
///
/// # Safety
/// `row_kernel` must be runnable on this CPU.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn conv1d(
    p: &Conv1dParams,
    c: usize,
    l_in: usize,
    kernel: usize,
    l_out: usize,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    row_kernel: RowKernel,
) {
    if out.is_empty() {
        return;
    }
    // Outputs whose first and last taps (hence all taps) read inside the input.
    let first_tap = in_bounds(
        l_out,
        p.stride,
        tap_offset(0, p.dilation, p.padding_left),
        l_in,
    );
    let last_tap = in_bounds(
        l_out,
        p.stride,
        tap_offset(kernel - 1, p.dilation, p.padding_left),
        l_in,
    );
    let interior_start = first_tap.start.max(last_tap.start);
    let interior = interior_start..first_tap.end.min(last_tap.end).max(interior_start);

    let min_rows = (4096 / l_out).max(1);
    out.par_chunks_mut(l_out)
        .enumerate()
        .with_min_len(min_rows)
        .for_each(|(row, out_row)| {
            let ch = row % c;
            let x = &input[row * l_in..][..l_in];
            let w = &weight[ch * kernel..][..kernel];
            let b = bias.map_or(0.0, |bias| bias[ch]);

            // Borders: taps may fall into the padding.
            for o in (0..interior.start).chain(interior.end..l_out) {
                let mut acc = b;
                for (t, &wt) in w.iter().enumerate() {
                    let pos =
                        o as i128 * p.stride as i128 + tap_offset(t, p.dilation, p.padding_left);
                    if (0..l_in as i128).contains(&pos) {
                        acc += wt * x[pos as usize];
                    }
                }
                out_row[o] = acc;
            }
            if interior.is_empty() {
                return;
            }
            // Non-negative: the first tap of interior outputs is inside the input.
            let x_start = (interior.start * p.stride) - p.padding_left;
            let out_interior = &mut out_row[interior.clone()];
            if p.stride == 1 {
                // SAFETY: the caller guarantees `row_kernel` runs on this CPU; it checks
                // its slice lengths itself.
                unsafe { row_kernel(&x[x_start..], w, p.dilation, b, out_interior) };
            } else {
                interior_portable(&x[x_start..], w, p.stride, p.dilation, b, out_interior);
            }
        });
}

/// Checks the precondition shared by every `RowKernel`.
pub(super) fn check_row(x: &[f32], w: &[f32], dilation: usize, out: &[f32]) {
    let span = (w.len().max(1) - 1)
        .checked_mul(dilation)
        .and_then(|s| s.checked_add(out.len()));
    assert!(
        span.is_some_and(|span| span <= x.len()),
        "depthwise row reads past its input"
    );
}
