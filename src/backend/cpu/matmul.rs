//! Matmul on the CPU: batched, broadcasting, with B in f32/bf16/f16 or
//! Q8_0/Q4_0 blocks. Views are used in place when their last stride is 1 (or,
//! for B, when they are a transposed row-major matrix), so `x.matmul(w.t())`
//! does not copy the weight.

use std::borrow::Cow;

use half::{bf16, f16};
use omnirt_kernels::quant;

use super::access::{f32_values, storage_as, with_f32_output};
use super::input;
use super::kernels::{Gemm, KernelSet, Weights};
use crate::backend::OutputSlot;
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

/// Storage offsets (in elements) of each output batch item within an operand
/// whose batch dims broadcast against `out_batch`.
pub(super) fn batch_offsets(
    out_batch: &[usize],
    dims: &[usize],
    strides: &[usize],
    base: usize,
) -> Vec<usize> {
    let total: usize = out_batch.iter().product();
    let lead = out_batch.len() - dims.len();
    let mut offsets = Vec::with_capacity(total);
    let mut index = vec![0usize; out_batch.len()];
    for _ in 0..total {
        let mut off = base;
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

/// How B is laid out for the kernels: row stride and whether rows run along n.
struct BView {
    ld: usize,
    transposed: bool,
}

/// Interprets B's last two strides. `want_transposed` is the logical op; a
/// transposed view of a row-major matrix flips it.
fn b_view(b: &Tensor, want_transposed: bool) -> Option<BView> {
    let r = b.rank();
    let (s_outer, s_inner) = (b.layout().strides()[r - 2], b.layout().strides()[r - 1]);
    let (d_outer, d_inner) = (b.dims()[r - 2], b.dims()[r - 1]);
    if s_inner == 1 || d_inner <= 1 {
        Some(BView {
            ld: s_outer.max(d_inner),
            transposed: want_transposed,
        })
    } else if s_outer == 1 || d_outer <= 1 {
        Some(BView {
            ld: s_inner.max(d_outer),
            transposed: !want_transposed,
        })
    } else {
        None
    }
}

pub(super) fn matmul(
    kernels: &KernelSet,
    inputs: &[&Tensor],
    transpose_b: bool,
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let a = input(inputs, 0, "matmul")?;
    let b = input(inputs, 1, "matmul")?;
    let (ar, br) = (a.rank(), b.rank());
    let (m, k) = (a.dims()[ar - 2], a.dims()[ar - 1]);
    let out_dims = out.layout.dims().to_vec();
    let n = out_dims[out_dims.len() - 1];
    let out_batch = &out_dims[..out_dims.len() - 2];

    // A: contiguous f32, batch-broadcast by offsets.
    let a_vals = f32_values(a)?;
    let a_batch_dims = &a.dims()[..ar - 2];
    let a_batch_strides: Vec<usize> = contiguous_batch_strides(a_batch_dims, m * k);
    let a_offsets = batch_offsets(out_batch, a_batch_dims, &a_batch_strides, 0);

    // B: typed storage viewed in place when possible.
    let (b, view) = match b_view(b, transpose_b) {
        Some(view) => (Cow::Borrowed(b), view),
        None => {
            let c = b.contiguous()?;
            let view = b_view(&c, transpose_b).ok_or_else(|| Error::invalid("matmul: B layout"))?;
            (Cow::Owned(c), view)
        }
    };
    let b = b.as_ref();
    let b_batch_dims = &b.dims()[..br - 2];
    let b_batch_strides = &b.layout().strides()[..br - 2];
    let b_offsets = batch_offsets(
        out_batch,
        b_batch_dims,
        b_batch_strides,
        b.layout().offset(),
    );

    with_f32_output(out, |c| {
        for (bi, (&ao, &bo)) in a_offsets.iter().zip(&b_offsets).enumerate() {
            let a_mat = &a_vals[ao..ao + m * k];
            let c_mat = &mut c[bi * m * n..(bi + 1) * m * n];
            run_one(kernels, b, &view, bo, m, n, k, a_mat, c_mat)?;
        }
        Ok(())
    })
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    kernels: &KernelSet,
    b: &Tensor,
    view: &BView,
    b_off: usize,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    c: &mut [f32],
) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        c.fill(0.0);
        return Ok(());
    }
    let (ld, tr) = (view.ld, view.transposed);
    let g = Gemm {
        m,
        n,
        k,
        a,
        lda: k,
        ldb: ld,
        b_transposed: tr,
        ldc: n,
    };
    match b.dtype() {
        DType::F32 => kernels.gemm(&g, Weights::F32(&storage_as::<f32>(b)?[b_off..]), c),
        DType::BF16 => kernels.gemm(&g, Weights::Bf16(&storage_as::<bf16>(b)?[b_off..]), c),
        DType::F16 => kernels.gemm(&g, Weights::F16(&storage_as::<f16>(b)?[b_off..]), c),
        DType::Q8_0 | DType::Q4_0 => {
            // Quantized weights are [n, k] rows of whole blocks (front end guarantees).
            let row_blocks = ld / 32;
            if !tr || ld % 32 != 0 || b_off % 32 != 0 || row_blocks != k / 32 {
                return Err(Error::dtype(
                    "matmul",
                    b.dtype(),
                    "quantized weights must be contiguous [n, k] rows",
                ));
            }
            let first = b_off / 32;
            let blocks = n * row_blocks;
            if b.dtype() == DType::Q8_0 {
                let w = &storage_as::<quant::BlockQ8_0>(b)?[first..first + blocks];
                kernels.gemm_q8_0(&g, w, c);
            } else {
                let w = &storage_as::<quant::BlockQ4_0>(b)?[first..first + blocks];
                kernels.gemm_q4_0(&g, w, c);
            }
        }
        d => return Err(Error::dtype("matmul", d, "unsupported right operand")),
    }
    Ok(())
}

/// Strides of contiguous batch dims whose items are `item` elements apart.
fn contiguous_batch_strides(dims: &[usize], item: usize) -> Vec<usize> {
    let mut strides = vec![item; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * dims[i + 1];
    }
    strides
}
