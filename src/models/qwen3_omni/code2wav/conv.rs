//! The two causal convolution wrappers of code2wav (qwen3-omni.md §9).
//!
//! * [`CausalConv`] (`Qwen3OmniMoeCausalConvNet`, stride 1 here): left-pad
//!   `K − 1` zeros with `K = (k − 1)·d + 1`; the reference's right "extra
//!   padding" is 0 for stride 1, so the output length equals the input length.
//! * [`CausalTransConv`] (`Qwen3OmniMoeCausalTransConvNet`): ConvTranspose1d
//!   (weight `[in, out, k]`) giving `(L − 1)·s + k` samples, then `k − s`
//!   trimmed from **both** ends.

use super::params::Loader;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

pub(crate) struct CausalConv {
    weight: Tensor,
    bias: Tensor,
    dilation: usize,
    groups: usize,
    pad_left: usize,
}

impl CausalConv {
    /// `{prefix}.conv.{weight [out, in/groups, k], bias [out]}`.
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        l: &mut Loader,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        k: usize,
        dilation: usize,
        groups: usize,
        why: &str,
    ) -> Result<CausalConv> {
        let cpg = c_in / groups;
        let weight = l.conv_weight(
            &format!("{prefix}.conv.weight"),
            &[c_out, cpg, k],
            cpg * k,
            why,
        )?;
        let bias = l.bias(&format!("{prefix}.conv"), c_out, why)?;
        let span = (k - 1)
            .checked_mul(dilation)
            .ok_or_else(|| Error::overflow("causal conv kernel span"))?;
        Ok(CausalConv {
            weight,
            bias,
            dilation,
            groups,
            pad_left: span,
        })
    }

    /// `x [b, c_in, L]` -> `[b, c_out, L]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv1d(
            &self.weight,
            Some(&self.bias),
            1,
            (self.pad_left, 0),
            self.dilation,
            self.groups,
        )
    }
}

pub(crate) struct CausalTransConv {
    weight: Tensor,
    bias: Tensor,
    stride: usize,
    trim: usize,
}

impl CausalTransConv {
    /// `{prefix}.conv.{weight [in, out, k], bias [out]}`, stride `stride` (k ≥ stride).
    pub fn load(
        l: &mut Loader,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        why: &str,
    ) -> Result<CausalTransConv> {
        // Each output sample sees c_in · k / stride inputs.
        let fan_in = (c_in * k / stride.max(1)).max(1);
        let weight = l.conv_weight(
            &format!("{prefix}.conv.weight"),
            &[c_in, c_out, k],
            fan_in,
            why,
        )?;
        let bias = l.bias(&format!("{prefix}.conv"), c_out, why)?;
        Ok(CausalTransConv {
            weight,
            bias,
            stride,
            trim: k - stride,
        })
    }

    /// `x [b, c_in, L]` -> `[b, c_out, (L − 1)·s + k − 2(k − s)]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.conv_transpose1d(&self.weight, Some(&self.bias), self.stride, 0, 0, 1, 1)?;
        if self.trim == 0 {
            return Ok(y);
        }
        let len = y.dim(2)?;
        let keep = len.checked_sub(2 * self.trim).filter(|&n| n > 0).ok_or_else(|| {
            Error::shape(
                "code2wav",
                format!(
                    "transposed conv output of {len} samples is too short to trim {} from each side",
                    self.trim
                ),
            )
        })?;
        y.narrow(2, self.trim, keep)?.contiguous()
    }
}
