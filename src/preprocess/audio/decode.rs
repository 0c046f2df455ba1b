//! Decode an encoded audio file to mono f32 at its own sample rate.
//!
//! * WAV (RIFF/WAVE: PCM 8/16/24/32-bit integer, 32-bit IEEE float) with `hound`.
//! * FLAC, MP3 and Ogg-Vorbis with `symphonia` (only those codec/container features
//!   are compiled in).
//!
//! The format is recognised from the content (magic bytes), not a file name.
//!
//! Sample scaling follows libsndfile / `soundfile.read(dtype="float32")`, the
//! reference's decoder: an n-bit integer sample `x` becomes `x / 2^(n-1)` (16-bit:
//! `x / 32768`), float samples are kept as they are. Symphonia scales integer PCM the
//! same way, so a 16-bit FLAC decodes to exactly the samples of the same 16-bit WAV.
//!
//! Mixdown is the plain mean over channels, in f32, as the reference does
//! (`librosa.load(mono=True)` → `librosa.to_mono` = `np.mean(y, axis=0)`;
//! transformers' `load_audio` soundfile backend: `waveform.mean(axis=0)`;
//! `qwen_omni_utils` calls `librosa.load(path, sr=16000)`). numpy reduces over the
//! channel axis by adding channel rows in order, then divides by the count; so do we.
//!
//! Limits: the duration is checked from the header before any sample buffer is
//! allocated when the container states it (WAV always, FLAC usually), and while
//! decoding otherwise; buffers are never sized from a header beyond what the input
//! bytes can hold.

use std::io::Cursor;

use super::{check_rate, AudioError};

/// Decoded audio: mono samples at `sample_rate`, and how many channels were mixed.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    pub channels: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Wav,
    Flac,
    Ogg,
    Mp3,
}

fn sniff(bytes: &[u8]) -> Result<Container, AudioError> {
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        return Ok(Container::Wav);
    }
    if bytes.starts_with(b"fLaC") {
        return Ok(Container::Flac);
    }
    if bytes.starts_with(b"OggS") {
        return Ok(Container::Ogg);
    }
    if bytes.starts_with(b"ID3")
        || (bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0)
    {
        return Ok(Container::Mp3);
    }
    let what = if bytes.starts_with(b"RIFX") || bytes.starts_with(b"RF64") {
        "big-endian or 64-bit WAV (RIFX/RF64)"
    } else if bytes.starts_with(b"FORM") {
        "AIFF"
    } else if bytes.len() >= 8 && &bytes[4..8] == b"ftyp" {
        "MP4/M4A"
    } else if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        "Matroska/WebM"
    } else {
        "unrecognised content"
    };
    Err(AudioError::UnsupportedFormat(format!(
        "{what}; supported: WAV, FLAC, MP3, Ogg-Vorbis"
    )))
}

fn too_long(frames: u64, rate: u32, max_seconds: f64) -> Result<(), AudioError> {
    let seconds = frames as f64 / rate as f64;
    if seconds > max_seconds {
        return Err(AudioError::TooLong {
            seconds,
            max_seconds,
        });
    }
    Ok(())
}

/// Mean over channels of interleaved samples (sequential f32 sum, then / channels).
fn mixdown(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    if channels == 1 {
        out.extend_from_slice(interleaved);
        return;
    }
    let c = channels as f32;
    out.extend(interleaved.chunks_exact(channels).map(|fr| {
        let mut s = fr[0];
        for &v in &fr[1..] {
            s += v;
        }
        s / c
    }));
}

/// Decode `bytes` (WAV / FLAC / MP3 / Ogg-Vorbis) to mono f32, refusing clips longer
/// than `max_seconds`.
pub fn decode_bytes(bytes: &[u8], max_seconds: f64) -> Result<DecodedAudio, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    let audio = match sniff(bytes)? {
        Container::Wav => decode_wav(bytes, max_seconds)?,
        other => decode_symphonia(bytes, other, max_seconds)?,
    };
    if audio.samples.is_empty() {
        return Err(AudioError::Empty);
    }
    if let Some(index) = audio.samples.iter().position(|x| !x.is_finite()) {
        return Err(AudioError::NonFinite { index });
    }
    Ok(audio)
}

fn hound_err(e: hound::Error) -> AudioError {
    match e {
        hound::Error::Unsupported | hound::Error::TooWide => {
            AudioError::UnsupportedFormat(format!("WAV: {e}"))
        }
        other => AudioError::Corrupt(format!("WAV: {other}")),
    }
}

fn decode_wav(bytes: &[u8], max_seconds: f64) -> Result<DecodedAudio, AudioError> {
    let mut reader = hound::WavReader::new(Cursor::new(bytes)).map_err(hound_err)?;
    let spec = reader.spec();
    check_rate(spec.sample_rate)?;
    let channels = spec.channels as usize;
    if channels == 0 {
        return Err(AudioError::Corrupt("WAV: zero channels".into()));
    }
    let frames = reader.duration() as u64;
    too_long(frames, spec.sample_rate, max_seconds)?;
    // Never trust the header beyond what the bytes can hold.
    let bytes_per_sample = (spec.bits_per_sample as usize).div_ceil(8).max(1);
    let n = (reader.len() as usize).min(bytes.len() / bytes_per_sample);
    let mut interleaved = Vec::with_capacity(n);
    match spec.sample_format {
        hound::SampleFormat::Float => {
            if spec.bits_per_sample != 32 {
                return Err(AudioError::UnsupportedFormat(format!(
                    "WAV: {}-bit float samples",
                    spec.bits_per_sample
                )));
            }
            for s in reader.samples::<f32>() {
                interleaved.push(s.map_err(hound_err)?);
            }
        }
        hound::SampleFormat::Int => {
            let bits = spec.bits_per_sample;
            if !(8..=32).contains(&bits) {
                return Err(AudioError::UnsupportedFormat(format!(
                    "WAV: {bits}-bit integer samples"
                )));
            }
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            for s in reader.samples::<i32>() {
                interleaved.push(s.map_err(hound_err)? as f32 * scale);
            }
        }
    }
    if interleaved.len() % channels != 0 {
        return Err(AudioError::Corrupt(
            "WAV: sample count is not a multiple of the channel count".into(),
        ));
    }
    let mut samples = Vec::with_capacity(interleaved.len() / channels);
    mixdown(&interleaved, channels, &mut samples);
    Ok(DecodedAudio {
        samples,
        sample_rate: spec.sample_rate,
        channels,
    })
}

fn decode_symphonia(
    bytes: &[u8],
    container: Container,
    max_seconds: f64,
) -> Result<DecodedAudio, AudioError> {
    use symphonia::core::audio::SampleBuffer;
    use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
    use symphonia::core::errors::Error as SymErr;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    let name = match container {
        Container::Flac => "FLAC",
        Container::Ogg => "Ogg",
        Container::Mp3 => "MP3",
        Container::Wav => "WAV",
    };
    let sym_err = |e: SymErr| match e {
        SymErr::Unsupported(what) => AudioError::UnsupportedFormat(format!("{name}: {what}")),
        SymErr::LimitError(what) => AudioError::Corrupt(format!("{name}: limit: {what}")),
        other => AudioError::Corrupt(format!("{name}: {other}")),
    };

    let mut hint = Hint::new();
    hint.with_extension(match container {
        Container::Flac => "flac",
        Container::Ogg => "ogg",
        _ => "mp3",
    });
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), Default::default());
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions {
                enable_gapless: true,
                ..Default::default()
            },
            &MetadataOptions::default(),
        )
        .map_err(sym_err)?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| AudioError::Corrupt(format!("{name}: no audio track")))?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let mut rate = params.sample_rate;
    if let Some(r) = rate {
        check_rate(r)?;
        if let Some(n) = params.n_frames {
            too_long(n, r, max_seconds)?;
        }
    }
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(sym_err)?;

    let mut samples: Vec<f32> = Vec::new();
    let mut channels = 0usize;
    let mut sample_buf: Option<SampleBuffer<f32>> = None;
    let mut bad_packets = 0usize;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymErr::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymErr::ResetRequired) => break,
            Err(e) => return Err(sym_err(e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            // A damaged packet: skip it like players (and libsndfile) do; a stream
            // where nothing decodes is reported as corrupt below.
            Err(SymErr::DecodeError(_)) => {
                bad_packets += 1;
                continue;
            }
            Err(e) => return Err(sym_err(e)),
        };
        let spec = *decoded.spec();
        let r = spec.rate;
        check_rate(r)?;
        match rate {
            None => rate = Some(r),
            Some(r0) if r0 != r => {
                return Err(AudioError::UnsupportedFormat(format!(
                    "{name}: sample rate changes mid-stream ({r0} -> {r} Hz)"
                )))
            }
            _ => {}
        }
        let c = spec.channels.count();
        if c == 0 {
            return Err(AudioError::Corrupt(format!("{name}: zero channels")));
        }
        if channels == 0 {
            channels = c;
        } else if channels != c {
            return Err(AudioError::UnsupportedFormat(format!(
                "{name}: channel count changes mid-stream ({channels} -> {c})"
            )));
        }
        if decoded.frames() == 0 {
            continue;
        }
        let need = decoded.capacity() as u64;
        let buf = match &mut sample_buf {
            Some(b) if b.capacity() as u64 >= need * c as u64 => b,
            _ => sample_buf.insert(SampleBuffer::<f32>::new(need, spec)),
        };
        buf.copy_interleaved_ref(decoded);
        mixdown(buf.samples(), c, &mut samples);
        too_long(samples.len() as u64, r, max_seconds)?;
    }
    let rate = rate.ok_or_else(|| AudioError::Corrupt(format!("{name}: no sample rate")))?;
    if samples.is_empty() && bad_packets > 0 {
        return Err(AudioError::Corrupt(format!(
            "{name}: none of {bad_packets} packets could be decoded"
        )));
    }
    Ok(DecodedAudio {
        samples,
        sample_rate: rate,
        channels: channels.max(1),
    })
}
