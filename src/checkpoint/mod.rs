//! Reading Hugging Face safetensors checkpoints, independent of tensor types.
//!
//! [`Checkpoint::open`] accepts a directory, a `.safetensors` file or a
//! `*.safetensors.index.json`. A directory resolves, in order of preference,
//! to `model.safetensors.index.json`, `model.safetensors`, its only
//! `*.safetensors.index.json`, or its only `*.safetensors`.
//!
//! Every file is memory-mapped read-only and validated completely when it is
//! opened (header, dtypes, shapes, offsets, exact tiling of the data
//! section, and for sharded checkpoints the agreement of index and shards),
//! so later lookups cannot fail on a bad file. Failures are
//! [`CheckpointError`]s that name the file and tensor and suggest a fix.
//!
//! Tensor bytes are returned as they are on disk: safetensors is
//! little-endian, so a big-endian host must byte-swap multi-byte elements,
//! and the bytes are not guaranteed to be aligned for their element type.
//! [`MappedBytes`] keeps a tensor zero-copy on the mapping after the
//! checkpoint is dropped. The files must not be modified while mapped.

// Each file is named after the concept it defines, `Checkpoint` included.
#[allow(clippy::module_inception)]
mod checkpoint;
mod dtype;
mod error;
mod file;
mod header;
mod index;
mod json;
mod locate;
mod mapped;
mod suggest;
mod tensor_bytes;
mod tensor_info;

pub use checkpoint::Checkpoint;
pub use dtype::DiskDType;
pub use error::CheckpointError;
pub use file::SafetensorsFile;
pub use mapped::MappedBytes;
pub use tensor_bytes::TensorBytes;
pub use tensor_info::TensorInfo;

/// Headers longer than this many bytes are rejected (the safetensors crate's limit).
pub const MAX_HEADER_LEN: u64 = header::MAX_HEADER_LEN;
