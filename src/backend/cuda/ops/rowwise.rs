//! Ops over the last dim of contiguous rows: RMSNorm, LayerNorm, RoPE, softmax,
//! reductions, argmax, top-k (`norm.cu`, `rope.cu`, `softmax.cu`, `reduce.cu`).

use super::super::launch::{self, i64_arg, Arg};
use super::{by_float, check_out, input, CudaBackend};
use crate::backend::{OutputSlot, ReduceOp, Rounding};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

pub(super) const RMS_NORM: [&str; 3] = [
    "omnirt_rms_norm_f32",
    "omnirt_rms_norm_f16",
    "omnirt_rms_norm_bf16",
];
pub(super) const LAYER_NORM: [&str; 3] = [
    "omnirt_layer_norm_f32",
    "omnirt_layer_norm_f16",
    "omnirt_layer_norm_bf16",
];
pub(super) const ROPE: [&str; 3] = ["omnirt_rope_f32", "omnirt_rope_f16", "omnirt_rope_bf16"];
pub(super) const SOFTMAX: [&str; 3] = [
    "omnirt_softmax_f32",
    "omnirt_softmax_f16",
    "omnirt_softmax_bf16",
];
pub(super) const REDUCE: [&str; 3] = [
    "omnirt_reduce_f32",
    "omnirt_reduce_f16",
    "omnirt_reduce_bf16",
];
pub(super) const ARGMAX: [&str; 3] = [
    "omnirt_argmax_f32",
    "omnirt_argmax_f16",
    "omnirt_argmax_bf16",
];
pub(super) const TOPK: [&str; 3] = ["omnirt_topk_f32", "omnirt_topk_f16", "omnirt_topk_bf16"];

/// Threads per row block (ABI: a multiple of 32, <= 1024).
const ROW_THREADS: u32 = 256;

fn kernel(names: &[&'static str; 3], dtype: DType, op: &'static str) -> Result<&'static str> {
    by_float(names, dtype)
        .ok_or_else(|| Error::dtype(op, dtype, "cuda kernels take f32, f16 or bf16"))
}

fn rounding_code(r: Rounding) -> i32 {
    match r {
        Rounding::None => 0,
        Rounding::Bf16 => 1,
        Rounding::F16 => 2,
    }
}

/// (rows, dim) of `x` viewed as rows of its last dim.
fn rows_dim(x: &Tensor) -> (usize, usize) {
    let dim = x.dims().last().copied().unwrap_or(1);
    let n = x.elem_count();
    (n.checked_div(dim).unwrap_or(0), dim)
}

pub(super) fn rms_norm(
    b: &CudaBackend,
    inputs: &[&Tensor],
    eps: f32,
    rounding: Rounding,
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = input(inputs, 0, "rms_norm")?;
    let name = kernel(&RMS_NORM, x.dtype(), "rms_norm")?;
    let (rows, dim) = rows_dim(x);
    check_out(out, x.dtype(), x.elem_count(), "rms_norm")?;
    if rows == 0 || dim == 0 {
        return Ok(());
    }
    let xc = b.contiguous(x)?;
    let w = match inputs.get(1) {
        Some(w) if w.dtype() != x.dtype() || w.elem_count() != dim => {
            return Err(Error::dtype(
                "rms_norm",
                w.dtype(),
                format!("weight must be {} [{dim}]", x.dtype()),
            ))
        }
        Some(w) => Some(b.contiguous(w)?),
        None => None,
    };
    let y = b.out_ptr(out)?;
    let args = [
        Arg::Ptr(xc.ptr()),
        Arg::Ptr(w.as_ref().map_or(0, |w| w.ptr())),
        Arg::Ptr(y),
        i64_arg(rows)?,
        i64_arg(dim)?,
        Arg::F32(eps),
        Arg::I32(rounding_code(rounding)),
    ];
    // SAFETY: omnirt_rms_norm_T(const T* x, const T* w, T* y, long long rows,
    // long long dim, float eps, int rounding): x and y rows·dim contiguous T, w
    // dim contiguous T or null (allowed by ABI); grid = rows, block 256.
    unsafe { b.launch(name, launch::per_row(rows, ROW_THREADS)?, &args) }
}

pub(super) fn layer_norm(
    b: &CudaBackend,
    inputs: &[&Tensor],
    eps: f32,
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = input(inputs, 0, "layer_norm")?;
    let name = kernel(&LAYER_NORM, x.dtype(), "layer_norm")?;
    let (rows, dim) = rows_dim(x);
    check_out(out, x.dtype(), x.elem_count(), "layer_norm")?;
    if rows == 0 || dim == 0 {
        return Ok(());
    }
    let xc = b.contiguous(x)?;
    let mut params = Vec::new();
    for p in &inputs[1..] {
        if p.dtype() != x.dtype() || p.elem_count() != dim {
            return Err(Error::dtype(
                "layer_norm",
                p.dtype(),
                format!("weight/bias must be {} [{dim}]", x.dtype()),
            ));
        }
        params.push(b.contiguous(p)?);
    }
    let y = b.out_ptr(out)?;
    let args = [
        Arg::Ptr(xc.ptr()),
        Arg::Ptr(params.first().map_or(0, |p| p.ptr())),
        Arg::Ptr(params.get(1).map_or(0, |p| p.ptr())),
        Arg::Ptr(y),
        i64_arg(rows)?,
        i64_arg(dim)?,
        Arg::F32(eps),
    ];
    // SAFETY: omnirt_layer_norm_T(const T* x, const T* w, const T* b, T* y, long
    // long rows, long long dim, float eps): x and y rows·dim contiguous T, w and
    // b dim contiguous T or null; grid = rows, block 256.
    unsafe { b.launch(name, launch::per_row(rows, ROW_THREADS)?, &args) }
}

pub(super) fn rope(
    b: &CudaBackend,
    inputs: &[&Tensor],
    rounding: Rounding,
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = input(inputs, 0, "rope")?;
    let cos = input(inputs, 1, "rope")?;
    let sin = input(inputs, 2, "rope")?;
    let name = kernel(&ROPE, x.dtype(), "rope")?;
    if x.rank() != 4 || cos.rank() != 3 || cos.dims() != sin.dims() {
        return Err(Error::shape(
            "rope",
            "x [b, s, h, d] with cos/sin [b, s, r]",
        ));
    }
    let (bs, s, h, d) = (x.dims()[0], x.dims()[1], x.dims()[2], x.dims()[3]);
    let r = cos.dims()[2];
    if cos.dims()[..2] != [bs, s]
        || r > d
        || r % 2 != 0
        || cos.dtype() != DType::F32
        || sin.dtype() != DType::F32
    {
        return Err(Error::shape(
            "rope",
            "cos/sin must be f32 [b, s, r], r even <= d",
        ));
    }
    check_out(out, x.dtype(), x.elem_count(), "rope")?;
    let items = bs * s * h * (d - r / 2);
    if items == 0 {
        return Ok(());
    }
    let (xc, cc, sc) = (b.contiguous(x)?, b.contiguous(cos)?, b.contiguous(sin)?);
    let o = b.out_ptr(out)?;
    let args = [
        Arg::Ptr(xc.ptr()),
        Arg::Ptr(cc.ptr()),
        Arg::Ptr(sc.ptr()),
        Arg::Ptr(o),
        i64_arg(bs)?,
        i64_arg(s)?,
        i64_arg(h)?,
        i64_arg(d)?,
        i64_arg(r)?,
        Arg::I32(rounding_code(rounding)),
    ];
    // SAFETY: omnirt_rope_T(const T* x, const float* cos, const float* sin, T*
    // out, long long batch, seq, heads, d, r, int rounding): x/out b·s·h·d
    // contiguous T, cos/sin b·s·r contiguous f32 (made contiguous above), r even
    // <= d; grid-stride over the b·s·h·(d - r/2) items.
    unsafe { b.launch(name, launch::elementwise(items), &args) }
}

pub(super) fn softmax(b: &CudaBackend, inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "softmax")?;
    let name = kernel(&SOFTMAX, x.dtype(), "softmax")?;
    let (rows, dim) = rows_dim(x);
    check_out(out, x.dtype(), x.elem_count(), "softmax")?;
    if rows == 0 || dim == 0 {
        return Ok(());
    }
    let xc = b.contiguous(x)?;
    let y = b.out_ptr(out)?;
    let args = [
        Arg::Ptr(xc.ptr()),
        Arg::Ptr(y),
        i64_arg(rows)?,
        i64_arg(dim)?,
    ];
    // SAFETY: omnirt_softmax_T(const T* x, T* y, long long rows, long long dim):
    // x and y rows·dim contiguous T; grid = rows, block 256.
    unsafe { b.launch(name, launch::per_row(rows, ROW_THREADS)?, &args) }
}

fn reduce_code(r: ReduceOp) -> i32 {
    ReduceOp::ALL
        .iter()
        .position(|o| *o == r)
        .unwrap_or(usize::MAX) as i32
}

pub(super) fn reduce(
    b: &CudaBackend,
    r: ReduceOp,
    inputs: &[&Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = input(inputs, 0, "reduce")?;
    let name = kernel(&REDUCE, x.dtype(), "reduce")?;
    let rows: usize = x.dims()[..x.rank().saturating_sub(1)].iter().product();
    let dim = x.dims().last().copied().unwrap_or(1);
    check_out(out, x.dtype(), rows, "reduce")?;
    if rows == 0 {
        return Ok(());
    }
    let xc = b.contiguous(x)?;
    let y = b.out_ptr(out)?;
    let args = [
        Arg::Ptr(xc.ptr()),
        Arg::Ptr(y),
        i64_arg(rows)?,
        i64_arg(dim)?,
        Arg::I32(reduce_code(r)),
    ];
    // SAFETY: omnirt_reduce_T(const T* x, T* y, long long rows, long long dim,
    // int op): x rows·dim contiguous T (dim may be 0: empty rows), y rows T;
    // grid = rows, block 256.
    unsafe { b.launch(name, launch::per_row(rows, ROW_THREADS)?, &args) }
}

pub(super) fn argmax(b: &CudaBackend, inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "argmax")?;
    let name = kernel(&ARGMAX, x.dtype(), "argmax")?;
    let rows: usize = x.dims()[..x.rank().saturating_sub(1)].iter().product();
    let dim = x.dims().last().copied().unwrap_or(1);
    check_out(out, DType::U32, rows, "argmax")?;
    if rows == 0 {
        return Ok(());
    }
    if dim == 0 {
        return Err(Error::shape("argmax", "empty rows have no maximum"));
    }
    let xc = b.contiguous(x)?;
    let y = b.out_ptr(out)?;
    let args = [
        Arg::Ptr(xc.ptr()),
        Arg::Ptr(y),
        i64_arg(rows)?,
        i64_arg(dim)?,
    ];
    // SAFETY: omnirt_argmax_T(const T* x, unsigned int* out, long long rows, long
    // long dim): x rows·dim contiguous T, out rows u32; grid = rows, block 256.
    unsafe { b.launch(name, launch::per_row(rows, ROW_THREADS)?, &args) }
}

pub(super) fn topk(
    b: &CudaBackend,
    k: usize,
    inputs: &[&Tensor],
    outputs: &mut [OutputSlot<'_>],
) -> Result<()> {
    let x = input(inputs, 0, "topk")?;
    let name = kernel(&TOPK, x.dtype(), "topk")?;
    let rows: usize = x.dims()[..x.rank().saturating_sub(1)].iter().product();
    let dim = x.dims().last().copied().unwrap_or(1);
    if k > dim {
        return Err(Error::invalid(format!("topk: k = {k} > {dim}")));
    }
    let [values, indices, ..] = outputs else {
        return Err(Error::invalid("topk: needs two output slots"));
    };
    check_out(values, x.dtype(), rows * k, "topk")?;
    check_out(indices, DType::U32, rows * k, "topk")?;
    if rows == 0 || k == 0 {
        return Ok(());
    }
    let xc = b.contiguous(x)?;
    let (v, i) = (b.out_ptr(values)?, b.out_ptr(indices)?);
    let args = [
        Arg::Ptr(xc.ptr()),
        Arg::Ptr(v),
        Arg::Ptr(i),
        i64_arg(rows)?,
        i64_arg(dim)?,
        i64_arg(k)?,
    ];
    // SAFETY: omnirt_topk_T(const T* x, T* values, unsigned int* indices, long
    // long rows, long long dim, long long k): x rows·dim contiguous T, values
    // rows·k T, indices rows·k u32, 0 <= k <= dim; grid = rows, block 256.
    unsafe { b.launch(name, launch::per_row(rows, ROW_THREADS)?, &args) }
}
