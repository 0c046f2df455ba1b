//! One memory-mapped safetensors file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use super::error::CheckpointError;
use super::header;
use super::mapped::MappedBytes;
use super::tensor_bytes::TensorBytes;
use super::tensor_info::TensorInfo;

/// A safetensors file mapped read-only, with its header fully validated.
///
/// Once `open` succeeds, every tensor's bytes are known to lie inside the
/// file, match its dtype and shape, and not overlap another tensor.
pub struct SafetensorsFile {
    path: PathBuf,
    map: Arc<Mmap>,
    /// Sorted by name.
    tensors: Vec<TensorInfo>,
    metadata: BTreeMap<String, String>,
}

impl SafetensorsFile {
    pub fn open(path: impl AsRef<Path>) -> Result<SafetensorsFile, CheckpointError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| CheckpointError::io(path, e))?;
        let file_meta = file.metadata().map_err(|e| CheckpointError::io(path, e))?;
        if !file_meta.is_file() {
            let not_a_file = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
            return Err(CheckpointError::io(path, not_a_file));
        }
        // Checked before mapping: mapping an empty file fails on some platforms.
        if file_meta.len() < 8 {
            return Err(CheckpointError::FileTooShort {
                path: path.to_path_buf(),
                len: file_meta.len(),
            });
        }
        // SAFETY: the mapping is read-only and we treat the file as immutable
        // for as long as it is mapped. That is the usual caveat of mmap: if
        // another process truncates or rewrites the file meanwhile, reads may
        // see changed bytes or fault (SIGBUS). Checkpoints are not modified
        // while a model is loaded, and everything derived from the header is
        // validated once, here, against the length the mapping has.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| CheckpointError::io(path, e))?;
        let header = header::parse(path, &map)?;
        Ok(SafetensorsFile {
            path: path.to_path_buf(),
            map: Arc::new(map),
            tensors: header.tensors,
            metadata: header.metadata,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Length of the whole file in bytes.
    pub fn file_len(&self) -> u64 {
        self.map.len() as u64
    }

    /// All tensors, sorted by name.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The header's `__metadata__` (empty when absent).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    pub fn info(&self, name: &str) -> Option<&TensorInfo> {
        self.position(name).map(|slot| &self.tensors[slot])
    }

    pub fn bytes(&self, name: &str) -> Option<TensorBytes<'_>> {
        self.position(name).map(|slot| self.bytes_at(slot))
    }

    pub fn mapped(&self, name: &str) -> Option<MappedBytes> {
        self.bytes(name).map(|bytes| bytes.to_mapped())
    }

    /// Sum of the byte sizes of all tensors (the data section's length).
    pub fn tensor_bytes_total(&self) -> u64 {
        self.tensors.iter().map(|t| t.num_bytes() as u64).sum()
    }

    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.tensors
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
    }

    pub(crate) fn bytes_at(&self, slot: usize) -> TensorBytes<'_> {
        TensorBytes::new(&self.tensors[slot], &self.map)
    }
}

impl std::fmt::Debug for SafetensorsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafetensorsFile")
            .field("path", &self.path)
            .field("file_len", &self.map.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}
