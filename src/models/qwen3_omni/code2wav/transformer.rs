//! The `pre_transformer` (qwen3-omni.md §9 step 2): pre-norm layers
//! `x += s_attn ⊙ Attn(RMSNorm(x))`, `x += s_mlp ⊙ SwiGLU(RMSNorm(x))`, then a
//! final RMSNorm. Attention: MHA/GQA without biases or q/k norms, standard
//! RoPE over positions `0..T` of the decoded window, causal sliding window
//! (query i sees keys `i − window < j ≤ i`), scale `1/sqrt(head_dim)`.

use super::config::Code2WavConfig;
use super::params::Loader;
use crate::backend::{MaskKind, Rounding};
use crate::error::Result;
use crate::models::qwen3_omni::weights::Init;
use crate::nn::{rope_tables, Linear, RmsNorm, SwiGluMlp};
use crate::tensor::{DType, Tensor};

pub(crate) struct Layer {
    input_layernorm: RmsNorm,
    post_attention_layernorm: RmsNorm,
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    mlp: SwiGluMlp,
    attn_scale: Tensor,
    mlp_scale: Tensor,
}

pub(crate) struct PreTransformer {
    layers: Vec<Layer>,
    norm: RmsNorm,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    window: usize,
    theta: f64,
}

impl PreTransformer {
    pub fn load(l: &mut Loader, prefix: &str, cfg: &Code2WavConfig) -> Result<PreTransformer> {
        let d = cfg.hidden_size;
        let (h, kvh, hd) = (cfg.num_attention_heads, cfg.num_kv_heads(), cfg.head_dim());
        let eps = cfg.rms_norm_eps;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("{prefix}.layers.{i}");
            let attn = |l: &mut Loader, name: &str, out: usize, inp: usize, why: &str| {
                l.linear(&format!("{p}.self_attn.{name}"), out, inp, false, why)
            };
            let mlp = |l: &mut Loader, name: &str, out: usize, inp: usize, why: &str| {
                l.linear(&format!("{p}.mlp.{name}"), out, inp, false, why)
            };
            layers.push(Layer {
                input_layernorm: l.rms_norm(
                    &format!("{p}.input_layernorm.weight"),
                    d,
                    eps,
                    "[hidden_size]",
                )?,
                post_attention_layernorm: l.rms_norm(
                    &format!("{p}.post_attention_layernorm.weight"),
                    d,
                    eps,
                    "[hidden_size]",
                )?,
                q_proj: attn(l, "q_proj", h * hd, d, "[heads·head_dim, hidden_size]")?,
                k_proj: attn(l, "k_proj", kvh * hd, d, "[kv_heads·head_dim, hidden_size]")?,
                v_proj: attn(l, "v_proj", kvh * hd, d, "[kv_heads·head_dim, hidden_size]")?,
                o_proj: attn(l, "o_proj", d, h * hd, "[hidden_size, heads·head_dim]")?,
                mlp: SwiGluMlp {
                    gate_proj: mlp(
                        l,
                        "gate_proj",
                        cfg.intermediate_size,
                        d,
                        "[intermediate_size, hidden_size]",
                    )?,
                    up_proj: mlp(
                        l,
                        "up_proj",
                        cfg.intermediate_size,
                        d,
                        "[intermediate_size, hidden_size]",
                    )?,
                    down_proj: mlp(
                        l,
                        "down_proj",
                        d,
                        cfg.intermediate_size,
                        "[hidden_size, intermediate_size]",
                    )?,
                },
                attn_scale: l.tensor(
                    &format!("{p}.self_attn_layer_scale.scale"),
                    &[d],
                    Init::Norm,
                    "[hidden_size]",
                )?,
                mlp_scale: l.tensor(
                    &format!("{p}.mlp_layer_scale.scale"),
                    &[d],
                    Init::Norm,
                    "[hidden_size]",
                )?,
            });
        }
        Ok(PreTransformer {
            layers,
            norm: l.rms_norm(&format!("{prefix}.norm.weight"), d, eps, "[hidden_size]")?,
            heads: h,
            kv_heads: kvh,
            head_dim: hd,
            window: cfg.sliding_window,
            theta: cfg.rope_theta(),
        })
    }

    /// `x [T, hidden]` -> (final-norm output `[T, hidden]`, each layer's output
    /// when `trace`).
    pub fn forward(&self, x: &Tensor, trace: bool) -> Result<(Tensor, Vec<Tensor>)> {
        let t = x.dim(0)?;
        let positions: Vec<f32> = (0..t).map(|p| p as f32).collect();
        let rope = rope_tables(&positions, self.head_dim, self.theta, x.device())?;
        let (cos, sin) = (rope.cos.to_dtype(x.dtype())?, rope.sin.to_dtype(x.dtype())?);
        let rounding = match x.dtype() {
            DType::BF16 => Rounding::Bf16,
            DType::F16 => Rounding::F16,
            _ => Rounding::None,
        };
        let mut x = x.clone();
        let mut outs = Vec::new();
        for layer in &self.layers {
            let a = self.attention(
                layer,
                &layer.input_layernorm.forward(&x)?,
                &cos,
                &sin,
                rounding,
            )?;
            x = x.add(&a.mul(&layer.attn_scale)?)?;
            let m = layer
                .mlp
                .forward(&layer.post_attention_layernorm.forward(&x)?)?;
            x = x.add(&m.mul(&layer.mlp_scale)?)?;
            if trace {
                outs.push(x.clone());
            }
        }
        Ok((self.norm.forward(&x)?, outs))
    }

    fn attention(
        &self,
        layer: &Layer,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        rounding: Rounding,
    ) -> Result<Tensor> {
        let n = x.dim(0)?;
        let (h, kvh, d) = (self.heads, self.kv_heads, self.head_dim);
        let q = layer.q_proj.forward(x)?.reshape([1, n, h, d])?;
        let k = layer.k_proj.forward(x)?.reshape([1, n, kvh, d])?;
        let v = layer.v_proj.forward(x)?.reshape([1, n, kvh, d])?;
        let q = q.rope(cos, sin, rounding)?.transpose(1, 2)?;
        let k = k.rope(cos, sin, rounding)?.transpose(1, 2)?;
        let v = v.transpose(1, 2)?;
        let scale = 1.0 / (d as f32).sqrt();
        let mask = MaskKind::SlidingWindow {
            q_offset: 0,
            window: self.window,
        };
        let out = Tensor::attention(&q, &k, &v, scale, mask)?;
        let out = out.transpose(1, 2)?.reshape([n, h * d])?;
        layer.o_proj.forward(&out)
    }
}
