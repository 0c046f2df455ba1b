//! Audio input: decode a file, mix down to mono, resample to 16 kHz and compute
//! the 128-bin log-mel features Qwen3-Omni's audio encoder reads, exactly as
//! `transformers`' `WhisperFeatureExtractor` configured like the released
//! checkpoint (qwen3-omni.md §2.4, §7.1), plus the audio token count (§7.4).
//!
//! * [`decode`]: WAV (hound), FLAC / MP3 / Ogg-Vorbis (symphonia); channel mean.
//! * [`resample`]: any rate to 16 kHz (a polyphase Kaiser-windowed sinc shaped like
//!   the reference's soxr_hq, exact rational timing); 16 kHz passes through.
//! * [`mel`]: reflect-padded centred STFT, Hann 400, hop 160, Slaney mel bank,
//!   `log10(max(x,1e-10))`, `max(x, max-8)`, `(x+4)/4`.
//!
//! Every bad input is an [`AudioError`] (which converts into [`crate::Error`]),
//! never a panic. Silent audio is valid: the reference gives `-1.5` for every
//! value (`log10(1e-10) = -10`, `(-10+4)/4`), and so does this module.

pub mod decode;
pub mod mel;
pub mod resample;

use std::path::Path;

pub use decode::{decode_bytes, DecodedAudio};
pub use mel::{log_mel_spectrogram, mel_filter_bank, HOP_LENGTH, MIN_SAMPLES, N_FFT, N_MELS};
pub use resample::resample_to_16k;

/// Sample rate of the features (Hz).
pub const SAMPLE_RATE: u32 = 16_000;
/// Default longest clip: the checkpoint's `chunk_length` (300 s, `n_samples`
/// 4,800,000). The processor itself does not truncate (`truncation=False`), so
/// this is our limit, not the reference's; raise it with [`AudioPreprocessor::max_seconds`].
pub const DEFAULT_MAX_SECONDS: f64 = 300.0;
/// Default largest encoded input accepted (bytes), checked before reading.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 512 * 1024 * 1024;

/// What can go wrong with an audio input. Each case is its own variant so that
/// callers (and tests) can tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// No samples at all (a zero-length file or buffer).
    #[error("audio is empty (no samples)")]
    Empty,
    /// Fewer samples (at 16 kHz) than the centred STFT needs: reflect padding by
    /// n_fft/2 = 200 needs at least 201 samples (torch.stft, the reference's
    /// path, rejects shorter input too).
    #[error("audio too short: {samples} samples at 16 kHz, need at least {min}")]
    TooShort { samples: usize, min: usize },
    /// Longer than the configured limit; checked from the header before decoding where
    /// the format says the length, otherwise while decoding.
    #[error("audio too long: {seconds:.2} s exceeds the limit of {max_seconds} s")]
    TooLong { seconds: f64, max_seconds: f64 },
    /// The encoded input is larger than the configured byte limit.
    #[error("audio input too large: {bytes} bytes exceeds the limit of {max_bytes} bytes")]
    InputTooLarge { bytes: u64, max_bytes: u64 },
    /// Not a format this build decodes (WAV, FLAC, MP3, Ogg-Vorbis), or an unsupported
    /// encoding inside one of them (e.g. a WAV with A-law samples).
    #[error("unsupported audio format: {0}")]
    UnsupportedFormat(String),
    /// The container or stream is malformed or truncated.
    #[error("corrupt audio data: {0}")]
    Corrupt(String),
    /// A sample rate of zero or outside 1 Hz ..= 1 MHz.
    #[error("invalid sample rate {0} Hz")]
    InvalidSampleRate(u32),
    /// A NaN or infinite sample (possible in float WAV or caller-supplied buffers).
    #[error("non-finite sample at index {index}")]
    NonFinite { index: usize },
    /// The resampler could not be built or failed.
    #[error("resampling failed: {0}")]
    Resample(String),
    #[error("I/O error reading audio: {0}")]
    Io(#[from] std::io::Error),
}

impl From<AudioError> for crate::Error {
    fn from(e: AudioError) -> Self {
        match e {
            AudioError::Io(io) => crate::Error::Io(io),
            AudioError::UnsupportedFormat(_) => crate::Error::Unsupported(e.to_string()),
            other => crate::Error::InvalidArgument(other.to_string()),
        }
    }
}

/// Log-mel features of one clip, laid out as the reference's `input_features[0]`:
/// row-major `[n_mels, frames]` (value of bin `m`, frame `t` at `m * frames + t`).
#[derive(Debug, Clone, PartialEq)]
pub struct MelFeatures {
    pub data: Vec<f32>,
    pub n_mels: usize,
    pub frames: usize,
}

impl MelFeatures {
    /// Value of mel bin `m` at frame `t`.
    pub fn get(&self, m: usize, t: usize) -> f32 {
        self.data[m * self.frames + t]
    }

    /// Number of `<|audio_pad|>` tokens these features become ([`audio_token_count`]).
    pub fn audio_tokens(&self) -> usize {
        audio_token_count(self.frames)
    }
}

/// Number of audio tokens (post-CNN encoder outputs) for `frames` mel frames,
/// qwen3-omni.md §7.4 / `_get_feat_extract_output_lengths(n_window=50)`:
/// `13 * (frames / 100) + f(frames % 100)` with
/// `f(r) = (((r-1)/2+1 - 1)/2+1 - 1)/2 + 1` (floor division) and `f(0) = 0`.
pub fn audio_token_count(frames: usize) -> usize {
    // Python floor division on possibly negative values; with r = 0 every stage
    // gives 0, so computing on r >= 1 only is equivalent.
    let r = frames % 100;
    let tail = if r == 0 {
        0
    } else {
        let a = (r - 1) / 2 + 1;
        let b = (a - 1) / 2 + 1;
        (b - 1) / 2 + 1
    };
    13 * (frames / 100) + tail
}

/// Mel frames for `samples` samples at 16 kHz (single clip, no batch padding):
/// `samples / 160` (the STFT's last frame is dropped).
pub fn mel_frames(samples: usize) -> usize {
    samples / HOP_LENGTH
}

/// Decode → mono → 16 kHz → log-mel, with size and duration limits.
#[derive(Debug, Clone)]
pub struct AudioPreprocessor {
    /// Longest accepted clip in seconds (default [`DEFAULT_MAX_SECONDS`]).
    pub max_seconds: f64,
    /// Largest accepted encoded input in bytes (default [`DEFAULT_MAX_INPUT_BYTES`]).
    pub max_input_bytes: u64,
}

impl Default for AudioPreprocessor {
    fn default() -> Self {
        AudioPreprocessor {
            max_seconds: DEFAULT_MAX_SECONDS,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
        }
    }
}

impl AudioPreprocessor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Read and decode a file (format from its content, not its name), then
    /// [`AudioPreprocessor::features`].
    pub fn from_path(&self, path: impl AsRef<Path>) -> Result<MelFeatures, AudioError> {
        let audio = self.decode_path(path)?;
        self.features(&audio.samples, audio.sample_rate)
    }

    /// Decode an in-memory encoded file, then [`AudioPreprocessor::features`].
    pub fn from_bytes(&self, bytes: &[u8]) -> Result<MelFeatures, AudioError> {
        let audio = self.decode(bytes)?;
        self.features(&audio.samples, audio.sample_rate)
    }

    /// Decode a file to mono f32 at its own sample rate (size limit checked on the
    /// file's metadata before reading it).
    pub fn decode_path(&self, path: impl AsRef<Path>) -> Result<DecodedAudio, AudioError> {
        let path = path.as_ref();
        let len = std::fs::metadata(path)?.len();
        if len > self.max_input_bytes {
            return Err(AudioError::InputTooLarge {
                bytes: len,
                max_bytes: self.max_input_bytes,
            });
        }
        let bytes = std::fs::read(path)?;
        self.decode(&bytes)
    }

    /// Decode an in-memory encoded file to mono f32 at its own sample rate.
    pub fn decode(&self, bytes: &[u8]) -> Result<DecodedAudio, AudioError> {
        if bytes.len() as u64 > self.max_input_bytes {
            return Err(AudioError::InputTooLarge {
                bytes: bytes.len() as u64,
                max_bytes: self.max_input_bytes,
            });
        }
        decode_bytes(bytes, self.max_seconds)
    }

    /// Features of mono samples at `sample_rate` (resampled to 16 kHz first when needed).
    pub fn features(&self, samples: &[f32], sample_rate: u32) -> Result<MelFeatures, AudioError> {
        check_rate(sample_rate)?;
        if samples.is_empty() {
            return Err(AudioError::Empty);
        }
        let seconds = samples.len() as f64 / sample_rate as f64;
        if seconds > self.max_seconds {
            return Err(AudioError::TooLong {
                seconds,
                max_seconds: self.max_seconds,
            });
        }
        if let Some(index) = samples.iter().position(|x| !x.is_finite()) {
            return Err(AudioError::NonFinite { index });
        }
        if sample_rate == SAMPLE_RATE {
            log_mel_spectrogram(samples)
        } else {
            let s16 = resample_to_16k(samples, sample_rate)?;
            log_mel_spectrogram(&s16)
        }
    }
}

pub(crate) fn check_rate(sample_rate: u32) -> Result<(), AudioError> {
    if sample_rate == 0 || sample_rate > 1_000_000 {
        return Err(AudioError::InvalidSampleRate(sample_rate));
    }
    Ok(())
}
