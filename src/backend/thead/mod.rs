//! The T-Head backend: XuanTie RISC-V vector cores (C908, C920v2/SG2044, C930,
//! and C920/SG2042 as a projection) and the PPU accelerator, as chip profiles.
//!
//! Memory is host memory and the op drivers are the CPU backend's; what differs
//! is the kernel set and what is reported:
//! - on a RISC-V core with RVV 1.0 at the profile's VLEN, the RVV kernels run
//!   natively and the measured time is the truth;
//! - anywhere else the same kernels run through their bit-exact model at the
//!   profile's VLEN (same strips, accumulation order and dtypes, fp16
//!   accumulation where the chip does it), and every op also gets a *projected*
//!   time on the chip from its profile's roofline (see `projection.rs`);
//! - ops without an RVV kernel are refused by `supports`, so the dispatcher runs
//!   them on the CPU and counts them as fallbacks (zero-copy: both sides are host
//!   memory). The PPU has no public ISA, so every op falls back there.

mod projection;

use omnirt_kernels::rvv::{native_vlen, RvvTarget};

use super::cpu::kernels::KernelSet;
use super::cpu::{configured_threads, CpuBackend};
use super::{Backend, Buffer, Cost, DeviceBuffer, Op, OutputSlot};
use crate::checkpoint::MappedBytes;
use crate::error::{Error, Result};
use crate::profile::{known_profile, known_profiles, ChipKind, ChipProfile, RvvVersion};
use crate::tensor::{DType, Tensor};

/// How a T-Head profile's ops execute on this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Execution {
    /// RVV 1.0 kernels on this very core (a RISC-V host at the profile's VLEN).
    Native { vlen_bits: usize },
    /// The RVV kernels' model at the chip's VLEN on this host; times projected.
    Modelled { vlen_bits: usize },
    /// No kernels for this chip (the PPU): every op runs on the CPU as a counted
    /// fallback; times projected.
    ProjectionOnly,
}

impl Execution {
    /// Whether reported chip times are projections (not measured on the chip).
    pub fn is_projected(&self) -> bool {
        !matches!(self, Execution::Native { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Execution::Native { vlen_bits } => format!("native RVV 1.0, VLEN {vlen_bits}"),
            Execution::Modelled { vlen_bits } => {
                format!("RVV kernel model at VLEN {vlen_bits} on this host; chip time projected")
            }
            Execution::ProjectionOnly => {
                "no kernels (no public ISA): host CPU fallback; chip time projected".to_string()
            }
        }
    }
}

#[derive(Debug)]
pub struct TheadBackend {
    name: String,
    execution: Execution,
    engine: CpuBackend,
}

impl TheadBackend {
    /// A backend for the T-Head profile `id` (`c908-v128`, `c908-v256`, `c920v2`,
    /// `sg2044`, `c920`, `c930`, `ppu`, ...).
    pub fn new(id: &str) -> Result<TheadBackend> {
        let profile = known_profile(id).ok_or_else(|| unknown_profile(id))?;
        let (execution, kernels) = match profile.rvv {
            Some(caps) => {
                let vlen = caps.vlen_bits;
                let target = RvvTarget::new(vlen)
                    .ok_or_else(|| Error::invalid(format!("thead:{id}: VLEN {vlen} is not valid")))?
                    .with_caches(profile.cache_info())
                    .with_fp16_accumulate(caps.fp16_accumulate)
                    .with_int8_dot(caps.xtheadvdot);
                let native = caps.version == RvvVersion::V1_0 && native_vlen() == Some(vlen);
                let execution = if native {
                    Execution::Native { vlen_bits: vlen }
                } else {
                    Execution::Modelled { vlen_bits: vlen }
                };
                (execution, KernelSet::Rvv(target))
            }
            None if profile.id == "ppu" => (
                Execution::ProjectionOnly,
                KernelSet::Host(profile.cache_info()),
            ),
            None => {
                return Err(Error::invalid(format!(
                    "thead:{id}: '{}' is not a T-Head chip; T-Head profiles are {}",
                    profile.id,
                    thead_profile_ids().join(", ")
                )))
            }
        };
        Ok(TheadBackend {
            name: format!("thead:{}", profile.id),
            execution,
            engine: CpuBackend::with_kernels(profile, configured_threads(), kernels),
        })
    }

    pub fn execution(&self) -> Execution {
        self.execution
    }
}

/// Ids of the profiles `Device::thead` accepts.
pub fn thead_profile_ids() -> Vec<String> {
    known_profiles()
        .into_iter()
        .filter(|p| p.id != "host" && (p.rvv.is_some() || p.kind == ChipKind::Accelerator))
        .map(|p| p.id)
        .collect()
}

fn unknown_profile(id: &str) -> Error {
    Error::invalid(format!(
        "thead:{id}: unknown T-Head profile; known: {} (see `omnirt profiles`)",
        thead_profile_ids().join(", ")
    ))
}

impl Backend for TheadBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn profile(&self) -> &ChipProfile {
        self.engine.profile()
    }

    fn alloc(&self, bytes: usize) -> Result<Buffer> {
        self.engine.alloc(bytes)
    }

    fn write(&self, dst: &mut dyn DeviceBuffer, offset: usize, src: &[u8]) -> Result<()> {
        self.engine.write(dst, offset, src)
    }

    fn read(&self, src: &dyn DeviceBuffer, offset: usize, dst: &mut [u8]) -> Result<()> {
        self.engine.read(src, offset, dst)
    }

    fn supports(&self, op: &Op, dtypes: &[DType]) -> bool {
        match self.execution {
            Execution::ProjectionOnly => false,
            Execution::Native { .. } | Execution::Modelled { .. } => {
                self.engine.kernels().covers(op) && self.engine.supports(op, dtypes)
            }
        }
    }

    fn run(&self, op: &Op, inputs: &[&Tensor], outputs: &mut [OutputSlot<'_>]) -> Result<()> {
        if self.execution == Execution::ProjectionOnly {
            return Err(Error::Unsupported(format!(
                "{}: {} has no kernels (no public ISA); ops run on the CPU",
                op.name(),
                self.name
            )));
        }
        self.engine.run(op, inputs, outputs)
    }

    fn synchronize(&self) -> Result<()> {
        Ok(())
    }

    fn scoped(&self, f: &mut (dyn FnMut() + Send)) {
        self.engine.scoped(f)
    }

    fn projected_seconds(&self, op: &Op, cost: &Cost, dtypes: &[DType]) -> Option<f64> {
        if !self.stands_in_for_chip() {
            return None;
        }
        projection::roofline_seconds(self.profile(), op, cost, dtypes)
    }

    fn shares_host_memory(&self) -> bool {
        true
    }

    fn execution_note(&self) -> String {
        self.execution.describe()
    }

    fn stands_in_for_chip(&self) -> bool {
        self.execution.is_projected()
    }

    fn adopt_host(&self, bytes: MappedBytes) -> Result<Buffer> {
        self.engine.adopt_host(bytes)
    }
}
