//! Video input: a video file (decoded by an external `ffmpeg`), a directory of
//! frame images, or frames already in memory, turned into the frames (and
//! optionally the audio track) the video processor gets.
//!
//! * Video files are sampled like `qwen_omni_utils` does (2 fps, 4..=768 frames,
//!   an even count; see [`sampling`]) and decoded through `ffmpeg` ([`ffmpeg`]).
//! * Frame directories ([`frame_dir`]) and [`VideoSource::Frames`] are taken as
//!   already sampled (the CLI contract): they are not resampled, only checked
//!   (at least one frame, at most `max_frames`, all the same size).
//!
//! The frame count need not be even: the processor
//! ([`crate::preprocess::image::video`]) pads the frames to a multiple of the
//! temporal patch size (2) by repeating the last frame, so odd counts are fine.
//!
//! Audio ([`LoadedVideo::audio`], only with `with_audio`) is mono at the track's
//! own sample rate (`DecodedAudio::channels` says how many channels were mixed);
//! resample it with the crate's audio preprocessor
//! ([`crate::preprocess::audio::AudioPreprocessor::features`]).
//!
//! ```no_run
//! use omnirt::preprocess::video::{load_video, VideoLoadOptions, VideoSource};
//! let v = load_video(&VideoSource::File("clip.mp4".into()), &VideoLoadOptions::default())?;
//! println!("{} frames at {} fps", v.frames.len(), v.fps);
//! # Ok::<(), omnirt::error::Error>(())
//! ```

pub mod ffmpeg;
pub mod frame_dir;
pub mod sampling;

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::preprocess::audio::DecodedAudio;
use crate::preprocess::image::{DecodeLimits, Rgb8Image};

pub use ffmpeg::{find_tools, FfmpegTools, VideoProbe};
pub use frame_dir::{list_frames, load_frame_dir};
pub use sampling::{
    linspace_round_indices, sample_indices, smart_nframes, FPS, FPS_MAX_FRAMES, FPS_MIN_FRAMES,
    FRAME_FACTOR,
};

/// Where a video comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum VideoSource {
    /// A video file (mp4/webm/mkv/mov/avi/...), decoded by an `ffmpeg` executable.
    File(PathBuf),
    /// A directory of frame images (png/jpg/jpeg/webp, other files ignored), in
    /// byte-wise file-name order, sampled at `VideoLoadOptions::frame_dir_fps`; an
    /// `audio.wav` (or `audio.flac` / `.mp3` / `.ogg`) inside is its audio track.
    FrameDir(PathBuf),
    /// Frames already decoded, sampled at `fps`, with an optional audio track.
    Frames {
        frames: Vec<Rgb8Image>,
        fps: f64,
        audio: Option<DecodedAudio>,
    },
}

/// How to load a video.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoLoadOptions {
    /// Rate video files are sampled at (`qwen_omni_utils` `FPS`, 2.0).
    pub sample_fps: f64,
    /// Rate a frame directory was sampled at (CLI `--video-fps`, 2.0).
    pub frame_dir_fps: f64,
    /// Fewest frames sampled from a video file (`FPS_MIN_FRAMES`, 4).
    pub min_frames: usize,
    /// Most frames: sampled from a file (`FPS_MAX_FRAMES`, 768), or accepted from
    /// a frame directory / in-memory frames (more is an error there).
    pub max_frames: usize,
    /// Read the audio track too (`use_audio_in_video`); an error when there is none.
    pub with_audio: bool,
    /// Per-frame decode limits (checked before decoding).
    pub limits: DecodeLimits,
    /// The `ffmpeg` executable; `None`: `$OMNIRT_FFMPEG`, else `ffmpeg` on PATH.
    /// `ffprobe` is looked for next to it, then on PATH.
    pub ffmpeg: Option<PathBuf>,
}

impl Default for VideoLoadOptions {
    fn default() -> Self {
        VideoLoadOptions {
            sample_fps: FPS,
            frame_dir_fps: FPS,
            min_frames: FPS_MIN_FRAMES,
            max_frames: FPS_MAX_FRAMES,
            with_audio: false,
            limits: DecodeLimits::default(),
            ffmpeg: None,
        }
    }
}

/// A loaded video.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedVideo {
    /// The frames, all the same size.
    pub frames: Vec<Rgb8Image>,
    /// Rate of `frames` (what the processor gets as `fps`).
    pub fps: f64,
    /// The audio track (mono, native rate); `Some` only with `with_audio`.
    pub audio: Option<DecodedAudio>,
}

pub(crate) fn check_fps(name: &str, fps: f64) -> Result<()> {
    if fps.is_finite() && fps > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "video: {name} must be a positive number, got {fps}"
        )))
    }
}

/// Loads the frames (and, with `opts.with_audio`, the audio) of a video.
pub fn load_video(source: &VideoSource, opts: &VideoLoadOptions) -> Result<LoadedVideo> {
    match source {
        VideoSource::File(path) => ffmpeg::load_video_file(path, opts),
        VideoSource::FrameDir(dir) => frame_dir::load_frame_dir(dir, opts),
        VideoSource::Frames { frames, fps, audio } => load_frames(frames, *fps, audio, opts),
    }
}

fn load_frames(
    frames: &[Rgb8Image],
    fps: f64,
    audio: &Option<DecodedAudio>,
    opts: &VideoLoadOptions,
) -> Result<LoadedVideo> {
    check_fps("fps", fps)?;
    let Some(first) = frames.first() else {
        return Err(Error::invalid("video: no frames"));
    };
    if frames.len() > opts.max_frames {
        return Err(Error::invalid(format!(
            "video: {} frames, more than max_frames = {}; sample fewer frames",
            frames.len(),
            opts.max_frames
        )));
    }
    for (i, f) in frames.iter().enumerate() {
        let want = f
            .width
            .checked_mul(f.height)
            .and_then(|n| n.checked_mul(3))
            .ok_or_else(|| {
                Error::overflow(format!("video: frame {i}: {}x{}", f.width, f.height))
            })?;
        if f.width == 0 || f.height == 0 || f.data.len() != want {
            return Err(Error::invalid(format!(
                "video: frame {i} is malformed ({}x{} with {} bytes of RGB)",
                f.width,
                f.height,
                f.data.len()
            )));
        }
        if (f.width, f.height) != (first.width, first.height) {
            return Err(Error::invalid(format!(
                "video: frame {i} is {}x{} (WxH) but frame 0 is {}x{}; all frames must have the same size",
                f.width, f.height, first.width, first.height
            )));
        }
    }
    let audio = if opts.with_audio {
        Some(audio.clone().ok_or_else(|| {
            Error::invalid("video: audio requested but the video has no audio track")
        })?)
    } else {
        None
    };
    Ok(LoadedVideo {
        frames: frames.to_vec(),
        fps,
        audio,
    })
}
