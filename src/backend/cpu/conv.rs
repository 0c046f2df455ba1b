//! Convolutions on the CPU (f32 compute; 16-bit inputs are widened).

use omnirt_kernels::conv as ck;

use super::access::{f32_values, with_f32_output};
use super::input;
use crate::backend::{ConvParams, OutputSlot};
use crate::error::Result;
use crate::tensor::Tensor;

struct Operands<'a> {
    x: std::borrow::Cow<'a, [f32]>,
    w: std::borrow::Cow<'a, [f32]>,
    bias: Option<std::borrow::Cow<'a, [f32]>>,
}

fn operands<'a>(inputs: &[&'a Tensor], op: &str) -> Result<Operands<'a>> {
    Ok(Operands {
        x: f32_values(input(inputs, 0, op)?)?,
        w: f32_values(input(inputs, 1, op)?)?,
        bias: inputs.get(2).map(|b| f32_values(b)).transpose()?,
    })
}

pub(super) fn conv1d(p: &ConvParams, inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "conv1d")?;
    let w = input(inputs, 1, "conv1d")?;
    let (b, c_in, l) = (x.dims()[0], x.dims()[1], x.dims()[2]);
    let (c_out, k) = (w.dims()[0], w.dims()[2]);
    let ops = operands(inputs, "conv1d")?;
    let params = ck::Conv1dParams {
        stride: p.stride[0],
        padding_left: p.padding[0],
        padding_right: p.padding[1],
        dilation: p.dilation[0],
        groups: p.groups,
    };
    with_f32_output(out, |o| {
        ck::conv1d(
            &params,
            b,
            c_in,
            l,
            c_out,
            k,
            &ops.x,
            &ops.w,
            ops.bias.as_deref(),
            o,
        );
        Ok(())
    })
}

pub(super) fn conv2d(p: &ConvParams, inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "conv2d")?;
    let w = input(inputs, 1, "conv2d")?;
    let (b, c_in, h, wd) = (x.dims()[0], x.dims()[1], x.dims()[2], x.dims()[3]);
    let (c_out, kh, kw) = (w.dims()[0], w.dims()[2], w.dims()[3]);
    let ops = operands(inputs, "conv2d")?;
    let params = ck::Conv2dParams {
        stride: (p.stride[0], p.stride[1]),
        padding: (p.padding[0], p.padding[1]),
        dilation: (p.dilation[0], p.dilation[1]),
        groups: p.groups,
    };
    with_f32_output(out, |o| {
        ck::conv2d(
            &params,
            b,
            c_in,
            h,
            wd,
            c_out,
            kh,
            kw,
            &ops.x,
            &ops.w,
            ops.bias.as_deref(),
            o,
        );
        Ok(())
    })
}

pub(super) fn conv_transpose1d(
    p: &ConvParams,
    inputs: &[&Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = input(inputs, 0, "conv_transpose1d")?;
    let (b, c_in, l) = (x.dims()[0], x.dims()[1], x.dims()[2]);
    let c_out = out.layout.dims()[1];
    let k = input(inputs, 1, "conv_transpose1d")?.dims()[2];
    let ops = operands(inputs, "conv_transpose1d")?;
    let params = ck::ConvTranspose1dParams {
        stride: p.stride[0],
        padding: p.padding[0],
        output_padding: p.padding[1],
        dilation: p.dilation[0],
        groups: p.groups,
    };
    with_f32_output(out, |o| {
        ck::conv_transpose1d(
            &params,
            b,
            c_in,
            l,
            c_out,
            k,
            &ops.x,
            &ops.w,
            ops.bias.as_deref(),
            o,
        );
        Ok(())
    })
}
