//! Which frames of a video file to keep: `qwen_omni_utils` / `qwen_vl_utils`
//! `smart_nframes` plus the video readers' index choice.
//!
//! Reference (`qwen_omni_utils/v2_5/vision_process.py`, same in `qwen_vl_utils`):
//!
//! ```python
//! min_frames = ceil_by_factor(ele.get("min_frames", FPS_MIN_FRAMES), FRAME_FACTOR)
//! max_frames = floor_by_factor(ele.get("max_frames", min(FPS_MAX_FRAMES, total_frames)), FRAME_FACTOR)
//! nframes = total_frames / video_fps * fps
//! nframes = min(min(max(nframes, min_frames), max_frames), total_frames)
//! nframes = floor_by_factor(nframes, FRAME_FACTOR)
//! if not (FRAME_FACTOR <= nframes and nframes <= total_frames): raise ValueError
//! ...
//! idx = torch.linspace(0, total_frames - 1, nframes).round().long().tolist()
//! sample_fps = nframes / max(total_frames, 1e-6) * video_fps
//! ```
//!
//! `max_frames` is taken as `min(max_frames, total_frames)` before flooring; since
//! the result is capped by `total_frames` and floored to a multiple of 2 anyway,
//! that gives the same count as the reference also for an explicit `max_frames`.
//!
//! `torch.linspace` computes in float32 (its default dtype) and `round` is
//! round-half-to-even; [`linspace_round_indices`] does the same with the formula
//! of torch's scalar CPU kernel (`start + step * i` for the first half,
//! `end - step * (steps - i - 1)` for the second). In exact arithmetic the values
//! can never be exact halves here (`nframes - 1` is odd), so the float32 detail
//! only matters for very long videos, where torch's vectorised kernel may itself
//! differ from its scalar one by an ulp.

use crate::error::{Error, Result};

use super::VideoLoadOptions;

/// Frame counts are multiples of this (`FRAME_FACTOR`).
pub const FRAME_FACTOR: usize = 2;
/// Default sampling rate of video files (`FPS`).
pub const FPS: f64 = 2.0;
/// Default fewest sampled frames (`FPS_MIN_FRAMES`).
pub const FPS_MIN_FRAMES: usize = 4;
/// Default most sampled frames (`FPS_MAX_FRAMES`).
pub const FPS_MAX_FRAMES: usize = 768;

/// `smart_nframes` for a video of `total_frames` frames at `video_fps`, sampled at
/// `fps` with the given frame-count bounds. Errors when the video has fewer than 2
/// frames or the result is below [`FRAME_FACTOR`].
pub fn smart_nframes(
    total_frames: usize,
    video_fps: f64,
    fps: f64,
    min_frames: usize,
    max_frames: usize,
) -> Result<usize> {
    if !(video_fps.is_finite() && video_fps > 0.0) {
        return Err(Error::invalid(format!(
            "video: frame rate must be a positive number, got {video_fps}"
        )));
    }
    if !(fps.is_finite() && fps > 0.0) {
        return Err(Error::invalid(format!(
            "video: sampling rate (sample_fps) must be a positive number, got {fps}"
        )));
    }
    if total_frames < FRAME_FACTOR {
        return Err(Error::invalid(format!(
            "video: the video has {total_frames} frame(s); sampling a video file needs at least {FRAME_FACTOR}"
        )));
    }
    let min_f = ceil_by_factor(min_frames, FRAME_FACTOR)?;
    let max_f = floor_by_factor(max_frames.min(total_frames), FRAME_FACTOR);
    let n = total_frames as f64 / video_fps * fps;
    let n = n
        .max(min_f as f64)
        .min(max_f as f64)
        .min(total_frames as f64);
    // floor_by_factor on a float: floor(n / 2) * 2 (n is finite and >= 0 here).
    let n = (n / FRAME_FACTOR as f64).floor() as usize * FRAME_FACTOR;
    if n < FRAME_FACTOR || n > total_frames {
        return Err(Error::invalid(format!(
            "video: sampling {total_frames} frame(s) at {video_fps} fps (max_frames {max_frames}) \
             gives {n} frames; at least {FRAME_FACTOR} are needed"
        )));
    }
    Ok(n)
}

fn ceil_by_factor(n: usize, factor: usize) -> Result<usize> {
    n.div_ceil(factor)
        .checked_mul(factor)
        .ok_or_else(|| Error::overflow(format!("video: min_frames {n}")))
}

fn floor_by_factor(n: usize, factor: usize) -> usize {
    n / factor * factor
}

/// `torch.linspace(0, total_frames - 1, nframes).round().long()` (float32, round
/// half to even). `nframes` 0 gives an empty list, 1 gives `[0]`.
pub fn linspace_round_indices(total_frames: usize, nframes: usize) -> Vec<usize> {
    match nframes {
        0 => return Vec::new(),
        1 => return vec![0],
        _ => {}
    }
    let start = 0.0f32;
    let end = total_frames.saturating_sub(1) as f32;
    let steps = nframes;
    let step = (end - start) / (steps - 1) as f32;
    let halfway = steps / 2;
    (0..steps)
        .map(|i| {
            let v = if i < halfway {
                start + step * i as f32
            } else {
                end - step * (steps - i - 1) as f32
            };
            let r = v.round_ties_even();
            // `.long()` of a value in [0, end]; clamp guards float noise.
            if r <= 0.0 {
                0
            } else {
                (r as usize).min(total_frames.saturating_sub(1))
            }
        })
        .collect()
}

/// Frame indices to keep from a video file of `total_frames` frames at
/// `video_fps`, and the rate of the kept frames (`sample_fps`, what the processor
/// gets as `fps`), for `opts.sample_fps`, `opts.min_frames` and `opts.max_frames`.
///
/// The count is always even; the indices are increasing, start at 0 and end at
/// `total_frames - 1`.
pub fn sample_indices(
    total_frames: usize,
    video_fps: f64,
    opts: &VideoLoadOptions,
) -> Result<(Vec<usize>, f64)> {
    let n = smart_nframes(
        total_frames,
        video_fps,
        opts.sample_fps,
        opts.min_frames,
        opts.max_frames,
    )?;
    let idx = linspace_round_indices(total_frames, n);
    let sample_fps = n as f64 / (total_frames as f64).max(1e-6) * video_fps;
    Ok((idx, sample_fps))
}
