//! Which implementation of the hot kernels a host-memory backend calls: this
//! host's SIMD kernels, or the RVV kernels (native on a RISC-V core with V, their
//! bit-exact model elsewhere). The op drivers in this folder (batching, views,
//! broadcasting, threading) are shared; only the innermost calls differ.
//!
//! A kernel set never substitutes one implementation for another: asking the RVV
//! set for an op it has no kernel for is an error. The T-Head backend's
//! `supports` keeps such ops away, so the dispatcher runs them on the CPU and
//! counts them as fallbacks.

use half::{bf16, f16};
use omnirt_kernels::blocking::CacheInfo;
use omnirt_kernels::quant::{BlockQ4_0, BlockQ8_0};
use omnirt_kernels::rvv::{self, RvvTarget, RvvWeights};
use omnirt_kernels::{act, binary as bin, gemm, norm, quant, rope, softmax};

use crate::backend::{BinaryOp, Op, Rounding, UnaryOp};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KernelSet {
    /// AVX2 / NEON / scalar, picked at run time; GEMM blocking from these caches.
    Host(CacheInfo),
    /// RISC-V Vector kernels for this target (VLEN, caches, f16 accumulation).
    Rvv(RvvTarget),
}

/// Dense weights of a GEMM, by element type.
#[derive(Clone, Copy)]
pub(crate) enum Weights<'a> {
    F32(&'a [f32]),
    Bf16(&'a [bf16]),
    F16(&'a [f16]),
}

/// `C[m×n] = A[m×k]·B` operands as the kernels take them (see `gemm::gemm_f32`).
pub(crate) struct Gemm<'a> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: &'a [f32],
    pub lda: usize,
    pub ldb: usize,
    pub b_transposed: bool,
    pub ldc: usize,
}

fn no_rvv_kernel(what: &str) -> Error {
    Error::Unsupported(format!(
        "{what}: no RVV kernel (the T-Head backend runs it on the CPU as a counted fallback)"
    ))
}

impl KernelSet {
    pub fn is_rvv(&self) -> bool {
        matches!(self, KernelSet::Rvv(_))
    }

    /// Whether every kernel `op` needs is in this set (the host set has them all).
    pub fn covers(&self, op: &Op) -> bool {
        match op {
            Op::MatMul { .. } | Op::RmsNorm { .. } | Op::Softmax | Op::Rope { .. } | Op::SwiGlu => {
                true
            }
            Op::Unary(u) => self.has_unary(*u),
            Op::Binary(b) => self.has_binary(*b),
            _ => !self.is_rvv(),
        }
    }

    /// Whether `unary(op)` has a kernel in this set.
    pub fn has_unary(&self, op: UnaryOp) -> bool {
        match self {
            KernelSet::Host(_) => true,
            KernelSet::Rvv(_) => op == UnaryOp::Silu,
        }
    }

    /// Whether the binary functions have a kernel for `op` in this set.
    pub fn has_binary(&self, op: BinaryOp) -> bool {
        match self {
            KernelSet::Host(_) => true,
            KernelSet::Rvv(_) => rvv::rowwise::binary_supported(op),
        }
    }

    pub fn gemm(&self, g: &Gemm<'_>, b: Weights<'_>, c: &mut [f32]) {
        let Gemm {
            m,
            n,
            k,
            a,
            lda,
            ldb,
            b_transposed: tr,
            ldc,
        } = *g;
        match (self, b) {
            (KernelSet::Host(ci), Weights::F32(b)) => {
                gemm::gemm_f32(ci, m, n, k, a, lda, b, ldb, tr, c, ldc)
            }
            (KernelSet::Host(ci), Weights::Bf16(b)) => {
                gemm::gemm_f32_bf16(ci, m, n, k, a, lda, b, ldb, tr, c, ldc)
            }
            (KernelSet::Host(ci), Weights::F16(b)) => {
                gemm::gemm_f32_f16(ci, m, n, k, a, lda, b, ldb, tr, c, ldc)
            }
            (KernelSet::Rvv(t), b) => {
                let b = match b {
                    Weights::F32(b) => RvvWeights::F32(b),
                    Weights::Bf16(b) => RvvWeights::Bf16(b),
                    Weights::F16(b) => RvvWeights::F16(b),
                };
                rvv::gemm(t, m, n, k, a, lda, b, ldb, tr, c, ldc)
            }
        }
    }

    pub fn gemm_q8_0(&self, g: &Gemm<'_>, w: &[BlockQ8_0], c: &mut [f32]) {
        match self {
            KernelSet::Host(_) => quant::gemm_q8_0(g.m, g.n, g.k, g.a, g.lda, w, c, g.ldc),
            KernelSet::Rvv(t) => rvv::quant::gemm_q8_0(t, g.m, g.n, g.k, g.a, g.lda, w, c, g.ldc),
        }
    }

    pub fn gemm_q4_0(&self, g: &Gemm<'_>, w: &[BlockQ4_0], c: &mut [f32]) {
        match self {
            KernelSet::Host(_) => quant::gemm_q4_0(g.m, g.n, g.k, g.a, g.lda, w, c, g.ldc),
            KernelSet::Rvv(t) => rvv::quant::gemm_q4_0(t, g.m, g.n, g.k, g.a, g.lda, w, c, g.ldc),
        }
    }

    pub fn rms_norm_rows(
        &self,
        x: &[f32],
        weight: Option<&[f32]>,
        dim: usize,
        eps: f32,
        rounding: Rounding,
        out: &mut [f32],
    ) {
        match self {
            KernelSet::Host(_) => norm::rms_norm_rows(x, weight, dim, eps, rounding, out),
            KernelSet::Rvv(t) => rvv::rowwise::rms_norm_rows(t, x, weight, dim, eps, rounding, out),
        }
    }

    pub fn softmax_rows(&self, x: &[f32], dim: usize, out: &mut [f32]) {
        match self {
            KernelSet::Host(_) => softmax::softmax_rows(x, dim, out),
            KernelSet::Rvv(t) => rvv::rowwise::softmax_rows(t, x, dim, out),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn rope_half_rows(
        &self,
        x: &[f32],
        cos: &[f32],
        sin: &[f32],
        head_dim: usize,
        rotary_dim: usize,
        rounding: Rounding,
        out: &mut [f32],
    ) {
        match self {
            KernelSet::Host(_) => {
                rope::rope_half_rows(x, cos, sin, head_dim, rotary_dim, rounding, out)
            }
            KernelSet::Rvv(t) => {
                rvv::rowwise::rope_half_rows(t, x, cos, sin, head_dim, rotary_dim, rounding, out)
            }
        }
    }

    pub fn unary(&self, op: UnaryOp, x: &[f32], out: &mut [f32]) -> Result<()> {
        match self {
            KernelSet::Host(_) => act::unary(op, x, out),
            KernelSet::Rvv(t) if op == UnaryOp::Silu => rvv::rowwise::silu(t, x, out),
            KernelSet::Rvv(_) => return Err(no_rvv_kernel(&format!("unary {op:?}"))),
        }
        Ok(())
    }

    pub fn swiglu(&self, gate: &[f32], up: &[f32], out: &mut [f32]) {
        match self {
            KernelSet::Host(_) => act::swiglu(gate, up, out),
            KernelSet::Rvv(t) => rvv::rowwise::swiglu(t, gate, up, out),
        }
    }

    pub fn binary(&self, op: BinaryOp, a: &[f32], b: &[f32], out: &mut [f32]) -> Result<()> {
        match self {
            KernelSet::Host(_) => bin::binary(op, a, b, out),
            KernelSet::Rvv(t) if self.has_binary(op) => rvv::rowwise::binary(t, op, a, b, out),
            KernelSet::Rvv(_) => return Err(no_rvv_kernel(&format!("binary {op:?}"))),
        }
        Ok(())
    }

    /// `op(a[i], s)` for every i.
    pub fn binary_scalar(&self, op: BinaryOp, a: &[f32], s: f32, out: &mut [f32]) -> Result<()> {
        match self {
            KernelSet::Host(_) => {
                bin::binary_scalar(op, a, s, out);
                Ok(())
            }
            // A splat of `s` through the same-shape kernel (callers pass chunks).
            KernelSet::Rvv(_) => {
                let splat = vec![s; a.len()];
                self.binary(op, a, &splat, out)
            }
        }
    }

    pub fn binary_row_broadcast(
        &self,
        op: BinaryOp,
        a: &[f32],
        b: &[f32],
        dim: usize,
        out: &mut [f32],
    ) -> Result<()> {
        match self {
            KernelSet::Host(_) => bin::binary_row_broadcast(op, a, b, dim, out),
            KernelSet::Rvv(t) if self.has_binary(op) => {
                rvv::rowwise::binary_row_broadcast(t, op, a, b, dim, out)
            }
            KernelSet::Rvv(_) => return Err(no_rvv_kernel(&format!("binary {op:?}"))),
        }
        Ok(())
    }
}
