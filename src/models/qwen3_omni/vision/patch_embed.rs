//! Patch embedding: `Conv3d(in → hidden, kernel = stride = (T, P, P), bias)`.
//!
//! Each input row is one whole kernel window, flattened (channel, t, y, x) —
//! the order of the weight's `[hidden, C, T, P, P]` trailing dims — so the
//! convolution is exactly `rows · W[hidden, C·T·P·P]ᵀ + b`.

use crate::error::{Error, Result};
use crate::nn::Linear;
use crate::tensor::{DType, Tensor};

pub struct PatchEmbed {
    proj: Linear,
    patch_dim: usize,
}

impl PatchEmbed {
    /// `weight [hidden, C, T, P, P]` (as stored), `bias [hidden]`.
    pub fn new(weight: &Tensor, bias: Tensor) -> Result<PatchEmbed> {
        let dims = weight.dims();
        if dims.len() != 5 {
            return Err(Error::Shape {
                op: "vision patch_embed",
                detail: format!("weight must be [hidden, C, T, P, P], got {dims:?}"),
            });
        }
        let hidden = dims[0];
        let patch_dim: usize = dims[1..].iter().product();
        let proj = Linear::new(weight.reshape([hidden, patch_dim])?, Some(bias))?;
        Ok(PatchEmbed { proj, patch_dim })
    }

    pub fn patch_dim(&self) -> usize {
        self.patch_dim
    }

    /// `pixel_values [n, C·T·P·P]` (any float dtype, cast to `dtype`) -> `[n, hidden]`.
    pub fn forward(&self, pixel_values: &Tensor, dtype: DType) -> Result<Tensor> {
        self.proj.forward(&pixel_values.to_dtype(dtype)?)
    }
}
