//! The talker's MoE text decoder (qwen3-omni.md §8.3): the thinker's layer
//! skeleton (pre-norm, GQA with q/k RMSNorm, interleaved M-RoPE) whose MoE
//! block adds a sigmoid-gated shared expert, then `model.norm` and `codec_head`.

use crate::error::Result;
use crate::models::qwen3_omni::attention::Attention;
use crate::models::qwen3_omni::layer::load_layer_norms;
use crate::models::qwen3_omni::moe::SparseMoe;
use crate::models::qwen3_omni::positions::{rope_for, Positions};
use crate::models::qwen3_omni::weights::{Init, Weights};
use crate::models::qwen3_omni::TextConfig;
use crate::models::KvCache;
use crate::nn::{Linear, RmsNorm, RopeTables, SwiGluMlp};
use crate::tensor::{DType, Tensor};

/// `routed(x) + sigmoid(shared_expert_gate(x)) · shared_expert(x)`.
pub struct SharedExpertMoe {
    /// Router + routed experts (f32 softmax, top-k, renormalised as configured).
    pub routed: SparseMoe,
    pub shared_expert: SwiGluMlp,
    /// `Linear(hidden → 1)`, no bias.
    pub shared_expert_gate: Linear,
}

impl SharedExpertMoe {
    /// `x [n, hidden]` -> `[n, hidden]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let shared = self.shared_expert.forward(x)?;
        let (routed, _) = self.routed.forward(x)?;
        let gate = self.shared_expert_gate.forward(x)?.sigmoid()?; // [n, 1]
        routed.add(&shared.mul(&gate)?)
    }
}

pub struct TalkerLayer {
    pub input_layernorm: RmsNorm,
    pub self_attn: Attention,
    pub post_attention_layernorm: RmsNorm,
    pub mlp: SharedExpertMoe,
}

impl TalkerLayer {
    fn forward(
        &self,
        h: &Tensor,
        rope: &RopeTables,
        layer: usize,
        cache: &mut KvCache,
    ) -> Result<Tensor> {
        let attn = self
            .self_attn
            .forward(&self.input_layernorm.forward(h)?, rope, layer, cache)?;
        let h = h.add(&attn)?;
        let mlp = self
            .mlp
            .forward(&self.post_attention_layernorm.forward(&h)?)?;
        h.add(&mlp)
    }
}

/// `talker.model.*` + `talker.codec_head`.
pub struct TalkerDecoder {
    pub config: TextConfig,
    pub dtype: DType,
    /// `talker.model.codec_embedding.weight [vocab, hidden]`, as stored.
    pub codec_embedding: Tensor,
    pub layers: Vec<TalkerLayer>,
    pub norm: RmsNorm,
    pub codec_head: Linear,
}

/// What one decoder forward returns.
pub struct DecoderOutput {
    /// `model.norm` output of the last position `[1, hidden]` (the
    /// reference's `hidden_states[-1]`, which feeds the code predictor).
    pub last_hidden: Tensor,
    /// f32 codec logits of the last position `[1, vocab]`.
    pub logits: Tensor,
}

impl TalkerDecoder {
    pub(crate) fn build(t: &TextConfig, w: &mut Weights) -> Result<TalkerDecoder> {
        let (hidden, vocab, eps) = (t.hidden_size, t.vocab_size, t.rms_norm_eps);
        let p = "talker.model";
        let codec_embedding = w.tensor(
            &format!("{p}.codec_embedding.weight"),
            &[vocab, hidden],
            Init::Embedding,
            "[talker text_config.vocab_size, hidden_size]",
        )?;
        let mut layers = Vec::with_capacity(t.num_hidden_layers);
        for n in 0..t.num_hidden_layers {
            let l = format!("{p}.layers.{n}");
            let self_attn = Attention::load(
                w,
                &l,
                hidden,
                t.num_attention_heads,
                t.num_key_value_heads,
                t.head_dim(),
                eps,
            )?;
            let gate = w.linear(
                &format!("{l}.mlp.gate"),
                t.num_experts,
                hidden,
                "[num_experts, hidden_size]",
            )?;
            let experts = (0..t.num_experts)
                .map(|e| {
                    w.swiglu(
                        &format!("{l}.mlp.experts.{e}"),
                        hidden,
                        t.moe_intermediate_size,
                        "moe_intermediate_size × hidden_size",
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let shared_expert = w.swiglu(
                &format!("{l}.mlp.shared_expert"),
                hidden,
                t.shared_expert_intermediate_size,
                "shared_expert_intermediate_size × hidden_size",
            )?;
            let shared_expert_gate = w.linear(
                &format!("{l}.mlp.shared_expert_gate"),
                1,
                hidden,
                "[1, hidden_size]",
            )?;
            let (input_layernorm, post_attention_layernorm) = load_layer_norms(w, &l, hidden, eps)?;
            layers.push(TalkerLayer {
                input_layernorm,
                self_attn,
                post_attention_layernorm,
                mlp: SharedExpertMoe {
                    routed: SparseMoe {
                        gate,
                        experts,
                        top_k: t.num_experts_per_tok,
                        norm_topk_prob: t.norm_topk_prob,
                    },
                    shared_expert,
                    shared_expert_gate,
                },
            });
        }
        let norm = w.rms_norm(&format!("{p}.norm.weight"), hidden, eps, "[hidden_size]")?;
        let codec_head = w.linear(
            "talker.codec_head",
            vocab,
            hidden,
            "[talker text_config.vocab_size, hidden_size]",
        )?;
        Ok(TalkerDecoder {
            config: t.clone(),
            dtype: w.compute_dtype(),
            codec_embedding,
            layers,
            norm,
            codec_head,
        })
    }

    /// `codec_embedding(ids)` `[n, hidden]` in the activation dtype.
    pub fn embed_codes(&self, ids: &[u32]) -> Result<Tensor> {
        let vocab = self.config.vocab_size;
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab) {
            return Err(crate::error::Error::InvalidArgument(format!(
                "talker: codec id {id} is outside the codec vocabulary of {vocab}"
            )));
        }
        let t = Tensor::from_slice(ids, [ids.len()], self.codec_embedding.device())?;
        self.codec_embedding.gather_rows(&t)?.to_dtype(self.dtype)
    }

    /// Run `x [n, hidden]` at `positions` after what `cache` holds.
    pub fn forward(
        &self,
        x: &Tensor,
        positions: &Positions,
        cache: &mut KvCache,
    ) -> Result<DecoderOutput> {
        let n = x.dim(0)?;
        let device = x.device().clone();
        let rope = rope_for(positions, &self.config, self.dtype, &device)?;
        let mut h = x.to_dtype(self.dtype)?;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h, &rope, i, cache)?;
        }
        cache.advance(n)?;
        let last = h.narrow(0, n - 1, 1)?;
        let last_hidden = self.norm.forward(&last)?;
        let logits = self
            .codec_head
            .forward(&last_hidden)?
            .to_dtype(DType::F32)?;
        Ok(DecoderOutput {
            last_hidden,
            logits,
        })
    }
}
