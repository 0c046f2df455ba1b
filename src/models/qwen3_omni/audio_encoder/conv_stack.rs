//! The CNN front end: three Conv2d(k3, s2, p1) + GELU(erf) over zero-padded
//! chunks `[n, 1, mel, W]` (frequency = H, time = W), then
//! `[n, C, F, T'] -> [n, T', C·F]` (index `c·F + f`) and `conv_out` (no bias).

use crate::error::{Error, Result};
use crate::models::qwen3_omni::weights::{Init, Weights};
use crate::nn::Linear;
use crate::tensor::{DType, Tensor};

use super::config::AudioConfig;

/// Chunks per conv batch: every chunk is independent, so the batch size has
/// no numeric effect; it bounds the conv activations (the reference uses
/// `conv_chunksize` = 500, ~3 GB of f32 for the first conv at full size).
const CONV_BATCH: usize = 32;

struct Conv2d {
    weight: Tensor,
    bias: Tensor,
}

impl Conv2d {
    fn load(w: &mut Weights, name: &str, c_out: usize, c_in: usize) -> Result<Conv2d> {
        let dtype = w.compute_dtype();
        let weight = w.tensor(
            &format!("{name}.weight"),
            &[c_out, c_in, 3, 3],
            Init::FanIn,
            "[downsample_hidden_size, in_channels, 3, 3]",
        )?;
        let bias = w.tensor(
            &format!("{name}.bias"),
            &[c_out],
            Init::FanIn,
            "[downsample_hidden_size]",
        )?;
        // conv2d needs input, weight and bias in one dtype.
        Ok(Conv2d {
            weight: weight.to_dtype(dtype)?,
            bias: bias.to_dtype(dtype)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv2d(&self.weight, Some(&self.bias), (2, 2), (1, 1), (1, 1), 1)?
            .gelu_erf()
    }
}

pub struct ConvStack {
    conv2d1: Conv2d,
    conv2d2: Conv2d,
    conv2d3: Conv2d,
    conv_out: Linear,
    dtype: DType,
}

impl ConvStack {
    /// `{prefix}.conv2d{1,2,3}.{weight,bias}` and `{prefix}.conv_out.weight`.
    pub fn load(w: &mut Weights, prefix: &str, cfg: &AudioConfig) -> Result<ConvStack> {
        let ch = cfg.downsample_hidden_size;
        Ok(ConvStack {
            conv2d1: Conv2d::load(w, &format!("{prefix}.conv2d1"), ch, 1)?,
            conv2d2: Conv2d::load(w, &format!("{prefix}.conv2d2"), ch, ch)?,
            conv2d3: Conv2d::load(w, &format!("{prefix}.conv2d3"), ch, ch)?,
            conv_out: w.linear(
                &format!("{prefix}.conv_out"),
                cfg.d_model,
                cfg.conv_out_in(),
                "[d_model, downsample_hidden_size·freq_after_convs]",
            )?,
            dtype: w.compute_dtype(),
        })
    }

    /// Raw CNN output `gelu(conv2d3(..))` `[n, C, F, T']` of padded chunks
    /// `[n, 1, mel, W]`.
    pub fn convs(&self, chunks: &Tensor) -> Result<Tensor> {
        if chunks.rank() != 4 || chunks.dims()[1] != 1 {
            return Err(Error::Shape {
                op: "audio_encoder",
                detail: format!(
                    "conv input must be [n, 1, mel, frames], got {:?}",
                    chunks.shape()
                ),
            });
        }
        let chunks = chunks.to_dtype(self.dtype)?;
        let n = chunks.dims()[0];
        let mut parts = Vec::with_capacity(n.div_ceil(CONV_BATCH));
        let mut start = 0;
        while start < n {
            let len = CONV_BATCH.min(n - start);
            let x = chunks.narrow(0, start, len)?;
            let x = self.conv2d1.forward(&x)?;
            let x = self.conv2d2.forward(&x)?;
            parts.push(self.conv2d3.forward(&x)?);
            start += len;
        }
        if parts.len() == 1 {
            return Ok(parts.remove(0));
        }
        let refs: Vec<&Tensor> = parts.iter().collect();
        Tensor::cat(&refs, 0)
    }

    /// `conv_out` over the flattened CNN output: `[n, C, F, T'] -> [n, T', d_model]`.
    pub fn project(&self, conv: &Tensor) -> Result<Tensor> {
        let d = conv.dims();
        let (n, c, f, t) = (d[0], d[1], d[2], d[3]);
        let flat = conv.permute(&[0, 3, 1, 2])?.reshape([n, t, c * f])?;
        self.conv_out.forward(&flat)
    }

    /// Both steps: returns (raw CNN output, `conv_out` output).
    pub fn forward(&self, chunks: &Tensor) -> Result<(Tensor, Tensor)> {
        let conv = self.convs(chunks)?;
        let out = self.project(&conv)?;
        Ok((conv, out))
    }
}
