//! RISC-V Vector (RVV 1.0) kernels for T-Head XuanTie cores (C908, C920v2/SG2044,
//! C930), and a portable *model* of each one.
//!
//! Every op here exists twice, with the same algorithm:
//! - **native**: inline `asm!` that runs a whole strip-mined loop (Rust has no RVV
//!   intrinsics). Each block enables V with `.option arch, +v`, so no rustflags are
//!   needed; it is compiled only for `riscv64` with the `rvv` feature and chosen at
//!   run time when the core has V (`AT_HWCAP`) and its VLEN equals the target's.
//! - **model**: plain Rust that executes the same strips at the target's VLEN, lane
//!   by lane, with the same per-lane accumulation order, the same final reduction
//!   order and the same dtypes (f16 accumulation where the chip does it). Its
//!   results equal the native kernel's bit for bit (tested under QEMU at each VLEN),
//!   which is what lets the T-Head backend run a chip's arithmetic on any host.
//!
//! Rules every kernel here follows (so native and model agree):
//! - `vsetvli` is always given `AVL = min(remaining, VLMAX)`, never more, so `vl`
//!   is fixed by the spec (`vl = AVL`) rather than left to the implementation
//!   (which may pick `ceil(AVL/2)` when `VLMAX < AVL < 2·VLMAX`). [`strips`]
//!   yields exactly these `(start, vl)` pairs.
//! - Reductions across lanes use the *ordered* forms (`vfredosum`), whose order the
//!   model reproduces; accumulators carried across a short last strip use the
//!   tail-undisturbed (`tu`) policy.
//! - Products that the asm fuses (`vfmacc`, `vfmadd`) are `mul_add` in the model.
//!
//! Blocking comes from the target's caches ([`RvvTarget::caches`], filled from the
//! chip profile by the backend), and the register tile from its VLEN.

mod detect;
pub mod gemm;
pub mod quant;
pub mod rowwise;
mod strip;

pub use detect::{native_vlen, native_zvfh};
pub use gemm::{gemm, RvvWeights};
pub use strip::{strips, Strips};

use crate::blocking::CacheInfo;

/// Smallest VLEN the V extension allows (Zvl128b) and the largest this crate tests.
pub const MIN_VLEN: usize = 128;
pub const MAX_VLEN: usize = 65536;

/// Which implementation of an RVV kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The asm kernel on this core (riscv64 with V at the target's VLEN).
    Native,
    /// The portable model of the same algorithm.
    Model,
}

/// The vector machine a kernel is run for: VLEN, arithmetic choices and caches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RvvTarget {
    vlen_bits: usize,
    /// f16 GEMM accumulates in f16 (SHL's choice on C908/C920v2: faster, less
    /// accurate) instead of widening to f32 (`vfwmacc`).
    pub fp16_accumulate: bool,
    /// The core has T-Head's int8 4-way dot product (`xtheadvdot`, `vmaqa`). The
    /// kernels record it but use widening multiply-accumulate, because no emulator
    /// available here executes `vmaqa` (untested code is not shipped).
    pub int8_dot: bool,
    /// Cache sizes the GEMM blocking is derived from (per core L1d/L2, shared L3).
    pub caches: CacheInfo,
    model_only: bool,
}

impl RvvTarget {
    /// A target with `vlen_bits` (a power of two in `MIN_VLEN..=MAX_VLEN`), f32
    /// accumulation, no int8 dot, default caches. `None` for an invalid VLEN.
    pub fn new(vlen_bits: usize) -> Option<RvvTarget> {
        if !vlen_bits.is_power_of_two() || !(MIN_VLEN..=MAX_VLEN).contains(&vlen_bits) {
            return None;
        }
        Some(RvvTarget {
            vlen_bits,
            fp16_accumulate: false,
            int8_dot: false,
            caches: CacheInfo {
                vector_bits: vlen_bits,
                ..CacheInfo::default()
            },
            model_only: false,
        })
    }

    /// This core as a target, when it runs RVV 1.0 kernels natively.
    pub fn host() -> Option<RvvTarget> {
        native_vlen().and_then(RvvTarget::new)
    }

    pub fn with_caches(mut self, caches: CacheInfo) -> RvvTarget {
        self.caches = CacheInfo {
            vector_bits: self.vlen_bits,
            ..caches
        };
        self
    }

    pub fn with_fp16_accumulate(mut self, on: bool) -> RvvTarget {
        self.fp16_accumulate = on;
        self
    }

    pub fn with_int8_dot(mut self, on: bool) -> RvvTarget {
        self.int8_dot = on;
        self
    }

    /// The same target, always run through the model (tests compare the two).
    pub fn model_only(mut self) -> RvvTarget {
        self.model_only = true;
        self
    }

    pub fn vlen_bits(&self) -> usize {
        self.vlen_bits
    }

    /// Bytes per vector register (the `vlenb` CSR).
    pub fn vlenb(&self) -> usize {
        self.vlen_bits / 8
    }

    /// Elements of `sew_bits` in a register group of `lmul` registers (integer LMUL).
    pub fn vlmax(&self, sew_bits: usize, lmul: usize) -> usize {
        self.vlen_bits * lmul / sew_bits
    }

    /// Native when this core runs V at exactly this VLEN (and the model was not
    /// forced), otherwise the model.
    pub fn engine(&self) -> Engine {
        if !self.model_only && native_vlen() == Some(self.vlen_bits) {
            Engine::Native
        } else {
            Engine::Model
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlen_must_be_a_power_of_two_in_range() {
        assert!(RvvTarget::new(128).is_some());
        assert!(RvvTarget::new(1024).is_some());
        assert!(RvvTarget::new(64).is_none());
        assert!(RvvTarget::new(192).is_none());
        assert!(RvvTarget::new(MAX_VLEN * 2).is_none());
    }

    #[test]
    fn vlmax_follows_the_spec() {
        let t = RvvTarget::new(256).unwrap();
        assert_eq!(t.vlenb(), 32);
        assert_eq!(t.vlmax(32, 1), 8);
        assert_eq!(t.vlmax(16, 8), 128);
        assert_eq!(t.vlmax(8, 2), 64);
    }

    #[test]
    fn model_only_never_runs_native() {
        let t = RvvTarget::new(128).unwrap().model_only();
        assert_eq!(t.engine(), Engine::Model);
    }
}
