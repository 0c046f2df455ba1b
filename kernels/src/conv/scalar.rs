//! Reference convolutions: direct loops over the definitions, one output (or, for
//! the transposed conv, one input) element at a time. The test oracle.
//!
//! Sizes are validated by the entry points in `mod.rs`.

use super::{Conv1dParams, Conv2dParams, ConvTranspose1dParams};

/// `Some(pos - pad)` when that lands inside `0..len` (positions count the padding).
fn tap(pos: usize, pad: usize, len: usize) -> Option<usize> {
    pos.checked_sub(pad).filter(|&i| i < len)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn conv1d(
    p: &Conv1dParams,
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
    for b in 0..batch {
        for co in 0..c_out {
            let g = co / cout_g;
            for o in 0..l_out {
                let mut acc = bias.map_or(0.0, |bias| bias[co]);
                for ci in 0..cin_g {
                    let x = &input[(b * c_in + g * cin_g + ci) * l_in..][..l_in];
                    let w = &weight[(co * cin_g + ci) * kernel..][..kernel];
                    for (t, &wt) in w.iter().enumerate() {
                        if let Some(i) = tap(o * p.stride + t * p.dilation, p.padding_left, l_in) {
                            acc += wt * x[i];
                        }
                    }
                }
                out[(b * c_out + co) * l_out + o] = acc;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn conv2d(
    p: &Conv2dParams,
    batch: usize,
    c_in: usize,
    (h, w): (usize, usize),
    c_out: usize,
    (kh, kw): (usize, usize),
    (h_out, w_out): (usize, usize),
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    let (cin_g, cout_g) = (c_in / p.groups, c_out / p.groups);
    for b in 0..batch {
        for co in 0..c_out {
            let g = co / cout_g;
            for oy in 0..h_out {
                for ox in 0..w_out {
                    let mut acc = bias.map_or(0.0, |bias| bias[co]);
                    for ci in 0..cin_g {
                        let x = &input[(b * c_in + g * cin_g + ci) * h * w..][..h * w];
                        let wk = &weight[(co * cin_g + ci) * kh * kw..][..kh * kw];
                        for ky in 0..kh {
                            let Some(iy) = tap(oy * p.stride.0 + ky * p.dilation.0, p.padding.0, h)
                            else {
                                continue;
                            };
                            for kx in 0..kw {
                                if let Some(ix) =
                                    tap(ox * p.stride.1 + kx * p.dilation.1, p.padding.1, w)
                                {
                                    acc += wk[ky * kw + kx] * x[iy * w + ix];
                                }
                            }
                        }
                    }
                    out[((b * c_out + co) * h_out + oy) * w_out + ox] = acc;
                }
            }
        }
    }
}

/// Scatter form of the definition: input element `i` of channel `ci` adds
/// `w[ci, co, t] * x` to output `i*stride + t*dilation - padding`.
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
    for b in 0..batch {
        for co in 0..c_out {
            out[(b * c_out + co) * l_out..][..l_out].fill(bias.map_or(0.0, |bias| bias[co]));
        }
        for ci in 0..c_in {
            let g = ci / cin_g;
            for i in 0..l_in {
                let x = input[(b * c_in + ci) * l_in + i];
                for co_g in 0..cout_g {
                    let co = g * cout_g + co_g;
                    let w = &weight[(ci * cout_g + co_g) * kernel..][..kernel];
                    for (t, &wt) in w.iter().enumerate() {
                        if let Some(o) = tap(i * p.stride + t * p.dilation, p.padding, l_out) {
                            out[(b * c_out + co) * l_out + o] += wt * x;
                        }
                    }
                }
            }
        }
    }
}
