//! Device memory of the CUDA backend: one `cudarc` allocation per buffer, seen
//! by the core only as a `DeviceBuffer` (no host view: `host()` is `None`, so the
//! dispatcher copies for CPU fallbacks, and counts them).

use std::any::Any;

use cudarc::driver::{CudaSlice, CudaStream, DevicePtr, DevicePtrMut};

use crate::backend::DeviceBuffer;

/// `len` bytes of device memory on one GPU. The allocation is at least one byte
/// (the driver refuses empty allocations), so every buffer has a valid pointer.
pub struct CudaBuffer {
    slice: CudaSlice<u8>,
    len: usize,
}

impl CudaBuffer {
    pub(crate) fn new(slice: CudaSlice<u8>, len: usize) -> CudaBuffer {
        debug_assert!(slice.len() >= len);
        CudaBuffer { slice, len }
    }

    /// The device address of byte 0. Valid while `self` lives. The backend runs
    /// one stream with cudarc's event tracking off, so the guard cudarc returns
    /// has nothing to record and is dropped at once.
    pub(crate) fn ptr(&self, stream: &CudaStream) -> u64 {
        let (ptr, _guard) = self.slice.device_ptr(stream);
        ptr
    }

    /// The device address of byte 0, for writing.
    pub(crate) fn ptr_mut(&mut self, stream: &CudaStream) -> u64 {
        let (ptr, _guard) = self.slice.device_ptr_mut(stream);
        ptr
    }

    pub(crate) fn slice(&self) -> &CudaSlice<u8> {
        &self.slice
    }

    pub(crate) fn slice_mut(&mut self) -> &mut CudaSlice<u8> {
        &mut self.slice
    }
}

impl std::fmt::Debug for CudaBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CudaBuffer({} bytes on cuda:{})",
            self.len,
            self.slice.ordinal()
        )
    }
}

impl DeviceBuffer for CudaBuffer {
    fn len(&self) -> usize {
        self.len
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
