//! Convolutions: the scalar references against hand-computed cases and the
//! conv/transposed-conv adjoint identity, and every variant this host runs against
//! the references over random shapes, strides, dilations, padding and groups.

use omnirt_kernels::conv::*;
use omnirt_kernels::testing::{assert_close, Rng};
use omnirt_kernels::Isa;

const ATOL: f32 = 1e-4;
const RTOL: f32 = 1e-4;

// ---------------------------------------------------------------- conv1d

#[derive(Clone, Debug)]
struct Conv1dCase {
    p: Conv1dParams,
    batch: usize,
    c_in: usize,
    l_in: usize,
    c_out: usize,
    kernel: usize,
    bias: bool,
}

fn run_conv1d(isa: Isa, c: &Conv1dCase, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let l_out = conv1d_out_len(&c.p, c.l_in, c.kernel).unwrap();
    let mut out = vec![f32::NAN; c.batch * c.c_out * l_out];
    conv1d_with(
        isa, &c.p, c.batch, c.c_in, c.l_in, c.c_out, c.kernel, x, w, b, &mut out,
    );
    out
}

fn check_conv1d(rng: &mut Rng, c: &Conv1dCase) {
    let x = rng.vec(c.batch * c.c_in * c.l_in);
    let w = rng.vec(c.c_out * c.c_in / c.p.groups * c.kernel);
    let b = rng.vec(c.c_out);
    let b = c.bias.then_some(&b[..]);
    let want = run_conv1d(Isa::Scalar, c, &x, &w, b);
    for isa in Isa::available() {
        assert_close(
            &run_conv1d(isa, c, &x, &w, b),
            &want,
            ATOL,
            RTOL,
            &format!("{isa} {c:?}"),
        );
    }
}

fn random_conv1d(rng: &mut Rng) -> Conv1dCase {
    let groups = [1, 1, 2, 3][rng.below(4)];
    let depthwise = rng.below(4) == 0;
    let (c_in, c_out) = if depthwise {
        let c = 1 + rng.below(9);
        (c, c)
    } else {
        (groups * (1 + rng.below(5)), groups * (1 + rng.below(6)))
    };
    Conv1dCase {
        p: Conv1dParams {
            stride: 1 + rng.below(3),
            padding_left: rng.below(5),
            padding_right: rng.below(5),
            dilation: 1 + rng.below(3),
            groups: if depthwise { c_in } else { groups },
        },
        batch: 1 + rng.below(3),
        c_in,
        l_in: rng.below(70),
        c_out,
        kernel: [1, 2, 3, 5, 7][rng.below(5)],
        bias: rng.below(3) > 0,
    }
}

#[test]
fn conv1d_variants_match_reference_random() {
    let mut rng = Rng::new(11);
    let mut checked = 0;
    while checked < 400 {
        let c = random_conv1d(&mut rng);
        if conv1d_out_len(&c.p, c.l_in, c.kernel).is_some() {
            check_conv1d(&mut rng, &c);
            checked += 1;
        }
    }
}

/// code2wav's ConvNeXt dwconv (k=7, "same" and causal padding) on long rows, plus
/// strided and dilated depthwise convs.
#[test]
fn conv1d_depthwise_long_rows() {
    let mut rng = Rng::new(12);
    for (stride, dilation, pl, pr, l_in) in [
        (1, 1, 3, 3, 1000),
        (1, 1, 6, 0, 777),
        (2, 1, 3, 3, 501),
        (1, 3, 9, 9, 300),
    ] {
        let c = Conv1dCase {
            p: Conv1dParams {
                stride,
                padding_left: pl,
                padding_right: pr,
                dilation,
                groups: 24,
            },
            batch: 2,
            c_in: 24,
            l_in,
            c_out: 24,
            kernel: 7,
            bias: true,
        };
        check_conv1d(&mut rng, &c);
    }
}

/// 1×1 convs (the column matrix is the input itself), a conv big enough to need
/// several column chunks, and output channels split across threads.
#[test]
fn conv1d_gemm_paths() {
    let mut rng = Rng::new(13);
    let pointwise = Conv1dCase {
        p: Conv1dParams::default(),
        batch: 2,
        c_in: 33,
        l_in: 101,
        c_out: 40,
        kernel: 1,
        bias: true,
    };
    check_conv1d(&mut rng, &pointwise);
    let chunked = Conv1dCase {
        p: Conv1dParams {
            padding_left: 4,
            padding_right: 4,
            ..Conv1dParams::default()
        },
        batch: 1,
        c_in: 128,
        l_in: 1500,
        c_out: 5,
        kernel: 9,
        bias: false,
    };
    check_conv1d(&mut rng, &chunked);
    let split_channels = Conv1dCase {
        p: Conv1dParams {
            stride: 2,
            padding_left: 1,
            padding_right: 1,
            ..Conv1dParams::default()
        },
        batch: 1,
        c_in: 8,
        l_in: 64,
        c_out: 70,
        kernel: 3,
        bias: true,
    };
    check_conv1d(&mut rng, &split_channels);
}

/// Input `[1, 2, 3, 4]` with kernel `[1, 0, -1]` computes `x[o] - x[o+2]`.
#[test]
fn conv1d_reference_hand_computed() {
    let x = [1.0, 2.0, 3.0, 4.0];
    let w = [1.0, 0.0, -1.0];
    let cases = [
        (Conv1dParams::default(), None, vec![-2.0, -2.0]),
        (
            Conv1dParams {
                padding_left: 1,
                padding_right: 1,
                ..Default::default()
            },
            None,
            vec![-2.0, -2.0, -2.0, 3.0],
        ),
        (
            Conv1dParams {
                padding_left: 2,
                ..Default::default()
            },
            Some(0.5),
            vec![-0.5, -1.5, -1.5, -1.5],
        ),
        (
            Conv1dParams {
                stride: 2,
                padding_left: 1,
                padding_right: 1,
                ..Default::default()
            },
            None,
            vec![-2.0, -2.0],
        ),
    ];
    for (p, bias, want) in cases {
        let b = bias.map(|b| [b]);
        for isa in Isa::available() {
            let mut out = vec![f32::NAN; want.len()];
            conv1d_with(
                isa,
                &p,
                1,
                1,
                4,
                1,
                3,
                &x,
                &w,
                b.as_ref().map(|b| &b[..]),
                &mut out,
            );
            assert_eq!(out, want, "{isa} {p:?}");
        }
    }
    // Stride 2, dilation 2: out[o] = x[2o] + x[2o+2].
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    let p = Conv1dParams {
        stride: 2,
        dilation: 2,
        ..Default::default()
    };
    let mut out = [0.0; 3];
    conv1d_with(
        Isa::Scalar,
        &p,
        1,
        1,
        7,
        1,
        2,
        &x,
        &[1.0, 1.0],
        None,
        &mut out,
    );
    assert_eq!(out, [4.0, 8.0, 12.0]);
    // Two groups of one channel, k=1: each output channel scales its own input.
    let x = [1.0, 2.0, 10.0, 20.0];
    let p = Conv1dParams {
        groups: 2,
        ..Default::default()
    };
    let mut out = [0.0; 4];
    conv1d_with(
        Isa::Scalar,
        &p,
        1,
        2,
        2,
        2,
        1,
        &x,
        &[3.0, -1.0],
        Some(&[0.0, 1.0]),
        &mut out,
    );
    assert_eq!(out, [3.0, 6.0, -9.0, -19.0]);
}

// ---------------------------------------------------------------- conv2d

#[derive(Clone, Debug)]
struct Conv2dCase {
    p: Conv2dParams,
    batch: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    bias: bool,
}

fn run_conv2d(isa: Isa, c: &Conv2dCase, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let (ho, wo) = conv2d_out_dims(&c.p, c.h, c.w, c.kh, c.kw).unwrap();
    let mut out = vec![f32::NAN; c.batch * c.c_out * ho * wo];
    conv2d_with(
        isa, &c.p, c.batch, c.c_in, c.h, c.w, c.c_out, c.kh, c.kw, x, w, b, &mut out,
    );
    out
}

fn check_conv2d(rng: &mut Rng, c: &Conv2dCase) {
    let x = rng.vec(c.batch * c.c_in * c.h * c.w);
    let w = rng.vec(c.c_out * c.c_in / c.p.groups * c.kh * c.kw);
    let b = rng.vec(c.c_out);
    let b = c.bias.then_some(&b[..]);
    let want = run_conv2d(Isa::Scalar, c, &x, &w, b);
    for isa in Isa::available() {
        assert_close(
            &run_conv2d(isa, c, &x, &w, b),
            &want,
            ATOL,
            RTOL,
            &format!("{isa} {c:?}"),
        );
    }
}

#[test]
fn conv2d_variants_match_reference_random() {
    let mut rng = Rng::new(21);
    let mut checked = 0;
    while checked < 250 {
        let groups = [1, 1, 2][rng.below(3)];
        let depthwise = rng.below(5) == 0;
        let (c_in, c_out, groups) = if depthwise {
            let c = 1 + rng.below(5);
            (c, c, c)
        } else {
            (
                groups * (1 + rng.below(4)),
                groups * (1 + rng.below(5)),
                groups,
            )
        };
        let c = Conv2dCase {
            p: Conv2dParams {
                stride: (1 + rng.below(3), 1 + rng.below(3)),
                padding: (rng.below(3), rng.below(3)),
                dilation: (1 + rng.below(2), 1 + rng.below(2)),
                groups,
            },
            batch: 1 + rng.below(2),
            c_in,
            h: rng.below(14),
            w: rng.below(14),
            c_out,
            kh: 1 + rng.below(4),
            kw: 1 + rng.below(4),
            bias: rng.below(2) == 0,
        };
        if conv2d_out_dims(&c.p, c.h, c.w, c.kh, c.kw).is_some() {
            check_conv2d(&mut rng, &c);
            checked += 1;
        }
    }
}

/// Audio-encoder-like downsampling: 3×3, stride 2, padding 1, and a 1×1 conv.
#[test]
fn conv2d_audio_downsampling() {
    let mut rng = Rng::new(22);
    let p = Conv2dParams {
        stride: (2, 2),
        padding: (1, 1),
        ..Default::default()
    };
    check_conv2d(
        &mut rng,
        &Conv2dCase {
            p,
            batch: 2,
            c_in: 8,
            h: 32,
            w: 51,
            c_out: 24,
            kh: 3,
            kw: 3,
            bias: true,
        },
    );
    let p = Conv2dParams::default();
    check_conv2d(
        &mut rng,
        &Conv2dCase {
            p,
            batch: 1,
            c_in: 16,
            h: 9,
            w: 13,
            c_out: 20,
            kh: 1,
            kw: 1,
            bias: true,
        },
    );
}

#[test]
fn conv2d_reference_hand_computed() {
    // 3×3 input 1..9, 2×2 kernel of ones: sums of each 2×2 window.
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let mut out = [0.0; 4];
    conv2d_with(
        Isa::Scalar,
        &Conv2dParams::default(),
        1,
        1,
        3,
        3,
        1,
        2,
        2,
        &x,
        &[1.0; 4],
        None,
        &mut out,
    );
    assert_eq!(out, [12.0, 16.0, 24.0, 28.0]);
    // Padding 1, stride 2, 1×1 kernel: the corners of the zero-padded 5×5 grid
    // at even positions: (-1,-1)=0, (-1,1)=0, (1,-1)=0, (1,1)=5.
    let p = Conv2dParams {
        stride: (2, 2),
        padding: (1, 1),
        ..Default::default()
    };
    let mut out = [0.0; 9];
    conv2d_with(
        Isa::Scalar,
        &p,
        1,
        1,
        3,
        3,
        1,
        1,
        1,
        &x,
        &[1.0],
        None,
        &mut out,
    );
    assert_eq!(out, [0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0]);
}

// ---------------------------------------------------------------- conv_transpose1d

#[derive(Clone, Debug)]
struct ConvTCase {
    p: ConvTranspose1dParams,
    batch: usize,
    c_in: usize,
    l_in: usize,
    c_out: usize,
    kernel: usize,
    bias: bool,
}

fn run_conv_t(isa: Isa, c: &ConvTCase, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let l_out = conv_transpose1d_out_len(&c.p, c.l_in, c.kernel).unwrap();
    let mut out = vec![f32::NAN; c.batch * c.c_out * l_out];
    conv_transpose1d_with(
        isa, &c.p, c.batch, c.c_in, c.l_in, c.c_out, c.kernel, x, w, b, &mut out,
    );
    out
}

fn check_conv_t(rng: &mut Rng, c: &ConvTCase) {
    let x = rng.vec(c.batch * c.c_in * c.l_in);
    let w = rng.vec(c.c_in * c.c_out / c.p.groups * c.kernel);
    let b = rng.vec(c.c_out);
    let b = c.bias.then_some(&b[..]);
    let want = run_conv_t(Isa::Scalar, c, &x, &w, b);
    for isa in Isa::available() {
        assert_close(
            &run_conv_t(isa, c, &x, &w, b),
            &want,
            ATOL,
            RTOL,
            &format!("{isa} {c:?}"),
        );
    }
}

#[test]
fn conv_transpose1d_variants_match_reference_random() {
    let mut rng = Rng::new(31);
    let mut checked = 0;
    while checked < 300 {
        let groups = [1, 1, 2, 3][rng.below(4)];
        let stride = 1 + rng.below(4);
        let c = ConvTCase {
            p: ConvTranspose1dParams {
                stride,
                padding: rng.below(4),
                output_padding: rng.below(stride),
                dilation: 1 + rng.below(2),
                groups,
            },
            batch: 1 + rng.below(3),
            c_in: groups * (1 + rng.below(4)),
            l_in: rng.below(40),
            c_out: groups * (1 + rng.below(5)),
            kernel: 1 + rng.below(8),
            bias: rng.below(3) > 0,
        };
        if conv_transpose1d_out_len(&c.p, c.l_in, c.kernel).is_some() {
            check_conv_t(&mut rng, &c);
            checked += 1;
        }
    }
}

/// code2wav-like upsampling (kernel = 2·stride, padding = stride/2), long enough
/// to need several input chunks, channels split across threads.
#[test]
fn conv_transpose1d_upsampling() {
    let mut rng = Rng::new(32);
    for (stride, c_in, c_out, l_in) in [(8, 32, 40, 300), (5, 16, 8, 77), (2, 64, 64, 400)] {
        let p = ConvTranspose1dParams {
            stride,
            padding: stride / 2,
            ..Default::default()
        };
        check_conv_t(
            &mut rng,
            &ConvTCase {
                p,
                batch: 1,
                c_in,
                l_in,
                c_out,
                kernel: 2 * stride,
                bias: true,
            },
        );
    }
}

/// A stride-2, kernel-2 transposed conv with weights `[1, 1]` repeats each input
/// twice (the inverse of a stride-2 subsampling); padding 1 trims one output at
/// each end.
#[test]
fn conv_transpose1d_reference_hand_computed() {
    let x = [1.0, 2.0, 3.0];
    let cases = [
        (
            ConvTranspose1dParams {
                stride: 2,
                ..Default::default()
            },
            vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
        ),
        (
            ConvTranspose1dParams {
                stride: 2,
                padding: 1,
                ..Default::default()
            },
            vec![1.0, 2.0, 2.0, 3.0],
        ),
        (
            ConvTranspose1dParams {
                stride: 2,
                output_padding: 1,
                ..Default::default()
            },
            vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 0.0],
        ),
    ];
    for (p, want) in cases {
        for isa in Isa::available() {
            let mut out = vec![f32::NAN; want.len()];
            conv_transpose1d_with(isa, &p, 1, 1, 3, 1, 2, &x, &[1.0, 1.0], None, &mut out);
            assert_eq!(out, want, "{isa} {p:?}");
        }
    }
    // Overlapping taps add up: stride 1, kernel [1, 2] gives x[o] + 2·x[o-1].
    let mut out = [0.0; 4];
    conv_transpose1d_with(
        Isa::Scalar,
        &Default::default(),
        1,
        1,
        3,
        1,
        2,
        &x,
        &[1.0, 2.0],
        Some(&[0.5]),
        &mut out,
    );
    assert_eq!(out, [1.5, 4.5, 7.5, 6.5]);
}

/// The transposed conv is the adjoint of the conv with the same weight tensor:
/// `<conv(x), y> == <x, conv_transpose(y)>`. Checks both references' index maps
/// (stride, padding, dilation, groups) against each other.
#[test]
fn references_are_adjoint() {
    let mut rng = Rng::new(33);
    for _ in 0..200 {
        let groups = 1 + rng.below(2);
        let (c_in, c_out) = (groups * (1 + rng.below(3)), groups * (1 + rng.below(3)));
        let (stride, padding, dilation, kernel) = (
            1 + rng.below(3),
            rng.below(3),
            1 + rng.below(2),
            1 + rng.below(4),
        );
        let l_in = 1 + rng.below(20);
        let conv_p = Conv1dParams {
            stride,
            padding_left: padding,
            padding_right: padding,
            dilation,
            groups,
        };
        let Some(l_out) = conv1d_out_len(&conv_p, l_in, kernel) else {
            continue;
        };
        // Pick output_padding so the transposed conv maps back to exactly l_in.
        let base = ConvTranspose1dParams {
            stride,
            padding,
            output_padding: 0,
            dilation,
            groups,
        };
        let Some(l_back) = conv_transpose1d_out_len(&base, l_out, kernel) else {
            continue;
        };
        let t_p = ConvTranspose1dParams {
            output_padding: l_in - l_back,
            ..base
        };

        let x = rng.vec(c_in * l_in);
        let y = rng.vec(c_out * l_out);
        let w = rng.vec(c_out * c_in / groups * kernel);
        let mut conv_x = vec![0.0; c_out * l_out];
        conv1d_with(
            Isa::Scalar,
            &conv_p,
            1,
            c_in,
            l_in,
            c_out,
            kernel,
            &x,
            &w,
            None,
            &mut conv_x,
        );
        let mut t_y = vec![0.0; c_in * l_in];
        conv_transpose1d_with(
            Isa::Scalar,
            &t_p,
            1,
            c_out,
            l_out,
            c_in,
            kernel,
            &y,
            &w,
            None,
            &mut t_y,
        );
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f32>();
        let (lhs, rhs) = (dot(&conv_x, &y), dot(&x, &t_y));
        assert!(
            (lhs - rhs).abs() <= 1e-3 * (1.0 + lhs.abs()),
            "{lhs} vs {rhs}: {conv_p:?} {t_p:?}"
        );
    }
}

// ---------------------------------------------------------------- sizes

#[test]
fn output_sizes() {
    let p = Conv1dParams {
        stride: 2,
        padding_left: 1,
        padding_right: 2,
        dilation: 2,
        groups: 1,
    };
    // (10 + 3 - 2*2 - 1)/2 + 1 = 5
    assert_eq!(conv1d_out_len(&p, 10, 3), Some(5));
    assert_eq!(conv1d_out_len(&Conv1dParams::default(), 2, 3), None);
    assert_eq!(conv1d_out_len(&Conv1dParams::default(), 3, 3), Some(1));
    assert_eq!(
        conv1d_out_len(
            &Conv1dParams {
                stride: 0,
                ..Default::default()
            },
            3,
            1
        ),
        None
    );
    assert_eq!(conv1d_out_len(&Conv1dParams::default(), 3, 0), None);
    assert_eq!(
        conv1d_out_len(
            &Conv1dParams {
                padding_left: usize::MAX,
                padding_right: 1,
                ..Default::default()
            },
            3,
            1
        ),
        None
    );
    assert_eq!(
        conv1d_out_len(
            &Conv1dParams {
                dilation: usize::MAX,
                ..Default::default()
            },
            3,
            3
        ),
        None
    );

    let p = Conv2dParams {
        stride: (2, 1),
        padding: (1, 0),
        dilation: (1, 1),
        groups: 1,
    };
    assert_eq!(conv2d_out_dims(&p, 7, 5, 3, 2), Some((4, 4)));
    assert_eq!(conv2d_out_dims(&p, 7, 1, 3, 2), None);

    let p = ConvTranspose1dParams {
        stride: 4,
        padding: 2,
        output_padding: 1,
        dilation: 1,
        groups: 1,
    };
    // (5-1)*4 - 4 + 7 + 1 + 1 = 21
    assert_eq!(conv_transpose1d_out_len(&p, 5, 8), Some(21));
    assert_eq!(conv_transpose1d_out_len(&p, 0, 8), None);
    let p = ConvTranspose1dParams {
        padding: 1,
        ..Default::default()
    };
    assert_eq!(conv_transpose1d_out_len(&p, 1, 2), None); // 2 - 2 = 0
    assert_eq!(conv_transpose1d_out_len(&p, 2, 2), Some(1));
}

#[test]
#[should_panic(expected = "groups must divide")]
fn rejects_bad_groups() {
    let p = Conv1dParams {
        groups: 2,
        ..Default::default()
    };
    conv1d(
        &p,
        1,
        3,
        4,
        2,
        1,
        &[0.0; 12],
        &[0.0; 3],
        None,
        &mut [0.0; 8],
    );
}

#[test]
#[should_panic(expected = "empty output")]
fn rejects_empty_output() {
    conv1d(
        &Conv1dParams::default(),
        1,
        1,
        2,
        1,
        3,
        &[0.0; 2],
        &[0.0; 3],
        None,
        &mut [],
    );
}

#[test]
#[should_panic(expected = "weight length")]
fn rejects_short_weight() {
    conv2d(
        &Conv2dParams::default(),
        1,
        1,
        2,
        2,
        1,
        2,
        2,
        &[0.0; 4],
        &[0.0; 3],
        None,
        &mut [0.0; 1],
    );
}

#[test]
#[should_panic(expected = "bias must have")]
fn rejects_short_bias() {
    conv_transpose1d(
        &Default::default(),
        1,
        1,
        2,
        2,
        1,
        &[0.0; 2],
        &[0.0; 2],
        Some(&[0.0]),
        &mut [0.0; 4],
    );
}

/// No batch, or no input channels (the output is then just the bias).
#[test]
fn degenerate_sizes() {
    let mut rng = Rng::new(41);
    for (batch, c_in) in [(0, 2), (2, 0)] {
        let p = Conv1dParams {
            padding_left: 1,
            padding_right: 1,
            ..Default::default()
        };
        let c = Conv1dCase {
            p,
            batch,
            c_in,
            l_in: 5,
            c_out: 3,
            kernel: 3,
            bias: true,
        };
        check_conv1d(&mut rng, &c);
        let p = Conv2dParams::default();
        check_conv2d(
            &mut rng,
            &Conv2dCase {
                p,
                batch,
                c_in,
                h: 3,
                w: 4,
                c_out: 3,
                kh: 2,
                kw: 2,
                bias: true,
            },
        );
        let p = ConvTranspose1dParams {
            stride: 2,
            ..Default::default()
        };
        check_conv_t(
            &mut rng,
            &ConvTCase {
                p,
                batch,
                c_in,
                l_in: 4,
                c_out: 3,
                kernel: 3,
                bias: true,
            },
        );
    }
}
