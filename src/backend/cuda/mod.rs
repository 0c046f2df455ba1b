//! The CUDA-class backend: NVIDIA GPUs through `cudarc` with dynamic loading.
//!
//! - libcuda, NVRTC and cuBLAS are opened with `dlopen` at first use, so the
//!   crate builds, links and runs its tests on machines without CUDA; there
//!   `CudaBackend::new` returns a typed `Unsupported` error (see [`probe`]).
//! - Memory is device memory ([`CudaBuffer`]); weights are uploaded once by
//!   `adopt_host`, the KV cache lives on the device, and CPU fallbacks copy
//!   (`shares_host_memory` is false), counted by the dispatcher.
//! - Kernels are the CUDA C sources of `omnirt_kernels::cuda_sources`, compiled
//!   by NVRTC at first use for this device ([`modules`]); MatMul goes through
//!   cuBLAS ([`gemm`]). `supports` accepts only what is wired ([`ops`]).
//! - One stream per device, cudarc's per-buffer event tracking off: every op is
//!   stream-ordered, `read` synchronizes.

mod buffer;
mod gemm;
mod launch;
mod modules;
mod ops;

pub use ops::{
    kernel_signature, kernel_signatures, kernel_table, ArgKind, KernelSignature, KernelUse,
};

use std::sync::{Arc, Mutex, OnceLock};

use cudarc::cublas::CudaBlas;
use cudarc::driver::sys::CUdevice_attribute as Attr;
use cudarc::driver::{CudaContext, CudaStream, LaunchConfig};

use super::{Backend, Buffer, DeviceBuffer, Op, OutputSlot};
use crate::error::{Error, Result};
use crate::profile::{known_profile, ChipKind, ChipProfile, Figure};
use crate::tensor::{DType, Tensor};
pub(crate) use buffer::CudaBuffer;
use launch::Arg;
use modules::Modules;

const NO_GPU_HINT: &str = "use Device::cpu() or a T-Head profile (thead:c920v2, ...) instead";

/// What the CUDA libraries on this machine allow, probed once per process.
#[derive(Clone, Debug)]
enum Probe {
    /// libcuda loads and reports this many devices.
    Ready { devices: usize },
    /// No usable driver or library: the message says which and what to do.
    Missing(String),
}

/// Checks, without panicking, that the driver, NVRTC and cuBLAS can be loaded
/// and counts the devices.
///
/// cudarc's loader panics when a library is missing, so each library is first
/// tried with cudarc's own `is_culib_present()`, which `dlopen`s the very name
/// list cudarc's loader will use (so the probe and the loader cannot disagree),
/// and the first driver calls run under `catch_unwind` as a second guard (a
/// driver older than the bindings can lack a symbol, which cudarc also reports
/// by panicking).
fn probe() -> Probe {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            // SAFETY: `is_culib_present` only dlopens candidate names and drops
            // the handle; loading libcuda/libnvrtc/libcublas runs no user code.
            let driver = unsafe { cudarc::driver::sys::is_culib_present() };
            if !driver {
                return Probe::Missing(format!(
                    "no NVIDIA driver found (libcuda.so / libcuda.so.1 is not loadable); \
                     install the NVIDIA driver on a machine with an NVIDIA GPU, or {NO_GPU_HINT}"
                ));
            }
            // SAFETY: as above.
            let nvrtc = unsafe { cudarc::nvrtc::sys::is_culib_present() };
            if !nvrtc {
                return Probe::Missing(format!(
                    "the NVIDIA driver is present but NVRTC is not (libnvrtc.so / libnvrtc.so.12 \
                     not loadable); install the CUDA toolkit or `pip install nvidia-cuda-nvrtc-cu12` \
                     and put its lib directory on LD_LIBRARY_PATH (a CUDA 13 toolkit: add a \
                     directory holding libnvrtc.so, e.g. /usr/local/cuda/lib64), or {NO_GPU_HINT}"
                ));
            }
            // SAFETY: as above.
            let cublas = unsafe { cudarc::cublas::sys::is_culib_present() };
            if !cublas {
                return Probe::Missing(format!(
                    "the NVIDIA driver is present but cuBLAS is not (libcublas.so / libcublas.so.12 \
                     not loadable); install the CUDA toolkit or `pip install nvidia-cublas-cu12` and \
                     put its lib directory on LD_LIBRARY_PATH, or {NO_GPU_HINT}"
                ));
            }
            match std::panic::catch_unwind(CudaContext::device_count) {
                Ok(Ok(n)) => Probe::Ready {
                    devices: n.max(0) as usize,
                },
                Ok(Err(e)) => Probe::Missing(format!(
                    "the NVIDIA driver did not initialise ({e}); check `nvidia-smi` (driver loaded, \
                     GPU visible to this process, CUDA_VISIBLE_DEVICES), or {NO_GPU_HINT}"
                )),
                Err(_) => Probe::Missing(format!(
                    "the NVIDIA driver lacks a function these bindings (CUDA 12.8 API) need; \
                     update the driver to 570 or newer, or {NO_GPU_HINT}"
                )),
            }
        })
        .clone()
}

/// Whether this machine can run the CUDA backend at all (driver, NVRTC and
/// cuBLAS loadable and at least one device). Never panics.
pub fn available() -> bool {
    matches!(probe(), Probe::Ready { devices } if devices > 0)
}

/// One NVIDIA GPU.
pub struct CudaBackend {
    name: String,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: Mutex<CudaBlas>,
    modules: Modules,
    profile: ChipProfile,
    compute_capability: (i32, i32),
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (major, minor) = self.compute_capability;
        write!(
            f,
            "CudaBackend({}, {}, sm_{major}{minor})",
            self.name, self.profile.name
        )
    }
}

impl CudaBackend {
    /// The GPU `ordinal`. Typed errors (never a panic) when there is no driver,
    /// NVRTC or cuBLAS, when the ordinal is out of range, or when the driver
    /// fails to create a context.
    pub fn new(ordinal: usize) -> Result<CudaBackend> {
        let name = format!("cuda:{ordinal}");
        let devices = match probe() {
            Probe::Ready { devices } => devices,
            Probe::Missing(why) => return Err(Error::Unsupported(format!("{name}: {why}"))),
        };
        if ordinal >= devices {
            return Err(Error::invalid(format!(
                "{name}: no such GPU: this machine has {devices} CUDA device(s){}",
                if devices > 0 {
                    format!(", cuda:0..cuda:{}", devices - 1)
                } else {
                    String::new()
                }
            )));
        }
        let err = |what: &str, e: &dyn std::fmt::Display| Error::Backend {
            device: name.clone(),
            detail: format!("{what}: {e}"),
        };
        let ctx = match std::panic::catch_unwind(|| CudaContext::new(ordinal)) {
            Ok(Ok(ctx)) => ctx,
            Ok(Err(e)) => {
                return Err(err(
                    "creating the CUDA context failed (check nvidia-smi: GPU in use in exclusive mode, \
                     or in a bad state)",
                    &e,
                ))
            }
            Err(_) => {
                return Err(Error::Unsupported(format!(
                    "{name}: the NVIDIA driver lacks a function these bindings (CUDA 12.8 API) need; \
                     update the driver, or {NO_GPU_HINT}"
                )))
            }
        };
        // SAFETY: the backend uses one stream; no buffer is shared with another
        // stream, so cudarc's cross-stream events are not needed.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.default_stream();
        let blas = CudaBlas::new(stream.clone())
            .map_err(|e| err("creating the cuBLAS handle failed (out of memory?)", &e))?;
        let compute_capability = ctx
            .compute_capability()
            .map_err(|e| err("reading the compute capability", &e))?;
        let profile = gpu_profile(&ctx, compute_capability);
        Ok(CudaBackend {
            modules: Modules::new(&name, compute_capability),
            name,
            ctx,
            stream,
            blas: Mutex::new(blas),
            profile,
            compute_capability,
        })
    }

    /// (major, minor) compute capability, e.g. (9, 0) for an H100.
    pub fn compute_capability(&self) -> (i32, i32) {
        self.compute_capability
    }

    fn err(&self, what: &str, e: impl std::fmt::Display) -> Error {
        Error::Backend {
            device: self.name.clone(),
            detail: format!("{what}: {e}"),
        }
    }

    fn ours<'a>(&self, buf: &'a dyn DeviceBuffer) -> Result<&'a CudaBuffer> {
        buf.as_any()
            .downcast_ref::<CudaBuffer>()
            .ok_or_else(|| self.foreign(buf))
    }

    fn ours_mut<'a>(&self, buf: &'a mut dyn DeviceBuffer) -> Result<&'a mut CudaBuffer> {
        let foreign = self.foreign(buf);
        buf.as_any_mut().downcast_mut::<CudaBuffer>().ok_or(foreign)
    }

    fn foreign(&self, buf: &dyn DeviceBuffer) -> Error {
        Error::Backend {
            device: self.name.clone(),
            detail: format!(
                "buffer {buf:?} does not belong to {}; move tensors with to_device",
                self.name
            ),
        }
    }

    /// Uninitialised device memory for temporaries that a kernel fully writes
    /// before anything reads them.
    fn temp(&self, bytes: usize) -> Result<CudaBuffer> {
        // SAFETY: the memory is only handed to kernels/copies that write all
        // `bytes` before any read (every caller documents this).
        let slice = unsafe { self.stream.alloc::<u8>(bytes.max(1)) }
            .map_err(|e| self.err(&format!("allocating {bytes} bytes of GPU memory"), e))?;
        Ok(CudaBuffer::new(slice, bytes))
    }

    /// Device address of a tensor's first element.
    fn tensor_ptr(&self, t: &Tensor) -> Result<u64> {
        let base = self.ours(t.storage())?.ptr(&self.stream);
        Ok(base + t.storage_byte_offset()? as u64)
    }

    /// Device address of an output slot's buffer.
    fn out_ptr(&self, out: &mut OutputSlot<'_>) -> Result<u64> {
        let stream = self.stream.clone();
        Ok(self.ours_mut(out.buffer)?.ptr_mut(&stream))
    }

    /// Device-to-device copy of `bytes` bytes (stream-ordered).
    fn copy_dtod(&self, src: u64, dst: u64, bytes: usize) -> Result<()> {
        if bytes == 0 {
            return Ok(());
        }
        // SAFETY: callers pass two live allocations of this device holding at
        // least `bytes` bytes each (a tensor's view and an output slot checked
        // with `check_out`).
        unsafe {
            cudarc::driver::result::memcpy_dtod_async(dst, src, bytes, self.stream.cu_stream())
        }
        .map_err(|e| self.err("device-to-device copy", e))
    }

    /// Launches the kernel `name` (compiled at first use).
    ///
    /// # Safety
    /// As [`launch::launch`]: `args` match the kernel's signature in ABI.md and
    /// every pointer covers what the kernel touches with `cfg`.
    unsafe fn launch(&self, name: &'static str, cfg: LaunchConfig, args: &[Arg]) -> Result<()> {
        // The argument kinds must be the kernel's C parameters (ABI.md, as
        // transcribed in `ops::kernel_signatures`): a mismatch would make the
        // driver read garbage parameters, so refuse it before launching.
        let want = ops::kernel_signature(name).ok_or_else(|| {
            self.err(
                &format!("launching {name}"),
                "no signature in ops::kernel_signatures (add it from ABI.md)",
            )
        })?;
        if !args.iter().map(Arg::kind).eq(want.iter().copied()) {
            return Err(self.err(
                &format!("launching {name}"),
                format!(
                    "arguments {:?} do not match the ABI.md signature {want:?}",
                    args.iter().map(Arg::kind).collect::<Vec<_>>()
                ),
            ));
        }
        let f = self.modules.function(&self.ctx, name)?;
        // SAFETY: forwarded from this function's contract.
        unsafe { launch::launch(&self.stream, &f, cfg, args) }
            .map_err(|e| self.err(&format!("launching {name}"), e))
    }
}

/// The profile of the GPU: a known profile when the name matches (H100, H200,
/// H20), else one built from the device attributes, figures labelled.
fn gpu_profile(ctx: &Arc<CudaContext>, cc: (i32, i32)) -> ChipProfile {
    let name = ctx.name().unwrap_or_else(|_| "NVIDIA GPU".to_string());
    let attr = |a: Attr| ctx.attribute(a).ok().filter(|&v| v > 0).map(|v| v as f64);
    let upper = name.to_ascii_uppercase();
    let known = if upper.contains("H200") {
        Some("h200")
    } else if upper.contains("H100") {
        Some("h100")
    } else if upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == "H20")
    {
        Some("h20")
    } else {
        None
    };
    if let Some(mut p) = known.and_then(known_profile) {
        p.name = format!("{} ({name})", p.name);
        if let Ok(total) = ctx.total_mem() {
            p.memory_bytes = total as u64;
        }
        p.notes
            .push("matched by device name; memory size read from the driver");
        return p;
    }
    let sms = attr(Attr::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT).unwrap_or(0.0);
    let clock_khz = attr(Attr::CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
    // FP32 lanes per SM: 64 on sm_60/70/80, 128 on sm_61, sm_75 (64), sm_86+.
    let lanes = match cc {
        (6, 1) | (8, 6..) | (9, _) | (10.., _) => 128.0,
        _ => 64.0,
    };
    let f32_peak = match clock_khz {
        Some(khz) if sms > 0.0 => Figure::Estimated {
            value: sms * lanes * 2.0 * khz * 1e3 / 1e9,
            note: "SMs x FP32 lanes/SM (by compute capability) x 2 FLOP x boost clock, from device attributes",
        },
        _ => Figure::Unknown,
    };
    let bandwidth = match (
        attr(Attr::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE),
        attr(Attr::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH),
    ) {
        (Some(khz), Some(bits)) => Figure::Estimated {
            value: 2.0 * khz * 1e3 * bits / 8.0 / 1e9,
            note: "2 x memory clock x bus width, from device attributes (DDR)",
        },
        _ => Figure::Unknown,
    };
    let l2 = attr(Attr::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE).unwrap_or(0.0) as usize;
    let mut native = vec![DType::F32, DType::F16];
    if cc.0 >= 8 {
        native.push(DType::BF16);
    }
    ChipProfile {
        id: format!("sm_{}{}", cc.0, cc.1),
        name,
        kind: ChipKind::Gpu,
        cores: sms as usize,
        vector_bits: 32 * 32,
        peak_gflops_f32: f32_peak,
        peak_gflops_f16: Figure::Unknown,
        peak_gflops_bf16: Figure::Unknown,
        peak_gops_int8: Figure::Unknown,
        mem_bandwidth_gbs: bandwidth,
        l1d_bytes: 256 << 10,
        l2_bytes: 256 << 10,
        l3_bytes: l2,
        memory_bytes: ctx.total_mem().map(|m| m as u64).unwrap_or(0),
        rvv: None,
        native_dtypes: native,
        notes: vec![
            "profile built from device attributes (no known profile matches the name)",
            "tensor-core peaks not derivable from attributes: n/p",
        ],
    }
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

impl Backend for CudaBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn profile(&self) -> &ChipProfile {
        &self.profile
    }

    fn alloc(&self, bytes: usize) -> Result<Buffer> {
        let slice = self.stream.alloc_zeros::<u8>(bytes.max(1)).map_err(|e| {
            self.err(
                &format!("allocating {bytes} bytes of GPU memory failed (free memory with smaller batches or a quantized model)"),
                e,
            )
        })?;
        Ok(Box::new(CudaBuffer::new(slice, bytes)))
    }

    fn write(&self, dst: &mut dyn DeviceBuffer, offset: usize, src: &[u8]) -> Result<()> {
        let dst = self.ours_mut(dst)?;
        let range = byte_range(offset, src.len(), dst.len())?;
        if src.is_empty() {
            return Ok(());
        }
        let mut view = dst.slice_mut().slice_mut(range);
        self.stream
            .memcpy_htod(src, &mut view)
            .map_err(|e| self.err("host-to-device copy", e))
    }

    fn read(&self, src: &dyn DeviceBuffer, offset: usize, dst: &mut [u8]) -> Result<()> {
        let src = self.ours(src)?;
        let range = byte_range(offset, dst.len(), src.len())?;
        if dst.is_empty() {
            return Ok(());
        }
        let view = src.slice().slice(range);
        self.stream
            .memcpy_dtoh(&view, dst)
            .map_err(|e| self.err("device-to-host copy", e))?;
        self.stream.synchronize().map_err(|e| {
            self.err(
                "waiting for a device-to-host copy (an earlier kernel may have failed)",
                e,
            )
        })
    }

    fn supports(&self, op: &Op, dtypes: &[DType]) -> bool {
        ops::supports(op, dtypes)
    }

    fn run(&self, op: &Op, inputs: &[&Tensor], outputs: &mut [OutputSlot<'_>]) -> Result<()> {
        self.ctx
            .bind_to_thread()
            .map_err(|e| self.err("binding the CUDA context", e))?;
        ops::run(self, op, inputs, outputs)
    }

    fn synchronize(&self) -> Result<()> {
        self.stream.synchronize().map_err(|e| {
            self.err(
                "synchronize (a kernel failed; rerun with CUDA_LAUNCH_BLOCKING=1 to find it)",
                e,
            )
        })
    }

    fn shares_host_memory(&self) -> bool {
        false
    }
}
