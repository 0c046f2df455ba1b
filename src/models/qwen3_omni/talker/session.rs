//! The per-frame loop (qwen3-omni.md §8.4), as the reference's
//! `Qwen3OmniMoeTalkerForConditionalGeneration.generate` runs it:
//!
//! 1. the last talker forward's logits -> c0 (suppress `[vocab-1024, vocab) \ {eos}`,
//!    repetition penalty over earlier c0s); c0 = codec EOS ends the run (no frame);
//! 2. code predictor on `[h_last, C(c0)]` -> c1..c_{G-1} (fresh cache per frame);
//! 3. next talker input `C(c0) + Σ pred_emb[g-1](c_g) + (trailing_text[t] or tts_pad)`,
//!    run at position `cache_len + rope_delta` (done lazily at the next call, so
//!    the last frame costs no wasted forward).

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::models::qwen3_omni::multimodal::decode_positions;
use crate::models::KvCache;
use crate::tensor::Tensor;

use super::prompt::TalkerPrompt;
use super::sampling::{CodecSampler, TalkerOptions};
use super::Talker;

/// Everything one step computed (for tests against the reference).
pub struct StepTrace {
    /// f32 codec logits c0 was picked from (step 0: the prefill's).
    pub codec_logits: Vec<f32>,
    /// The talker input embedding `[1, hidden]` of the forward that produced
    /// `codec_logits` (None for the prefill).
    pub talker_input: Option<Tensor>,
    pub c0: u32,
    /// The frame's codes c0..c_{G-1}; None when c0 is codec EOS.
    pub codes: Option<Vec<u32>>,
    /// Code predictor prefill `[2, hidden]` = `[h_last, C(c0)]` (None at EOS).
    pub predictor_prefill: Option<Tensor>,
    /// Code predictor logits for c1..c_{G-1} (empty at EOS).
    pub predictor_logits: Vec<Vec<f32>>,
}

/// Owns a handle to its talker, so a request can keep it across steps.
pub struct TalkerSession {
    talker: Arc<Talker>,
    prompt: TalkerPrompt,
    cache: KvCache,
    talker_sampler: CodecSampler,
    predictor_sampler: CodecSampler,
    /// Logits + normed last hidden state of the latest forward.
    logits: Vec<f32>,
    h_last: Tensor,
    /// The input of the latest forward (None for the prefill).
    last_input: Option<Tensor>,
    /// Input of the next talker forward, not yet run.
    pending: Option<Tensor>,
    frames: usize,
    max_frames: usize,
    finished: bool,
}

impl Talker {
    /// §8.4: run the prefill and return a per-frame generator over it.
    pub fn start(
        self: &Arc<Self>,
        prompt: TalkerPrompt,
        opts: &TalkerOptions,
    ) -> Result<TalkerSession> {
        let hidden = self.hidden_size();
        let m = prompt.ids.len();
        if m == 0
            || prompt.embeds.dims() != [m, hidden]
            || prompt.positions.iter().any(|r| r.len() != m)
        {
            return Err(Error::Shape {
                op: "talker",
                detail: format!(
                    "prompt embeds {:?}, {} ids and {} positions do not fit hidden size {hidden}",
                    prompt.embeds.shape(),
                    m,
                    prompt.positions[0].len()
                ),
            });
        }
        if prompt.trailing_text.rank() != 2 || prompt.trailing_text.dims()[1] != hidden {
            return Err(Error::shape(
                "talker",
                format!(
                    "trailing text {:?} is not [k, {hidden}]",
                    prompt.trailing_text.shape()
                ),
            ));
        }
        let text = &self.decoder.config;
        let capacity = (m + opts.max_frames + 1).min(text.max_position_embeddings);
        if m >= capacity {
            return Err(Error::InvalidArgument(format!(
                "talker: a {m}-position prompt exceeds max_position_embeddings = {}",
                text.max_position_embeddings
            )));
        }
        let talker_sampler =
            CodecSampler::talker(&opts.talker, text.vocab_size, self.codec_eos_id())?;
        let predictor_sampler =
            CodecSampler::new(&opts.predictor, self.code_predictor.config.vocab_size, &[])?;
        let mut cache = KvCache::new(
            self.decoder.layers.len(),
            text.num_key_value_heads,
            text.head_dim(),
            capacity,
            self.dtype,
            &self.device,
        )?;
        let out = self.device.scoped(|| {
            self.decoder
                .forward(&prompt.embeds, &prompt.positions, &mut cache)
        })?;
        cache.set_rope_delta(prompt.rope_delta);
        let logits = out.logits.to_vec::<f32>()?;
        Ok(TalkerSession {
            talker: Arc::clone(self),
            prompt,
            cache,
            talker_sampler,
            predictor_sampler,
            logits,
            h_last: out.last_hidden,
            last_input: None,
            pending: None,
            frames: 0,
            max_frames: opts.max_frames,
            finished: false,
        })
    }
}

impl TalkerSession {
    /// Next frame's `num_code_groups` codes (c0..c_{G-1}), or None after codec
    /// EOS / `max_frames`.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u32>>> {
        Ok(self.step_traced()?.and_then(|s| s.codes))
    }

    /// Frames produced so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The c0 codes picked so far (including a final EOS).
    pub fn c0_history(&self) -> &[u32] {
        self.talker_sampler.history()
    }

    pub fn prompt(&self) -> &TalkerPrompt {
        &self.prompt
    }

    /// One step with its intermediates. Returns None once finished (after an
    /// EOS step was returned, or at `max_frames`); an EOS step is returned once
    /// with `codes: None`.
    pub fn step_traced(&mut self) -> Result<Option<StepTrace>> {
        if self.finished || self.frames >= self.max_frames {
            self.finished = true;
            return Ok(None);
        }
        let talker = Arc::clone(&self.talker);
        let result = talker.device.scoped(|| self.step_inner());
        if result.is_err() {
            self.finished = true;
        }
        result.map(Some)
    }

    fn step_inner(&mut self) -> Result<StepTrace> {
        let talker = Arc::clone(&self.talker);
        if let Some(x) = self.pending.take() {
            let positions = decode_positions(self.cache.len(), self.cache.rope_delta(), 1);
            let out = talker.decoder.forward(&x, &positions, &mut self.cache)?;
            self.logits = out.logits.to_vec::<f32>()?;
            self.h_last = out.last_hidden;
            self.last_input = Some(x);
        }
        let codec_logits = std::mem::take(&mut self.logits);
        let talker_input = self.last_input.take();
        let c0 = self.talker_sampler.pick(&codec_logits)?;
        if c0 == talker.codec_eos_id() {
            self.finished = true;
            return Ok(StepTrace {
                codec_logits,
                talker_input,
                c0,
                codes: None,
                predictor_prefill: None,
                predictor_logits: Vec::new(),
            });
        }
        let c0_embed = talker.decoder.embed_codes(&[c0])?;
        let predictor_prefill = Tensor::cat(&[&self.h_last, &c0_embed], 0)?;
        let sampler = &mut self.predictor_sampler;
        sampler.reset_history();
        let frame = talker
            .code_predictor
            .predict(&self.h_last, &c0_embed, |_, logits, _| sampler.pick(logits))?;

        // Next input: all G code embeddings + the text side of this step.
        let t = self.frames;
        let k = self.prompt.trailing_text.dim(0)?;
        let text = if t < k {
            self.prompt.trailing_text.narrow(0, t, 1)?
        } else {
            self.prompt.tts_pad_embed.clone()
        };
        let next = c0_embed
            .add(&frame.embed_sum)?
            .add(&text.to_dtype(talker.dtype)?)?;
        self.pending = Some(next);
        self.frames += 1;

        let mut codes = Vec::with_capacity(talker.num_code_groups());
        codes.push(c0);
        codes.extend_from_slice(&frame.codes);
        Ok(StepTrace {
            codec_logits,
            talker_input,
            c0,
            codes: Some(codes),
            predictor_prefill: Some(predictor_prefill),
            predictor_logits: frame.logits,
        })
    }
}
