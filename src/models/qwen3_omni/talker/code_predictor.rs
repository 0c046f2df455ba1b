//! The code predictor ("MTP", qwen3-omni.md §8.5): a small dense Qwen3 decoder
//! with plain 1-D RoPE that, per frame, predicts the residual codebooks
//! c1..c_{G-1} from the talker's last normed hidden state and c0.

use crate::backend::Device;
use crate::error::{Error, Result};
use crate::models::qwen3_omni::attention::Attention;
use crate::models::qwen3_omni::layer::{load_layer_norms, DecoderLayer, FeedForward};
use crate::models::qwen3_omni::weights::{Init, Weights};
use crate::models::KvCache;
use crate::nn::{rope_tables, Linear, RmsNorm};
use crate::tensor::{DType, Tensor};

use super::config::CodePredictorConfig;

pub struct CodePredictor {
    pub config: CodePredictorConfig,
    pub num_code_groups: usize,
    pub dtype: DType,
    pub layers: Vec<DecoderLayer>,
    pub norm: RmsNorm,
    /// `code_predictor.model.codec_embedding.{0..G-2}.weight [vocab, hidden]`.
    pub codec_embedding: Vec<Tensor>,
    /// `code_predictor.lm_head.{0..G-2}`.
    pub lm_head: Vec<Linear>,
}

/// One frame's residual codes and what produced them.
pub struct PredictorFrame {
    /// c1..c_{G-1}.
    pub codes: Vec<u32>,
    /// f32 logits each code was picked from (`G-1` rows of `vocab`).
    pub logits: Vec<Vec<f32>>,
    /// `Σ_{g=1..G-1} codec_embedding[g-1](c_g)` `[1, hidden]`: the residual
    /// part of the next talker input.
    pub embed_sum: Tensor,
}

impl CodePredictor {
    pub(crate) fn build(
        c: &CodePredictorConfig,
        groups: usize,
        w: &mut Weights,
    ) -> Result<CodePredictor> {
        let (hidden, vocab, eps) = (c.hidden_size, c.vocab_size, c.rms_norm_eps);
        let p = "talker.code_predictor";
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for n in 0..c.num_hidden_layers {
            let l = format!("{p}.model.layers.{n}");
            let self_attn = Attention::load(
                w,
                &l,
                hidden,
                c.num_attention_heads,
                c.num_key_value_heads,
                c.head_dim(),
                eps,
            )?;
            let mlp = w.swiglu(
                &format!("{l}.mlp"),
                hidden,
                c.intermediate_size,
                "code_predictor intermediate_size × hidden_size",
            )?;
            let (input_layernorm, post_attention_layernorm) = load_layer_norms(w, &l, hidden, eps)?;
            layers.push(DecoderLayer {
                input_layernorm,
                self_attn,
                post_attention_layernorm,
                mlp: FeedForward::Dense(Box::new(mlp)),
            });
        }
        let norm = w.rms_norm(
            &format!("{p}.model.norm.weight"),
            hidden,
            eps,
            "[hidden_size]",
        )?;
        let mut codec_embedding = Vec::with_capacity(groups - 1);
        let mut lm_head = Vec::with_capacity(groups - 1);
        for g in 0..groups - 1 {
            codec_embedding.push(w.tensor(
                &format!("{p}.model.codec_embedding.{g}.weight"),
                &[vocab, hidden],
                Init::Embedding,
                "[code_predictor vocab_size, hidden_size]",
            )?);
        }
        for g in 0..groups - 1 {
            lm_head.push(w.linear(
                &format!("{p}.lm_head.{g}"),
                vocab,
                hidden,
                "[code_predictor vocab_size, hidden_size]",
            )?);
        }
        Ok(CodePredictor {
            config: c.clone(),
            num_code_groups: groups,
            dtype: w.compute_dtype(),
            layers,
            norm,
            codec_embedding,
            lm_head,
        })
    }

    /// A fresh cache for one frame (`G` positions: h_last, c0, c1..c_{G-2}).
    pub fn new_cache(&self, device: &Device) -> Result<KvCache> {
        KvCache::new(
            self.layers.len(),
            self.config.num_key_value_heads,
            self.config.head_dim(),
            self.num_code_groups,
            self.dtype,
            device,
        )
    }

    /// `codec_embedding[index](code)` `[1, hidden]` in the activation dtype.
    pub fn embed(&self, index: usize, code: u32) -> Result<Tensor> {
        let table = self.codec_embedding.get(index).ok_or_else(|| {
            Error::InvalidArgument(format!("code predictor: no embedding table {index}"))
        })?;
        if code as usize >= self.config.vocab_size {
            return Err(Error::InvalidArgument(format!(
                "code predictor: code {code} is outside its vocabulary of {}",
                self.config.vocab_size
            )));
        }
        let ids = Tensor::from_slice(&[code], [1], table.device())?;
        table.gather_rows(&ids)?.to_dtype(self.dtype)
    }

    /// Decoder on `x [n, hidden]` at positions `cache.len()..`; f32 logits of
    /// the last position through `lm_head[head]`, as a vector.
    pub fn forward(&self, x: &Tensor, head: usize, cache: &mut KvCache) -> Result<Vec<f32>> {
        let n = x.dim(0)?;
        let start = cache.len();
        let pos: Vec<f32> = (start..start + n).map(|p| p as f32).collect();
        let device = x.device().clone();
        let mut rope = rope_tables(
            &pos,
            self.config.head_dim(),
            self.config.rope_theta(),
            &device,
        )?;
        if self.dtype != DType::F32 {
            rope.cos = rope.cos.to_dtype(self.dtype)?;
            rope.sin = rope.sin.to_dtype(self.dtype)?;
        }
        let mut h = x.to_dtype(self.dtype)?;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h, &rope, i, cache)?.0;
        }
        cache.advance(n)?;
        let last = self.norm.forward(&h.narrow(0, n - 1, 1)?)?;
        let head = self
            .lm_head
            .get(head)
            .ok_or_else(|| Error::InvalidArgument(format!("code predictor: no lm_head {head}")))?;
        head.forward(&last)?.to_dtype(DType::F32)?.to_vec::<f32>()
    }

    /// One frame: prefill `[h_last, c0_embed]` (both `[1, hidden]`), then feed
    /// each code back through its own embedding. `pick(g, logits, so_far)`
    /// chooses code c_g (g = 1..G-1) from its logits.
    pub fn predict(
        &self,
        h_last: &Tensor,
        c0_embed: &Tensor,
        mut pick: impl FnMut(usize, &[f32], &[u32]) -> Result<u32>,
    ) -> Result<PredictorFrame> {
        let device = h_last.device().clone();
        let mut cache = self.new_cache(&device)?;
        let x = Tensor::cat(
            &[
                &h_last.to_dtype(self.dtype)?,
                &c0_embed.to_dtype(self.dtype)?,
            ],
            0,
        )?;
        let groups = self.num_code_groups;
        let mut codes = Vec::with_capacity(groups - 1);
        let mut all_logits = Vec::with_capacity(groups - 1);
        let mut embed_sum: Option<Tensor> = None;
        let mut logits = self.forward(&x, 0, &mut cache)?;
        for g in 1..groups {
            let code = pick(g, &logits, &codes)?;
            codes.push(code);
            all_logits.push(std::mem::take(&mut logits));
            let e = self.embed(g - 1, code)?;
            embed_sum = Some(match embed_sum {
                None => e.clone(),
                Some(s) => s.add(&e)?,
            });
            if g + 1 < groups {
                logits = self.forward(&e, g, &mut cache)?;
            }
        }
        let embed_sum = embed_sum.ok_or_else(|| Error::invalid("code predictor: no groups"))?;
        Ok(PredictorFrame {
            codes,
            logits: all_logits,
            embed_sum,
        })
    }
}
