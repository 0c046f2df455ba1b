//! Convolutions with PyTorch semantics, f32, batch-outermost layouts, zero padding:
//! `conv1d` (audio front-ends, code2wav), `conv2d` (audio encoder downsampling) and
//! `conv_transpose1d` (code2wav upsampling).
//!
//! Fast paths (every non-scalar variant): im2col + [`crate::gemm::gemm_f32`] per
//! group (no copy at all for 1×1 stride-1 kernels), a direct vectorised loop for
//! depthwise 1-D convs, and GEMM + col2im for the transposed conv. They run in
//! parallel on the caller's rayon pool. The GEMM picks its own ISA, so only the
//! depthwise loop differs between variants. `Isa::Scalar` is the direct-loop
//! reference (the test oracle).

#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "aarch64")]
mod aarch64;
mod bounds;
mod depthwise;
mod im2col;
mod lowered;
mod params;
mod scalar;
mod transposed;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use params::{
    conv1d_out_len, conv2d_out_dims, conv_transpose1d_out_len, Conv1dParams, Conv2dParams,
    ConvTranspose1dParams,
};

use crate::Isa;
use im2col::{Im2col1d, Im2col2d};
use lowered::LoweredConv;
use params::{check_buffers, check_groups};

/// [`conv1d_with`] on the best variant for this host.
#[allow(clippy::too_many_arguments)]
pub fn conv1d(
    p: &Conv1dParams,
    batch: usize,
    c_in: usize,
    l_in: usize,
    c_out: usize,
    kernel: usize,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    conv1d_with(
        Isa::best(),
        p,
        batch,
        c_in,
        l_in,
        c_out,
        kernel,
        input,
        weight,
        bias,
        out,
    )
}

/// 1-D convolution: input `[batch, c_in, l_in]`, weight `[c_out, c_in/groups,
/// kernel]`, optional bias `[c_out]`, out `[batch, c_out, l_out]` with `l_out` from
/// [`conv1d_out_len`] (fully overwritten).
///
/// Panics (caller bug) when the output would be empty (`conv1d_out_len` is
/// `None`), `groups` does not divide both channel counts, or a buffer length does
/// not match its shape.
#[allow(clippy::too_many_arguments)]
pub fn conv1d_with(
    isa: Isa,
    p: &Conv1dParams,
    batch: usize,
    c_in: usize,
    l_in: usize,
    c_out: usize,
    kernel: usize,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    check_groups(p.groups, c_in, c_out);
    let l_out = conv1d_out_len(p, l_in, kernel)
        .expect("conv1d: empty output or invalid stride/dilation/kernel");
    check_buffers(
        (input, &[batch, c_in, l_in]),
        (weight, &[c_out, c_in / p.groups, kernel]),
        bias,
        c_out,
        (out, &[batch, c_out, l_out]),
    );

    let depthwise = p.groups == c_in && c_out == c_in;
    let depthwise_row: depthwise::RowKernel = match isa.checked() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => x86::depthwise_row,
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => aarch64::depthwise_row,
        // Scalar (the only other ISA `checked` returns here): the reference.
        _ => {
            return scalar::conv1d(
                p, batch, c_in, l_in, c_out, kernel, l_out, input, weight, bias, out,
            )
        }
    };
    if depthwise {
        // SAFETY: `depthwise_row` belongs to the ISA `checked` confirmed.
        unsafe {
            depthwise::conv1d(
                p,
                c_in,
                l_in,
                kernel,
                l_out,
                input,
                weight,
                bias,
                out,
                depthwise_row,
            )
        };
    } else {
        let columns = Im2col1d {
            cin_g: c_in / p.groups,
            l_in,
            kernel,
            stride: p.stride,
            padding_left: p.padding_left,
            padding_right: p.padding_right,
            dilation: p.dilation,
            l_out,
        };
        let conv = LoweredConv {
            batch,
            groups: p.groups,
            c_in,
            in_len: l_in,
            c_out,
            columns,
            weight,
            bias,
        };
        lowered::run(&conv, input, out);
    }
}

/// [`conv2d_with`] on the best variant for this host.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    p: &Conv2dParams,
    batch: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    conv2d_with(
        Isa::best(),
        p,
        batch,
        c_in,
        h,
        w,
        c_out,
        kh,
        kw,
        input,
        weight,
        bias,
        out,
    )
}

/// 2-D convolution: input `[batch, c_in, h, w]`, weight `[c_out, c_in/groups, kh,
/// kw]`, optional bias `[c_out]`, out `[batch, c_out, h_out, w_out]` with sizes from
/// [`conv2d_out_dims`] (fully overwritten). Panics like [`conv1d_with`].
#[allow(clippy::too_many_arguments)]
pub fn conv2d_with(
    isa: Isa,
    p: &Conv2dParams,
    batch: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    check_groups(p.groups, c_in, c_out);
    let (h_out, w_out) = conv2d_out_dims(p, h, w, kh, kw)
        .expect("conv2d: empty output or invalid stride/dilation/kernel");
    check_buffers(
        (input, &[batch, c_in, h, w]),
        (weight, &[c_out, c_in / p.groups, kh, kw]),
        bias,
        c_out,
        (out, &[batch, c_out, h_out, w_out]),
    );

    if isa.checked() == Isa::Scalar {
        let dims = ((h, w), (kh, kw), (h_out, w_out));
        return scalar::conv2d(
            p, batch, c_in, dims.0, c_out, dims.1, dims.2, input, weight, bias, out,
        );
    }
    let columns = Im2col2d {
        cin_g: c_in / p.groups,
        h,
        w,
        kh,
        kw,
        stride: p.stride,
        padding: p.padding,
        dilation: p.dilation,
        h_out,
        w_out,
    };
    let conv = LoweredConv {
        batch,
        groups: p.groups,
        c_in,
        in_len: h * w,
        c_out,
        columns,
        weight,
        bias,
    };
    lowered::run(&conv, input, out);
}

/// [`conv_transpose1d_with`] on the best variant for this host.
#[allow(clippy::too_many_arguments)]
pub fn conv_transpose1d(
    p: &ConvTranspose1dParams,
    batch: usize,
    c_in: usize,
    l_in: usize,
    c_out: usize,
    kernel: usize,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    conv_transpose1d_with(
        Isa::best(),
        p,
        batch,
        c_in,
        l_in,
        c_out,
        kernel,
        input,
        weight,
        bias,
        out,
    )
}

/// Transposed 1-D convolution (PyTorch `ConvTranspose1d`): input `[batch, c_in,
/// l_in]`, weight `[c_in, c_out/groups, kernel]`, optional bias `[c_out]`, out
/// `[batch, c_out, l_out]` with `l_out` from [`conv_transpose1d_out_len`] (fully
/// overwritten). Panics like [`conv1d_with`].
#[allow(clippy::too_many_arguments)]
pub fn conv_transpose1d_with(
    isa: Isa,
    p: &ConvTranspose1dParams,
    batch: usize,
    c_in: usize,
    l_in: usize,
    c_out: usize,
    kernel: usize,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    check_groups(p.groups, c_in, c_out);
    let l_out = conv_transpose1d_out_len(p, l_in, kernel)
        .expect("conv_transpose1d: empty output or invalid stride/dilation/kernel");
    check_buffers(
        (input, &[batch, c_in, l_in]),
        (weight, &[c_in, c_out / p.groups, kernel]),
        bias,
        c_out,
        (out, &[batch, c_out, l_out]),
    );

    if isa.checked() == Isa::Scalar {
        scalar::conv_transpose1d(
            p, batch, c_in, l_in, c_out, kernel, l_out, input, weight, bias, out,
        );
    } else {
        transposed::conv_transpose1d(
            p, batch, c_in, l_in, c_out, kernel, l_out, input, weight, bias, out,
        );
    }
}
