//! Resampling to 16 kHz with rubato's windowed-sinc resampler.
//!
//! The reference (transformers' `load_audio` soundfile backend, identical to
//! `librosa.load(sr=16000)` used by `qwen_omni_utils`) resamples with libsoxr at
//! quality `soxr_hq` and then pads/trims to `ceil(n * 16000 / sr)` samples. We use a
//! different filter (rubato `SincFixedIn`: 256-tap sinc, Blackman-Harris² window,
//! cutoff 0.95 of the output Nyquist, 256× oversampled table with cubic
//! interpolation), remove its group delay and produce the same output length. The
//! two agree closely in the passband; they differ in transition-band shape (soxr_hq
//! rolls off from ~0.91 of Nyquist, rubato from 0.95) and by rounding, so the
//! features match the reference within a tolerance, not bit for bit (see
//! tests/audio_preproc.rs).
//!
//! Input already at 16 kHz is returned untouched (a copy of the same samples).

use rubato::{
    Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction,
};

use super::{check_rate, AudioError, SAMPLE_RATE};

const CHUNK: usize = 4096;

/// Number of output samples for `n` input samples at `rate`: `ceil(n * 16000 / rate)`,
/// as the reference pads/trims to.
pub fn resampled_len(n: usize, rate: u32) -> usize {
    ((n as u128 * SAMPLE_RATE as u128).div_ceil(rate as u128)) as usize
}

/// Resample mono `samples` from `rate` Hz to 16 kHz.
pub fn resample_to_16k(samples: &[f32], rate: u32) -> Result<Vec<f32>, AudioError> {
    check_rate(rate)?;
    if rate == SAMPLE_RATE {
        return Ok(samples.to_vec());
    }
    if samples.is_empty() {
        return Err(AudioError::Empty);
    }
    let want = resampled_len(samples.len(), rate);
    let params = SincInterpolationParameters {
        sinc_len: 256,
        f_cutoff: 0.95,
        oversampling_factor: 256,
        interpolation: SincInterpolationType::Cubic,
        window: WindowFunction::BlackmanHarris2,
    };
    let ratio = SAMPLE_RATE as f64 / rate as f64;
    let mut rs = SincFixedIn::<f32>::new(ratio, 1.0, params, CHUNK, 1)
        .map_err(|e| AudioError::Resample(e.to_string()))?;
    let delay = rs.output_delay();
    let rerr = |e: rubato::ResampleError| AudioError::Resample(e.to_string());
    let mut out: Vec<f32> = Vec::with_capacity(want + delay + CHUNK);
    let mut pos = 0;
    while pos + CHUNK <= samples.len() {
        let o = rs
            .process(&[&samples[pos..pos + CHUNK]], None)
            .map_err(rerr)?;
        out.extend_from_slice(&o[0]);
        pos += CHUNK;
    }
    if pos < samples.len() {
        let o = rs
            .process_partial(Some(&[&samples[pos..]]), None)
            .map_err(rerr)?;
        out.extend_from_slice(&o[0]);
    }
    // Flush the filter's tail with zeros until delay + want samples are out.
    let mut guard = 0;
    while out.len() < delay + want {
        let o = rs.process_partial::<&[f32]>(None, None).map_err(rerr)?;
        out.extend_from_slice(&o[0]);
        guard += 1;
        if guard > 64 {
            return Err(AudioError::Resample("resampler produced no output".into()));
        }
    }
    out.drain(..delay);
    out.truncate(want);
    Ok(out)
}
