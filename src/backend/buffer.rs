//! Device memory, seen by the core only through a small trait so that a new
//! backend brings its own buffer type without touching the core.

use std::any::Any;

use crate::checkpoint::MappedBytes;
use crate::error::{Error, Result};

/// Memory owned by one backend. Backends downcast their own buffers with `as_any`.
pub trait DeviceBuffer: Any + Send + Sync + std::fmt::Debug {
    /// Size in bytes.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The bytes, when the buffer lives in host memory (CPU, emulated chips).
    fn host(&self) -> Option<&[u8]> {
        None
    }
    /// Writable bytes, when the buffer lives in host memory and is writable.
    fn host_mut(&mut self) -> Option<&mut [u8]> {
        None
    }
}

pub type Buffer = Box<dyn DeviceBuffer>;

/// 64-byte aligned chunk: host buffers are built from these so that every
/// element type (and SIMD loads) is aligned.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(64))]
struct Align64([u8; 64]);

/// Host memory: either owned (aligned, writable) or a read-only window of a
/// memory-mapped checkpoint (zero-copy weights).
pub struct HostBuffer(HostRepr);

enum HostRepr {
    Owned { chunks: Vec<Align64>, len: usize },
    Mapped(MappedBytes),
}

impl HostBuffer {
    /// Zeroed, aligned host memory; fails cleanly instead of aborting when the
    /// allocation is impossible.
    pub fn zeroed(len: usize) -> Result<HostBuffer> {
        let n = len.div_ceil(64);
        let mut chunks = Vec::new();
        chunks.try_reserve_exact(n).map_err(|_| Error::Backend {
            device: "cpu".into(),
            detail: format!("cannot allocate {len} bytes of host memory"),
        })?;
        chunks.resize(n, Align64([0; 64]));
        Ok(HostBuffer(HostRepr::Owned { chunks, len }))
    }

    /// Wraps mapped checkpoint bytes when they are aligned enough for every
    /// element type; otherwise copies them into owned memory.
    pub fn from_mapped(bytes: MappedBytes) -> Result<HostBuffer> {
        let slice: &[u8] = bytes.as_ref();
        if (slice.as_ptr() as usize) % 8 == 0 {
            Ok(HostBuffer(HostRepr::Mapped(bytes)))
        } else {
            let mut owned = HostBuffer::zeroed(slice.len())?;
            owned.bytes_mut().copy_from_slice(slice);
            Ok(owned)
        }
    }

    pub fn from_bytes(src: &[u8]) -> Result<HostBuffer> {
        let mut owned = HostBuffer::zeroed(src.len())?;
        owned.bytes_mut().copy_from_slice(src);
        Ok(owned)
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.0 {
            HostRepr::Owned { chunks, len } => &bytemuck::cast_slice(chunks)[..*len],
            HostRepr::Mapped(m) => m.as_ref(),
        }
    }

    /// Writable bytes of an owned buffer (empty for a mapped one, which is read-only).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            HostRepr::Owned { chunks, len } => &mut bytemuck::cast_slice_mut(chunks)[..*len],
            HostRepr::Mapped(_) => &mut [],
        }
    }
}

impl std::fmt::Debug for HostBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            HostRepr::Owned { len, .. } => write!(f, "HostBuffer::Owned({len} bytes)"),
            HostRepr::Mapped(m) => write!(f, "HostBuffer::Mapped({} bytes)", m.as_ref().len()),
        }
    }
}

impl DeviceBuffer for HostBuffer {
    fn len(&self) -> usize {
        self.bytes().len()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn host(&self) -> Option<&[u8]> {
        Some(self.bytes())
    }
    fn host_mut(&mut self) -> Option<&mut [u8]> {
        match self.0 {
            HostRepr::Owned { .. } => Some(self.bytes_mut()),
            HostRepr::Mapped(_) => None,
        }
    }
}
