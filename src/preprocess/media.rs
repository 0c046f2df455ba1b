//! The media a request carries (images, audio clips, videos) and the options
//! that turn them into model inputs. Sources are files, encoded bytes or
//! already-decoded data; nothing is read until the engine prepares the request.

use std::path::PathBuf;

use super::audio::{AudioPreprocessor, DecodedAudio, MelFeatures};
use super::image::{decode_image, load_image, DecodeLimits, Rgb8Image};
use super::video::{VideoLoadOptions, VideoSource};
use crate::error::{Error, Result};

/// Where an image comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageSource {
    /// A PNG/JPEG/WebP file (format from its content).
    Path(PathBuf),
    /// An encoded PNG/JPEG/WebP file in memory.
    Bytes(Vec<u8>),
    Decoded(Rgb8Image),
}

impl ImageSource {
    pub fn decode(&self, limits: &DecodeLimits) -> Result<Rgb8Image> {
        match self {
            ImageSource::Path(p) => load_image(p, limits),
            ImageSource::Bytes(b) => decode_image(b, limits),
            ImageSource::Decoded(img) => {
                limits.check(img.width, img.height)?;
                Ok(img.clone())
            }
        }
    }
}

/// Where an audio clip comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum AudioSource {
    /// A WAV/FLAC/MP3/Ogg file (format from its content).
    Path(PathBuf),
    /// An encoded file in memory.
    Bytes(Vec<u8>),
    /// Mono samples at their own rate (resampled to 16 kHz when needed).
    Decoded(DecodedAudio),
}

impl AudioSource {
    /// Log-mel features (decode, mixdown, resample, mel).
    pub fn features(&self, pre: &AudioPreprocessor) -> Result<MelFeatures> {
        Ok(match self {
            AudioSource::Path(p) => pre.from_path(p).map_err(|e| with_path(e.into(), p))?,
            AudioSource::Bytes(b) => pre.from_bytes(b)?,
            AudioSource::Decoded(a) => pre.features(&a.samples, a.sample_rate)?,
        })
    }
}

/// Names the file in an error about it.
pub(crate) fn with_path(e: Error, path: &std::path::Path) -> Error {
    let p = path.display();
    match e {
        Error::InvalidArgument(m) => Error::InvalidArgument(format!("{p}: {m}")),
        Error::Unsupported(m) => Error::Unsupported(format!("{p}: {m}")),
        Error::Io(io) => Error::InvalidArgument(format!("cannot read {p}: {io}")),
        other => other,
    }
}

/// One media item of a request, in the order its placeholder appears.
#[derive(Clone, Debug, PartialEq)]
pub enum Media {
    Image(ImageSource),
    Audio(AudioSource),
    Video {
        source: VideoSource,
        /// Use the video's own audio track, interleaved with its frames by
        /// time (`use_audio_in_video`).
        with_audio: bool,
    },
}

impl Media {
    pub fn image_file(path: impl Into<PathBuf>) -> Media {
        Media::Image(ImageSource::Path(path.into()))
    }
    pub fn audio_file(path: impl Into<PathBuf>) -> Media {
        Media::Audio(AudioSource::Path(path.into()))
    }
    /// A video file (through `ffmpeg`) or a directory of frames.
    pub fn video_path(path: impl Into<PathBuf>, with_audio: bool) -> Media {
        let path = path.into();
        let source = if path.is_dir() {
            VideoSource::FrameDir(path)
        } else {
            VideoSource::File(path)
        };
        Media::Video { source, with_audio }
    }

    /// `image`, `audio` or `video` (for messages).
    pub fn kind(&self) -> &'static str {
        match self {
            Media::Image(_) => "image",
            Media::Audio(_) => "audio",
            Media::Video { .. } => "video",
        }
    }
}

/// Pixel budgets and video sampling. `None` budgets keep the processor's
/// (images: the checkpoint's `preprocessor_config.json`; video frames:
/// 128·32² ..= 768·32² pixels each).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaOptions {
    pub image_min_pixels: Option<usize>,
    pub image_max_pixels: Option<usize>,
    pub video_min_pixels: Option<usize>,
    pub video_max_pixels: Option<usize>,
    /// Decoding and sampling of videos (2 fps, frame-directory rate, limits).
    pub video: VideoLoadOptions,
    /// Largest decoded image accepted (before resizing).
    pub image_limits: DecodeLimits,
}
