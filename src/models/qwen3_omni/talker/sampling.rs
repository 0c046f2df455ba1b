//! Codec sampling (qwen3-omni.md §8.4): HF order repetition penalty (over the
//! codes this sampler generated, never the prompt) -> suppressed ids (-inf)
//! -> temperature -> top-k -> top-p -> seeded draw; greedy is argmax after the
//! penalty and suppression, as in transformers' greedy search.

use crate::engine::sampling::{Sampler, SamplingParams};
use crate::error::{Error, Result};

/// Settings of one codec sampler.
#[derive(Clone, Debug, PartialEq)]
pub struct CodecSampling {
    pub greedy: bool,
    pub temperature: f32,
    pub top_k: usize,
    pub top_p: f32,
    pub repetition_penalty: f32,
    pub seed: u64,
}

impl CodecSampling {
    /// The talker's defaults (`Qwen3OmniMoeForConditionalGeneration.generate`):
    /// temperature 0.9, top-k 50, top-p 1.0, repetition penalty 1.05.
    pub fn talker_default() -> CodecSampling {
        CodecSampling {
            greedy: false,
            temperature: 0.9,
            top_k: 50,
            top_p: 1.0,
            repetition_penalty: 1.05,
            seed: 0,
        }
    }

    /// The code predictor's: temperature 1.0, top-k 50, top-p 0.8, no penalty.
    pub fn predictor_default() -> CodecSampling {
        CodecSampling {
            greedy: false,
            temperature: 1.0,
            top_k: 50,
            top_p: 0.8,
            repetition_penalty: 1.0,
            seed: 0,
        }
    }

    /// Argmax (the talker's repetition penalty still applies, as in HF).
    pub fn greedy(self) -> CodecSampling {
        CodecSampling {
            greedy: true,
            ..self
        }
    }

    fn params(&self) -> SamplingParams {
        SamplingParams {
            greedy: self.greedy,
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            repetition_penalty: self.repetition_penalty,
            seed: self.seed,
        }
    }
}

/// Options of a talker run.
#[derive(Clone, Debug, PartialEq)]
pub struct TalkerOptions {
    /// Codebook-0 sampling (talker).
    pub talker: CodecSampling,
    /// Codebooks 1..G-1 sampling (code predictor).
    pub predictor: CodecSampling,
    /// At most this many frames (HF `talker_max_new_tokens` = max_frames + 1).
    pub max_frames: usize,
}

impl Default for TalkerOptions {
    fn default() -> Self {
        TalkerOptions {
            talker: CodecSampling::talker_default(),
            predictor: CodecSampling::predictor_default(),
            max_frames: 4095,
        }
    }
}

impl TalkerOptions {
    /// Both samplers greedy (HF `talker_do_sample=False`, which transformers
    /// mirrors onto the code predictor); the talker keeps its 1.05 penalty.
    pub fn greedy() -> TalkerOptions {
        let d = TalkerOptions::default();
        TalkerOptions {
            talker: d.talker.greedy(),
            predictor: d.predictor.greedy(),
            ..d
        }
    }
}

/// A seeded sampler with a fixed set of suppressed ids and its own history
/// for the repetition penalty.
pub struct CodecSampler {
    inner: Sampler,
    /// `suppressed[i]`: id i can never be picked.
    suppressed: Vec<bool>,
    history: Vec<u32>,
    work: Vec<f32>,
}

impl CodecSampler {
    pub fn new(settings: &CodecSampling, vocab: usize, suppress: &[u32]) -> Result<CodecSampler> {
        let inner = Sampler::new(settings.params())?;
        let mut suppressed = vec![false; vocab];
        for &id in suppress {
            if let Some(s) = suppressed.get_mut(id as usize) {
                *s = true;
            }
        }
        if suppressed.iter().all(|&s| s) {
            return Err(Error::InvalidArgument(
                "codec sampling: every id is suppressed".into(),
            ));
        }
        Ok(CodecSampler {
            inner,
            suppressed,
            history: Vec::new(),
            work: Vec::new(),
        })
    }

    /// The talker's sampler: suppresses `[vocab - 1024, vocab)` except `eos`.
    pub fn talker(settings: &CodecSampling, vocab: usize, eos: u32) -> Result<CodecSampler> {
        let suppress: Vec<u32> = (vocab.saturating_sub(1024)..vocab)
            .map(|i| i as u32)
            .filter(|&i| i != eos)
            .collect();
        CodecSampler::new(settings, vocab, &suppress)
    }

    /// Pick from `logits` (penalty over this sampler's previous picks) and
    /// remember the pick.
    pub fn pick(&mut self, logits: &[f32]) -> Result<u32> {
        if logits.len() != self.suppressed.len() {
            return Err(Error::InvalidArgument(format!(
                "codec sampling: {} logits for a vocabulary of {}",
                logits.len(),
                self.suppressed.len()
            )));
        }
        self.work.clear();
        self.work
            .extend(
                logits
                    .iter()
                    .zip(&self.suppressed)
                    .map(|(&x, &s)| if s { f32::NEG_INFINITY } else { x }),
            );
        let id = self.inner.next(&self.work, &self.history)?;
        self.history.push(id);
        Ok(id)
    }

    /// Forget the history (the code predictor starts each frame afresh).
    pub fn reset_history(&mut self) {
        self.history.clear();
    }

    pub fn history(&self) -> &[u32] {
        &self.history
    }
}
