//! Chip throughput profiles: what a chip can do at best, so kernels can size
//! their blocking and benchmarks can report achieved throughput as a fraction of
//! the roofline (and project an op trace onto a chip that is not present).

mod host;
mod known;
mod roofline;

pub use host::host_profile;
pub use known::{known_profile, known_profiles};
pub use roofline::Roofline;

use crate::tensor::DType;
use omnirt_kernels::blocking::CacheInfo;

/// Where a figure comes from. Estimates are always labelled.
#[derive(Clone, Debug, PartialEq)]
pub enum Figure {
    /// From a datasheet or other public source (named).
    Published { value: f64, source: &'static str },
    /// Derived or inferred (the note says how).
    Estimated { value: f64, note: &'static str },
    /// Read or measured on this machine.
    Measured { value: f64, how: &'static str },
    /// Not public / not applicable.
    Unknown,
}

impl Figure {
    pub fn value(&self) -> Option<f64> {
        match *self {
            Figure::Published { value, .. }
            | Figure::Estimated { value, .. }
            | Figure::Measured { value, .. } => Some(value),
            Figure::Unknown => None,
        }
    }

    pub fn is_estimate(&self) -> bool {
        matches!(self, Figure::Estimated { .. })
    }

    /// "value (source)" for tables.
    pub fn describe(&self, unit: &str) -> String {
        match self {
            Figure::Published { value, source } => format!("{value} {unit} ({source})"),
            Figure::Estimated { value, note } => format!("{value} {unit} (est.: {note})"),
            Figure::Measured { value, how } => format!("{value:.1} {unit} ({how})"),
            Figure::Unknown => "n/p".to_string(),
        }
    }
}

/// Which RISC-V Vector specification a core implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RvvVersion {
    /// Ratified RVV 1.0 (C908, C920v2/SG2044, C930): omnirt's RVV kernels run here.
    V1_0,
    /// T-Head's pre-ratification 0.7.1 ("XTheadVector": C906, C910, C920/SG2042).
    /// Binary-incompatible with 1.0 and not emulated by QEMU: projection only.
    XTheadVector0_7_1,
}

/// Vector capabilities of a RISC-V core, as the T-Head backend needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RvvCaps {
    pub version: RvvVersion,
    pub vlen_bits: usize,
    /// Vector fp16 arithmetic (Zvfh).
    pub zvfh: bool,
    /// bf16 widening FMA (Zvfbfwma).
    pub zvfbfwma: bool,
    /// T-Head int8 4-way dot product (XTheadVdot, `vmaqa`).
    pub xtheadvdot: bool,
    /// fp16 GEMM accumulates in fp16, as T-Head's SHL does on these cores.
    pub fp16_accumulate: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChipKind {
    Cpu,
    Gpu,
    Accelerator,
}

/// Throughput profile of one chip (a whole device, or the CPU cores omnirt uses).
#[derive(Clone, Debug, PartialEq)]
pub struct ChipProfile {
    /// Short id used on the command line (`host`, `h100`, `c920v2`, ...).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    pub kind: ChipKind,
    /// Cores (CPU) or SMs/compute units (GPU) that omnirt schedules on.
    pub cores: usize,
    /// Vector register width in bits (CPU) or warp width in lanes × 32 (GPU).
    pub vector_bits: usize,
    /// Dense peak FLOP/s (GFLOP/s) per dtype; f32 always present.
    pub peak_gflops_f32: Figure,
    pub peak_gflops_f16: Figure,
    pub peak_gflops_bf16: Figure,
    /// Integer-8 dot-product peak (GOP/s), used for Q8_0/Q4_0 kernels.
    pub peak_gops_int8: Figure,
    /// Main-memory bandwidth (GB/s).
    pub mem_bandwidth_gbs: Figure,
    /// Cache sizes in bytes: L1d and L2 per core, L3 (or GPU L2) shared.
    pub l1d_bytes: usize,
    pub l2_bytes: usize,
    pub l3_bytes: usize,
    /// Device memory capacity in bytes (0 when it is host memory).
    pub memory_bytes: u64,
    /// RISC-V Vector capabilities (`None` for other chips).
    pub rvv: Option<RvvCaps>,
    /// Dtypes the chip computes natively.
    pub native_dtypes: Vec<DType>,
    /// Free-form notes (ISA version caveats, what is projected).
    pub notes: Vec<&'static str>,
}

impl ChipProfile {
    /// Peak for arithmetic in `dtype`, in GFLOP/s (quantized types use the int8 peak,
    /// falling back to f32 where no int8 figure exists).
    pub fn peak_gflops(&self, dtype: DType) -> Option<f64> {
        let fig = match dtype {
            DType::F16 => &self.peak_gflops_f16,
            DType::BF16 => &self.peak_gflops_bf16,
            DType::Q8_0 | DType::Q4_0 | DType::U8 => &self.peak_gops_int8,
            _ => &self.peak_gflops_f32,
        };
        fig.value().or_else(|| self.peak_gflops_f32.value())
    }

    pub fn bandwidth_gbs(&self) -> Option<f64> {
        self.mem_bandwidth_gbs.value()
    }

    /// Cache sizes in the form the kernels take their blocking from.
    pub fn cache_info(&self) -> CacheInfo {
        CacheInfo {
            l1d: self.l1d_bytes.max(4 << 10),
            l2: self.l2_bytes.max(64 << 10),
            l3: self.l3_bytes,
            vector_bits: self.vector_bits,
        }
    }

    /// Roofline for arithmetic in `dtype`, when both peak and bandwidth are known.
    pub fn roofline(&self, dtype: DType) -> Option<Roofline> {
        Some(Roofline {
            peak_gflops: self.peak_gflops(dtype)?,
            bandwidth_gbs: self.bandwidth_gbs()?,
        })
    }
}
