//! Convolution hyper-parameters and the output sizes they imply (PyTorch semantics).

/// `torch.nn.Conv1d` with possibly asymmetric zero padding (causal convs pad left only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1dParams {
    pub stride: usize,
    pub padding_left: usize,
    pub padding_right: usize,
    pub dilation: usize,
    pub groups: usize,
}

impl Default for Conv1dParams {
    fn default() -> Self {
        Conv1dParams {
            stride: 1,
            padding_left: 0,
            padding_right: 0,
            dilation: 1,
            groups: 1,
        }
    }
}

/// `torch.nn.Conv2d`; each pair is (height, width), padding is symmetric per axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

/// `torch.nn.ConvTranspose1d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose1dParams {
    pub stride: usize,
    pub padding: usize,
    pub output_padding: usize,
    pub dilation: usize,
    pub groups: usize,
}

impl Default for ConvTranspose1dParams {
    fn default() -> Self {
        ConvTranspose1dParams {
            stride: 1,
            padding: 0,
            output_padding: 0,
            dilation: 1,
            groups: 1,
        }
    }
}

/// `(len + pad - dilation*(kernel-1) - 1) / stride + 1`, or `None` when that is not a
/// positive length (or stride/dilation/kernel is 0, or it overflows).
fn strided_out_len(
    len: usize,
    pad: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
) -> Option<usize> {
    if stride == 0 || dilation == 0 || kernel == 0 {
        return None;
    }
    let padded = len.checked_add(pad)?;
    let span = dilation.checked_mul(kernel - 1)?.checked_add(1)?;
    Some(padded.checked_sub(span)? / stride + 1)
}

/// `l_out = (l_in + pl + pr - dilation*(kernel-1) - 1)/stride + 1`; `None` when the
/// output would be empty, a size overflows, or stride/dilation/kernel is 0.
pub fn conv1d_out_len(p: &Conv1dParams, l_in: usize, kernel: usize) -> Option<usize> {
    let pad = p.padding_left.checked_add(p.padding_right)?;
    strided_out_len(l_in, pad, kernel, p.stride, p.dilation)
}

/// `(h_out, w_out)` of a 2-D convolution; `None` as for [`conv1d_out_len`].
pub fn conv2d_out_dims(
    p: &Conv2dParams,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
) -> Option<(usize, usize)> {
    let h_out = strided_out_len(h, p.padding.0.checked_mul(2)?, kh, p.stride.0, p.dilation.0)?;
    let w_out = strided_out_len(w, p.padding.1.checked_mul(2)?, kw, p.stride.1, p.dilation.1)?;
    Some((h_out, w_out))
}

/// `l_out = (l_in-1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1`;
/// `None` when the output would be empty (including `l_in == 0`), a size overflows,
/// or stride/dilation/kernel is 0.
pub fn conv_transpose1d_out_len(
    p: &ConvTranspose1dParams,
    l_in: usize,
    kernel: usize,
) -> Option<usize> {
    if l_in == 0 || kernel == 0 || p.stride == 0 || p.dilation == 0 {
        return None;
    }
    let full = (l_in - 1)
        .checked_mul(p.stride)?
        .checked_add(p.dilation.checked_mul(kernel - 1)?)?
        .checked_add(p.output_padding)?
        .checked_add(1)?;
    full.checked_sub(p.padding.checked_mul(2)?)
        .filter(|&l| l > 0)
}

/// Panics unless `groups` splits both channel counts evenly.
pub(super) fn check_groups(groups: usize, c_in: usize, c_out: usize) {
    assert!(groups > 0, "groups must be positive");
    assert!(
        c_in % groups == 0 && c_out % groups == 0,
        "groups must divide c_in and c_out"
    );
}

/// `Some(a*b*...)` without overflow.
pub(super) fn product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Panics unless the buffers have exactly the lengths their shapes imply.
pub(super) fn check_buffers(
    input: (&[f32], &[usize]),
    weight: (&[f32], &[usize]),
    bias: Option<&[f32]>,
    c_out: usize,
    out: (&[f32], &[usize]),
) {
    assert_eq!(
        Some(input.0.len()),
        product(input.1),
        "input length does not match its shape"
    );
    assert_eq!(
        Some(weight.0.len()),
        product(weight.1),
        "weight length does not match its shape"
    );
    if let Some(bias) = bias {
        assert_eq!(bias.len(), c_out, "bias must have c_out elements");
    }
    assert_eq!(
        Some(out.0.len()),
        product(out.1),
        "out length does not match its shape"
    );
}
