//! Teacher-forced scoring: the log-probability of every token given the ones
//! before it, and the perplexity of the sequence.

use crate::error::{Error, Result};
use crate::models::LogitsFor;
use crate::preprocess::{Media, MediaOptions};
use crate::tensor::Tensor;

use super::request::Prompt;

use super::sampling::log_prob;
use super::serving::Engine;

#[derive(Clone, Debug, Default)]
pub struct ScoreOptions {
    /// Also return the `[tokens, vocab]` f32 logits (large: tokens x vocab x 4 bytes).
    pub keep_logits: bool,
}

#[derive(Clone, Debug)]
pub struct ScoreResult {
    /// The scored ids (with media: the expanded prompt, one pad per media token).
    pub ids: Vec<u32>,
    /// `log p(ids[i] | ids[..i])` for i = 1..n (the first token has no context).
    pub token_logprobs: Vec<f32>,
    /// `exp(-mean(token_logprobs))`.
    pub perplexity: f64,
    /// `[n, vocab]` f32, row i predicting token i + 1 (with `keep_logits`).
    pub logits: Option<Tensor>,
}

impl Engine {
    /// Scores `ids` (at least two) without logits.
    pub fn score(&self, ids: &[u32]) -> Result<ScoreResult> {
        self.score_with(ids, &ScoreOptions::default())
    }

    pub fn score_with(&self, ids: &[u32], opts: &ScoreOptions) -> Result<ScoreResult> {
        self.score_prepared(ids, None, opts)
    }

    /// Scores a prompt with media (placeholders as in
    /// [`Engine::encode_with_media`]); the log-probabilities cover every
    /// position of the expanded prompt, media pads included.
    pub fn score_prompt(
        &self,
        prompt: &Prompt,
        media: &[Media],
        media_options: &MediaOptions,
        opts: &ScoreOptions,
    ) -> Result<ScoreResult> {
        let (ids, prepared) = self.prepare(prompt, media, media_options)?;
        self.score_prepared(&ids, prepared, opts)
    }

    fn score_prepared(
        &self,
        ids: &[u32],
        prepared: Option<crate::models::qwen3_omni::PreparedPrompt>,
        opts: &ScoreOptions,
    ) -> Result<ScoreResult> {
        if ids.len() < 2 {
            return Err(Error::invalid(
                "scoring needs at least 2 tokens (the first one is only context)",
            ));
        }
        self.check_ids(ids, ids.len())?;
        let inner = &self.inner;
        let _reservation = inner.admission.reserve(inner.kv.bytes(ids.len())?)?;
        let mut cache = inner.model.new_cache(ids.len())?;
        let vocab = inner.model.vocab_size();
        let chunk = inner.config.prefill_chunk;
        let mut token_logprobs = Vec::with_capacity(ids.len() - 1);
        let mut kept = Vec::new();
        let mut pos = 0;
        // Log-probs of one piece of logits as soon as it comes (a long prompt's
        // logits are never all held unless asked for).
        let mut consume = |len: usize, logits: Tensor| -> Result<()> {
            let rows = logits.to_f32_vec()?;
            if rows.len() != len * vocab {
                return Err(Error::InvalidArgument(format!(
                    "model returned {} logits for {len} positions of vocab {vocab}",
                    rows.len()
                )));
            }
            for (i, row) in rows.chunks_exact(vocab).enumerate() {
                if let Some(&next) = ids.get(pos + i + 1) {
                    token_logprobs.push(log_prob(row, next));
                }
            }
            pos += len;
            if opts.keep_logits {
                kept.push(logits.reshape([len, vocab])?);
            }
            Ok(())
        };
        match (&prepared, &inner.media) {
            (None, _) => {
                for part in ids.chunks(chunk) {
                    consume(
                        part.len(),
                        inner.model.forward(part, &mut cache, LogitsFor::All)?,
                    )?;
                }
            }
            // The media prefill chunks inside (encoders run once).
            (Some(p), Some(media)) => consume(
                ids.len(),
                media.prefill(p, &mut cache, LogitsFor::All, chunk)?,
            )?,
            (Some(_), None) => return Err(Error::invalid("media prompt without encoders")),
        }
        let mean =
            token_logprobs.iter().map(|&x| x as f64).sum::<f64>() / token_logprobs.len() as f64;
        let logits = if opts.keep_logits {
            let refs: Vec<&Tensor> = kept.iter().collect();
            Some(Tensor::cat(&refs, 0)?)
        } else {
            None
        };
        Ok(ScoreResult {
            ids: ids.to_vec(),
            token_logprobs,
            perplexity: (-mean).exp(),
            logits,
        })
    }
}
