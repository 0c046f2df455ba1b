//! A directory of already-sampled frame images, plus an optional audio track.
//!
//! * Frames: the regular files whose extension is `png`, `jpg`, `jpeg` or `webp`
//!   (any letter case); every other file is ignored, and so are hidden files (names
//!   starting with `.`, e.g. macOS `._f1.png`) and subdirectories.
//! * Order: plain byte-wise order of the file names (so `f10.png` comes before
//!   `f2.png`: name frames with zero-padded numbers, `f0001.png`, ...).
//! * Audio: `audio.wav`, else `audio.flac`, `audio.mp3`, `audio.ogg` (exact names),
//!   decoded with the crate's own audio decoder ([`AudioPreprocessor::decode_path`]:
//!   mono, native sample rate, its default size and duration limits).
//!
//! The frames are not resampled; their rate is `VideoLoadOptions::frame_dir_fps`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::preprocess::audio::{AudioPreprocessor, DecodedAudio};
use crate::preprocess::image::{load_image, Rgb8Image};

use super::{check_fps, LoadedVideo, VideoLoadOptions};

/// File extensions (lower case) read as frames.
pub const FRAME_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp"];
/// Names of the audio track inside a frame directory, in order of preference.
pub const AUDIO_FILE_NAMES: &[&str] = &["audio.wav", "audio.flac", "audio.mp3", "audio.ogg"];

fn is_frame_name(name: &std::ffi::OsStr) -> bool {
    if name.as_encoded_bytes().first() == Some(&b'.') {
        return false;
    }
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| FRAME_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn dir_error(dir: &Path, e: std::io::Error) -> Error {
    Error::invalid(format!(
        "video: cannot read frame directory {}: {e}",
        dir.display()
    ))
}

/// The frame files of `dir`, in byte-wise file-name order.
pub fn list_frames(dir: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(dir).map_err(|e| dir_error(dir, e))?;
    if !meta.is_dir() {
        return Err(Error::invalid(format!(
            "video: {} is not a directory (a frame directory was expected)",
            dir.display()
        )));
    }
    let mut frames = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| dir_error(dir, e))? {
        let entry = entry.map_err(|e| dir_error(dir, e))?;
        let name = entry.file_name();
        if !is_frame_name(&name) {
            continue;
        }
        let path = entry.path();
        // Follows symlinks; skips directories named like images.
        if path.is_file() {
            frames.push(path);
        }
    }
    frames.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(frames)
}

/// The audio track of a frame directory, if it has one ([`AUDIO_FILE_NAMES`]).
pub fn find_audio(dir: &Path) -> Option<PathBuf> {
    AUDIO_FILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

fn decode_audio_file(path: &Path) -> Result<DecodedAudio> {
    AudioPreprocessor::default()
        .decode_path(path)
        .map_err(|e| match Error::from(e) {
            Error::InvalidArgument(m) => {
                Error::InvalidArgument(format!("video: audio track {}: {m}", path.display()))
            }
            Error::Unsupported(m) => {
                Error::Unsupported(format!("video: audio track {}: {m}", path.display()))
            }
            Error::Io(io) => Error::InvalidArgument(format!(
                "video: cannot read audio track {}: {io}",
                path.display()
            )),
            other => other,
        })
}

/// Loads a frame directory (see the module docs).
pub fn load_frame_dir(dir: &Path, opts: &VideoLoadOptions) -> Result<LoadedVideo> {
    check_fps("frame_dir_fps", opts.frame_dir_fps)?;
    let files = list_frames(dir)?;
    if files.is_empty() {
        return Err(Error::invalid(format!(
            "video: no frame images ({}) in {}",
            FRAME_EXTENSIONS.join("/"),
            dir.display()
        )));
    }
    if files.len() > opts.max_frames {
        return Err(Error::invalid(format!(
            "video: {} has {} frames, more than max_frames = {}; sample fewer frames",
            dir.display(),
            files.len(),
            opts.max_frames
        )));
    }
    // Find a missing audio track before decoding any frame.
    let audio_path = if opts.with_audio {
        Some(find_audio(dir).ok_or_else(|| {
            Error::invalid(format!(
                "video: audio requested but {} has no audio track ({})",
                dir.display(),
                AUDIO_FILE_NAMES.join(", ")
            ))
        })?)
    } else {
        None
    };
    let mut frames: Vec<Rgb8Image> = Vec::with_capacity(files.len());
    for path in &files {
        let img = load_image(path, &opts.limits)?;
        if let Some(first) = frames.first() {
            if (img.width, img.height) != (first.width, first.height) {
                return Err(Error::invalid(format!(
                    "video: frame {} is {}x{} (WxH) but {} is {}x{}; all frames must have the same size",
                    path.display(),
                    img.width,
                    img.height,
                    files[0].display(),
                    first.width,
                    first.height
                )));
            }
        }
        frames.push(img);
    }
    let audio = match audio_path {
        Some(p) => Some(decode_audio_file(&p)?),
        None => None,
    };
    Ok(LoadedVideo {
        frames,
        fps: opts.frame_dir_fps,
        audio,
    })
}
