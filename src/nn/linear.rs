//! `y = x · Wᵀ (+ b)` with W in the checkpoint layout `[out, in]`, stored as
//! loaded (f32/bf16/f16) or quantized at load time (Q8_0/Q4_0).

use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// `weight [out, in]`, optional `bias [out]`.
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Result<Linear> {
        if weight.rank() != 2 {
            return Err(Error::shape(
                "linear",
                format!("weight must be [out, in], got {:?}", weight.shape()),
            ));
        }
        if let Some(b) = &bias {
            if b.dims() != [weight.dims()[0]] {
                return Err(Error::shape(
                    "linear",
                    format!(
                        "bias {:?} does not match weight {:?}",
                        b.shape(),
                        weight.shape()
                    ),
                ));
            }
        }
        Ok(Linear { weight, bias })
    }

    /// Store the weight as `dtype` (quantize with Q8_0/Q4_0 when `in` is a
    /// multiple of 32; otherwise keep it as is and say so by returning false).
    pub fn quantize(&mut self, dtype: DType) -> Result<bool> {
        if self.weight.dtype() == dtype {
            return Ok(true);
        }
        if dtype.is_quantized() && self.in_features() % dtype.block_len() != 0 {
            return Ok(false);
        }
        self.weight = self.weight.to_dtype(dtype)?;
        Ok(true)
    }

    pub fn in_features(&self) -> usize {
        self.weight.dims()[1]
    }
    pub fn out_features(&self) -> usize {
        self.weight.dims()[0]
    }
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// `x [.., in]` -> `[.., out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let Some(&last) = dims.last() else {
            return Err(Error::shape("linear", "input is a scalar"));
        };
        if last != self.in_features() {
            return Err(Error::shape(
                "linear",
                format!(
                    "input {:?} does not end in {}",
                    x.shape(),
                    self.in_features()
                ),
            ));
        }
        let rows: usize = dims[..dims.len() - 1].iter().product();
        let x2 = x.reshape([rows, last])?;
        let mut y = x2.matmul_t(&self.weight)?;
        if let Some(b) = &self.bias {
            y = y.add(&b.to_dtype(y.dtype())?)?;
        }
        let mut out_dims = dims;
        let last_dim = out_dims.len() - 1; // non-empty: checked above
        out_dims[last_dim] = self.out_features();
        y.reshape(out_dims)
    }
}
