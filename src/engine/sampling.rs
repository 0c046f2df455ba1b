//! Next-token selection with Hugging Face semantics, applied in HF's order:
//! repetition penalty -> temperature -> top-k -> top-p -> sample.
//! Greedy (temperature 0 or `greedy`) is argmax after the penalty.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::error::{Error, Result};

/// Sampling settings of one request. `Default` is greedy.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingParams {
    /// Argmax; ignores temperature/top-k/top-p (the penalty still applies).
    pub greedy: bool,
    /// Logits are divided by this; 0 means greedy.
    pub temperature: f32,
    /// Keep the k most likely tokens (0 = off). Ties with the k-th are kept.
    pub top_k: usize,
    /// Keep the smallest set of most likely tokens whose mass reaches p (1 = off).
    pub top_p: f32,
    /// HF `repetition_penalty` over every id seen (prompt + generated); 1 = off.
    pub repetition_penalty: f32,
    /// Same seed, same logits -> same tokens.
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams::greedy()
    }
}

impl SamplingParams {
    pub fn greedy() -> SamplingParams {
        SamplingParams {
            greedy: true,
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            repetition_penalty: 1.0,
            seed: 0,
        }
    }

    /// Plain sampling at `temperature` with `seed`.
    pub fn sample(temperature: f32, seed: u64) -> SamplingParams {
        SamplingParams {
            greedy: false,
            temperature,
            seed,
            ..SamplingParams::greedy()
        }
    }

    pub fn is_greedy(&self) -> bool {
        self.greedy || self.temperature == 0.0
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::InvalidArgument(format!("sampling: {what}")));
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return bad(format!(
                "temperature {} must be >= 0 (0 = greedy)",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad(format!("top_p {} must be in (0, 1]", self.top_p));
        }
        if !(self.repetition_penalty > 0.0 && self.repetition_penalty.is_finite()) {
            return bad(format!(
                "repetition_penalty {} must be > 0 (1 = off)",
                self.repetition_penalty
            ));
        }
        Ok(())
    }
}

/// The state of one request's sampling: its settings and its RNG.
pub struct Sampler {
    params: SamplingParams,
    rng: ChaCha20Rng,
    /// Scratch buffer reused across steps.
    work: Vec<f32>,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Result<Sampler> {
        params.validate()?;
        let rng = ChaCha20Rng::seed_from_u64(params.seed);
        Ok(Sampler {
            params,
            rng,
            work: Vec::new(),
        })
    }

    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// Picks the next id from raw `logits`; `seen` are the ids so far (prompt +
    /// generated) for the repetition penalty.
    pub fn next(&mut self, logits: &[f32], seen: &[u32]) -> Result<u32> {
        if logits.is_empty() {
            return Err(Error::invalid("sampling: empty logits"));
        }
        let p = &self.params;
        let mut w = std::mem::take(&mut self.work);
        w.clear();
        // NaN would poison every comparison below; treat it as impossible.
        w.extend(
            logits
                .iter()
                .map(|&x| if x.is_nan() { f32::NEG_INFINITY } else { x }),
        );
        apply_repetition_penalty(&mut w, seen, p.repetition_penalty);
        let id = if p.is_greedy() {
            argmax(&w)
        } else {
            let inv_t = 1.0 / p.temperature;
            w.iter_mut().for_each(|x| *x *= inv_t);
            apply_top_k(&mut w, p.top_k);
            apply_top_p(&mut w, p.top_p);
            let u = unit_f64(&mut self.rng);
            draw(&w, u)
        };
        self.work = w;
        id.ok_or_else(|| {
            Error::invalid("sampling: every logit is -inf or NaN (the model output is broken)")
        })
    }
}

/// HF `RepetitionPenaltyLogitsProcessor`: for each distinct seen id,
/// logit / penalty if logit > 0, else logit * penalty.
pub fn apply_repetition_penalty(logits: &mut [f32], seen: &[u32], penalty: f32) {
    if penalty == 1.0 {
        return;
    }
    let mut done = vec![false; logits.len()];
    for &id in seen {
        let i = id as usize;
        if i < logits.len() && !done[i] {
            done[i] = true;
            let x = logits[i];
            logits[i] = if x > 0.0 { x / penalty } else { x * penalty };
        }
    }
}

/// HF `TopKLogitsWarper`: everything below the k-th largest logit becomes -inf.
pub fn apply_top_k(logits: &mut [f32], k: usize) {
    if k == 0 || k >= logits.len() {
        return;
    }
    let mut sorted = logits.to_vec();
    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
    let threshold = sorted[k - 1];
    logits
        .iter_mut()
        .filter(|x| **x < threshold)
        .for_each(|x| *x = f32::NEG_INFINITY);
}

/// HF `TopPLogitsWarper`: keep the most likely tokens until their mass reaches
/// `p` (the one that crosses it included; at least one is kept).
pub fn apply_top_p(logits: &mut [f32], p: f32) {
    if p >= 1.0 {
        return;
    }
    let probs = softmax(logits);
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_unstable_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    let mut mass = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        if rank > 0 && mass >= p as f64 {
            logits[i] = f32::NEG_INFINITY;
        }
        mass += probs[i];
    }
}

/// Softmax in f64 (sums of many small probabilities stay accurate).
pub fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return vec![0.0; logits.len()];
    }
    let e: Vec<f64> = logits.iter().map(|&x| ((x - max) as f64).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

/// `log_softmax(logits)[id]` (the model's own log-probability of `id`).
pub fn log_prob(logits: &[f32], id: u32) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse: f64 = logits
        .iter()
        .map(|&x| ((x - max) as f64).exp())
        .sum::<f64>()
        .ln()
        + max as f64;
    match logits.get(id as usize) {
        Some(&x) => (x as f64 - lse) as f32,
        None => f32::NEG_INFINITY,
    }
}

/// Index of the largest value (first one on ties); None if all are -inf.
pub fn argmax(logits: &[f32]) -> Option<u32> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &x) in logits.iter().enumerate() {
        if x > f32::NEG_INFINITY && best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i as u32)
}

/// Inverse-CDF draw from `softmax(logits)` with `u` in [0, 1).
fn draw(logits: &[f32], u: f64) -> Option<u32> {
    let probs = softmax(logits);
    let mut acc = 0.0;
    let mut last = None;
    for (i, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            acc += p;
            last = Some(i as u32);
            if u < acc {
                return last;
            }
        }
    }
    last // rounding left u just above the total
}

/// Uniform in [0, 1) with 53 random bits.
fn unit_f64(rng: &mut ChaCha20Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}
