//! 128-bin log-mel features, as `WhisperFeatureExtractor._np_extract_fbank_features`
//! (transformers 5.24) computes them for one clip at 16 kHz:
//!
//! 1. centre the frames: reflect-pad `n_fft/2 = 200` samples on each side
//!    (`np.pad(mode="reflect")`, torch's `center=True` default, no edge repeat);
//! 2. frame `t` = padded samples `[160 t, 160 t + 400)`, times the periodic Hann
//!    window `0.5 - 0.5 cos(2πn/400)` (`np.hanning(401)[:-1]`), real FFT of 400 in f64;
//! 3. the reference stores the spectrum as complex64, so each re/im is rounded to f32
//!    before `|X|^2` is taken in f64 (done here too);
//! 4. `mel = Fᵀ · power` in f64 with the Slaney filters below, `max(mel, 1e-10)`,
//!    `log10`, cast to f32; the last STFT frame is dropped (frames = samples / 160);
//! 5. in f32: `x = max(x, max_over_clip(x) - 8)`, `(x + 4) / 4`.
//!
//! The processor actually runs the torch path (float32 `torch.stft`) when torch is
//! installed; it agrees with the numpy path to ~5e-5 (recorded per fixture case).
//! This f64 computation matches the numpy path to ~1e-6.

use std::sync::OnceLock;

use realfft::RealFftPlanner;

use super::AudioError;

/// Mel bins of Qwen3-Omni's feature extractor.
pub const N_MELS: usize = 128;
/// FFT size = Hann window length.
pub const N_FFT: usize = 400;
/// Hop between frames (10 ms at 16 kHz).
pub const HOP_LENGTH: usize = 160;
/// One-sided FFT bins.
pub const N_FREQ: usize = N_FFT / 2 + 1;
/// Fewest samples the centred STFT accepts (reflect padding of 200 needs 201).
pub const MIN_SAMPLES: usize = N_FFT / 2 + 1;

fn hertz_to_mel_slaney(freq: f64) -> f64 {
    let min_log_hertz = 1000.0;
    let min_log_mel = 15.0;
    let logstep = 27.0 / 6.4f64.ln();
    if freq >= min_log_hertz {
        min_log_mel + (freq / min_log_hertz).ln() * logstep
    } else {
        3.0 * freq / 200.0
    }
}

fn mel_to_hertz_slaney(mels: f64) -> f64 {
    let min_log_hertz = 1000.0;
    let min_log_mel = 15.0;
    let logstep = 6.4f64.ln() / 27.0;
    if mels >= min_log_mel {
        min_log_hertz * (logstep * (mels - min_log_mel)).exp()
    } else {
        200.0 * mels / 3.0
    }
}

/// `np.linspace(start, stop, num)` exactly: `i * step + start`, last = `stop`.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let div = (num - 1) as f64;
    let step = (stop - start) / div;
    let mut y: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    y[num - 1] = stop;
    y
}

/// transformers' `mel_filter_bank(num_frequency_bins=201, num_mel_filters=128,
/// min_frequency=0, max_frequency=8000, sampling_rate=16000, norm="slaney",
/// mel_scale="slaney")` in f64, laid out `[201, 128]` row-major (frequency-major).
pub fn mel_filter_bank() -> Vec<f64> {
    let mel_min = hertz_to_mel_slaney(0.0);
    let mel_max = hertz_to_mel_slaney(8000.0);
    let filter_freqs: Vec<f64> = linspace(mel_min, mel_max, N_MELS + 2)
        .into_iter()
        .map(mel_to_hertz_slaney)
        .collect();
    let fft_freqs = linspace(0.0, 8000.0, N_FREQ);
    let diff: Vec<f64> = filter_freqs.windows(2).map(|w| w[1] - w[0]).collect();
    let mut f = vec![0.0f64; N_FREQ * N_MELS];
    for (i, &ff) in fft_freqs.iter().enumerate() {
        for m in 0..N_MELS {
            let down = -(filter_freqs[m] - ff) / diff[m];
            let up = (filter_freqs[m + 2] - ff) / diff[m + 1];
            let tri = 0.0f64.max(down.min(up));
            let enorm = 2.0 / (filter_freqs[m + 2] - filter_freqs[m]);
            f[i * N_MELS + m] = tri * enorm;
        }
    }
    f
}

/// Per mel bin: the first frequency bin with a non-zero weight and the weights
/// up to the last non-zero one (the bank is sparse: ~2-10 bins per filter).
struct SparseBank {
    rows: Vec<(usize, Vec<f64>)>,
}

fn sparse_bank() -> &'static SparseBank {
    static BANK: OnceLock<SparseBank> = OnceLock::new();
    BANK.get_or_init(|| {
        let f = mel_filter_bank();
        let rows = (0..N_MELS)
            .map(|m| {
                let nz: Vec<usize> = (0..N_FREQ).filter(|&i| f[i * N_MELS + m] != 0.0).collect();
                match (nz.first(), nz.last()) {
                    (Some(&a), Some(&b)) => (a, (a..=b).map(|i| f[i * N_MELS + m]).collect()),
                    _ => (0, Vec::new()),
                }
            })
            .collect();
        SparseBank { rows }
    })
}

/// Periodic Hann window of 400 (`np.hanning(401)[:-1]`), f64.
fn hann_window() -> Vec<f64> {
    (0..N_FFT)
        .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos())
        .collect()
}

/// `np.pad(x, (p, p), mode="reflect")` for `x.len() > p`.
fn reflect_pad(x: &[f32], p: usize) -> Vec<f64> {
    let n = x.len();
    let mut out = Vec::with_capacity(n + 2 * p);
    out.extend((0..p).map(|i| x[p - i] as f64));
    out.extend(x.iter().map(|&v| v as f64));
    out.extend((0..p).map(|i| x[n - 2 - i] as f64));
    out
}

/// Log-mel features of mono 16 kHz samples (one clip, no batch padding).
///
/// Errors: [`AudioError::Empty`] for no samples, [`AudioError::TooShort`] below
/// [`MIN_SAMPLES`], [`AudioError::NonFinite`] for NaN/inf samples. Digital silence
/// gives `-1.5` everywhere, like the reference.
pub fn log_mel_spectrogram(samples: &[f32]) -> Result<super::MelFeatures, AudioError> {
    if samples.is_empty() {
        return Err(AudioError::Empty);
    }
    if samples.len() < MIN_SAMPLES {
        return Err(AudioError::TooShort {
            samples: samples.len(),
            min: MIN_SAMPLES,
        });
    }
    if let Some(index) = samples.iter().position(|x| !x.is_finite()) {
        return Err(AudioError::NonFinite { index });
    }
    let frames = samples.len() / HOP_LENGTH;
    let padded = reflect_pad(samples, N_FFT / 2);
    let window = hann_window();
    let bank = sparse_bank();

    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(N_FFT);
    let mut buf = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut power = vec![0.0f64; N_FREQ];
    let mut data = vec![0.0f32; N_MELS * frames];
    for t in 0..frames {
        let start = t * HOP_LENGTH;
        for (k, b) in buf.iter_mut().enumerate() {
            *b = padded[start + k] * window[k];
        }
        fft.process_with_scratch(&mut buf, &mut spec, &mut scratch)
            .map_err(|e| AudioError::Corrupt(format!("FFT failed: {e}")))?;
        for (p, c) in power.iter_mut().zip(spec.iter()) {
            // The reference keeps the spectrum as complex64: round re/im to f32.
            let re = c.re as f32 as f64;
            let im = c.im as f32 as f64;
            *p = re * re + im * im;
        }
        for (m, (first, w)) in bank.rows.iter().enumerate() {
            let mel: f64 = w.iter().zip(&power[*first..]).map(|(a, b)| a * b).sum();
            data[m * frames + t] = mel.max(1e-10).log10() as f32;
        }
    }
    let max = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let floor = max - 8.0;
    for v in data.iter_mut() {
        *v = (v.max(floor) + 4.0) / 4.0;
    }
    Ok(super::MelFeatures {
        data,
        n_mels: N_MELS,
        frames,
    })
}
