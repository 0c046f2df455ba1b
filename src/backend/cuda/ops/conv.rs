//! `Op::Conv1d`, `Op::Conv2d`, `Op::ConvTranspose1d`: `kernels/cuda/conv.cu`
//! (direct f32 convolutions, one thread per output, bit-exact with the scalar
//! reference). Inputs are made contiguous; f16/bf16 operands are widened to f32
//! and the f32 result rounded once to the output dtype, as the CPU backend does
//! (ABI.md: "f16/bf16 conv: cast to f32 first").

use super::super::launch::{self, i64_arg, Arg};
use super::data::Contig;
use super::{check_out, input, CudaBackend};
use crate::backend::{ConvParams, OutputSlot};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

use super::super::CudaBuffer;

pub(super) const CONV1D: [&str; 1] = ["omnirt_conv1d_f32"];
pub(super) const CONV2D: [&str; 1] = ["omnirt_conv2d_f32"];
pub(super) const CONV_TRANSPOSE1D: [&str; 1] = ["omnirt_conv_transpose1d_f32"];

/// x, w (and bias) of one float dtype.
pub(super) fn supports(dtypes: &[DType]) -> bool {
    matches!(dtypes.len(), 2 | 3)
        && dtypes.iter().all(|d| *d == dtypes[0])
        && matches!(dtypes[0], DType::F32 | DType::F16 | DType::BF16)
}

/// A tensor as contiguous f32 on the device (the keep-alive values own any copy).
struct F32Operand {
    ptr: u64,
    _contig: Contig,
    _widened: Option<CudaBuffer>,
}

fn f32_operand(b: &CudaBackend, t: &Tensor) -> Result<F32Operand> {
    let c = b.contiguous(t)?;
    if t.dtype() == DType::F32 {
        return Ok(F32Operand {
            ptr: c.ptr(),
            _contig: c,
            _widened: None,
        });
    }
    let n = t.elem_count();
    let mut tmp = b.temp(n * 4)?;
    let p = tmp.ptr_mut(&b.stream);
    b.cast_into(c.ptr(), t.dtype(), p, DType::F32, n)?;
    Ok(F32Operand {
        ptr: p,
        _contig: c,
        _widened: Some(tmp),
    })
}

/// Operands and the f32 destination of one convolution; `finish` casts an f32
/// temporary into a 16-bit output.
struct Conv {
    x: F32Operand,
    w: F32Operand,
    bias: Option<F32Operand>,
    out_ptr: u64,
    out32: u64,
    out_tmp: Option<CudaBuffer>,
    out_dtype: DType,
    n: usize,
}

impl Conv {
    fn new(
        b: &CudaBackend,
        inputs: &[&Tensor],
        out: &mut OutputSlot<'_>,
        op: &'static str,
    ) -> Result<Conv> {
        let x = input(inputs, 0, op)?;
        let w = input(inputs, 1, op)?;
        if !supports(&inputs.iter().map(|t| t.dtype()).collect::<Vec<_>>()) {
            return Err(Error::dtype(
                op,
                x.dtype(),
                "cuda convs take f32, f16 or bf16 operands of one dtype",
            ));
        }
        let n = out.layout.shape().elem_count();
        check_out(out, x.dtype(), n, op)?;
        let out_ptr = b.out_ptr(out)?;
        let mut out_tmp = if out.dtype == DType::F32 {
            None
        } else {
            Some(b.temp(n * 4)?)
        };
        let out32 = match out_tmp.as_mut() {
            Some(t) => t.ptr_mut(&b.stream),
            None => out_ptr,
        };
        Ok(Conv {
            x: f32_operand(b, x)?,
            w: f32_operand(b, w)?,
            bias: inputs.get(2).map(|t| f32_operand(b, t)).transpose()?,
            out_ptr,
            out32,
            out_tmp,
            out_dtype: out.dtype,
            n,
        })
    }

    fn bias_ptr(&self) -> u64 {
        self.bias.as_ref().map_or(0, |b| b.ptr)
    }

    fn finish(self, b: &CudaBackend) -> Result<()> {
        if self.out_tmp.is_some() {
            b.cast_into(self.out32, DType::F32, self.out_ptr, self.out_dtype, self.n)?;
        }
        Ok(())
    }
}

fn param(v: &[usize], i: usize, what: &str, op: &str) -> Result<usize> {
    v.get(i)
        .copied()
        .ok_or_else(|| Error::invalid(format!("{op}: missing {what}[{i}]")))
}

pub(super) fn conv1d(
    b: &CudaBackend,
    p: &ConvParams,
    inputs: &[&Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    const OP: &str = "conv1d";
    let (x, w) = (input(inputs, 0, OP)?, input(inputs, 1, OP)?);
    if x.rank() != 3 || w.rank() != 3 || out.layout.dims().len() != 3 {
        return Err(Error::shape(OP, "x [b, c_in, l], w [c_out, c_in/g, k]"));
    }
    let (batch, c_in, l_in) = (x.dims()[0], x.dims()[1], x.dims()[2]);
    let (c_out, kernel) = (w.dims()[0], w.dims()[2]);
    let l_out = out.layout.dims()[2];
    let g = p.groups;
    if g == 0 || c_in % g != 0 || c_out % g != 0 || w.dims()[1] * g != c_in {
        return Err(Error::shape(OP, "groups must divide c_in and c_out"));
    }
    let c = Conv::new(b, inputs, out, OP)?;
    if c.n == 0 {
        return Ok(());
    }
    let args = [
        Arg::Ptr(c.x.ptr),
        Arg::Ptr(c.w.ptr),
        Arg::Ptr(c.bias_ptr()),
        Arg::Ptr(c.out32),
        i64_arg(batch)?,
        i64_arg(c_in)?,
        i64_arg(l_in)?,
        i64_arg(c_out)?,
        i64_arg(kernel)?,
        i64_arg(l_out)?,
        i64_arg(param(&p.stride, 0, "stride", OP)?)?,
        i64_arg(param(&p.padding, 0, "padding", OP)?)?,
        i64_arg(param(&p.dilation, 0, "dilation", OP)?)?,
        i64_arg(g)?,
    ];
    // SAFETY: ABI.md conv.cu `omnirt_conv1d_f32`, arguments in the listed order:
    // x [batch, c_in, l_in], w [c_out, c_in/groups, kernel], bias [c_out] or
    // null, all contiguous f32; out f32 [batch, c_out, l_out] (the checked
    // output or an f32 temporary of n elements); pad_left = padding[0]; groups
    // divides c_in and c_out (checked); grid-stride, block 256.
    unsafe { b.launch(CONV1D[0], launch::elementwise(c.n), &args)? };
    c.finish(b)
}

pub(super) fn conv2d(
    b: &CudaBackend,
    p: &ConvParams,
    inputs: &[&Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    const OP: &str = "conv2d";
    let (x, w) = (input(inputs, 0, OP)?, input(inputs, 1, OP)?);
    if x.rank() != 4 || w.rank() != 4 || out.layout.dims().len() != 4 {
        return Err(Error::shape(
            OP,
            "x [b, c_in, h, w], w [c_out, c_in/g, kh, kw]",
        ));
    }
    let (batch, c_in, h, wd) = (x.dims()[0], x.dims()[1], x.dims()[2], x.dims()[3]);
    let (c_out, kh, kw) = (w.dims()[0], w.dims()[2], w.dims()[3]);
    let (h_out, w_out) = (out.layout.dims()[2], out.layout.dims()[3]);
    let g = p.groups;
    if g == 0 || c_in % g != 0 || c_out % g != 0 || w.dims()[1] * g != c_in {
        return Err(Error::shape(OP, "groups must divide c_in and c_out"));
    }
    let c = Conv::new(b, inputs, out, OP)?;
    if c.n == 0 {
        return Ok(());
    }
    let args = [
        Arg::Ptr(c.x.ptr),
        Arg::Ptr(c.w.ptr),
        Arg::Ptr(c.bias_ptr()),
        Arg::Ptr(c.out32),
        i64_arg(batch)?,
        i64_arg(c_in)?,
        i64_arg(h)?,
        i64_arg(wd)?,
        i64_arg(c_out)?,
        i64_arg(kh)?,
        i64_arg(kw)?,
        i64_arg(h_out)?,
        i64_arg(w_out)?,
        i64_arg(param(&p.stride, 0, "stride", OP)?)?,
        i64_arg(param(&p.stride, 1, "stride", OP)?)?,
        i64_arg(param(&p.padding, 0, "padding", OP)?)?,
        i64_arg(param(&p.padding, 1, "padding", OP)?)?,
        i64_arg(param(&p.dilation, 0, "dilation", OP)?)?,
        i64_arg(param(&p.dilation, 1, "dilation", OP)?)?,
        i64_arg(g)?,
    ];
    // SAFETY: ABI.md conv.cu `omnirt_conv2d_f32`, arguments in the listed order:
    // x [batch, c_in, h, wd], w [c_out, c_in/groups, kh, kw], bias [c_out] or
    // null, all contiguous f32; out f32 [batch, c_out, h_out, w_out] (checked
    // output or an f32 temporary); symmetric padding (padding[0], padding[1]);
    // groups divides c_in and c_out (checked); grid-stride, block 256.
    unsafe { b.launch(CONV2D[0], launch::elementwise(c.n), &args)? };
    c.finish(b)
}

pub(super) fn conv_transpose1d(
    b: &CudaBackend,
    p: &ConvParams,
    inputs: &[&Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    const OP: &str = "conv_transpose1d";
    let (x, w) = (input(inputs, 0, OP)?, input(inputs, 1, OP)?);
    if x.rank() != 3 || w.rank() != 3 || out.layout.dims().len() != 3 {
        return Err(Error::shape(OP, "x [b, c_in, l], w [c_in, c_out/g, k]"));
    }
    let (batch, c_in, l_in) = (x.dims()[0], x.dims()[1], x.dims()[2]);
    let (c_out, l_out) = (out.layout.dims()[1], out.layout.dims()[2]);
    let kernel = w.dims()[2];
    let g = p.groups;
    let stride = param(&p.stride, 0, "stride", OP)?;
    if g == 0
        || c_in % g != 0
        || c_out % g != 0
        || w.dims()[0] != c_in
        || w.dims()[1] * g != c_out
        || stride == 0
    {
        return Err(Error::shape(
            OP,
            "groups must divide c_in and c_out, stride >= 1",
        ));
    }
    let c = Conv::new(b, inputs, out, OP)?;
    if c.n == 0 {
        return Ok(());
    }
    let args = [
        Arg::Ptr(c.x.ptr),
        Arg::Ptr(c.w.ptr),
        Arg::Ptr(c.bias_ptr()),
        Arg::Ptr(c.out32),
        i64_arg(batch)?,
        i64_arg(c_in)?,
        i64_arg(l_in)?,
        i64_arg(c_out)?,
        i64_arg(kernel)?,
        i64_arg(l_out)?,
        i64_arg(stride)?,
        i64_arg(param(&p.padding, 0, "padding", OP)?)?,
        i64_arg(param(&p.dilation, 0, "dilation", OP)?)?,
        i64_arg(g)?,
    ];
    // SAFETY: ABI.md conv.cu `omnirt_conv_transpose1d_f32`, arguments in the
    // listed order: x [batch, c_in, l_in], w [c_in, c_out/groups, kernel], bias
    // [c_out] or null, all contiguous f32; out f32 [batch, c_out, l_out]
    // (checked output or an f32 temporary; output padding only changes l_out);
    // padding = padding[0]; groups divides both channel counts (checked);
    // grid-stride, block 256.
    unsafe { b.launch(CONV_TRANSPOSE1D[0], launch::elementwise(c.n), &args)? };
    c.finish(b)
}
