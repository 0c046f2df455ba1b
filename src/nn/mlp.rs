//! The SwiGLU feed-forward block `down(silu(gate(x)) · up(x))` (Qwen experts
//! and dense MLPs; checkpoint names `gate_proj`, `up_proj`, `down_proj`).

use super::Linear;
use crate::error::Result;
use crate::tensor::Tensor;

#[derive(Clone, Debug)]
pub struct SwiGluMlp {
    pub gate_proj: Linear,
    pub up_proj: Linear,
    pub down_proj: Linear,
}

impl SwiGluMlp {
    /// `x [.., hidden]` -> `[.., hidden]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let gate = self.gate_proj.forward(x)?;
        let up = self.up_proj.forward(x)?;
        self.down_proj.forward(&gate.swiglu(&up)?)
    }
}
