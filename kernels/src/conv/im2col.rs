//! im2col: the input windows of a run of output positions laid out as the columns
//! of a `[taps, positions]` matrix (zeros where a window reads padding), which turns
//! a convolution into one GEMM with the `[c_out, taps]` weight.

use std::ops::Range;

use super::bounds::{in_bounds, tap_offset};

/// Builds column matrices for the input channels of one group.
pub(super) trait Columns: Sync {
    /// Rows of the column matrix: input channels per group × kernel taps.
    fn taps(&self) -> usize;
    /// Output positions (columns of the full matrix).
    fn positions(&self) -> usize;
    /// Writes columns `positions` as a row-major `[taps, positions.len()]` matrix
    /// from `x`, the `[c_in/groups, ...]` input of one group.
    fn fill(&self, x: &[f32], positions: Range<usize>, cols: &mut [f32]);
    /// Whether the column matrix is `x` itself (1×1 kernel, stride 1, no padding),
    /// so no copy is needed.
    fn is_identity(&self) -> bool;
}

/// Copies `x[first + j*stride]` into `dst[j]`.
fn copy_strided(x: &[f32], first: usize, stride: usize, dst: &mut [f32]) {
    if stride == 1 {
        dst.copy_from_slice(&x[first..first + dst.len()]);
    } else {
        for (j, d) in dst.iter_mut().enumerate() {
            *d = x[first + j * stride];
        }
    }
}

/// Fills `dst` (outputs `outs`, a sub-range of `0..n_out`) with the input one tap
/// reads: `x[o*stride + offset]`, or 0 outside `x`.
fn fill_tap_row(
    x: &[f32],
    n_out: usize,
    stride: usize,
    offset: i128,
    outs: Range<usize>,
    dst: &mut [f32],
) {
    let valid = in_bounds(n_out, stride, offset, x.len());
    let lo = valid.start.clamp(outs.start, outs.end);
    let hi = valid.end.clamp(lo, outs.end);
    let (lo_local, hi_local) = (lo - outs.start, hi - outs.start);
    dst[..lo_local].fill(0.0);
    dst[hi_local..].fill(0.0);
    if hi > lo {
        // In bounds by construction of `valid`, so non-negative.
        let first = (lo as i128 * stride as i128 + offset) as usize;
        copy_strided(x, first, stride, &mut dst[lo_local..hi_local]);
    }
}

/// Columns of a 1-D convolution; rows are (channel, tap).
pub(super) struct Im2col1d {
    pub cin_g: usize,
    pub l_in: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding_left: usize,
    pub padding_right: usize,
    pub dilation: usize,
    pub l_out: usize,
}

impl Columns for Im2col1d {
    fn taps(&self) -> usize {
        self.cin_g * self.kernel
    }

    fn positions(&self) -> usize {
        self.l_out
    }

    fn fill(&self, x: &[f32], positions: Range<usize>, cols: &mut [f32]) {
        let n = positions.len();
        for ci in 0..self.cin_g {
            let x_c = &x[ci * self.l_in..][..self.l_in];
            for t in 0..self.kernel {
                let row = &mut cols[(ci * self.kernel + t) * n..][..n];
                let offset = tap_offset(t, self.dilation, self.padding_left);
                fill_tap_row(x_c, self.l_out, self.stride, offset, positions.clone(), row);
            }
        }
    }

    fn is_identity(&self) -> bool {
        self.kernel == 1 && self.stride == 1 && self.padding_left == 0 && self.padding_right == 0
    }
}

/// Columns of a 2-D convolution; rows are (channel, ky, kx), columns the
/// row-major output positions `oy * w_out + ox`.
pub(super) struct Im2col2d {
    pub cin_g: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub h_out: usize,
    pub w_out: usize,
}

impl Columns for Im2col2d {
    fn taps(&self) -> usize {
        self.cin_g * self.kh * self.kw
    }

    fn positions(&self) -> usize {
        self.h_out * self.w_out
    }

    fn fill(&self, x: &[f32], positions: Range<usize>, cols: &mut [f32]) {
        let n = positions.len();
        let plane = self.h * self.w;
        for ci in 0..self.cin_g {
            let x_c = &x[ci * plane..][..plane];
            for ky in 0..self.kh {
                let offset_y = tap_offset(ky, self.dilation.0, self.padding.0);
                for kx in 0..self.kw {
                    let offset_x = tap_offset(kx, self.dilation.1, self.padding.1);
                    let row = &mut cols[((ci * self.kh + ky) * self.kw + kx) * n..][..n];
                    // Walk the positions one output row (oy) at a time.
                    let mut p = positions.start;
                    while p < positions.end {
                        let (oy, ox) = (p / self.w_out, p % self.w_out);
                        let seg_end = positions.end.min((oy + 1) * self.w_out);
                        let dst = &mut row[p - positions.start..seg_end - positions.start];
                        let iy = oy as i128 * self.stride.0 as i128 + offset_y;
                        if (0..self.h as i128).contains(&iy) {
                            let x_row = &x_c[iy as usize * self.w..][..self.w];
                            let outs = ox..ox + dst.len();
                            fill_tap_row(x_row, self.w_out, self.stride.1, offset_x, outs, dst);
                        } else {
                            dst.fill(0.0);
                        }
                        p = seg_end;
                    }
                }
            }
        }
    }

    fn is_identity(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == (1, 1) && self.padding == (0, 0)
    }
}
