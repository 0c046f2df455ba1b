//! `Device`: a cheap handle on one backend, chosen at run time, and the
//! dispatcher that sends each op to it (or, when it cannot run the op, to the
//! CPU, counting the fallback).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::stats::{DeviceStats, Record};
use super::thead::TheadBackend;
use super::{cpu::CpuBackend, Backend, OutputSlot, StatsSnapshot};
use super::{Cost, DeviceBuffer, Op};
use crate::error::{Error, Result};
use crate::profile::ChipProfile;
use crate::tensor::{DType, Layout, Shape, Tensor};

#[derive(Clone)]
pub struct Device {
    inner: Arc<DeviceInner>,
}

struct DeviceInner {
    backend: Arc<dyn Backend>,
    stats: DeviceStats,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Device({})", self.name())
    }
}

impl PartialEq for Device {
    fn eq(&self, other: &Device) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Device {
    /// The host CPU (one shared instance; SIMD kernels picked at run time).
    pub fn cpu() -> Device {
        static CPU: OnceLock<Device> = OnceLock::new();
        CPU.get_or_init(|| Device::from_backend(Arc::new(CpuBackend::new())))
            .clone()
    }

    /// An NVIDIA GPU through the CUDA-class backend (one shared device per
    /// ordinal). Never panics: without a driver, NVRTC or cuBLAS this is a typed
    /// `Unsupported` error saying what is missing; a bad ordinal is an
    /// `InvalidArgument` naming the device count.
    #[cfg(feature = "cuda")]
    pub fn cuda(ordinal: usize) -> Result<Device> {
        static DEVICES: OnceLock<Mutex<HashMap<usize, Device>>> = OnceLock::new();
        let mut devices = DEVICES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(d) = devices.get(&ordinal) {
            return Ok(d.clone());
        }
        let device = Device::from_backend(Arc::new(super::cuda::CudaBackend::new(ordinal)?));
        devices.insert(ordinal, device.clone());
        Ok(device)
    }

    /// An NVIDIA GPU through the CUDA-class backend: not in this build.
    #[cfg(not(feature = "cuda"))]
    pub fn cuda(ordinal: usize) -> Result<Device> {
        Err(Error::Unsupported(format!(
            "cuda:{ordinal}: this build of omnirt has no CUDA backend; rebuild with the `cuda` \
             feature (on by default), or use Device::cpu() or thead:PROFILE"
        )))
    }

    /// A T-Head chip profile (XuanTie RVV cores or the PPU): native RVV kernels
    /// on a matching RISC-V core, else their model with projected chip times (see
    /// `backend::thead`). One shared device per profile.
    pub fn thead(profile: &str) -> Result<Device> {
        static DEVICES: OnceLock<Mutex<HashMap<String, Device>>> = OnceLock::new();
        let canonical = crate::profile::known_profile(profile)
            .map(|p| p.id)
            .unwrap_or_else(|| profile.to_string());
        let mut devices = DEVICES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(d) = devices.get(&canonical) {
            return Ok(d.clone());
        }
        let device = Device::from_backend(Arc::new(TheadBackend::new(profile)?));
        devices.insert(canonical, device.clone());
        Ok(device)
    }

    /// `cpu`, `cuda:N` or `thead:PROFILE`.
    pub fn parse(spec: &str) -> Result<Device> {
        let spec = spec.trim();
        match spec.split_once(':') {
            None if spec.eq_ignore_ascii_case("cpu") => Ok(Device::cpu()),
            Some(("cuda", n)) => Device::cuda(
                n.parse()
                    .map_err(|_| Error::invalid(format!("bad device '{spec}': expected cuda:N")))?,
            ),
            Some(("thead", p)) => Device::thead(p),
            _ => Err(Error::invalid(format!(
                "unknown device '{spec}': expected cpu, cuda:N or thead:PROFILE"
            ))),
        }
    }

    /// Wrap any backend (third-party chips plug in here).
    pub fn from_backend(backend: Arc<dyn Backend>) -> Device {
        Device {
            inner: Arc::new(DeviceInner {
                backend,
                stats: DeviceStats::default(),
            }),
        }
    }

    pub fn name(&self) -> &str {
        self.inner.backend.name()
    }

    pub fn backend(&self) -> &dyn Backend {
        self.inner.backend.as_ref()
    }

    pub fn profile(&self) -> &ChipProfile {
        self.inner.backend.profile()
    }

    pub fn is_cpu(&self) -> bool {
        *self == Device::cpu()
    }

    pub fn synchronize(&self) -> Result<()> {
        self.inner.backend.synchronize()
    }

    /// Run `f` inside the backend's execution context (see `Backend::scoped`):
    /// wrap a whole forward pass in it so its ops do not pay a thread hand-off each.
    pub fn scoped<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let mut f = Some(f);
        let mut out = None;
        self.inner.backend.scoped(&mut || {
            if let Some(f) = f.take() {
                out = Some(f());
            }
        });
        match (out, f) {
            (Some(r), _) => r,
            // A backend that never called the closure: run it here.
            (None, Some(f)) => f(),
            (None, None) => unreachable!("the closure ran but produced no result"),
        }
    }

    /// Counters of ops run on this device since creation (or the last reset).
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    pub fn reset_stats(&self) {
        self.inner.stats.reset()
    }

    /// Memory on this device holding `src`.
    pub(crate) fn upload(&self, src: &[u8]) -> Result<Arc<dyn DeviceBuffer>> {
        let mut buf = self.inner.backend.alloc(src.len())?;
        self.inner.backend.write(buf.as_mut(), 0, src)?;
        Ok(Arc::from(buf))
    }

    pub(crate) fn alloc_zeroed(&self, bytes: usize) -> Result<Arc<dyn DeviceBuffer>> {
        Ok(Arc::from(self.inner.backend.alloc(bytes)?))
    }

    /// Run `op` on `inputs` (all on this device), producing outputs of the given
    /// shapes and dtypes. Ops the backend does not support run on the CPU.
    pub(crate) fn execute(
        &self,
        op: &Op,
        inputs: &[&Tensor],
        outputs: &[(Shape, DType)],
    ) -> Result<Vec<Tensor>> {
        for t in inputs {
            if t.device() != self {
                return Err(Error::DeviceMismatch {
                    op: op.name(),
                    a: self.name().to_string(),
                    b: t.device().name().to_string(),
                });
            }
        }
        let in_shapes: Vec<(&Shape, DType)> =
            inputs.iter().map(|t| (t.shape(), t.dtype())).collect();
        let out_shapes: Vec<(&Shape, DType)> = outputs.iter().map(|(s, d)| (s, *d)).collect();
        let cost = op.cost(&in_shapes, &out_shapes);
        let dtypes: Vec<DType> = inputs.iter().map(|t| t.dtype()).collect();
        let started = std::time::Instant::now();

        if self.inner.backend.supports(op, &dtypes) {
            let result = self.run_here(op, inputs, outputs);
            self.record(op, cost, &dtypes, false, started);
            return result;
        }
        let cpu = Device::cpu();
        if self == &cpu {
            return Err(Error::Unsupported(format!(
                "op {} with input dtypes {:?} on the CPU backend",
                op.name(),
                dtypes.iter().map(|d| d.name()).collect::<Vec<_>>()
            )));
        }
        // Fallback: hand the inputs to the CPU, run there, hand the results back.
        let moved: Vec<Tensor> = inputs
            .iter()
            .map(|t| self.hand_over(t, &cpu))
            .collect::<Result<_>>()?;
        let moved_refs: Vec<&Tensor> = moved.iter().collect();
        let results = cpu.execute(op, &moved_refs, outputs)?;
        let back = results
            .iter()
            .map(|t| cpu.hand_over(t, self))
            .collect::<Result<_>>();
        self.record(op, cost, &dtypes, true, started);
        back
    }

    /// `t` (on `self`) as a tensor on `to`: the same storage when both sides keep
    /// their buffers in host memory, else a copy.
    fn hand_over(&self, t: &Tensor, to: &Device) -> Result<Tensor> {
        let host_both = self.inner.backend.shares_host_memory()
            && to.inner.backend.shares_host_memory()
            && t.storage_host_bytes().is_some();
        if host_both {
            Ok(t.relabelled(to))
        } else {
            t.to_device(to)
        }
    }

    fn record(
        &self,
        op: &Op,
        cost: Cost,
        dtypes: &[DType],
        fallback: bool,
        started: std::time::Instant,
    ) {
        let record = Record {
            cost,
            fallback,
            seconds: started.elapsed().as_secs_f64(),
            projected_seconds: self.inner.backend.projected_seconds(op, &cost, dtypes),
        };
        self.inner.stats.record(op.name(), record);
    }

    fn run_here(
        &self,
        op: &Op,
        inputs: &[&Tensor],
        outputs: &[(Shape, DType)],
    ) -> Result<Vec<Tensor>> {
        let layouts: Vec<Layout> = outputs
            .iter()
            .map(|(s, _)| Layout::contiguous(s.clone()))
            .collect();
        let mut buffers = Vec::with_capacity(outputs.len());
        for (shape, dtype) in outputs {
            buffers.push(
                self.inner
                    .backend
                    .alloc(dtype.storage_bytes(shape.numel()?)?)?,
            );
        }
        {
            let mut slots: Vec<OutputSlot<'_>> = buffers
                .iter_mut()
                .zip(&layouts)
                .zip(outputs)
                .map(|((b, l), (_, d))| OutputSlot {
                    buffer: b.as_mut(),
                    layout: l,
                    dtype: *d,
                })
                .collect();
            self.inner.backend.run(op, inputs, &mut slots)?;
        }
        Ok(buffers
            .into_iter()
            .zip(layouts)
            .zip(outputs)
            .map(|((b, l), (_, d))| Tensor::from_parts(Arc::from(b), l, *d, self.clone()))
            .collect())
    }
}
