//! Where the thinker's weights come from: a checkpoint (by the real tensor
//! names, with dtype and shape checked against config.json) or a seeded
//! random initialisation (the CLI demo, tests without files). Both go through
//! the same calls, so the model is built by one piece of code.

use crate::backend::Device;
use crate::checkpoint::{Checkpoint, DiskDType};
use crate::error::{Error, Result};
use crate::nn::{Linear, NormalRng, RmsNorm, SwiGluMlp};
use crate::tensor::{dtype_from_disk, DType, Tensor};

/// How to initialise a tensor when there is no checkpoint.
#[derive(Clone, Copy, Debug)]
pub enum Init {
    /// Linear weight `[out, in]`: N(0, 1/in), so activations keep their scale.
    FanIn,
    /// Norm weight: 1 + 0.1·N, close to the identity but not exactly.
    Norm,
    /// Embedding table: N(0, 1).
    Embedding,
}

enum Source<'a> {
    Checkpoint(&'a Checkpoint),
    Random(NormalRng),
}

pub struct Weights<'a> {
    source: Source<'a>,
    device: Device,
    /// Activation dtype; norm weights are stored in it (an exact upcast for
    /// bf16 -> f32, and what the reference multiplies with).
    compute: DType,
    /// Quantize Linear weights to this at load (Q8_0/Q4_0).
    quant: Option<DType>,
}

impl<'a> Weights<'a> {
    pub fn from_checkpoint(
        ckpt: &'a Checkpoint,
        device: Device,
        compute: DType,
        quant: Option<DType>,
    ) -> Weights<'a> {
        Weights {
            source: Source::Checkpoint(ckpt),
            device,
            compute,
            quant,
        }
    }

    pub fn random(seed: u64, device: Device, compute: DType, quant: Option<DType>) -> Weights<'a> {
        Weights {
            source: Source::Random(NormalRng::new(seed)),
            device,
            compute,
            quant,
        }
    }

    pub fn compute_dtype(&self) -> DType {
        self.compute
    }

    /// The tensor `name` with the given shape; `why` says which config fields
    /// give that shape, for the error message.
    pub fn tensor(&mut self, name: &str, shape: &[usize], init: Init, why: &str) -> Result<Tensor> {
        match &mut self.source {
            Source::Checkpoint(ckpt) => load_checked(ckpt, name, shape, why, &self.device),
            Source::Random(rng) => {
                let n: usize = shape.iter().product();
                let values = match init {
                    Init::FanIn => {
                        let fan_in = *shape.last().unwrap_or(&1) as f32;
                        rng.normal_vec(n, 0.0, 1.0 / fan_in.max(1.0).sqrt())
                    }
                    Init::Norm => rng.normal_vec(n, 1.0, 0.1),
                    Init::Embedding => rng.normal_vec(n, 0.0, 1.0),
                };
                // Stored as bf16, like the released checkpoint.
                Tensor::from_slice(&values, shape, &self.device)?.to_dtype(DType::BF16)
            }
        }
    }

    /// `{prefix}.weight [out, in]` as a Linear (quantized if asked).
    pub fn linear(&mut self, prefix: &str, out: usize, inp: usize, why: &str) -> Result<Linear> {
        let w = self.tensor(&format!("{prefix}.weight"), &[out, inp], Init::FanIn, why)?;
        let mut linear = Linear::new(w, None)?;
        if let Some(q) = self.quant {
            // Rows whose length is not a whole number of blocks stay as loaded.
            linear.quantize(q)?;
        }
        Ok(linear)
    }

    /// `{name} [dim]` as an RMSNorm, weight stored in the compute dtype.
    pub fn rms_norm(&mut self, name: &str, dim: usize, eps: f64, why: &str) -> Result<RmsNorm> {
        let w = self.tensor(name, &[dim], Init::Norm, why)?;
        Ok(RmsNorm::new(w.to_dtype(self.compute)?, eps))
    }

    /// `{prefix}.{gate,up,down}_proj` SwiGLU block.
    pub fn swiglu(
        &mut self,
        prefix: &str,
        hidden: usize,
        inter: usize,
        why: &str,
    ) -> Result<SwiGluMlp> {
        Ok(SwiGluMlp {
            gate_proj: self.linear(&format!("{prefix}.gate_proj"), inter, hidden, why)?,
            up_proj: self.linear(&format!("{prefix}.up_proj"), inter, hidden, why)?,
            down_proj: self.linear(&format!("{prefix}.down_proj"), hidden, inter, why)?,
        })
    }
}

/// Load `name` and check it is a float tensor of exactly `shape`.
fn load_checked(
    ckpt: &Checkpoint,
    name: &str,
    shape: &[usize],
    why: &str,
    device: &Device,
) -> Result<Tensor> {
    // A missing tensor is CheckpointError::TensorNotFound, which lists similar names.
    let info = ckpt.info(name)?;
    if !matches!(
        info.dtype,
        DiskDType::F32 | DiskDType::F16 | DiskDType::BF16
    ) {
        let hint = format!(
            "tensor '{name}' in {} is stored as {}; weights must be F32, F16 or BF16 \
             (the file was not exported from this model, or was converted wrongly)",
            ckpt.path().display(),
            info.dtype.safetensors_name()
        );
        return Err(match dtype_from_disk(info.dtype) {
            Some(dtype) => Error::DType {
                op: "load",
                dtype,
                hint,
            },
            None => Error::Unsupported(hint),
        });
    }
    if info.shape != shape {
        let mut reversed = info.shape.clone();
        reversed.reverse();
        let hint = if info.shape.len() == 2 && reversed == shape {
            "it is stored transposed; Linear weights must be [out, in]".to_string()
        } else {
            format!("config.json does not match this checkpoint: the expected shape is {why}")
        };
        return Err(Error::Shape {
            op: "load",
            detail: format!(
                "tensor '{name}' has shape {:?}, expected {shape:?}; {hint}",
                info.shape
            ),
        });
    }
    Tensor::load(ckpt, name, device)
}
