//! Thinker self-attention: GQA with per-head RMSNorm on q and k (before the
//! rotary embedding), causal over the KV cache, no biases.

use crate::backend::{MaskKind, Rounding};
use crate::error::Result;
use crate::models::qwen3_omni::weights::Weights;
use crate::models::KvCache;
use crate::nn::{Linear, RmsNorm, RopeTables};
use crate::tensor::{DType, Tensor};

pub struct Attention {
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub o_proj: Linear,
    pub q_norm: RmsNorm,
    pub k_norm: RmsNorm,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
}

impl Attention {
    /// Loads `{l}.self_attn.{q,k,v,o}_proj` and `{q,k}_norm` (shapes checked).
    pub(crate) fn load(
        w: &mut Weights,
        l: &str,
        hidden: usize,
        heads: usize,
        kv_heads: usize,
        head_dim: usize,
        eps: f64,
    ) -> Result<Attention> {
        Ok(Attention {
            q_proj: w.linear(
                &format!("{l}.self_attn.q_proj"),
                heads * head_dim,
                hidden,
                "[num_attention_heads·head_dim, hidden_size]",
            )?,
            k_proj: w.linear(
                &format!("{l}.self_attn.k_proj"),
                kv_heads * head_dim,
                hidden,
                "[num_key_value_heads·head_dim, hidden_size]",
            )?,
            v_proj: w.linear(
                &format!("{l}.self_attn.v_proj"),
                kv_heads * head_dim,
                hidden,
                "[num_key_value_heads·head_dim, hidden_size]",
            )?,
            o_proj: w.linear(
                &format!("{l}.self_attn.o_proj"),
                hidden,
                heads * head_dim,
                "[hidden_size, num_attention_heads·head_dim]",
            )?,
            q_norm: w.rms_norm(
                &format!("{l}.self_attn.q_norm.weight"),
                head_dim,
                eps,
                "[head_dim]",
            )?,
            k_norm: w.rms_norm(
                &format!("{l}.self_attn.k_norm.weight"),
                head_dim,
                eps,
                "[head_dim]",
            )?,
            num_heads: heads,
            num_kv_heads: kv_heads,
            head_dim,
        })
    }

    /// `x [n, hidden]` (already normed) at the positions `rope` was built for,
    /// which follow the `cache.len()` stored ones. Appends k/v of layer
    /// `layer` to the cache (the caller advances it once all layers ran).
    pub fn forward(
        &self,
        x: &Tensor,
        rope: &RopeTables,
        layer: usize,
        cache: &mut KvCache,
    ) -> Result<Tensor> {
        let n = x.dim(0)?;
        let (h, kvh, d) = (self.num_heads, self.num_kv_heads, self.head_dim);
        // The reference rounds each rotary product and sum in bf16.
        let rounding = match x.dtype() {
            DType::BF16 => Rounding::Bf16,
            DType::F16 => Rounding::F16,
            _ => Rounding::None,
        };

        // [n, heads·d] -> [1, n, heads, d]; norm over d; rotate.
        let q = self.q_proj.forward(x)?.reshape([1, n, h, d])?;
        let k = self.k_proj.forward(x)?.reshape([1, n, kvh, d])?;
        let v = self.v_proj.forward(x)?.reshape([1, n, kvh, d])?;
        let q = self
            .q_norm
            .forward(&q)?
            .rope(&rope.cos, &rope.sin, rounding)?;
        let k = self
            .k_norm
            .forward(&k)?
            .rope(&rope.cos, &rope.sin, rounding)?;

        // Heads first: [1, heads, n, d] (views; attention reads strides).
        let q = q.transpose(1, 2)?;
        let k = k.transpose(1, 2)?;
        let v = v.transpose(1, 2)?;

        let q_offset = cache.len();
        let out = {
            // The views over the cache must be gone before the next append.
            let (k_all, v_all) = cache.append(layer, &k, &v)?;
            let scale = 1.0 / (d as f32).sqrt();
            Tensor::attention(&q, &k_all, &v_all, scale, MaskKind::Causal { q_offset })?
        };
        let out = out.transpose(1, 2)?.reshape([n, h * d])?;
        self.o_proj.forward(&out)
    }
}
