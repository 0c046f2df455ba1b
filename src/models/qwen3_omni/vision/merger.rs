//! Patch mergers: group each 2×2 merge block (4 consecutive rows in block-major
//! order) into one `4·hidden` vector, then `Linear → GELU (exact erf) → Linear`.
//!
//! The final `merger` (`use_postshuffle_norm = False`) applies its LayerNorm
//! (`[hidden]`) to each patch before grouping; the DeepStack mergers
//! (`merger_list.K`, `use_postshuffle_norm = True`) group first and normalise
//! the `4·hidden` vector (`LayerNorm [4·hidden]`). eps 1e-6 for both.

use super::block::LayerNorm;
use crate::error::{Error, Result};
use crate::nn::Linear;
use crate::tensor::Tensor;

pub struct PatchMerger {
    pub ln_q: LayerNorm,
    /// `mlp.0`: `[unit·hidden, unit·hidden]`.
    pub fc1: Linear,
    /// `mlp.2`: `[out_hidden, unit·hidden]`.
    pub fc2: Linear,
    pub use_postshuffle_norm: bool,
    /// Patches per merged token (`spatial_merge_size²`).
    pub unit: usize,
}

impl PatchMerger {
    /// `x [n, hidden]` (n a multiple of `unit`) -> `[n/unit, out_hidden]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, hidden) = (x.dim(0)?, x.dim(1)?);
        if n % self.unit != 0 {
            return Err(Error::Shape {
                op: "vision merger",
                detail: format!("{n} patches are not a multiple of {}", self.unit),
            });
        }
        let grouped = [n / self.unit, self.unit * hidden];
        let x = if self.use_postshuffle_norm {
            self.ln_q.forward(&x.reshape(grouped)?)?
        } else {
            self.ln_q.forward(x)?.reshape(grouped)?
        };
        self.fc2.forward(&self.fc1.forward(&x)?.gelu_erf()?)
    }
}
