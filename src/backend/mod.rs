//! The hardware-abstraction layer: one object-safe trait per chip family, a
//! `Device` handle chosen at run time, the op vocabulary, and the dispatcher that
//! runs what a backend does not support on the CPU (and counts it).

mod buffer;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
mod device;
mod op;
mod stats;
pub mod thead;

pub use buffer::{Buffer, DeviceBuffer, HostBuffer};
pub use device::Device;
pub use op::{BinaryOp, ConvParams, Cost, MaskKind, Op, ReduceOp, Rounding, UnaryOp};
pub use stats::{OpStats, StatsSnapshot};

use crate::error::Result;
use crate::profile::ChipProfile;
use crate::tensor::{DType, Layout, Tensor};

/// Where an op writes one of its results: a freshly allocated, contiguous buffer.
pub struct OutputSlot<'a> {
    pub buffer: &'a mut dyn DeviceBuffer,
    pub layout: &'a Layout,
    pub dtype: DType,
}

/// What a chip family implements. Adding a chip means implementing this trait;
/// nothing in the core matches on backends.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Stable name, e.g. `cpu`, `thead:c920v2`, `cuda:0`.
    fn name(&self) -> &str;
    /// The chip's throughput profile (blocking and roofline come from it).
    fn profile(&self) -> &ChipProfile;
    /// Zeroed device memory.
    fn alloc(&self, bytes: usize) -> Result<Buffer>;
    /// Host -> device copy into `dst[offset..]`.
    fn write(&self, dst: &mut dyn DeviceBuffer, offset: usize, src: &[u8]) -> Result<()>;
    /// Device -> host copy from `src[offset..]`.
    fn read(&self, src: &dyn DeviceBuffer, offset: usize, dst: &mut [u8]) -> Result<()>;
    /// Whether `run` accepts this op with inputs of these dtypes (in order).
    /// Anything refused runs on the CPU and is counted as a fallback.
    fn supports(&self, op: &Op, dtypes: &[DType]) -> bool;
    /// Run a supported op. Inputs live on this backend; outputs are contiguous.
    fn run(&self, op: &Op, inputs: &[&Tensor], outputs: &mut [OutputSlot<'_>]) -> Result<()>;
    /// Wait until queued work is done.
    fn synchronize(&self) -> Result<()>;
    /// Run `f` in the backend's execution context. The CPU backend runs it on its
    /// thread pool, so the many small ops of a decode step start inline instead
    /// of each waking the pool from outside.
    fn scoped(&self, f: &mut (dyn FnMut() + Send)) {
        f()
    }
    /// Time this op would take on the chip the backend stands in for (T-Head
    /// profiles on another host), from the chip's roofline. `None` for backends
    /// that run on the chip itself, where measured time is the truth.
    fn projected_seconds(&self, op: &Op, cost: &Cost, dtypes: &[DType]) -> Option<f64> {
        let _ = (op, cost, dtypes);
        None
    }
    /// How ops execute here, for reports ("native host SIMD (avx2)", "RVV kernel
    /// model at VLEN 128 on this host; chip time projected", ...).
    fn execution_note(&self) -> String {
        "native".to_string()
    }
    /// Whether this backend stands in for a chip it does not run on, so the
    /// chip's times are projections (`projected_seconds`) rather than measured.
    fn stands_in_for_chip(&self) -> bool {
        false
    }
    /// Whether this backend's buffers are plain host memory that the CPU backend
    /// can read in place (then a CPU fallback moves no bytes).
    fn shares_host_memory(&self) -> bool {
        false
    }
    /// Turn host bytes (for example a memory-mapped checkpoint tensor) into a
    /// buffer. Host-memory backends keep them zero-copy.
    fn adopt_host(&self, bytes: crate::checkpoint::MappedBytes) -> Result<Buffer> {
        let src: &[u8] = bytes.as_ref();
        let mut buf = self.alloc(src.len())?;
        self.write(buf.as_mut(), 0, src)?;
        Ok(buf)
    }
}
