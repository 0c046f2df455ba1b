//! MatMul on cuBLAS (column-major) for row-major tensors.
//!
//! Row-major `C[m,n] = A[m,k]·B` is column-major `Cᵀ[n,m] = Bᵀ·Aᵀ`, so cuBLAS
//! gets (n, m, k) with B as its first operand and A as its second. A weight
//! `[n,k]` used transposed (Linear), or a `.t()` view of one, is read in place
//! with `transa = T` and its row stride as `lda`: never copied. Batch dims
//! broadcast like `cpu/matmul.rs`; regular batch offsets use one
//! `cublasSgemmStridedBatched` (stride 0 for a broadcast operand), irregular
//! ones one `cublasSgemm` per item.
//!
//! B in bf16/f16 is widened to f32 on the device (the cast kernel) and run as
//! SGEMM: A stays f32 like the CPU reference (`cublasGemmEx` needs A and B of
//! the same 16-bit type, which would round the activations; see the PERF note
//! in `ops/matmul.rs`). Quantized B goes through `ops/matmul.rs`.

use std::ffi::c_int;

use cudarc::cublas::result::{sgemm, sgemm_strided_batched};
use cudarc::cublas::sys::cublasOperation_t as CublasOp;

use super::CudaBackend;
use crate::error::{Error, Result};

/// B's last two dims as cuBLAS sees them: row stride and whether rows run along n.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BView {
    pub ld: usize,
    pub transposed: bool,
}

/// Interprets B's last two strides; `None` when neither is unit (copy first).
/// `want_transposed` is the logical op; a transposed view of a row-major matrix flips it.
pub(crate) fn b_view(dims: &[usize], strides: &[usize], want_transposed: bool) -> Option<BView> {
    let r = dims.len();
    let (s_outer, s_inner) = (strides[r - 2], strides[r - 1]);
    let (d_outer, d_inner) = (dims[r - 2], dims[r - 1]);
    if s_inner == 1 || d_inner <= 1 {
        Some(BView {
            ld: s_outer.max(d_inner).max(1),
            transposed: want_transposed,
        })
    } else if s_outer == 1 || d_outer <= 1 {
        Some(BView {
            ld: s_inner.max(d_outer).max(1),
            transposed: !want_transposed,
        })
    } else {
        None
    }
}

/// Storage offsets (elements) of each output batch item in an operand whose
/// batch dims broadcast against `out_batch` (as `cpu/matmul.rs`).
pub(crate) fn batch_offsets(out_batch: &[usize], dims: &[usize], strides: &[usize]) -> Vec<usize> {
    let total: usize = out_batch.iter().product();
    let lead = out_batch.len() - dims.len();
    let mut offsets = Vec::with_capacity(total);
    let mut index = vec![0usize; out_batch.len()];
    for _ in 0..total {
        let mut off = 0;
        for (d, &i) in index.iter().enumerate().skip(lead) {
            if dims[d - lead] != 1 {
                off += i * strides[d - lead];
            }
        }
        offsets.push(off);
        for d in (0..out_batch.len()).rev() {
            index[d] += 1;
            if index[d] < out_batch[d] {
                break;
            }
            index[d] = 0;
        }
    }
    offsets
}

/// The common step of an arithmetic progression (`Some(0)` for one item).
pub(crate) fn regular_stride(offsets: &[usize]) -> Option<usize> {
    match offsets {
        [] | [_] => Some(0),
        [a, b, ..] => {
            let step = b.checked_sub(*a)?;
            offsets
                .windows(2)
                .all(|w| w[1].checked_sub(w[0]) == Some(step))
                .then_some(step)
        }
    }
}

/// One batched f32 GEMM, all pointers on `backend`'s device.
pub(crate) struct SgemmBatch<'a> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// A: contiguous `[m,k]` matrices (row stride k) at `a + 4·a_offsets[i]`.
    pub a: u64,
    pub a_offsets: &'a [usize],
    /// B: matrices at `b + 4·b_offsets[i]` with `view`.
    pub b: u64,
    pub b_offsets: &'a [usize],
    pub view: BView,
    /// C: contiguous `[batch, m, n]`.
    pub c: u64,
}

fn int(v: usize, what: &str) -> Result<c_int> {
    c_int::try_from(v).map_err(|_| {
        Error::Unsupported(format!(
            "matmul: {what} = {v} exceeds cuBLAS's 32-bit sizes; split the matmul"
        ))
    })
}

impl CudaBackend {
    /// `C = A·B` (or `A·Bᵀ`) for every batch item. Zero-size problems write
    /// zeros (the output is zero-initialised, so nothing to do).
    pub(crate) fn sgemm_batch(&self, g: &SgemmBatch<'_>) -> Result<()> {
        let batch = g.a_offsets.len();
        if g.m == 0 || g.n == 0 || g.k == 0 || batch == 0 {
            return Ok(());
        }
        let (m, n, k) = (int(g.m, "m")?, int(g.n, "n")?, int(g.k, "k")?);
        let ldb = int(g.view.ld, "ldb")?;
        let transa = if g.view.transposed {
            CublasOp::CUBLAS_OP_T
        } else {
            CublasOp::CUBLAS_OP_N
        };
        let (alpha, beta) = (1.0f32, 0.0f32);
        let blas = self.blas.lock().unwrap_or_else(|e| e.into_inner());
        let handle = *blas.handle();
        let ptr = |base: u64, elems: usize| (base + 4 * elems as u64) as *const f32;
        let map = |e| self.err("cuBLAS sgemm", e);
        match (regular_stride(g.a_offsets), regular_stride(g.b_offsets)) {
            (Some(sa), Some(sb)) => {
                let c_stride = g.m * g.n;
                // SAFETY: column-major Cᵀ[n,m] = op(B)[n,k]·Aᵀ[k,m]: B covers
                // `batch` matrices of (n,k) (or (k,n)) with row stride ldb at
                // stride sb, A `batch` contiguous (m,k) at stride sa, C `batch`
                // contiguous (m,n); the caller sized every buffer for these
                // offsets (front-end shape checks + this backend's allocation).
                unsafe {
                    sgemm_strided_batched(
                        handle,
                        transa,
                        CublasOp::CUBLAS_OP_N,
                        n,
                        m,
                        k,
                        &alpha,
                        ptr(g.b, g.b_offsets[0]),
                        ldb,
                        sb as i64,
                        ptr(g.a, g.a_offsets[0]),
                        k,
                        sa as i64,
                        &beta,
                        g.c as *mut f32,
                        n,
                        c_stride as i64,
                        int(batch, "batch")?,
                    )
                }
                .map_err(map)
            }
            _ => {
                for (i, (&ao, &bo)) in g.a_offsets.iter().zip(g.b_offsets).enumerate() {
                    // SAFETY: one item of the batch above, same bounds.
                    unsafe {
                        sgemm(
                            handle,
                            transa,
                            CublasOp::CUBLAS_OP_N,
                            n,
                            m,
                            k,
                            &alpha,
                            ptr(g.b, bo),
                            ldb,
                            ptr(g.a, ao),
                            k,
                            &beta,
                            ptr(g.c, i * g.m * g.n) as *mut f32,
                            n,
                        )
                    }
                    .map_err(map)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b_views() {
        // [n,k] row-major weight used transposed.
        assert_eq!(
            b_view(&[5, 8], &[8, 1], true),
            Some(BView {
                ld: 8,
                transposed: true
            })
        );
        // Its .t() view [k,n] used plainly is the same matrix, no copy.
        assert_eq!(
            b_view(&[8, 5], &[1, 8], false),
            Some(BView {
                ld: 8,
                transposed: true
            })
        );
        assert_eq!(b_view(&[8, 5], &[10, 2], false), None);
    }

    #[test]
    fn strides_of_batches() {
        assert_eq!(regular_stride(&[0, 4, 8]), Some(4));
        assert_eq!(regular_stride(&[3, 3, 3]), Some(0));
        assert_eq!(regular_stride(&[0, 4, 9]), None);
        assert_eq!(
            batch_offsets(&[2, 3], &[3], &[10]),
            vec![0, 10, 20, 0, 10, 20]
        );
    }
}
