//! The crate's one error type. Every fallible path returns it; messages say what
//! went wrong and, where there is one, what to do next.

use crate::checkpoint::CheckpointError;
use crate::tensor::DType;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Shapes of the operands do not fit the operation.
    #[error("{op}: shape mismatch: {detail}")]
    Shape { op: &'static str, detail: String },

    /// The operation does not accept this dtype.
    #[error("{op}: dtype {dtype} is not supported here ({hint})")]
    DType {
        op: &'static str,
        dtype: DType,
        hint: String,
    },

    /// A feature that exists in the API but is not implemented (yet) on this path.
    #[error("not implemented: {0}")]
    Unsupported(String),

    /// A size computation overflowed `usize` (shapes too large, or malformed input).
    #[error("size overflow: {0}")]
    Overflow(String),

    /// A caller-supplied argument is out of range or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// Operands live on different devices.
    #[error("{op}: operands are on different devices ({a} and {b}); move them with Tensor::to_device first")]
    DeviceMismatch {
        op: &'static str,
        a: String,
        b: String,
    },

    /// A backend reported a failure (allocation, launch, copy, ...).
    #[error("device {device}: {detail}")]
    Backend { device: String, detail: String },

    /// A checkpoint (safetensors file or sharded index) could not be read.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),

    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub(crate) fn shape(op: &'static str, detail: impl Into<String>) -> Error {
        Error::Shape {
            op,
            detail: detail.into(),
        }
    }

    pub(crate) fn dtype(op: &'static str, dtype: DType, hint: impl Into<String>) -> Error {
        Error::DType {
            op,
            dtype,
            hint: hint.into(),
        }
    }

    pub(crate) fn overflow(what: impl Into<String>) -> Error {
        Error::Overflow(what.into())
    }

    pub(crate) fn invalid(what: impl Into<String>) -> Error {
        Error::InvalidArgument(what.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
