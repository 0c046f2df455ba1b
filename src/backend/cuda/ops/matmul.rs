//! MatMul: f32 A with B in f32, bf16/f16 or Q8_0/Q4_0.
//!
//! - f32 B: cuBLAS SGEMM in place (`gemm.rs`).
//! - bf16/f16 B: widened to f32 on the device (`omnirt_cast_any` over B's
//!   storage span, so views and batch offsets keep working) then SGEMM. A stays
//!   f32 like the CPU reference. PERF: this costs a temporary of 4 bytes per
//!   weight element per call; decode wants a 16-bit GEMV kernel instead, and
//!   `cublasGemmEx` with bf16 A and B (f32 compute) would be faster for prefill
//!   but rounds the activations, which the CPU reference does not.
//! - Q8_0/Q4_0 B (2-D `[n, k]` rows of blocks): for up to `GEMV_MAX_ROWS` rows
//!   of A, the activations are quantized to Q8_0 and the quant GEMV kernels run
//!   (the CPU's numerics: same per-block terms); above that, B is dequantized to
//!   f32 and SGEMM runs (A not quantized: closer to the f32 product).

use super::super::gemm::{b_view, batch_offsets, BView, SgemmBatch};
use super::super::launch::{i64_arg, Arg};
use super::{check_out, input, CudaBackend};
use crate::backend::OutputSlot;
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

pub(super) const GEMV: [&str; 2] = ["omnirt_gemv_q8_0_f32", "omnirt_gemv_q4_0_f32"];

/// Rows of A up to which quantized weights use the GEMV kernels.
const GEMV_MAX_ROWS: usize = 16;

pub(super) fn supports(dtypes: &[DType]) -> bool {
    matches!(
        dtypes,
        [
            DType::F32,
            DType::F32 | DType::BF16 | DType::F16 | DType::Q8_0 | DType::Q4_0
        ]
    )
}

/// Contiguous batch strides of dims whose items are `item` elements apart.
fn contiguous_batch_strides(dims: &[usize], item: usize) -> Vec<usize> {
    let mut strides = vec![item; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * dims[i + 1];
    }
    strides
}

pub(super) fn matmul(
    b: &CudaBackend,
    inputs: &[&Tensor],
    transpose_b: bool,
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let a = input(inputs, 0, "matmul")?;
    let w = input(inputs, 1, "matmul")?;
    if a.dtype() != DType::F32 {
        return Err(Error::dtype(
            "matmul",
            a.dtype(),
            "the cuda backend takes f32 activations (others fall back)",
        ));
    }
    if w.dtype().is_quantized() {
        return quantized(b, a, w, transpose_b, out);
    }
    let (ar, br) = (a.rank(), w.rank());
    if ar < 2 || br < 2 {
        return Err(Error::shape("matmul", "operands need at least 2 dims"));
    }
    let (m, k) = (a.dims()[ar - 2], a.dims()[ar - 1]);
    let out_dims = out.layout.dims().to_vec();
    let n = out_dims[out_dims.len() - 1];
    let out_batch = &out_dims[..out_dims.len() - 2];
    check_out(out, DType::F32, out_dims.iter().product(), "matmul")?;

    // A: contiguous f32, batch-broadcast by offsets.
    let a_c = b.contiguous(a)?;
    let a_batch_dims = &a.dims()[..ar - 2];
    let a_offsets = batch_offsets(
        out_batch,
        a_batch_dims,
        &contiguous_batch_strides(a_batch_dims, m * k),
    );

    // B: in place when one of its last two strides is 1 (a transposed weight view
    // included), else a contiguous copy; 16-bit B widened to f32 over its span.
    let (w_ptr, view, _w_owned, w_strides) =
        match b_view(w.dims(), w.layout().strides(), transpose_b) {
            Some(view) => (b.tensor_ptr(w)?, view, None, w.layout().strides().to_vec()),
            None => {
                let c = b.contiguous(w)?;
                let strides = w.shape().contiguous_strides();
                let view = b_view(w.dims(), &strides, transpose_b)
                    .ok_or_else(|| Error::invalid("matmul: B layout"))?;
                (c.ptr(), view, Some(c), strides)
            }
        };
    let (w_ptr, _widened) = match w.dtype() {
        DType::F32 => (w_ptr, None),
        dt @ (DType::BF16 | DType::F16) => {
            // Elements reachable from the first one through the strides.
            let span = w
                .dims()
                .iter()
                .zip(&w_strides)
                .map(|(&d, &s)| d.saturating_sub(1) * s)
                .sum::<usize>()
                + 1;
            let mut tmp = b.temp(span * 4)?;
            let t = tmp.ptr_mut(&b.stream);
            b.cast_into(w_ptr, dt, t, DType::F32, span)?;
            (t, Some(tmp))
        }
        dt => return Err(Error::dtype("matmul", dt, "unsupported right operand")),
    };
    let b_offsets = batch_offsets(out_batch, &w.dims()[..br - 2], &w_strides[..br - 2]);
    let c = b.out_ptr(out)?;
    b.sgemm_batch(&SgemmBatch {
        m,
        n,
        k,
        a: a_c.ptr(),
        a_offsets: &a_offsets,
        b: w_ptr,
        b_offsets: &b_offsets,
        view,
        c,
    })
}

/// `a [.., m, k] · wᵀ` with `w [n, k]` Q8_0/Q4_0 rows of blocks.
fn quantized(
    b: &CudaBackend,
    a: &Tensor,
    w: &Tensor,
    transpose_b: bool,
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let dt = w.dtype();
    if w.rank() != 2 || !transpose_b || !w.is_contiguous() {
        return Err(Error::dtype(
            "matmul",
            dt,
            "quantized weights must be contiguous [n, k] used transposed",
        ));
    }
    let (n, k) = (w.dims()[0], w.dims()[1]);
    if k % 32 != 0 || a.dims().last() != Some(&k) {
        return Err(Error::shape(
            "matmul",
            format!("quantized weights need k % 32 == 0 and A [.., {k}]"),
        ));
    }
    let rows = a.elem_count() / k.max(1);
    check_out(out, DType::F32, rows * n, "matmul")?;
    if rows == 0 || n == 0 {
        return Ok(());
    }
    let ac = b.contiguous(a)?;
    let wp = b.tensor_ptr(w)?;
    let c = b.out_ptr(out)?;
    if rows > GEMV_MAX_ROWS {
        let mut deq = b.temp(n * k * 4)?;
        let d = deq.ptr_mut(&b.stream);
        b.dequantize_into(wp, dt, d, n * k / 32)?;
        let a_offsets = [0usize];
        return b.sgemm_batch(&SgemmBatch {
            m: rows,
            n,
            k,
            a: ac.ptr(),
            a_offsets: &a_offsets,
            b: d,
            b_offsets: &a_offsets,
            view: BView {
                ld: k,
                transposed: true,
            },
            c,
        });
    }
    // Activations to Q8_0 blocks, then one warp per output element row.
    let kb = k / 32;
    let mut xq = b.temp(rows * kb * 34)?;
    let xq_ptr = xq.ptr_mut(&b.stream);
    b.quantize_into(ac.ptr(), DType::Q8_0, xq_ptr, rows * kb)?;
    let name = if dt == DType::Q8_0 { GEMV[0] } else { GEMV[1] };
    let grid_x = u32::try_from(n.div_ceil(8)).map_err(|_| Error::overflow("cuda grid"))?;
    let cfg = cudarc::driver::LaunchConfig {
        grid_dim: (grid_x, rows as u32, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    let args = [
        Arg::Ptr(wp),
        Arg::Ptr(xq_ptr),
        Arg::Ptr(c),
        i64_arg(rows)?,
        i64_arg(n)?,
        i64_arg(k)?,
    ];
    // SAFETY: omnirt_gemv_qX_f32(const unsigned char* w, const unsigned char* xq,
    // float* y, long long m, long long n, long long k): w is n·k/32 contiguous
    // blocks, xq rows·k/32 Q8_0 blocks written just above, y rows·n f32
    // (checked); grid (ceil(n/8), rows <= 16), block 256 as ABI.md asks.
    unsafe { b.launch(name, cfg, &args) }
}
