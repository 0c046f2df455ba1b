//! Hot loops of omnirt.
//!
//! Every kernel here works on plain slices (and, for CUDA, on source text compiled
//! elsewhere): no tensor types, no allocation policy, no model knowledge.
//!
//! Each op family lives in its own folder with the same shape:
//! - `mod.rs`: the public entry points. `op(...)` uses the best ISA of this host;
//!   `op_with(isa, ...)` runs one chosen variant (tests compare every variant with
//!   the scalar reference through it).
//! - `scalar.rs`: the reference implementation, the oracle for tests.
//! - `x86.rs`: AVX2 + FMA (+F16C) variant, compiled with `#[target_feature]` and
//!   selected at run time, so users need no rustflags.
//! - `aarch64.rs`: NEON variant.
//!
//! `rvv/` is different: RISC-V Vector kernels for T-Head cores, each paired with a
//! portable model of the same strip-mined algorithm at any VLEN (see its docs).
//!
//! Multi-threaded kernels split work with rayon and so run on whatever pool the
//! caller installed (`ThreadPool::install`); the CPU backend owns that policy.

// Targets without an AVX2/NEON variant (riscv64) leave some shared helpers unused.
#![cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code, unused_variables, unused_imports, unreachable_code)
)]

pub mod blocking;
pub mod isa;
pub mod probe;
#[doc(hidden)]
pub mod testing;

pub mod gemm;
pub mod quant;

pub mod act;
pub mod binary;
pub mod cast;
pub mod norm;
pub mod reduce;
pub mod rope;
pub mod softmax;

pub mod attention;
pub mod conv;
pub mod cuda_sources;

pub mod rvv;

pub use isa::Isa;
