//! What a header says about one tensor, after validation.

use std::ops::Range;

use super::dtype::DiskDType;

/// One validated header entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: DiskDType,
    /// Row-major dims; empty for a 0-d (scalar) tensor.
    pub shape: Vec<usize>,
    /// Where the tensor's bytes lie in its file, counted from the start of
    /// the file (not of the data section). Its length always equals
    /// `numel() * dtype` size.
    pub byte_range: Range<usize>,
}

impl TensorInfo {
    /// Number of elements; 1 for a 0-d tensor. Cannot overflow: checked at open.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn num_bytes(&self) -> usize {
        self.byte_range.len()
    }
}
