//! Weight loading for code2wav: every tensor by its checkpoint name with the
//! shape checked, converted to the compute dtype (convolutions need the input
//! and weight dtypes to agree).
//!
//! `Weights`' random `FanIn` init scales by the last dimension, which for a
//! conv weight `[out, in, k]` is the kernel size only; with random weights the
//! loader rescales conv weights to a true fan-in, so a random decoder keeps its
//! activations finite over its dozens of convolutions.

use crate::backend::BinaryOp;
use crate::error::Result;
use crate::models::qwen3_omni::weights::{Init, Weights};
use crate::nn::{Linear, RmsNorm};
use crate::tensor::{DType, Tensor};

pub(crate) struct Loader<'w, 'a> {
    pub w: &'w mut Weights<'a>,
    /// Random weights: rescale conv weights to N(0, 1/fan_in).
    pub random: bool,
}

impl Loader<'_, '_> {
    pub fn dtype(&self) -> DType {
        self.w.compute_dtype()
    }

    /// `name` of `shape`, in the compute dtype.
    pub fn tensor(&mut self, name: &str, shape: &[usize], init: Init, why: &str) -> Result<Tensor> {
        let dtype = self.dtype();
        self.w.tensor(name, shape, init, why)?.to_dtype(dtype)
    }

    /// A conv weight whose true fan-in is `fan_in` (random init only).
    pub fn conv_weight(
        &mut self,
        name: &str,
        shape: &[usize],
        fan_in: usize,
        why: &str,
    ) -> Result<Tensor> {
        let t = self.tensor(name, shape, Init::FanIn, why)?;
        if self.random {
            let k = *shape.last().unwrap_or(&1) as f32;
            let scale = (k / fan_in.max(1) as f32).sqrt();
            return t.binary_scalar(BinaryOp::Mul, scale);
        }
        Ok(t)
    }

    /// `{prefix}.bias [n]`.
    pub fn bias(&mut self, prefix: &str, n: usize, why: &str) -> Result<Tensor> {
        self.tensor(&format!("{prefix}.bias"), &[n], Init::FanIn, why)
    }

    /// `{prefix}.weight [out, in]` (+ bias) as a Linear in the compute dtype.
    pub fn linear(
        &mut self,
        prefix: &str,
        out: usize,
        inp: usize,
        bias: bool,
        why: &str,
    ) -> Result<Linear> {
        let w = self.tensor(&format!("{prefix}.weight"), &[out, inp], Init::FanIn, why)?;
        let b = if bias {
            Some(self.bias(prefix, out, why)?)
        } else {
            None
        };
        Linear::new(w, b)
    }

    pub fn rms_norm(&mut self, name: &str, dim: usize, eps: f64, why: &str) -> Result<RmsNorm> {
        self.w.rms_norm(name, dim, eps, why)
    }
}
