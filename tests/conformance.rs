//! One conformance suite for every backend: each op on random shapes (odd sizes,
//! strided views, every float dtype the backend takes) compared with the plain
//! references in `common::reference`. A backend joins with one line in
//! `backend_suite!` below; ops it does not support must fall back to the CPU and
//! still pass.

mod common;

use common::{assert_close, reference as r, tensor, Rng};
use omnirt::backend::{BinaryOp, MaskKind, ReduceOp, Rounding, UnaryOp};
use omnirt::{DType, Device, Tensor};

/// Which keys query i sees, for the reference.
type Visibility = Box<dyn Fn(usize, usize) -> bool>;

fn matmul_shapes(device: &Device) {
    let mut rng = Rng::new(1);
    for &(m, k, n) in &[
        (1, 1, 1),
        (1, 33, 7),
        (3, 17, 5),
        (7, 64, 31),
        (16, 100, 9),
        (33, 65, 47),
        (130, 40, 20),
    ] {
        let (a, av) = tensor(&mut rng, &[m, k], device);
        let (bt, btv) = tensor(&mut rng, &[n, k], device);
        let (b, bv) = tensor(&mut rng, &[k, n], device);
        let want_t = r::matmul(&av, &btv, m, k, n, true);
        assert_close(
            &a.matmul_t(&bt).unwrap().to_vec::<f32>().unwrap(),
            &want_t,
            1e-4,
            "matmul_t f32",
        );
        let want = r::matmul(&av, &bv, m, k, n, false);
        assert_close(
            &a.matmul(&b).unwrap().to_vec::<f32>().unwrap(),
            &want,
            1e-4,
            "matmul f32",
        );
        // A transposed view of a row-major weight is used without a copy.
        assert_close(
            &a.matmul(&bt.t().unwrap()).unwrap().to_vec::<f32>().unwrap(),
            &want_t,
            1e-4,
            "matmul view",
        );
        // 16-bit weights: compare with the reference on the rounded values.
        for dt in [DType::BF16, DType::F16] {
            let bq = bt.to_dtype(dt).unwrap();
            let rounded = bq.to_f32_vec().unwrap();
            let want = r::matmul(&av, &rounded, m, k, n, true);
            assert_close(
                &a.matmul_t(&bq).unwrap().to_vec::<f32>().unwrap(),
                &want,
                matmul_tolerance(device, dt, k),
                &format!("matmul_t {dt}"),
            );
        }
    }
}

/// Relative tolerance of a matmul with weights in `dt` over depth `k`: f32
/// accumulation everywhere, except f16 weights on chips that accumulate in fp16
/// (T-Head cores, as SHL does), where each of the k additions rounds to 11 bits.
fn matmul_tolerance(device: &Device, dt: DType, k: usize) -> f32 {
    let fp16_accumulate = device.profile().rvv.is_some_and(|c| c.fp16_accumulate);
    if dt == DType::F16
        && fp16_accumulate
        && device.backend().supports(
            &omnirt::backend::Op::MatMul { transpose_b: true },
            &[DType::F32, DType::F16],
        )
    {
        2e-3 * (k as f32).sqrt()
    } else {
        1e-4
    }
}

/// Every op a backend refuses runs on the CPU and is counted; every op it
/// accepts is not. Checked for a spread of ops on whatever backend this is.
fn fallbacks_follow_supports(shared: &Device) {
    use omnirt::backend::Op;
    // Counters are per device and other tests run concurrently on the shared
    // one, so count on a private device of the same backend.
    let device = &private_device(shared);
    let mut rng = Rng::new(12);
    let (x, _) = tensor(&mut rng, &[4, 33], device);
    let (w, _) = tensor(&mut rng, &[33], device);
    let (m, _) = tensor(&mut rng, &[5, 33], device);
    let f32s = |n: usize| vec![DType::F32; n];
    // (the op as the dispatcher sees it, its input dtypes, how to run it)
    type Case<'a> = (Op, Vec<DType>, Box<dyn Fn() + 'a>);
    let cases: Vec<Case> = vec![
        (
            Op::MatMul { transpose_b: true },
            f32s(2),
            Box::new(|| drop(x.matmul_t(&m).unwrap())),
        ),
        (
            Op::RmsNorm {
                eps: 1e-6,
                rounding: Rounding::None,
            },
            f32s(2),
            Box::new(|| drop(x.rms_norm(Some(&w), 1e-6).unwrap())),
        ),
        (
            Op::LayerNorm { eps: 1e-5 },
            f32s(2),
            Box::new(|| drop(x.layer_norm(Some(&w), None, 1e-5).unwrap())),
        ),
        (
            Op::Softmax,
            f32s(1),
            Box::new(|| drop(x.softmax().unwrap())),
        ),
        (
            Op::Unary(UnaryOp::Silu),
            f32s(1),
            Box::new(|| drop(x.unary(UnaryOp::Silu).unwrap())),
        ),
        (
            Op::Unary(UnaryOp::GeluTanh),
            f32s(1),
            Box::new(|| drop(x.unary(UnaryOp::GeluTanh).unwrap())),
        ),
        (
            Op::Binary(BinaryOp::Add),
            f32s(2),
            Box::new(|| drop(x.add(&w).unwrap())),
        ),
        (
            Op::SwiGlu,
            f32s(2),
            Box::new(|| drop(x.swiglu(&x).unwrap())),
        ),
        (
            Op::Reduce(ReduceOp::Sum),
            f32s(1),
            Box::new(|| drop(x.reduce(ReduceOp::Sum).unwrap())),
        ),
    ];
    for (op, dtypes, run) in cases {
        device.reset_stats();
        run();
        let stats = device.stats();
        let s = stats.ops.get(op.name()).copied().unwrap_or_default();
        let supported = device.backend().supports(&op, &dtypes);
        assert_eq!(s.calls, 1, "{}: {op:?} calls", device.name());
        assert_eq!(
            s.fallbacks,
            u64::from(!supported),
            "{}: {op:?} supported = {supported} but fallbacks = {}",
            device.name(),
            s.fallbacks
        );
    }
}

/// A new device on the same kind of backend as `d`, with its own counters.
fn private_device(d: &Device) -> Device {
    use omnirt::backend::{cpu::CpuBackend, thead::TheadBackend};
    use std::sync::Arc;
    match d.name().split_once(':') {
        None if d.name() == "cpu" => Device::from_backend(Arc::new(CpuBackend::new())),
        Some(("thead", id)) => Device::from_backend(Arc::new(TheadBackend::new(id).unwrap())),
        #[cfg(feature = "cuda")]
        Some(("cuda", n)) => Device::from_backend(Arc::new(
            omnirt::backend::cuda::CudaBackend::new(n.parse().unwrap()).unwrap(),
        )),
        _ => panic!("private_device: add a constructor for backend {}", d.name()),
    }
}

fn matmul_batched_and_strided(device: &Device) {
    let mut rng = Rng::new(2);
    let (b, m, k, n) = (3, 5, 12, 7);
    let (a, av) = tensor(&mut rng, &[b, m, k], device);
    let (w, wv) = tensor(&mut rng, &[k, n], device);
    let got = a.matmul(&w).unwrap().to_vec::<f32>().unwrap();
    for bi in 0..b {
        let want = r::matmul(&av[bi * m * k..(bi + 1) * m * k], &wv, m, k, n, false);
        assert_close(
            &got[bi * m * n..(bi + 1) * m * n],
            &want,
            1e-4,
            "batched broadcast",
        );
    }
    // Strided A: narrow columns of a wider matrix.
    let (wide, wide_v) = tensor(&mut rng, &[m, k + 5], device);
    let a2 = wide.narrow(1, 2, k).unwrap();
    let a2v: Vec<f32> = (0..m)
        .flat_map(|i| wide_v[i * (k + 5) + 2..i * (k + 5) + 2 + k].to_vec())
        .collect();
    let got = a2.matmul(&w).unwrap().to_vec::<f32>().unwrap();
    assert_close(
        &got,
        &r::matmul(&a2v, &wv, m, k, n, false),
        1e-4,
        "strided A",
    );
}

fn matmul_quantized(device: &Device) {
    let mut rng = Rng::new(3);
    for &(m, k, n) in &[(1, 32, 1), (1, 64, 9), (3, 128, 17), (9, 96, 33)] {
        let (a, av) = tensor(&mut rng, &[m, k], device);
        let (w, _) = tensor(&mut rng, &[n, k], device);
        for dt in [DType::Q8_0, DType::Q4_0] {
            let wq = w.to_dtype(dt).unwrap();
            let deq = wq.to_f32_vec().unwrap();
            let want = r::matmul(&av, &deq, m, k, n, true);
            // Activations are quantized to Q8_0 inside: allow for that.
            let got = a.matmul_t(&wq).unwrap().to_vec::<f32>().unwrap();
            let scale = (k as f32).sqrt() * 0.02;
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= scale,
                    "{dt} {m}x{k}x{n}: got {g}, want {w}"
                );
            }
        }
    }
}

fn attention_masks(device: &Device) {
    let mut rng = Rng::new(4);
    for &(b, hq, hkv, sq, d) in &[
        (1, 2, 1, 5, 8),
        (2, 4, 2, 7, 16),
        (1, 8, 1, 1, 72),
        (1, 3, 3, 9, 5),
    ] {
        let (q, qv) = tensor(&mut rng, &[b, hq, sq, d], device);
        let (k, kv) = tensor(&mut rng, &[b, hkv, sq, d], device);
        let (v, vv) = tensor(&mut rng, &[b, hkv, sq, d], device);
        let scale = 1.0 / (d as f32).sqrt();
        let cases: Vec<(MaskKind, Visibility)> = vec![
            (MaskKind::None, Box::new(|_, _| true)),
            (MaskKind::Causal { q_offset: 0 }, Box::new(|i, j| j <= i)),
            (
                MaskKind::SlidingWindow {
                    q_offset: 0,
                    window: 3,
                },
                Box::new(|i, j| j <= i && j + 3 > i),
            ),
            (
                MaskKind::Segments {
                    cu_seqlens: vec![0, sq / 2, sq],
                },
                Box::new(move |i, j| (i < sq / 2) == (j < sq / 2)),
            ),
        ];
        for (mask, vis) in cases {
            let got = Tensor::attention(&q, &k, &v, scale, mask.clone())
                .unwrap()
                .to_vec::<f32>()
                .unwrap();
            let want = r::attention(&qv, &kv, &vv, b, hq, hkv, sq, sq, d, scale, vis);
            assert_close(&got, &want, 1e-4, &format!("attention {mask:?}"));
        }
    }
}

fn attention_decode_on_cache_view(device: &Device) {
    // A KV cache of capacity 40 holding 23 positions; one query at position 22.
    let mut rng = Rng::new(5);
    let (hq, hkv, d, cap, len) = (4, 2, 24, 40, 23);
    let (kc, _) = tensor(&mut rng, &[1, hkv, cap, d], device);
    let (vc, _) = tensor(&mut rng, &[1, hkv, cap, d], device);
    let (q, qv) = tensor(&mut rng, &[1, hq, 1, d], device);
    let k = kc.narrow(2, 0, len).unwrap();
    let v = vc.narrow(2, 0, len).unwrap();
    for dt in [DType::F32, DType::BF16, DType::F16] {
        let (k, v) = (k.to_dtype(dt).unwrap(), v.to_dtype(dt).unwrap());
        let kr = k.to_f32_vec().unwrap();
        let vr = v.to_f32_vec().unwrap();
        let got = Tensor::attention(&q, &k, &v, 0.3, MaskKind::Causal { q_offset: len - 1 })
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        let want = r::attention(&qv, &kr, &vr, 1, hq, hkv, 1, len, d, 0.3, |_, _| true);
        assert_close(&got, &want, 1e-4, &format!("decode {dt}"));
    }
}

fn norms_softmax_rope(device: &Device) {
    let mut rng = Rng::new(6);
    for &(rows, d) in &[(1, 1), (3, 7), (5, 64), (2, 1000)] {
        let (x, xv) = tensor(&mut rng, &[rows, d], device);
        let (w, wv) = tensor(&mut rng, &[d], device);
        let (bias, bv) = tensor(&mut rng, &[d], device);
        assert_close(
            &x.rms_norm(Some(&w), 1e-6).unwrap().to_vec::<f32>().unwrap(),
            &r::rms_norm(&xv, &wv, d, 1e-6),
            1e-5,
            "rms_norm",
        );
        assert_close(
            &x.layer_norm(Some(&w), Some(&bias), 1e-5)
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            &r::layer_norm(&xv, &wv, &bv, d, 1e-5),
            1e-4,
            "layer_norm",
        );
        assert_close(
            &x.softmax().unwrap().to_vec::<f32>().unwrap(),
            &r::softmax(&xv, d),
            1e-5,
            "softmax",
        );
        // Strided input: a transposed view.
        let xt = x.t().unwrap();
        let xtv: Vec<f32> = (0..d)
            .flat_map(|j| (0..rows).map(|i| xv[i * d + j]).collect::<Vec<_>>())
            .collect();
        assert_close(
            &xt.softmax().unwrap().to_vec::<f32>().unwrap(),
            &r::softmax(&xtv, rows),
            1e-5,
            "softmax strided",
        );
    }
    for &(b, s, h, d, rr) in &[(1, 3, 2, 8, 8), (2, 5, 3, 10, 6), (1, 1, 4, 128, 128)] {
        let (x, xv) = tensor(&mut rng, &[b, s, h, d], device);
        let (cos, cv) = tensor(&mut rng, &[s, rr], device);
        let (sin, sv) = tensor(&mut rng, &[s, rr], device);
        let got = x
            .rope(&cos, &sin, Rounding::None)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        assert_close(&got, &r::rope(&xv, &cv, &sv, b, s, h, d, rr), 1e-5, "rope");
    }
}

fn elementwise(device: &Device) {
    let mut rng = Rng::new(7);
    let (x, xv) = tensor(&mut rng, &[3, 37], device);
    type Reference = fn(f32) -> f32;
    let checks: [(UnaryOp, Reference); 6] = [
        (UnaryOp::Silu, |v| v / (1.0 + (-v).exp())),
        (UnaryOp::Exp, f32::exp),
        (UnaryOp::Sigmoid, |v| 1.0 / (1.0 + (-v).exp())),
        (UnaryOp::GeluTanh, |v| {
            0.5 * v * (1.0 + (0.797_884_6 * (v + 0.044715 * v * v * v)).tanh())
        }),
        // The vision merger's and the audio tower's exact GELU.
        (UnaryOp::GeluErf, |v| {
            (0.5 * v as f64 * (1.0 + r::erf(v as f64 / std::f64::consts::SQRT_2))) as f32
        }),
        (UnaryOp::Tanh, f32::tanh),
    ];
    for (op, f) in checks {
        let want: Vec<f32> = xv.iter().map(|&v| f(v)).collect();
        assert_close(
            &x.unary(op).unwrap().to_vec::<f32>().unwrap(),
            &want,
            1e-5,
            &format!("{op:?}"),
        );
    }
    // Broadcasting: [3, 37] with [37], [3, 1], scalar, and [2, 3, 37] with [3, 37].
    let (row, rowv) = tensor(&mut rng, &[37], device);
    let (col, colv) = tensor(&mut rng, &[3, 1], device);
    let got = x.add(&row).unwrap().to_vec::<f32>().unwrap();
    let want: Vec<f32> = xv
        .iter()
        .enumerate()
        .map(|(i, v)| v + rowv[i % 37])
        .collect();
    assert_close(&got, &want, 1e-6, "add row");
    let got = x.mul(&col).unwrap().to_vec::<f32>().unwrap();
    let want: Vec<f32> = xv
        .iter()
        .enumerate()
        .map(|(i, v)| v * colv[i / 37])
        .collect();
    assert_close(&got, &want, 1e-6, "mul column");
    let got = x
        .binary_scalar(BinaryOp::Sub, 0.5)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_close(
        &got,
        &xv.iter().map(|v| v - 0.5).collect::<Vec<_>>(),
        1e-6,
        "sub scalar",
    );
    let (big, bigv) = tensor(&mut rng, &[2, 3, 37], device);
    let got = x.div(&big).unwrap().to_vec::<f32>().unwrap();
    let want: Vec<f32> = bigv
        .iter()
        .enumerate()
        .map(|(i, v)| xv[i % (3 * 37)] / v)
        .collect();
    assert_close(&got, &want, 1e-5, "div broadcast lhs");
    let (up, upv) = tensor(&mut rng, &[3, 37], device);
    let want: Vec<f32> = xv
        .iter()
        .zip(&upv)
        .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
        .collect();
    assert_close(
        &x.swiglu(&up).unwrap().to_vec::<f32>().unwrap(),
        &want,
        1e-5,
        "swiglu",
    );
    // Snake over [b, c, t].
    let (s, sv) = tensor(&mut rng, &[2, 3, 11], device);
    let (alpha, av) = tensor(&mut rng, &[3], device);
    let (beta, bv) = tensor(&mut rng, &[3], device);
    let want: Vec<f32> = sv
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let c = (i / 11) % 3;
            x + 1.0 / (bv[c].exp() + 1e-9) * (x * av[c].exp()).sin().powi(2)
        })
        .collect();
    assert_close(
        &s.snake(&alpha, &beta).unwrap().to_vec::<f32>().unwrap(),
        &want,
        1e-5,
        "snake",
    );
}

fn data_movement(device: &Device) {
    let mut rng = Rng::new(8);
    let (x, xv) = tensor(&mut rng, &[4, 6], device);
    // Cast round trips.
    let bf = x.to_dtype(DType::BF16).unwrap();
    let want: Vec<f32> = xv
        .iter()
        .map(|&v| half::bf16::from_f32(v).to_f32())
        .collect();
    assert_eq!(bf.to_f32_vec().unwrap(), want);
    let f16 = bf
        .to_dtype(DType::F16)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap();
    assert_close(&f16.to_vec::<f32>().unwrap(), &want, 1e-3, "bf16 -> f16");
    // Copy of a transposed view.
    let t = x.t().unwrap().contiguous().unwrap();
    let want: Vec<f32> = (0..6)
        .flat_map(|j| (0..4).map(|i| xv[i * 6 + j]).collect::<Vec<_>>())
        .collect();
    assert_eq!(t.to_vec::<f32>().unwrap(), want);
    // Gather rows, in float and quantized tables.
    let ids = Tensor::from_slice(&[3u32, 0, 3, 1], [2, 2], device).unwrap();
    let g = x.gather_rows(&ids).unwrap();
    assert_eq!(g.dims(), &[2, 2, 6]);
    let want: Vec<f32> = [3, 0, 3, 1]
        .iter()
        .flat_map(|&i| xv[i * 6..i * 6 + 6].to_vec())
        .collect();
    assert_eq!(g.to_vec::<f32>().unwrap(), want);
    let (table, _) = tensor(&mut rng, &[5, 64], device);
    let q = table.to_dtype(DType::Q8_0).unwrap();
    let deq = q.to_f32_vec().unwrap();
    let got = q
        .gather_rows(&Tensor::from_slice(&[4i64, 2], [2], device).unwrap())
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(
        got,
        [deq[256..320].to_vec(), deq[128..192].to_vec()].concat()
    );
    // Concat along a middle dimension, with a strided input.
    let (a, av) = tensor(&mut rng, &[2, 3, 4], device);
    let (b, bv) = tensor(&mut rng, &[2, 4, 3], device);
    let bt = b.transpose(1, 2).unwrap();
    let c = Tensor::cat(&[&a, &bt], 1).unwrap();
    assert_eq!(c.dims(), &[2, 6, 4]);
    let cv = c.to_vec::<f32>().unwrap();
    for bi in 0..2 {
        for i in 0..6 {
            for j in 0..4 {
                let want = if i < 3 {
                    av[(bi * 3 + i) * 4 + j]
                } else {
                    bv[(bi * 4 + j) * 3 + (i - 3)]
                };
                assert_eq!(cv[(bi * 6 + i) * 4 + j], want);
            }
        }
    }
}

fn convolutions(device: &Device) {
    let mut rng = Rng::new(9);
    for &(b, c_in, l, c_out, k, stride, pad, dil, groups) in &[
        (1, 1, 10, 1, 3, 1, (1, 1), 1, 1),
        (2, 4, 17, 6, 3, 2, (0, 2), 1, 2),
        (1, 8, 20, 8, 7, 1, (6, 0), 1, 8),
        (1, 3, 30, 5, 5, 1, (4, 4), 2, 1),
    ] {
        let (x, xv) = tensor(&mut rng, &[b, c_in, l], device);
        let (w, wv) = tensor(&mut rng, &[c_out, c_in / groups, k], device);
        let (bias, bv) = tensor(&mut rng, &[c_out], device);
        let got = x.conv1d(&w, Some(&bias), stride, pad, dil, groups).unwrap();
        let (want, l_out) = r::conv1d(
            &xv,
            &wv,
            Some(&bv),
            b,
            c_in,
            l,
            c_out,
            k,
            stride,
            pad,
            dil,
            groups,
        );
        assert_eq!(got.dims(), &[b, c_out, l_out]);
        assert_close(&got.to_vec::<f32>().unwrap(), &want, 1e-4, "conv1d");
    }
    for &(b, c_in, l, c_out, k, stride, pad, out_pad, groups) in &[
        (1, 2, 5, 3, 4, 2, 1, 0, 1),
        (2, 4, 7, 4, 10, 5, 0, 0, 2),
        (1, 3, 4, 3, 3, 3, 0, 2, 1),
    ] {
        let (x, xv) = tensor(&mut rng, &[b, c_in, l], device);
        let (w, wv) = tensor(&mut rng, &[c_in, c_out / groups, k], device);
        let got = x
            .conv_transpose1d(&w, None, stride, pad, out_pad, 1, groups)
            .unwrap();
        let (want, l_out) = r::conv_transpose1d(
            &xv, &wv, None, b, c_in, l, c_out, k, stride, pad, out_pad, 1, groups,
        );
        assert_eq!(got.dims(), &[b, c_out, l_out]);
        assert_close(
            &got.to_vec::<f32>().unwrap(),
            &want,
            1e-4,
            "conv_transpose1d",
        );
    }
    // conv2d: compare with conv1d over a height-1 image.
    let (x, xv) = tensor(&mut rng, &[1, 3, 1, 19], device);
    let (w, wv) = tensor(&mut rng, &[4, 3, 1, 3], device);
    let got = x.conv2d(&w, None, (1, 2), (0, 1), (1, 1), 1).unwrap();
    let (want, l_out) = r::conv1d(&xv, &wv, None, 1, 3, 19, 4, 3, 2, (1, 1), 1, 1);
    assert_eq!(got.dims(), &[1, 4, 1, l_out]);
    assert_close(&got.to_vec::<f32>().unwrap(), &want, 1e-4, "conv2d");
    // Real 2-D kernels: the audio tower's 3x3 stride-2 padding-1 downsampling
    // (on a mel chunk of odd size), and an asymmetric grouped case.
    for &(b, c_in, h, w_in, c_out, kh, kw, stride, pad, groups) in &[
        (2, 1, 13, 9, 5, 3, 3, (2, 2), (1, 1), 1),
        (1, 4, 7, 11, 6, 2, 3, (1, 2), (0, 1), 2),
    ] {
        let (x, xv) = tensor(&mut rng, &[b, c_in, h, w_in], device);
        let (w, wv) = tensor(&mut rng, &[c_out, c_in / groups, kh, kw], device);
        let (bias, bv) = tensor(&mut rng, &[c_out], device);
        let got = x
            .conv2d(&w, Some(&bias), stride, pad, (1, 1), groups)
            .unwrap();
        let (want, dims) = r::conv2d(
            &xv,
            &wv,
            &bv,
            [b, c_in, h, w_in],
            [c_out, kh, kw],
            stride,
            pad,
            groups,
        );
        assert_eq!(got.dims(), &dims);
        assert_close(&got.to_vec::<f32>().unwrap(), &want, 1e-4, "conv2d 2-D");
    }
}

fn reductions(device: &Device) {
    let mut rng = Rng::new(10);
    let (x, xv) = tensor(&mut rng, &[4, 9], device);
    let rows: Vec<&[f32]> = xv.chunks(9).collect();
    let sum: Vec<f32> = rows.iter().map(|r| r.iter().sum()).collect();
    let max: Vec<f32> = rows
        .iter()
        .map(|r| r.iter().cloned().fold(f32::MIN, f32::max))
        .collect();
    assert_close(
        &x.reduce(ReduceOp::Sum).unwrap().to_vec::<f32>().unwrap(),
        &sum,
        1e-5,
        "sum",
    );
    assert_close(
        &x.reduce(ReduceOp::Max).unwrap().to_vec::<f32>().unwrap(),
        &max,
        0.0,
        "max",
    );
    let am = x.argmax_last().unwrap().to_vec::<u32>().unwrap();
    for (r, &i) in rows.iter().zip(&am) {
        assert_eq!(r[i as usize], r.iter().cloned().fold(f32::MIN, f32::max));
    }
    let (vals, idx) = x.topk_last(3).unwrap();
    let (vals, idx) = (vals.to_vec::<f32>().unwrap(), idx.to_vec::<u32>().unwrap());
    for (ri, r) in rows.iter().enumerate() {
        let mut sorted: Vec<f32> = r.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(&vals[ri * 3..ri * 3 + 3], &sorted[..3]);
        for j in 0..3 {
            assert_eq!(r[idx[ri * 3 + j] as usize], vals[ri * 3 + j]);
        }
    }
}

fn bf16_activations(device: &Device) {
    // The same ops on bf16 tensors stay within bf16 rounding of the f32 result.
    let mut rng = Rng::new(11);
    let (x, _) = tensor(&mut rng, &[5, 64], device);
    let (w, _) = tensor(&mut rng, &[64], device);
    let xb = x.to_dtype(DType::BF16).unwrap();
    let wb = w.to_dtype(DType::BF16).unwrap();
    let got = xb.rms_norm(Some(&wb), 1e-6).unwrap();
    assert_eq!(got.dtype(), DType::BF16);
    let want = x
        .to_dtype(DType::BF16)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
        .rms_norm(Some(&wb.to_dtype(DType::F32).unwrap()), 1e-6)
        .unwrap();
    assert_close(
        &got.to_f32_vec().unwrap(),
        &want.to_vec::<f32>().unwrap(),
        1e-2,
        "bf16 rms_norm",
    );
}

macro_rules! backend_suite {
    ($($name:ident => $device:expr),* $(,)?) => {$(
        mod $name {
            use super::*;
            fn device() -> Option<Device> { $device }
            macro_rules! case {
                ($t:ident) => {
                    #[test]
                    fn $t() {
                        match device() {
                            Some(d) => super::$t(&d),
                            None => eprintln!("skipped: backend {} is not available on this machine", stringify!($name)),
                        }
                    }
                };
            }
            case!(matmul_shapes);
            case!(matmul_batched_and_strided);
            case!(matmul_quantized);
            case!(attention_masks);
            case!(attention_decode_on_cache_view);
            case!(norms_softmax_rope);
            case!(elementwise);
            case!(data_movement);
            case!(convolutions);
            case!(reductions);
            case!(bf16_activations);
            case!(fallbacks_follow_supports);
        }
    )*};
}

// T-Head profiles run everywhere: natively on a RISC-V core with RVV 1.0 at the
// profile's VLEN, else through the RVV kernels' model (C908 at VLEN 128 and 256,
// SG2044 at 128 with its caches, C930 at 256 without fp16 accumulation); the PPU
// has no kernels, so it checks the all-fallback path.
backend_suite! {
    cpu => Some(Device::cpu()),
    thead_c908_v128 => Some(Device::thead("c908-v128").unwrap()),
    thead_c908_v256 => Some(Device::thead("c908-v256").unwrap()),
    thead_c920v2 => Some(Device::thead("c920v2").unwrap()),
    thead_c930 => Some(Device::thead("c930").unwrap()),
    thead_ppu => Some(Device::thead("ppu").unwrap()),
    cuda => Device::cuda(0).ok(),
}
