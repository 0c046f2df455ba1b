//! The CPU backend: host memory, SIMD kernels from `omnirt-kernels` (chosen at
//! run time), and a rayon pool sized from the host profile.

mod access;
mod attention;
mod conv;
mod data;
mod elementwise;
pub(crate) mod kernels;
mod matmul;
mod reduce;
mod rowwise;
pub(crate) mod strided;

use super::{Backend, Buffer, DeviceBuffer, HostBuffer, Op, OutputSlot};
use crate::checkpoint::MappedBytes;
use crate::error::{Error, Result};
use crate::profile::{host_profile, ChipProfile};
use crate::tensor::{DType, Tensor};
use kernels::KernelSet;

#[derive(Debug)]
pub struct CpuBackend {
    profile: ChipProfile,
    kernels: KernelSet,
    pool: rayon::ThreadPool,
}

impl CpuBackend {
    /// A backend on the host profile with `configured_threads()` threads.
    pub fn new() -> CpuBackend {
        CpuBackend::with_threads(host_profile().clone(), configured_threads())
    }

    /// A CPU backend with an explicit profile and thread count.
    pub fn with_threads(profile: ChipProfile, threads: usize) -> CpuBackend {
        let kernels = KernelSet::Host(profile.cache_info());
        CpuBackend::with_kernels(profile, threads, kernels)
    }

    /// Host memory and these op drivers, with another kernel set (the T-Head
    /// backend runs the RVV kernels this way).
    pub(crate) fn with_kernels(
        profile: ChipProfile,
        threads: usize,
        kernels: KernelSet,
    ) -> CpuBackend {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("omnirt-cpu-{i}"))
            .build()
            .or_else(|_| rayon::ThreadPoolBuilder::new().num_threads(1).build())
            .expect("a one-thread rayon pool can always be built");
        CpuBackend {
            kernels,
            profile,
            pool,
        }
    }

    pub(crate) fn kernels(&self) -> &KernelSet {
        &self.kernels
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    fn host<'a>(&self, buf: &'a dyn DeviceBuffer) -> Result<&'a HostBuffer> {
        buf.as_any()
            .downcast_ref::<HostBuffer>()
            .ok_or_else(|| self.foreign(buf))
    }

    fn foreign(&self, buf: &dyn DeviceBuffer) -> Error {
        Error::Backend {
            device: "cpu".into(),
            detail: format!("buffer {buf:?} does not belong to the CPU backend"),
        }
    }
}

impl Default for CpuBackend {
    fn default() -> Self {
        CpuBackend::new()
    }
}

/// Threads the default CPU backend uses: `OMNIRT_THREADS` if set to a positive
/// number, else one per core of the host profile.
pub fn configured_threads() -> usize {
    std::env::var("OMNIRT_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(host_profile().cores)
}

/// Checked `offset..offset+len` inside a buffer of `size` bytes.
fn byte_range(offset: usize, len: usize, size: usize) -> Result<std::ops::Range<usize>> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(offset..end),
        _ => Err(Error::invalid(format!(
            "byte range {offset}+{len} outside a buffer of {size} bytes"
        ))),
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn profile(&self) -> &ChipProfile {
        &self.profile
    }

    fn alloc(&self, bytes: usize) -> Result<Buffer> {
        Ok(Box::new(HostBuffer::zeroed(bytes)?))
    }

    fn write(&self, dst: &mut dyn DeviceBuffer, offset: usize, src: &[u8]) -> Result<()> {
        let size = dst.len();
        let range = byte_range(offset, src.len(), size)?;
        let foreign = self.foreign(dst);
        let bytes = dst.host_mut().ok_or(foreign)?;
        bytes[range].copy_from_slice(src);
        Ok(())
    }

    fn read(&self, src: &dyn DeviceBuffer, offset: usize, dst: &mut [u8]) -> Result<()> {
        let bytes = self.host(src)?.bytes();
        let range = byte_range(offset, dst.len(), bytes.len())?;
        dst.copy_from_slice(&bytes[range]);
        Ok(())
    }

    fn supports(&self, op: &Op, dtypes: &[DType]) -> bool {
        let float = |d: &DType| d.is_float();
        match op {
            Op::MatMul { .. } => {
                dtypes.first().is_some_and(float)
                    && dtypes
                        .get(1)
                        .is_some_and(|d| d.is_float() || d.is_quantized())
            }
            Op::Gather => dtypes
                .first()
                .is_some_and(|d| d.is_float() || d.is_quantized()),
            Op::Cast | Op::Copy | Op::Concat { .. } => true,
            _ => dtypes.iter().all(float),
        }
    }

    fn run(&self, op: &Op, inputs: &[&Tensor], outputs: &mut [OutputSlot<'_>]) -> Result<()> {
        let kernels = &self.kernels;
        if !kernels.covers(op) {
            return Err(Error::Unsupported(format!(
                "{}: not in the {} kernel set",
                op.name(),
                if kernels.is_rvv() { "RVV" } else { "host" },
            )));
        }
        if let Op::TopK { k } = op {
            return self.pool.install(|| reduce::topk(*k, inputs, outputs));
        }
        let [out, ..] = outputs else {
            return Err(Error::invalid(format!("{}: no output slot", op.name())));
        };
        self.pool.install(|| match op {
            Op::MatMul { transpose_b } => matmul::matmul(kernels, inputs, *transpose_b, out),
            Op::Attention { scale, mask } => attention::attention(inputs, *scale, mask, out),
            Op::RmsNorm { eps, rounding } => {
                rowwise::rms_norm(kernels, inputs, *eps, *rounding, out)
            }
            Op::LayerNorm { eps } => rowwise::layer_norm(inputs, *eps, out),
            Op::Rope { rounding } => rowwise::rope(kernels, inputs, *rounding, out),
            Op::Softmax => rowwise::softmax(kernels, inputs, out),
            Op::Unary(u) => elementwise::unary(kernels, *u, inputs, out),
            Op::Binary(b) => elementwise::binary(kernels, *b, inputs, out),
            Op::SwiGlu => elementwise::swiglu(kernels, inputs, out),
            Op::Snake => elementwise::snake(inputs, out),
            Op::Cast => data::cast(inputs, out),
            Op::Copy => data::copy(inputs, out),
            Op::Gather => data::gather(inputs, out),
            Op::Concat { dim } => data::concat(inputs, *dim, out),
            Op::Conv1d(p) => conv::conv1d(p, inputs, out),
            Op::Conv2d(p) => conv::conv2d(p, inputs, out),
            Op::ConvTranspose1d(p) => conv::conv_transpose1d(p, inputs, out),
            Op::Reduce(r) => reduce::reduce(*r, inputs, out),
            Op::ArgMax => reduce::argmax(inputs, out),
            Op::TopK { .. } => unreachable!("handled above"),
        })
    }

    fn synchronize(&self) -> Result<()> {
        Ok(())
    }

    fn scoped(&self, f: &mut (dyn FnMut() + Send)) {
        self.pool.install(f)
    }

    fn shares_host_memory(&self) -> bool {
        true
    }

    fn execution_note(&self) -> String {
        match self.kernels {
            KernelSet::Host(_) => format!("native host SIMD ({})", omnirt_kernels::Isa::best()),
            KernelSet::Rvv(t) => format!("RVV kernels at VLEN {}", t.vlen_bits()),
        }
    }

    fn adopt_host(&self, bytes: MappedBytes) -> Result<Buffer> {
        Ok(Box::new(HostBuffer::from_mapped(bytes)?))
    }
}

/// The `i`-th input, or a clear error (the front end guarantees arity; this
/// keeps a malformed direct `Backend::run` call from panicking).
pub(crate) fn input<'a>(inputs: &[&'a Tensor], i: usize, op: &str) -> Result<&'a Tensor> {
    inputs
        .get(i)
        .copied()
        .ok_or_else(|| Error::invalid(format!("{op}: missing input {i}")))
}
