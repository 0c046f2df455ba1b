//! The patch layout of a batch of images/videos given as `grid_thw`: checks
//! the grids against the merge size, the patch `(row, col)` of every input row
//! in the processor's 2×2-merge-block-major order, and the attention segments
//! (one per temporal slice).

use crate::error::{Error, Result};

/// Validated `grid_thw` rows (temporal, height, width, all in patches).
#[derive(Clone, Debug, PartialEq)]
pub struct VisionGrid {
    grids: Vec<[usize; 3]>,
    merge: usize,
}

impl VisionGrid {
    /// Every dimension positive, `h` and `w` multiples of `merge`.
    pub fn new(grid_thw: &[[usize; 3]], merge: usize) -> Result<VisionGrid> {
        if grid_thw.is_empty() {
            return Err(Error::InvalidArgument(
                "vision: grid_thw is empty (at least one image or video expected)".into(),
            ));
        }
        for (i, &[t, h, w]) in grid_thw.iter().enumerate() {
            if t == 0 || h == 0 || w == 0 {
                return Err(Error::InvalidArgument(format!(
                    "vision: grid_thw[{i}] = [{t}, {h}, {w}] has a zero dimension"
                )));
            }
            if h % merge != 0 || w % merge != 0 {
                return Err(Error::InvalidArgument(format!(
                    "vision: grid_thw[{i}] = [{t}, {h}, {w}]: height and width must be multiples \
                     of spatial_merge_size {merge} (the image processor resizes to multiples of \
                     patch_size·merge)"
                )));
            }
            t.checked_mul(h)
                .and_then(|v| v.checked_mul(w))
                .ok_or_else(|| Error::Overflow(format!("vision: grid_thw[{i}] patch count")))?;
        }
        let g = VisionGrid {
            grids: grid_thw.to_vec(),
            merge,
        };
        g.grids
            .iter()
            .try_fold(0usize, |acc, &[t, h, w]| acc.checked_add(t * h * w))
            .ok_or_else(|| Error::Overflow("vision: total patch count".into()))?;
        Ok(g)
    }

    pub fn grids(&self) -> &[[usize; 3]] {
        &self.grids
    }

    /// Total patches (input rows): `Σ t·h·w`.
    pub fn num_patches(&self) -> usize {
        self.grids.iter().map(|&[t, h, w]| t * h * w).sum()
    }

    /// Merged output tokens: `num_patches / merge²`.
    pub fn num_merged(&self) -> usize {
        self.num_patches() / (self.merge * self.merge)
    }

    /// Per input row: `(row, col, h, w)` — the patch's position in its image's
    /// full-resolution patch grid and that grid's size. Rows are listed
    /// block-major, `((br·(w/m) + bc)·m + ir)·m + ic`, repeated for each
    /// temporal index.
    pub fn patch_positions(&self) -> Vec<(usize, usize, usize, usize)> {
        let m = self.merge;
        let mut out = Vec::with_capacity(self.num_patches());
        for &[t, h, w] in &self.grids {
            for _ in 0..t {
                for br in 0..h / m {
                    for bc in 0..w / m {
                        for ir in 0..m {
                            for ic in 0..m {
                                out.push((br * m + ir, bc * m + ic, h, w));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Attention segment boundaries: `cumsum(repeat(h·w, t))` from 0.
    pub fn cu_seqlens(&self) -> Vec<usize> {
        let mut cu = vec![0];
        let mut acc = 0;
        for &[t, h, w] in &self.grids {
            for _ in 0..t {
                acc += h * w;
                cu.push(acc);
            }
        }
        cu
    }
}
