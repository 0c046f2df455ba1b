//! RMSNorm as the reference computes it: normalise in f32, round to the
//! activation dtype, then multiply by the weight.

use crate::backend::Rounding;
use crate::error::Result;
use crate::tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct RmsNorm {
    weight: Tensor,
    eps: f32,
}

impl RmsNorm {
    pub fn new(weight: Tensor, eps: f64) -> RmsNorm {
        RmsNorm {
            weight,
            eps: eps as f32,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let rounding = match x.dtype() {
            DType::BF16 => Rounding::Bf16,
            DType::F16 => Rounding::F16,
            _ => Rounding::None,
        };
        let w = self.weight.to_dtype(x.dtype())?;
        x.rms_norm_with(Some(&w), self.eps, rounding)
    }
}
