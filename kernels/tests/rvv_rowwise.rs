//! RVV row-wise kernels (`omnirt_kernels::rvv::rowwise`): the model at VLEN 128
//! to 1024 against the scalar references, and — where this core runs RVV
//! natively (under `scripts/rvv-test.sh`) — native asm against the model bit
//! for bit (NaN included: both give RISC-V's canonical NaN).
//!
//! Tolerances versus the scalar references (which work in f64): binary and
//! rope are exact; silu/swiglu/softmax carry the vector exp's error plus a few
//! f32 roundings and pass at rtol 2e-6 (measured maxima are printed with
//! `--nocapture`: 2 ulp for silu and swiglu, 7 ulp for softmax, whose
//! reference keeps e^x and 1/Σ in f64); rms_norm
//! accumulates Σx² in f32 (rtol 2e-6 unrounded, one bf16/f16 step when
//! rounded, since a value can land on the other side of a rounding boundary).

use omnirt_kernels::binary::BinaryOp;
use omnirt_kernels::cast::Rounding;
use omnirt_kernels::rvv::rowwise;
use omnirt_kernels::rvv::{native_vlen, Engine, RvvTarget};
use omnirt_kernels::testing::Rng;
use omnirt_kernels::{act, binary, norm, rope, softmax, Isa};

const VLENS: [usize; 4] = [128, 256, 512, 1024];
const SIZES: [usize; 12] = [0, 1, 2, 3, 7, 13, 31, 32, 61, 257, 1031, 3001];
const ROUNDINGS: [Rounding; 3] = [Rounding::None, Rounding::Bf16, Rounding::F16];

/// The exp edge cases, as inputs of silu and as logits of softmax.
const EXP_EDGES: [f32; 16] = [
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    -100.0,
    88.7,
    88.72283,
    88.72284,
    -88.7,
    -87.5,
    -103.9,
    -104.5,
    0.0,
    -0.0,
    1e-30,
    -1e-30,
    20.0,
];

fn model(vlen: usize) -> RvvTarget {
    RvvTarget::new(vlen).unwrap().model_only()
}

/// The native target and its model twin, when this core runs RVV.
fn native_pair() -> Option<(RvvTarget, RvvTarget)> {
    let v = native_vlen()?;
    let t = RvvTarget::new(v).unwrap();
    assert_eq!(t.engine(), Engine::Native);
    Some((t, t.model_only()))
}

/// Random data with, when `specials`, a sprinkling of ±0, ±inf and NaN.
fn data(rng: &mut Rng, n: usize, scale: f32, specials: bool) -> Vec<f32> {
    (0..n)
        .map(|_| {
            if specials && rng.below(16) == 0 {
                [0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN][rng.below(5)]
            } else {
                rng.normal() * scale
            }
        })
        .collect()
}

/// Distance in representable f32 values (0 for equal values or two NaNs).
fn ulp_diff(a: f32, b: f32) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() {
            0
        } else {
            u64::MAX
        };
    }
    let key = |x: f32| {
        let b = i64::from(x.to_bits() as i32);
        if b < 0 {
            i64::from(i32::MIN) - b
        } else {
            b
        }
    };
    (key(a) - key(b)).unsigned_abs()
}

/// `got` within `atol + rtol·|want|` of `want` (NaN matches NaN); returns the
/// largest ulp distance seen on results ≥ 1e-30 in magnitude.
fn check_close(got: &[f32], want: &[f32], atol: f32, rtol: f32, what: &str) -> u64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = g == w || (g.is_nan() && w.is_nan()) || (g - w).abs() <= atol + rtol * w.abs();
        assert!(ok, "{what}: element {i}: got {g:e}, want {w:e}");
        if w.abs() >= 1e-30 {
            worst = worst.max(ulp_diff(g, w));
        }
    }
    worst
}

/// Equal values, or both NaN (the scalar references keep x86's NaN payloads).
fn check_same(got: &[f32], want: &[f32], what: &str) {
    check_close(got, want, 0.0, 0.0, what);
}

/// Bit for bit (native against model).
fn check_bits(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "{what}: element {i}: got {g:e} ({:#x}), want {w:e} ({:#x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}

// ---------------------------------------------------------------- binary

fn binary_cases(mut f: impl FnMut(BinaryOp, &[f32], &[f32], &str)) {
    let mut rng = Rng::new(11);
    for op in BinaryOp::ALL {
        assert!(rowwise::binary_supported(op), "{op:?}");
        for &n in &SIZES {
            let a = data(&mut rng, n, 3.0, true);
            let mut b = data(&mut rng, n, 3.0, true);
            // Ties (including ±0 against ∓0) for Max/Min.
            for i in (0..n).step_by(5) {
                b[i] = a[i];
            }
            for i in (2..n).step_by(11) {
                b[i] = -a[i];
            }
            f(op, &a, &b, &format!("{op:?} n={n}"));
        }
    }
}

#[test]
fn rvv_binary_model_equals_scalar() {
    for v in VLENS {
        let t = model(v);
        binary_cases(|op, a, b, what| {
            let mut want = vec![0.0; a.len()];
            binary::binary_with(Isa::Scalar, op, a, b, &mut want);
            let mut got = vec![1.0; a.len()];
            rowwise::binary(&t, op, a, b, &mut got);
            check_same(&got, &want, &format!("VLEN={v} {what}"));
        });
    }
}

#[test]
fn rvv_binary_row_broadcast_model_equals_scalar() {
    let mut rng = Rng::new(12);
    for v in VLENS {
        let t = model(v);
        for op in BinaryOp::ALL {
            for (rows, dim) in [(0, 0), (3, 1), (5, 7), (4, 33), (7, 129), (2, 1031)] {
                let a = data(&mut rng, rows * dim, 2.0, true);
                let b = data(&mut rng, dim, 2.0, true);
                let mut want = vec![0.0; a.len()];
                binary::binary_row_broadcast_with(Isa::Scalar, op, &a, &b, dim, &mut want);
                let mut got = vec![1.0; a.len()];
                rowwise::binary_row_broadcast(&t, op, &a, &b, dim, &mut got);
                check_same(&got, &want, &format!("VLEN={v} {op:?} {rows}x{dim}"));
            }
        }
    }
}

#[test]
#[should_panic(expected = "lengths differ")]
fn rvv_binary_panics_on_length_mismatch() {
    let mut out = [0.0; 3];
    rowwise::binary(&model(128), BinaryOp::Add, &[1.0; 3], &[1.0; 2], &mut out);
}

// ---------------------------------------------------------------- silu, swiglu

fn act_inputs(rng: &mut Rng) -> Vec<Vec<f32>> {
    let mut v: Vec<Vec<f32>> = SIZES.iter().map(|&n| data(rng, n, 4.0, false)).collect();
    v.push(EXP_EDGES.to_vec());
    // A sweep across exp's whole range, into the subnormal and overflow ends.
    v.push(
        (0..2003)
            .map(|i| -110.0 + 200.0 * i as f32 / 2002.0)
            .collect(),
    );
    v
}

#[test]
fn rvv_silu_swiglu_model_close_to_scalar() {
    let mut rng = Rng::new(21);
    let inputs = act_inputs(&mut rng);
    let (mut silu_ulp, mut swiglu_ulp) = (0, 0);
    for v in VLENS {
        let t = model(v);
        for x in &inputs {
            let n = x.len();
            let mut want = vec![0.0; n];
            act::silu_with(Isa::Scalar, x, &mut want);
            let mut got = vec![1.0; n];
            rowwise::silu(&t, x, &mut got);
            // silu(x) for x < −88.7 is below 1e-35: e^(−x) overflows first.
            let u = check_close(&got, &want, 1e-35, 2e-6, &format!("silu VLEN={v} n={n}"));
            silu_ulp = silu_ulp.max(u);

            let up = data(&mut rng, n, 2.0, false);
            act::swiglu_with(Isa::Scalar, x, &up, &mut want);
            rowwise::swiglu(&t, x, &up, &mut got);
            let u = check_close(&got, &want, 1e-35, 2e-6, &format!("swiglu VLEN={v} n={n}"));
            swiglu_ulp = swiglu_ulp.max(u);
        }
    }
    println!("rvv silu max {silu_ulp} ulp, swiglu max {swiglu_ulp} ulp");
    assert!(silu_ulp <= 4 && swiglu_ulp <= 5, "{silu_ulp} {swiglu_ulp}");
}

#[test]
fn rvv_silu_exp_edges() {
    let t = model(128);
    let x = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0, -0.0, 100.0];
    let mut y = [1.0; 6];
    rowwise::silu(&t, &x, &mut y);
    assert_eq!(y[0], f32::INFINITY);
    assert!(y[1].is_nan() && y[2].is_nan(), "{y:?}");
    assert_eq!(y[3].to_bits(), 0.0f32.to_bits());
    assert_eq!(y[4].to_bits(), (-0.0f32).to_bits());
    assert_eq!(y[5], 100.0);
}

// ---------------------------------------------------------------- rms_norm

fn norm_cases(mut f: impl FnMut(&[f32], Option<&[f32]>, usize, Rounding, &str)) {
    let mut rng = Rng::new(31);
    for dim in [1usize, 2, 7, 31, 64, 127, 1031, 3001] {
        let rows = if dim > 1000 { 2 } else { 5 };
        let x = data(&mut rng, rows * dim, 1.5, false);
        let w = data(&mut rng, dim, 1.0, false);
        for r in ROUNDINGS {
            f(&x, None, dim, r, &format!("dim={dim} {r:?} no weight"));
            f(&x, Some(&w), dim, r, &format!("dim={dim} {r:?} weight"));
        }
    }
    // Specials: a NaN row, an inf row, a zero row (eps only), huge and tiny.
    let dim = 37;
    let mut x = data(&mut rng, 5 * dim, 1.0, false);
    x[3] = f32::NAN;
    x[dim + 4] = f32::INFINITY;
    x[2 * dim..3 * dim].fill(0.0);
    x[3 * dim..4 * dim].iter_mut().for_each(|v| *v *= 1e18);
    x[4 * dim..].iter_mut().for_each(|v| *v *= 1e-18);
    for r in ROUNDINGS {
        f(&x, None, dim, r, &format!("specials {r:?}"));
    }
    f(&[], None, 0, Rounding::None, "empty");
    f(&[], None, 5, Rounding::Bf16, "no rows");
}

#[test]
fn rvv_rms_norm_model_close_to_scalar() {
    for v in VLENS {
        let t = model(v);
        norm_cases(|x, w, dim, r, what| {
            let mut want = vec![0.0; x.len()];
            norm::rms_norm_rows_with(Isa::Scalar, x, w, dim, 1e-6, r, &mut want);
            let mut got = vec![1.0; x.len()];
            rowwise::rms_norm_rows(&t, x, w, dim, 1e-6, r, &mut got);
            let rtol = match r {
                Rounding::None => 2e-6,
                Rounding::Bf16 => 1.0 / 128.0,
                Rounding::F16 => 1.0 / 1024.0,
            };
            check_close(&got, &want, 0.0, rtol, &format!("VLEN={v} {what}"));
        });
    }
}

#[test]
#[should_panic(expected = "weight must hold")]
fn rvv_rms_norm_panics_on_short_weight() {
    let mut out = [0.0; 4];
    rowwise::rms_norm_rows(
        &model(256),
        &[1.0; 4],
        Some(&[1.0; 3]),
        4,
        1e-6,
        Rounding::None,
        &mut out,
    );
}

// ---------------------------------------------------------------- softmax

fn softmax_cases(mut f: impl FnMut(&[f32], usize, &str)) {
    let mut rng = Rng::new(41);
    for dim in [1usize, 2, 3, 13, 32, 61, 257, 1031, 3001] {
        let rows = if dim > 1000 { 2 } else { 4 };
        let x = data(&mut rng, rows * dim, 3.0, false);
        f(&x, dim, &format!("dim={dim}"));
    }
    // Logits spread over [−110, 0]: results down into the subnormals.
    let x: Vec<f32> = (0..500).map(|i| -110.0 * i as f32 / 499.0).collect();
    f(&x, 500, "spread");
    // Every edge value as a row of its own next to ordinary logits.
    for (k, &e) in EXP_EDGES.iter().enumerate() {
        let mut x = data(&mut rng, 19, 2.0, false);
        x[k % 19] = e;
        f(&x, 19, &format!("edge {e}"));
    }
    f(&[f32::NEG_INFINITY; 9], 9, "all -inf");
    f(
        &[f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY, -1.0],
        4,
        "some -inf",
    );
    f(&[], 0, "empty");
}

#[test]
fn rvv_softmax_model_close_to_scalar() {
    let mut worst = 0;
    for v in VLENS {
        let t = model(v);
        softmax_cases(|x, dim, what| {
            let mut want = vec![0.0; x.len()];
            softmax::softmax_rows_with(Isa::Scalar, x, dim, &mut want);
            let mut got = vec![1.0; x.len()];
            rowwise::softmax_rows(&t, x, dim, &mut got);
            let u = check_close(&got, &want, 1e-44, 2e-6, &format!("VLEN={v} {what}"));
            worst = worst.max(u);
        });
    }
    println!("rvv softmax max {worst} ulp");
    assert!(worst <= 8, "{worst}");
}

// ---------------------------------------------------------------- rope

fn rope_cases(mut f: impl FnMut(&[f32], &[f32], &[f32], usize, usize, Rounding, &str)) {
    let mut rng = Rng::new(51);
    for (head_dim, rotary_dim) in [
        (1, 0),
        (2, 2),
        (8, 6),
        (64, 64),
        (128, 64),
        (130, 66),
        (1030, 1026),
    ] {
        for r in ROUNDINGS {
            let round = |v: Vec<f32>| v.into_iter().map(|x| r.apply(x)).collect::<Vec<_>>();
            let x = round(data(&mut rng, 3 * head_dim, 2.0, true));
            let cos = round((0..rotary_dim).map(|_| rng.uniform(-1.0, 1.0)).collect());
            let sin = round((0..rotary_dim).map(|_| rng.uniform(-1.0, 1.0)).collect());
            f(
                &x,
                &cos,
                &sin,
                head_dim,
                rotary_dim,
                r,
                &format!("{head_dim}/{rotary_dim} {r:?}"),
            );
        }
    }
}

#[test]
fn rvv_rope_half_model_equals_scalar() {
    for v in VLENS {
        let t = model(v);
        rope_cases(|x, cos, sin, hd, rd, r, what| {
            let mut want = vec![0.0; x.len()];
            rope::rope_half_rows_with(Isa::Scalar, x, cos, sin, hd, rd, r, &mut want);
            let mut got = vec![1.0; x.len()];
            rowwise::rope_half_rows(&t, x, cos, sin, hd, rd, r, &mut got);
            check_same(&got, &want, &format!("VLEN={v} {what}"));
        });
    }
}

#[test]
#[should_panic(expected = "is odd")]
fn rvv_rope_panics_on_odd_rotary_dim() {
    let mut out = [0.0; 4];
    rowwise::rope_half_rows(
        &model(128),
        &[1.0; 4],
        &[1.0; 3],
        &[0.0; 3],
        4,
        3,
        Rounding::None,
        &mut out,
    );
}

// ---------------------------------------------------------------- native == model

#[test]
fn rvv_native_equals_model_binary() {
    let Some((nt, mt)) = native_pair() else {
        return;
    };
    binary_cases(|op, a, b, what| {
        let (mut got, mut want) = (vec![1.0; a.len()], vec![2.0; a.len()]);
        rowwise::binary(&nt, op, a, b, &mut got);
        rowwise::binary(&mt, op, a, b, &mut want);
        check_bits(&got, &want, what);
    });
    let mut rng = Rng::new(13);
    for op in BinaryOp::ALL {
        let (rows, dim) = (5, 77);
        let a = data(&mut rng, rows * dim, 2.0, true);
        let b = data(&mut rng, dim, 2.0, true);
        let (mut got, mut want) = (vec![1.0; a.len()], vec![2.0; a.len()]);
        rowwise::binary_row_broadcast(&nt, op, &a, &b, dim, &mut got);
        rowwise::binary_row_broadcast(&mt, op, &a, &b, dim, &mut want);
        check_bits(&got, &want, &format!("broadcast {op:?}"));
    }
}

#[test]
fn rvv_native_equals_model_silu_swiglu() {
    let Some((nt, mt)) = native_pair() else {
        return;
    };
    let mut rng = Rng::new(22);
    let mut inputs = act_inputs(&mut rng);
    inputs.push(data(&mut rng, 999, 30.0, true));
    for x in &inputs {
        let n = x.len();
        let (mut got, mut want) = (vec![1.0; n], vec![2.0; n]);
        rowwise::silu(&nt, x, &mut got);
        rowwise::silu(&mt, x, &mut want);
        check_bits(&got, &want, &format!("silu n={n}"));
        let up = data(&mut rng, n, 2.0, true);
        rowwise::swiglu(&nt, x, &up, &mut got);
        rowwise::swiglu(&mt, x, &up, &mut want);
        check_bits(&got, &want, &format!("swiglu n={n}"));
    }
}

#[test]
fn rvv_native_equals_model_rms_norm() {
    let Some((nt, mt)) = native_pair() else {
        return;
    };
    norm_cases(|x, w, dim, r, what| {
        let (mut got, mut want) = (vec![1.0; x.len()], vec![2.0; x.len()]);
        rowwise::rms_norm_rows(&nt, x, w, dim, 1e-6, r, &mut got);
        rowwise::rms_norm_rows(&mt, x, w, dim, 1e-6, r, &mut want);
        check_bits(&got, &want, what);
    });
}

#[test]
fn rvv_native_equals_model_softmax() {
    let Some((nt, mt)) = native_pair() else {
        return;
    };
    softmax_cases(|x, dim, what| {
        let (mut got, mut want) = (vec![1.0; x.len()], vec![2.0; x.len()]);
        rowwise::softmax_rows(&nt, x, dim, &mut got);
        rowwise::softmax_rows(&mt, x, dim, &mut want);
        check_bits(&got, &want, what);
    });
}

#[test]
fn rvv_native_equals_model_rope() {
    let Some((nt, mt)) = native_pair() else {
        return;
    };
    rope_cases(|x, cos, sin, hd, rd, r, what| {
        let (mut got, mut want) = (vec![1.0; x.len()], vec![2.0; x.len()]);
        rowwise::rope_half_rows(&nt, x, cos, sin, hd, rd, r, &mut got);
        rowwise::rope_half_rows(&mt, x, cos, sin, hd, rd, r, &mut want);
        check_bits(&got, &want, what);
    });
}

/// Many large rows take the parallel path; it must give the serial result.
#[test]
fn rvv_parallel_rows_equal_serial_rows() {
    let mut rng = Rng::new(61);
    let (rows, dim) = (40, 2048);
    let x = data(&mut rng, rows * dim, 2.0, false);
    let t = model(256);
    let mut all = vec![0.0; x.len()];
    rowwise::softmax_rows(&t, &x, dim, &mut all);
    for r in 0..rows {
        let mut one = vec![0.0; dim];
        rowwise::softmax_rows(&t, &x[r * dim..(r + 1) * dim], dim, &mut one);
        check_bits(&all[r * dim..(r + 1) * dim], &one, &format!("row {r}"));
    }
}
