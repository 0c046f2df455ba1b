//! One thinker decoder layer (pre-norm):
//! `h += o_proj(attn(input_layernorm(h)))`, `h += mlp(post_attention_layernorm(h))`.

use super::attention::Attention;
use super::moe::SparseMoe;
use super::weights::Weights;
use crate::error::Result;
use crate::models::KvCache;
use crate::nn::{RmsNorm, RopeTables, SwiGluMlp};
use crate::tensor::Tensor;

/// The feed-forward part: sparse MoE, or a dense MLP for `mlp_only_layers`.
pub enum FeedForward {
    Moe(Box<SparseMoe>),
    Dense(Box<SwiGluMlp>),
}

pub struct DecoderLayer {
    pub input_layernorm: RmsNorm,
    pub self_attn: Attention,
    pub post_attention_layernorm: RmsNorm,
    pub mlp: FeedForward,
}

/// What a layer computed besides its output (for tests and the talker).
pub struct LayerTrace {
    pub attn_output: Tensor,
    pub mlp_output: Tensor,
    /// `[n, experts]`; None for a dense layer.
    pub router_logits: Option<Tensor>,
}

impl DecoderLayer {
    /// `h [n, hidden]` -> `[n, hidden]`.
    pub fn forward(
        &self,
        h: &Tensor,
        rope: &RopeTables,
        layer: usize,
        cache: &mut KvCache,
    ) -> Result<(Tensor, LayerTrace)> {
        let attn = self
            .self_attn
            .forward(&self.input_layernorm.forward(h)?, rope, layer, cache)?;
        let h = h.add(&attn)?;
        let x = self.post_attention_layernorm.forward(&h)?;
        let (mlp, router_logits) = match &self.mlp {
            FeedForward::Moe(moe) => {
                let (out, logits) = moe.forward(&x)?;
                (out, Some(logits))
            }
            FeedForward::Dense(mlp) => (mlp.forward(&x)?, None),
        };
        let out = h.add(&mlp)?;
        Ok((
            out,
            LayerTrace {
                attn_output: attn,
                mlp_output: mlp,
                router_logits,
            },
        ))
    }
}

/// `{l}.input_layernorm` and `{l}.post_attention_layernorm` of a pre-norm
/// decoder layer (thinker, talker and code predictor alike).
pub(crate) fn load_layer_norms(
    w: &mut Weights,
    l: &str,
    hidden: usize,
    eps: f64,
) -> Result<(RmsNorm, RmsNorm)> {
    let norm = |w: &mut Weights, name: &str| {
        w.rms_norm(&format!("{l}.{name}.weight"), hidden, eps, "[hidden_size]")
    };
    Ok((
        norm(w, "input_layernorm")?,
        norm(w, "post_attention_layernorm")?,
    ))
}
