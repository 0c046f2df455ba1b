//! Unary, binary (NumPy broadcasting over strided operands), SwiGLU and
//! SnakeBeta: `kernels/cuda/elementwise.cu`.

use super::super::launch::{self, i64_arg, Arg, Layout6};
use super::{by_float, check_out, input, CudaBackend};
use crate::backend::{BinaryOp, OutputSlot, UnaryOp};
use crate::error::{Error, Result};

pub(super) const UNARY: [&str; 3] = ["omnirt_unary_f32", "omnirt_unary_f16", "omnirt_unary_bf16"];
pub(super) const BINARY: [&str; 3] = [
    "omnirt_binary_f32",
    "omnirt_binary_f16",
    "omnirt_binary_bf16",
];
pub(super) const SWIGLU: [&str; 3] = [
    "omnirt_swiglu_f32",
    "omnirt_swiglu_f16",
    "omnirt_swiglu_bf16",
];
pub(super) const SNAKE: [&str; 3] = ["omnirt_snake_f32", "omnirt_snake_f16", "omnirt_snake_bf16"];

/// The op code the kernels use: the position in `UnaryOp::ALL`.
fn unary_code(op: UnaryOp) -> i32 {
    UnaryOp::ALL
        .iter()
        .position(|u| *u == op)
        .unwrap_or(usize::MAX) as i32
}

/// The op code the kernels use: the position in `BinaryOp::ALL`.
fn binary_code(op: BinaryOp) -> i32 {
    BinaryOp::ALL
        .iter()
        .position(|b| *b == op)
        .unwrap_or(usize::MAX) as i32
}

fn kernel(
    names: &[&'static str; 3],
    dtype: crate::tensor::DType,
    op: &'static str,
) -> Result<&'static str> {
    by_float(names, dtype)
        .ok_or_else(|| Error::dtype(op, dtype, "cuda kernels take f32, f16 or bf16"))
}

pub(super) fn unary(
    b: &CudaBackend,
    op: UnaryOp,
    inputs: &[&crate::tensor::Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = input(inputs, 0, "unary")?;
    let name = kernel(&UNARY, x.dtype(), "unary")?;
    let n = x.elem_count();
    check_out(out, x.dtype(), n, "unary")?;
    if n == 0 {
        return Ok(());
    }
    let xc = b.contiguous(x)?;
    let y = b.out_ptr(out)?;
    let args = [
        Arg::Ptr(xc.ptr()),
        Arg::Ptr(y),
        i64_arg(n)?,
        Arg::I32(unary_code(op)),
    ];
    // SAFETY: omnirt_unary_T(const T* x, T* y, long long n, int op): x holds n
    // contiguous elements of T (the tensor or its contiguous copy), y is the
    // output checked above to hold n elements of T; grid-stride kernel.
    unsafe { b.launch(name, launch::elementwise(n), &args) }
}

/// Output-shaped layout of an operand: right-aligned, stride 0 where it broadcasts.
fn broadcast_layout(t: &crate::tensor::Tensor, out_dims: &[usize]) -> Result<Layout6> {
    let lead = out_dims.len().checked_sub(t.rank()).ok_or_else(|| {
        Error::shape(
            "binary",
            format!(
                "operand {:?} has more dims than the output {out_dims:?}",
                t.dims()
            ),
        )
    })?;
    let mut strides = vec![0usize; out_dims.len()];
    for (i, (&d, &s)) in t.dims().iter().zip(t.layout().strides()).enumerate() {
        let od = out_dims[lead + i];
        if d == od {
            strides[lead + i] = if d == 1 { 0 } else { s };
        } else if d != 1 {
            return Err(Error::shape(
                "binary",
                format!("{:?} does not broadcast to {out_dims:?}", t.dims()),
            ));
        }
    }
    Layout6::new(out_dims, &strides)
}

pub(super) fn binary(
    b: &CudaBackend,
    op: BinaryOp,
    inputs: &[&crate::tensor::Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = input(inputs, 0, "binary")?;
    let y = input(inputs, 1, "binary")?;
    if x.dtype() != y.dtype() {
        return Err(Error::dtype(
            "binary",
            y.dtype(),
            format!("both operands must be {}", x.dtype()),
        ));
    }
    let name = kernel(&BINARY, x.dtype(), "binary")?;
    let out_dims = out.layout.dims().to_vec();
    let n: usize = out_dims.iter().product();
    check_out(out, x.dtype(), n, "binary")?;
    if n == 0 {
        return Ok(());
    }
    let (lx, ly) = (
        broadcast_layout(x, &out_dims)?,
        broadcast_layout(y, &out_dims)?,
    );
    let (px, py) = (b.tensor_ptr(x)?, b.tensor_ptr(y)?);
    let o = b.out_ptr(out)?;
    let args = [
        Arg::Ptr(px),
        Arg::Layout(lx),
        Arg::Ptr(py),
        Arg::Layout(ly),
        Arg::Ptr(o),
        i64_arg(n)?,
        Arg::I32(binary_code(op)),
    ];
    // SAFETY: omnirt_binary_T(const T* a, Layout6 la, const T* b, Layout6 lb,
    // T* out, long long n, int op): a/b point at each operand's first element and
    // their layouts (output dims, the operands' own strides, 0 where broadcast)
    // only reach elements inside the operands' views; out holds n elements of T.
    unsafe { b.launch(name, launch::elementwise(n), &args) }
}

pub(super) fn swiglu(
    b: &CudaBackend,
    inputs: &[&crate::tensor::Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let g = input(inputs, 0, "swiglu")?;
    let u = input(inputs, 1, "swiglu")?;
    let name = kernel(&SWIGLU, g.dtype(), "swiglu")?;
    let n = g.elem_count();
    if u.elem_count() != n || u.dtype() != g.dtype() {
        return Err(Error::shape(
            "swiglu",
            "gate and up must match in shape and dtype",
        ));
    }
    check_out(out, g.dtype(), n, "swiglu")?;
    if n == 0 {
        return Ok(());
    }
    let (gc, uc) = (b.contiguous(g)?, b.contiguous(u)?);
    let o = b.out_ptr(out)?;
    let args = [
        Arg::Ptr(gc.ptr()),
        Arg::Ptr(uc.ptr()),
        Arg::Ptr(o),
        i64_arg(n)?,
    ];
    // SAFETY: omnirt_swiglu_T(const T* gate, const T* up, T* out, long long n):
    // gate, up contiguous with n elements of T each, out holds n elements of T.
    unsafe { b.launch(name, launch::elementwise(n), &args) }
}

pub(super) fn snake(
    b: &CudaBackend,
    inputs: &[&crate::tensor::Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = input(inputs, 0, "snake")?;
    let alpha = input(inputs, 1, "snake")?;
    let beta = input(inputs, 2, "snake")?;
    let name = kernel(&SNAKE, x.dtype(), "snake")?;
    if x.rank() != 3 {
        return Err(Error::shape(
            "snake",
            format!("x must be [b, c, t], got {:?}", x.dims()),
        ));
    }
    let (batch, c, t) = (x.dims()[0], x.dims()[1], x.dims()[2]);
    for p in [alpha, beta] {
        if p.dtype() != crate::tensor::DType::F32 || p.elem_count() != c {
            return Err(Error::shape(
                "snake",
                format!("alpha/beta must be f32 [{c}]"),
            ));
        }
    }
    let n = x.elem_count();
    check_out(out, x.dtype(), n, "snake")?;
    if n == 0 {
        return Ok(());
    }
    let (xc, ac, bc) = (b.contiguous(x)?, b.contiguous(alpha)?, b.contiguous(beta)?);
    let o = b.out_ptr(out)?;
    let args = [
        Arg::Ptr(xc.ptr()),
        Arg::Ptr(ac.ptr()),
        Arg::Ptr(bc.ptr()),
        Arg::Ptr(o),
        i64_arg(batch)?,
        i64_arg(c)?,
        i64_arg(t)?,
    ];
    // SAFETY: omnirt_snake_T(const T* x, const float* alpha, const float* beta,
    // T* out, long long batch, long long channels, long long len): x contiguous
    // batch·c·t elements of T, alpha/beta c contiguous f32, out n elements of T.
    unsafe { b.launch(name, launch::elementwise(n), &args) }
}
