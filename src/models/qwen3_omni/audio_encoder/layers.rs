//! Pre-norm encoder layers: `x += out_proj(Attn(LN(x)))`, `x += fc2(act(fc1(LN(x))))`.
//! LayerNorm eps 1e-5; q/k/v/out projections all have biases; attention is
//! bidirectional inside the windows given as `cu_seqlens` (never across
//! windows or clips), scale `1/sqrt(head_dim)`.

use crate::backend::MaskKind;
use crate::error::Result;
use crate::models::qwen3_omni::weights::{Init, Weights};
use crate::nn::Linear;
use crate::tensor::Tensor;

/// torch `nn.LayerNorm` default.
pub const LAYER_NORM_EPS: f32 = 1e-5;

/// GELU flavour of the encoder layers and the output projection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    GeluErf,
    GeluTanh,
}

impl Activation {
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::GeluErf => x.gelu_erf(),
            Activation::GeluTanh => x.gelu_tanh(),
        }
    }
}

/// LayerNorm with weight and bias, both stored in the compute dtype.
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    pub fn load(w: &mut Weights, prefix: &str, dim: usize) -> Result<LayerNorm> {
        let dtype = w.compute_dtype();
        let weight = w.tensor(&format!("{prefix}.weight"), &[dim], Init::Norm, "[d_model]")?;
        let bias = w.tensor(&format!("{prefix}.bias"), &[dim], Init::FanIn, "[d_model]")?;
        Ok(LayerNorm {
            weight: weight.to_dtype(dtype)?,
            bias: bias.to_dtype(dtype)?,
            eps: LAYER_NORM_EPS,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let w = self.weight.to_dtype(x.dtype())?;
        let b = self.bias.to_dtype(x.dtype())?;
        x.layer_norm(Some(&w), Some(&b), self.eps)
    }
}

/// `{prefix}.weight [out, in]` + `{prefix}.bias [out]`.
pub fn linear_with_bias(
    w: &mut Weights,
    prefix: &str,
    out: usize,
    inp: usize,
    why: &str,
) -> Result<Linear> {
    let weight = w.tensor(&format!("{prefix}.weight"), &[out, inp], Init::FanIn, why)?;
    let bias = w.tensor(&format!("{prefix}.bias"), &[out], Init::FanIn, why)?;
    let bias = bias.to_dtype(w.compute_dtype())?;
    Linear::new(weight, Some(bias))
}

pub struct EncoderLayer {
    pub self_attn_layer_norm: LayerNorm,
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub out_proj: Linear,
    pub final_layer_norm: LayerNorm,
    pub fc1: Linear,
    pub fc2: Linear,
    pub num_heads: usize,
    pub activation: Activation,
}

impl EncoderLayer {
    /// `{prefix}.self_attn.{q,k,v,out}_proj`, `{prefix}.self_attn_layer_norm`,
    /// `{prefix}.fc1`, `{prefix}.fc2`, `{prefix}.final_layer_norm`.
    pub fn load(
        w: &mut Weights,
        prefix: &str,
        d_model: usize,
        ffn: usize,
        num_heads: usize,
        activation: Activation,
    ) -> Result<EncoderLayer> {
        let attn = |w: &mut Weights, p: &str| {
            linear_with_bias(
                w,
                &format!("{prefix}.self_attn.{p}"),
                d_model,
                d_model,
                "[d_model, d_model]",
            )
        };
        Ok(EncoderLayer {
            self_attn_layer_norm: LayerNorm::load(
                w,
                &format!("{prefix}.self_attn_layer_norm"),
                d_model,
            )?,
            q_proj: attn(w, "q_proj")?,
            k_proj: attn(w, "k_proj")?,
            v_proj: attn(w, "v_proj")?,
            out_proj: attn(w, "out_proj")?,
            final_layer_norm: LayerNorm::load(w, &format!("{prefix}.final_layer_norm"), d_model)?,
            fc1: linear_with_bias(
                w,
                &format!("{prefix}.fc1"),
                ffn,
                d_model,
                "[encoder_ffn_dim, d_model]",
            )?,
            fc2: linear_with_bias(
                w,
                &format!("{prefix}.fc2"),
                d_model,
                ffn,
                "[d_model, encoder_ffn_dim]",
            )?,
            num_heads,
            activation,
        })
    }

    /// Windowed self-attention of `x [n, d]` (already normed), windows `cu_seqlens`.
    pub fn attention(&self, x: &Tensor, cu_seqlens: &[usize]) -> Result<Tensor> {
        let (n, d) = (x.dims()[0], x.dims()[1]);
        let h = self.num_heads;
        let hd = d / h;
        // [n, d] -> [1, h, n, hd] (views; attention reads strides)
        let heads = |t: Tensor| t.reshape([1, n, h, hd])?.transpose(1, 2);
        let q = heads(self.q_proj.forward(x)?)?;
        let k = heads(self.k_proj.forward(x)?)?;
        let v = heads(self.v_proj.forward(x)?)?;
        let scale = 1.0 / (hd as f32).sqrt();
        let mask = MaskKind::Segments {
            cu_seqlens: cu_seqlens.to_vec(),
        };
        let out = Tensor::attention(&q, &k, &v, scale, mask)?;
        let out = out.transpose(1, 2)?.reshape([n, d])?;
        self.out_proj.forward(&out)
    }

    /// One layer over `x [n, d_model]`.
    pub fn forward(&self, x: &Tensor, cu_seqlens: &[usize]) -> Result<Tensor> {
        let a = self.attention(&self.self_attn_layer_norm.forward(x)?, cu_seqlens)?;
        let x = x.add(&a)?;
        let h = self.fc1.forward(&self.final_layer_norm.forward(&x)?)?;
        let h = self.fc2.forward(&self.activation.apply(&h)?)?;
        x.add(&h)
    }
}
