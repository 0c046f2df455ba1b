//! Rescale + normalise + patchify, as `Qwen2VLImageProcessor.patchify` /
//! `Qwen2VLVideoProcessor.patchify` (v5) lay out `pixel_values`.
//!
//! Normalisation is the fused form the torchvision backend uses:
//! `mean' = f32(mean) * f32(1 / rescale_factor)`, same for std, then
//! `(f32(pixel) - mean') / std'` in f32 (for mean = std = 0.5: `(p - 127.5) / 127.5`).
//!
//! Rows: one per 16x16 patch, ordered `(t, block_row, block_col, in_row, in_col)`
//! with 2x2 merge blocks (qwen3-omni.md 6.1 / 6.5). Columns: `(channel, tp, y, x)`,
//! `3 * temporal_patch_size * patch * patch` values. The frame count is padded to
//! a multiple of `temporal_patch_size` by repeating the last frame (an image is
//! one frame, so it is repeated `temporal_patch_size` times).

use crate::error::{Error, Result};

/// Geometry and normalisation of the patch layout.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchSpec {
    pub patch_size: usize,
    pub temporal_patch_size: usize,
    pub merge_size: usize,
    pub image_mean: [f32; 3],
    pub image_std: [f32; 3],
    /// `None` = no rescale (`do_rescale = false`).
    pub rescale_factor: Option<f64>,
    pub do_normalize: bool,
}

/// `pixel_values` of one image or video: `rows x cols` f32, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct PixelValues {
    pub data: Vec<f32>,
    pub rows: usize,
    pub cols: usize,
    /// `[t, h, w]` in patches (`image_grid_thw` / `video_grid_thw`).
    pub grid_thw: [usize; 3],
}

impl PixelValues {
    /// Number of LLM placeholder tokens: `t * h * w / merge^2`.
    pub fn num_tokens(&self, merge_size: usize) -> usize {
        self.grid_thw.iter().product::<usize>() / (merge_size * merge_size)
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

impl PatchSpec {
    /// Per-channel `(mean', std')` of the fused rescale + normalise.
    fn fused(&self) -> ([f32; 3], [f32; 3], f32) {
        match (self.rescale_factor, self.do_normalize) {
            (Some(r), true) => {
                let inv = (1.0 / r) as f32;
                let m = self.image_mean.map(|v| v * inv);
                let s = self.image_std.map(|v| v * inv);
                (m, s, 1.0)
            }
            (Some(r), false) => ([0.0; 3], [1.0; 3], r as f32),
            (None, true) => (self.image_mean, self.image_std, 1.0),
            (None, false) => ([0.0; 3], [1.0; 3], 1.0),
        }
    }

    /// Patchifies `frames` (each HWC RGB8 of `height x width`, all the same size).
    pub fn patchify(&self, frames: &[&[u8]], height: usize, width: usize) -> Result<PixelValues> {
        let (p, tp, m) = (self.patch_size, self.temporal_patch_size, self.merge_size);
        if p == 0 || tp == 0 || m == 0 {
            return Err(Error::invalid("patchify: patch sizes must be > 0"));
        }
        let unit = p * m;
        if height == 0 || width == 0 || height % unit != 0 || width % unit != 0 {
            return Err(Error::invalid(format!(
                "patchify: {height}x{width} is not a non-zero multiple of patch*merge = {unit}"
            )));
        }
        if frames.is_empty() {
            return Err(Error::invalid("patchify: no frames"));
        }
        let frame_len = super::decode::checked_len(width, height, 3)?;
        if let Some(f) = frames.iter().find(|f| f.len() != frame_len) {
            return Err(Error::invalid(format!(
                "patchify: frame of {} bytes, expected {height}x{width}x3 = {frame_len}",
                f.len()
            )));
        }
        let n_frames = frames.len().div_ceil(tp) * tp;
        let (gt, gh, gw) = (n_frames / tp, height / p, width / p);
        let cols = 3 * tp * p * p;
        let rows = gt
            .checked_mul(gh)
            .and_then(|r| r.checked_mul(gw))
            .ok_or_else(|| Error::overflow("patchify: rows"))?;
        let total = rows
            .checked_mul(cols)
            .ok_or_else(|| Error::overflow("patchify: pixel_values size"))?;
        let (mean, std, scale) = self.fused();
        let mut data = vec![0f32; total];
        let (bh_n, bw_n) = (gh / m, gw / m);
        let mut row = 0usize;
        for t in 0..gt {
            for bh in 0..bh_n {
                for bw in 0..bw_n {
                    for ih in 0..m {
                        for iw in 0..m {
                            let (py0, px0) = ((bh * m + ih) * p, (bw * m + iw) * p);
                            let out = &mut data[row * cols..(row + 1) * cols];
                            for c in 0..3 {
                                for k in 0..tp {
                                    let fi = (t * tp + k).min(frames.len() - 1);
                                    let fr = frames[fi];
                                    let base = (c * tp + k) * p * p;
                                    for y in 0..p {
                                        let src = ((py0 + y) * width + px0) * 3 + c;
                                        let dst = &mut out[base + y * p..base + (y + 1) * p];
                                        for (x, d) in dst.iter_mut().enumerate() {
                                            let v = fr[src + x * 3] as f32 * scale;
                                            *d = (v - mean[c]) / std[c];
                                        }
                                    }
                                }
                            }
                            row += 1;
                        }
                    }
                }
            }
        }
        Ok(PixelValues {
            data,
            rows,
            cols,
            grid_thw: [gt, gh, gw],
        })
    }
}
