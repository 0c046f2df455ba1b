//! Tensors from safetensors checkpoints, by their checkpoint names.

use super::{DType, Tensor};
use crate::backend::Device;
use crate::checkpoint::{Checkpoint, DiskDType};
use crate::error::{Error, Result};

/// The runtime dtype for an on-disk dtype, when omnirt computes with it.
pub fn dtype_from_disk(d: DiskDType) -> Option<DType> {
    Some(match d {
        DiskDType::F32 => DType::F32,
        DiskDType::F16 => DType::F16,
        DiskDType::BF16 => DType::BF16,
        DiskDType::I32 => DType::I32,
        DiskDType::U32 => DType::U32,
        DiskDType::I64 => DType::I64,
        DiskDType::U8 => DType::U8,
        _ => return None,
    })
}

impl Tensor {
    /// The checkpoint tensor `name` on `device`. Host backends keep it
    /// zero-copy on the memory map when it is aligned; others upload it.
    pub fn load(checkpoint: &Checkpoint, name: &str, device: &Device) -> Result<Tensor> {
        if cfg!(target_endian = "big") {
            return Err(Error::Unsupported(
                "loading little-endian safetensors on a big-endian host".into(),
            ));
        }
        let info = checkpoint.info(name)?;
        let dtype = dtype_from_disk(info.dtype).ok_or_else(|| {
            Error::Unsupported(format!(
                "tensor '{name}' is stored as {:?}; omnirt reads f32, f16, bf16, i32, u32, i64 and u8 tensors \
                 (convert the checkpoint, e.g. to bf16, first)",
                info.dtype
            ))
        })?;
        let shape = info.shape.clone();
        let bytes = checkpoint.mapped(name)?;
        Tensor::from_mapped(bytes, dtype, shape, device)
    }
}
