//! omnirt: run Qwen3-Omni-class multimodal models fast on very different chips.
//!
//! Layers, bottom to top (see `docs/ARCHITECTURE.md`):
//! - `omnirt-kernels`: hot loops on slices, scalar reference + SIMD variants;
//! - [`tensor`]: dtypes, shapes, strided layouts and the immutable [`Tensor`];
//! - [`backend`]: the [`Backend`] trait, [`Device`], the op vocabulary with its
//!   cost model, and the dispatcher with counted CPU fallback;
//! - [`profile`]: chip throughput profiles and the roofline;
//! - [`checkpoint`]: memory-mapped, validated safetensors checkpoints;
//! - [`nn`] and [`models`]: building blocks and Qwen3-Omni, on the tensor API only;
//! - [`bench`]: benchmarks reported against limits measured in the same run.

pub mod backend;
pub mod bench;
pub mod checkpoint;
pub mod engine;
pub mod error;
pub mod models;
pub mod nn;
pub mod preprocess;
pub mod profile;
pub mod tensor;

pub use backend::{Backend, Device};
pub use error::{Error, Result};
pub use tensor::{DType, Layout, Shape, Tensor};

// The README's examples compile (and the runnable ones run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
