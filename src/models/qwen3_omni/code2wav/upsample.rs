//! The pre-decoder upsampler (qwen3-omni.md §9 step 3): per ratio `s`, a
//! `CausalTransConv(hidden → hidden, k = s, stride s)` (exactly `s·L` out) and a
//! ConvNeXt block `x + gamma ⊙ pw2(gelu_erf(pw1(LN(dwconv_causal_k7(x)))))`
//! (LayerNorm eps 1e-6, over channels).

use super::conv::{CausalConv, CausalTransConv};
use super::params::Loader;
use crate::error::Result;
use crate::models::qwen3_omni::weights::Init;
use crate::nn::Linear;
use crate::tensor::Tensor;

/// `nn.LayerNorm(dim, eps=1e-6)` of the ConvNeXt block.
pub const CONVNEXT_LN_EPS: f32 = 1e-6;

pub(crate) struct ConvNeXt {
    dwconv: CausalConv,
    norm_weight: Tensor,
    norm_bias: Tensor,
    pwconv1: Linear,
    pwconv2: Linear,
    gamma: Tensor,
}

impl ConvNeXt {
    pub fn load(l: &mut Loader, prefix: &str, dim: usize) -> Result<ConvNeXt> {
        let inner = 4 * dim;
        Ok(ConvNeXt {
            dwconv: CausalConv::load(
                l,
                &format!("{prefix}.dwconv"),
                dim,
                dim,
                7,
                1,
                dim,
                "[hidden_size, 1, 7] (depthwise)",
            )?,
            norm_weight: l.tensor(
                &format!("{prefix}.norm.weight"),
                &[dim],
                Init::Norm,
                "[hidden_size]",
            )?,
            norm_bias: l.bias(&format!("{prefix}.norm"), dim, "[hidden_size]")?,
            pwconv1: l.linear(
                &format!("{prefix}.pwconv1"),
                inner,
                dim,
                true,
                "[4·hidden_size, hidden_size]",
            )?,
            pwconv2: l.linear(
                &format!("{prefix}.pwconv2"),
                dim,
                inner,
                true,
                "[hidden_size, 4·hidden_size]",
            )?,
            gamma: l.tensor(
                &format!("{prefix}.gamma"),
                &[dim],
                Init::Norm,
                "[hidden_size]",
            )?,
        })
    }

    /// `x [1, C, L]` -> `[1, C, L]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.dwconv.forward(x)?.transpose(1, 2)?.contiguous()?;
        let h = h.layer_norm(
            Some(&self.norm_weight),
            Some(&self.norm_bias),
            CONVNEXT_LN_EPS,
        )?;
        let h = self.pwconv1.forward(&h)?.gelu_erf()?;
        let h = self.pwconv2.forward(&h)?.mul(&self.gamma)?;
        x.add(&h.transpose(1, 2)?.contiguous()?)
    }
}

/// One upsample stage: `upsample.{i}.0` (trans conv) and `upsample.{i}.1` (ConvNeXt).
pub(crate) struct UpsampleStage {
    tconv: CausalTransConv,
    convnext: ConvNeXt,
}

impl UpsampleStage {
    pub fn load(l: &mut Loader, prefix: &str, dim: usize, ratio: usize) -> Result<UpsampleStage> {
        Ok(UpsampleStage {
            tconv: CausalTransConv::load(
                l,
                &format!("{prefix}.0"),
                dim,
                dim,
                ratio,
                ratio,
                "[hidden_size, hidden_size, ratio]",
            )?,
            convnext: ConvNeXt::load(l, &format!("{prefix}.1"), dim)?,
        })
    }

    /// `x [1, C, L]` -> (trans-conv output, stage output), both `[1, C, ratio·L]`.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let t = self.tconv.forward(x)?;
        let y = self.convnext.forward(&t)?;
        Ok((t, y))
    }
}
