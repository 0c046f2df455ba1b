//! One ViT block (pre-norm):
//! `x += proj(attn(LN1(x)))`, `x += fc2(gelu_tanh(fc1(LN2(x))))`.
//!
//! Attention: fused `qkv` (rows q | k | v, heads contiguous in each), 2-D
//! rotary on q and k applied in f32 (the op computes in f32 and rounds once
//! to the activation dtype, as the reference's upcast/cast back), full
//! bidirectional attention inside each segment of `cu_seqlens` (one per
//! temporal slice of each image/video), scale `1/sqrt(head_dim)`.

use crate::backend::{MaskKind, Rounding};
use crate::error::Result;
use crate::nn::{Linear, RopeTables};
use crate::tensor::Tensor;

/// LayerNorm with weight and bias (stored in the activation dtype).
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f32,
}

impl LayerNorm {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dt = x.dtype();
        x.layer_norm(
            Some(&self.weight.to_dtype(dt)?),
            Some(&self.bias.to_dtype(dt)?),
            self.eps,
        )
    }
}

pub struct VisionBlock {
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    /// `[3·hidden, hidden]` with bias.
    pub qkv: Linear,
    pub proj: Linear,
    pub fc1: Linear,
    pub fc2: Linear,
    pub num_heads: usize,
    pub head_dim: usize,
}

impl VisionBlock {
    /// `x [n, hidden]`; `rope` tables `[n, head_dim]`; `cu_seqlens` from 0 to n.
    pub fn forward(&self, x: &Tensor, rope: &RopeTables, cu_seqlens: &[usize]) -> Result<Tensor> {
        let h = self.attention(&self.norm1.forward(x)?, rope, cu_seqlens)?;
        let x = x.add(&h)?;
        let m = self
            .fc2
            .forward(&self.fc1.forward(&self.norm2.forward(&x)?)?.gelu_tanh()?)?;
        x.add(&m)
    }

    fn attention(&self, x: &Tensor, rope: &RopeTables, cu_seqlens: &[usize]) -> Result<Tensor> {
        let n = x.dim(0)?;
        let (heads, d) = (self.num_heads, self.head_dim);
        let qkv = self.qkv.forward(x)?.reshape([n, 3, heads, d])?;
        // [n, 1, heads, d] views -> [1, n, heads, d] (reshape copies the strided view).
        let part = |i: usize| qkv.narrow(1, i, 1)?.reshape([1, n, heads, d]);
        let q = part(0)?.rope(&rope.cos, &rope.sin, Rounding::None)?;
        let k = part(1)?.rope(&rope.cos, &rope.sin, Rounding::None)?;
        let v = part(2)?;
        let out = Tensor::attention(
            &q.transpose(1, 2)?,
            &k.transpose(1, 2)?,
            &v.transpose(1, 2)?,
            1.0 / (d as f32).sqrt(),
            MaskKind::Segments {
                cu_seqlens: cu_seqlens.to_vec(),
            },
        )?;
        let out = out.transpose(1, 2)?.reshape([n, heads * d])?;
        self.proj.forward(&out)
    }
}
