//! Video frames: the Qwen3-Omni processor's per-frame pixel budget, frame-count
//! padding and `video_second_per_grid` (qwen3-omni.md 6.5, 6.6).
//!
//! `Qwen3OmniMoeProcessor` calls the video processor with
//! `size = {shortest_edge: 128*32*32, longest_edge: 768*32*32}` unless the caller
//! passes one, so every frame is smart-resized (factor 32) into
//! 131072..786432 pixels (small frames are upscaled) regardless of the image
//! budget and of the `size` saved with the video processor. Frames are then
//! padded to a multiple of `temporal_patch_size` by repeating the last one.
//! `video_second_per_grid = temporal_patch_size / fps`, with fps 1.0 when the
//! caller passes none.

use crate::error::{Error, Result};

use super::decode::Rgb8Image;
use super::patchify::PixelValues;
use super::resize::resize_bicubic_aa_u8;
use super::smart_resize::smart_resize;
use super::ImagePreprocessor;

/// Default per-frame minimum (`128 * 32 * 32`).
pub const VIDEO_MIN_PIXELS: usize = 128 * 32 * 32;
/// Default per-frame maximum (`768 * 32 * 32`).
pub const VIDEO_MAX_PIXELS: usize = 768 * 32 * 32;

/// Video pixel budget and options of the processor call.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoOptions {
    pub min_pixels: usize,
    pub max_pixels: usize,
    /// Frames per second the frames were sampled at, as passed to the processor
    /// (`None`: the processor's default 1.0 for `video_second_per_grid`).
    pub fps: Option<f64>,
    /// `cap_pixels_per_frame` of transformers 5.x (default off): also bound
    /// each frame by an even share of `max_video_tokens` tokens' pixels.
    pub cap_pixels_per_frame: bool,
    pub max_video_tokens: usize,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions {
            min_pixels: VIDEO_MIN_PIXELS,
            max_pixels: VIDEO_MAX_PIXELS,
            fps: None,
            cap_pixels_per_frame: false,
            max_video_tokens: 128_000,
        }
    }
}

/// `pixel_values_videos` plus the per-video metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoPixelValues {
    pub pixel_values: PixelValues,
    /// Resized frame size `(height, width)`.
    pub resized_hw: (usize, usize),
    /// `temporal_patch_size / fps`.
    pub second_per_grid: f64,
}

impl VideoOptions {
    /// The per-frame max pixels after the optional total-budget cap.
    pub fn frame_max_pixels(&self, num_frames: usize, factor: usize, temporal: usize) -> usize {
        if !self.cap_pixels_per_frame || num_frames == 0 {
            return self.max_pixels;
        }
        // int(max_video_tokens * factor * factor * 0.9)
        let total = (self.max_video_tokens as f64 * factor as f64 * factor as f64 * 0.9) as usize;
        let share = total.saturating_mul(temporal) / num_frames;
        self.max_pixels
            .min(share)
            .max((self.min_pixels as f64 * 1.05) as usize)
    }

    /// `temporal_patch_size / fps` (fps defaults to 1.0).
    pub fn second_per_grid(&self, temporal_patch_size: usize) -> Result<f64> {
        let fps = self.fps.unwrap_or(1.0);
        if !(fps.is_finite() && fps > 0.0) {
            return Err(Error::invalid(format!("video: fps must be > 0, got {fps}")));
        }
        Ok(temporal_patch_size as f64 / fps)
    }
}

/// Resized frames (each HWC RGB8) and their `(height, width)`.
pub type ResizedFrames = (Vec<Vec<u8>>, (usize, usize));

/// Smart-resizes every frame with the video budget; returns the resized
/// frames (HWC RGB8) and their size.
pub fn resize_frames(
    pre: &ImagePreprocessor,
    frames: &[Rgb8Image],
    opts: &VideoOptions,
) -> Result<ResizedFrames> {
    let first = frames
        .first()
        .ok_or_else(|| Error::invalid("video: no frames"))?;
    if let Some(f) = frames
        .iter()
        .find(|f| (f.width, f.height) != (first.width, first.height))
    {
        return Err(Error::invalid(format!(
            "video: frames differ in size ({}x{} and {}x{}); all frames of a video must match",
            first.height, first.width, f.height, f.width
        )));
    }
    let factor = pre.factor();
    let max_pixels = opts.frame_max_pixels(frames.len(), factor, pre.spec.temporal_patch_size);
    let (oh, ow) = smart_resize(
        first.height,
        first.width,
        factor,
        opts.min_pixels,
        max_pixels,
    )?;
    let out = frames
        .iter()
        .map(|f| {
            if pre.do_resize {
                resize_bicubic_aa_u8(&f.data, f.height, f.width, 3, oh, ow)
            } else {
                Ok(f.data.clone())
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let hw = if pre.do_resize {
        (oh, ow)
    } else {
        (first.height, first.width)
    };
    Ok((out, hw))
}
