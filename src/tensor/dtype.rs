//! Element types, including ggml-compatible block-quantized weight types.

use crate::error::{Error, Result};

/// The type of a tensor's elements.
///
/// `Q8_0` and `Q4_0` are block-quantized: 32 consecutive elements of the last
/// dimension share one f16 scale (ggml's layouts, so GGUF weights can be used as is).
/// They are weight formats: matmul (as the transposed B operand), gather and cast
/// accept them; other ops take float tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    F32,
    F16,
    BF16,
    I32,
    U32,
    I64,
    U8,
    Q8_0,
    Q4_0,
}

impl DType {
    pub const ALL: [DType; 9] = [
        DType::F32,
        DType::F16,
        DType::BF16,
        DType::I32,
        DType::U32,
        DType::I64,
        DType::U8,
        DType::Q8_0,
        DType::Q4_0,
    ];

    /// Elements per storage block (32 for quantized types, else 1).
    pub fn block_len(self) -> usize {
        match self {
            DType::Q8_0 | DType::Q4_0 => 32,
            _ => 1,
        }
    }

    /// Bytes per storage block.
    pub fn block_bytes(self) -> usize {
        match self {
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F16 | DType::BF16 => 2,
            DType::I64 => 8,
            DType::U8 => 1,
            DType::Q8_0 => 34,
            DType::Q4_0 => 18,
        }
    }

    pub fn is_quantized(self) -> bool {
        self.block_len() > 1
    }

    /// f32, f16 and bf16: the types arithmetic ops accept.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16)
    }

    pub fn is_int(self) -> bool {
        matches!(self, DType::I32 | DType::U32 | DType::I64 | DType::U8)
    }

    /// Bytes needed to store `numel` elements, checked for overflow and block alignment.
    pub fn storage_bytes(self, numel: usize) -> Result<usize> {
        let bl = self.block_len();
        if numel % bl != 0 {
            return Err(Error::invalid(format!(
                "{numel} elements is not a whole number of {self} blocks of {bl}"
            )));
        }
        (numel / bl)
            .checked_mul(self.block_bytes())
            .ok_or_else(|| Error::overflow(format!("{numel} elements of {self}")))
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::I32 => "i32",
            DType::U32 => "u32",
            DType::I64 => "i64",
            DType::U8 => "u8",
            DType::Q8_0 => "q8_0",
            DType::Q4_0 => "q4_0",
        }
    }

    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Rust element types that map to a `DType` and can be read and written on the host.
pub trait Element: bytemuck::Pod + Send + Sync + std::fmt::Debug + 'static {
    const DTYPE: DType;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
}
impl Element for half::f16 {
    const DTYPE: DType = DType::F16;
}
impl Element for half::bf16 {
    const DTYPE: DType = DType::BF16;
}
impl Element for i32 {
    const DTYPE: DType = DType::I32;
}
impl Element for u32 {
    const DTYPE: DType = DType::U32;
}
impl Element for i64 {
    const DTYPE: DType = DType::I64;
}
impl Element for u8 {
    const DTYPE: DType = DType::U8;
}
