//! Q8_0 / Q4_0 kernels: every variant this host runs against the scalar reference, the
//! ggml byte layout, round-trip error bounds, and GEMM against a dequantized matmul.

use half::f16;
use omnirt_kernels::quant::*;
use omnirt_kernels::testing::{assert_close, Rng};
use omnirt_kernels::Isa;
use proptest::prelude::*;

/// Rows of 32-value blocks that stress quantization: ordinary data at many scales,
/// all-zero, constant and tie-producing blocks, and mixed-sign equal magnitudes.
fn tricky_rows(seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    let mut rows = Vec::new();
    for scale in [1e-6f32, 1e-3, 0.1, 1.0, 7.0, 300.0, 1e4, 1e6] {
        rows.push(rng.vec(8 * QK).iter().map(|v| v * scale).collect());
    }
    let mut special = Vec::new();
    special.extend([0.0f32; QK]); // zero block
    special.extend([-0.0f32; QK]); // negative zeros
    special.extend([2.5f32; QK]); // constant
    special.extend([-3.25f32; QK]);
    // amax 127 → d = 1, so x·id lands exactly on .5 ties for roundf.
    special.extend((0..QK).map(|i| if i == 0 { 127.0 } else { i as f32 - 16.5 }));
    // d = 1 again, with values one ulp around the rounding boundaries.
    let below = |v: f32| f32::from_bits(v.to_bits() - 1);
    let above = |v: f32| f32::from_bits(v.to_bits() + 1);
    let edges = [0.5f32, 1.5, 2.5, 63.5, 126.5, 0.25];
    special.extend([
        127.0,
        0.5 - 2f32.powi(-25),
        -below(0.5),
        above(0.5),
        -below(1.5),
        above(2.5),
    ]);
    special.extend(edges.iter().flat_map(|&e| [below(e), e, above(e), -e]));
    special.extend([1e-30, -1e-30]);
    // max −8 → Q4_0 d = 1, so x·id + 8.5 hits integers and half-integers.
    special.extend((0..QK).map(|i| {
        if i == 3 {
            -8.0
        } else {
            (i as f32 - 16.0) * 0.5
        }
    }));
    // Equal magnitudes of both signs: Q4_0 keeps the sign of the first one.
    special.extend((0..QK).map(|i| if i % 2 == 0 { 4.0 } else { -4.0 }));
    special.extend((0..QK).map(|i| if i % 2 == 0 { -4.0 } else { 4.0 }));
    // A single spike among small values.
    special.extend((0..QK).map(|i| {
        if i == 17 {
            -50.0
        } else {
            rng.uniform(-0.1, 0.1)
        }
    }));
    rows.push(special);
    rows
}

fn q8(isa: Isa, x: &[f32]) -> Vec<BlockQ8_0> {
    let mut b = vec![BlockQ8_0::default(); x.len() / QK];
    quantize_row_q8_0_with(isa, x, &mut b);
    b
}

fn q4(isa: Isa, x: &[f32]) -> Vec<BlockQ4_0> {
    let mut b = vec![BlockQ4_0::default(); x.len() / QK];
    quantize_row_q4_0_with(isa, x, &mut b);
    b
}

fn deq8(isa: Isa, b: &[BlockQ8_0]) -> Vec<f32> {
    let mut x = vec![0.0; b.len() * QK];
    dequantize_row_q8_0_with(isa, b, &mut x);
    x
}

fn deq4(isa: Isa, b: &[BlockQ4_0]) -> Vec<f32> {
    let mut x = vec![0.0; b.len() * QK];
    dequantize_row_q4_0_with(isa, b, &mut x);
    x
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn q8_0_layout_matches_ggml() {
    let x: Vec<f32> = (0..QK).map(|i| i as f32).collect();
    for isa in Isa::available() {
        let b = q8(isa, &x);
        // d = 31/127; q = roundf(i · 127/31).
        let d = f16::from_f32(31.0 / 127.0);
        let bytes = bytemuck::bytes_of(&b[0]);
        assert_eq!(bytes.len(), 34);
        assert_eq!(
            &bytes[..2],
            &d.to_bits().to_le_bytes(),
            "{isa}: scale first, little-endian"
        );
        let want: Vec<u8> = (0..QK)
            .map(|i| ((i as f32 * 127.0 / 31.0).round() as i8) as u8)
            .collect();
        assert_eq!(&bytes[2..], &want[..], "{isa}");
        assert_eq!(&bytes[2..6], &[0, 4, 8, 12], "{isa}"); // 1·127/31 = 4.097, 2·… = 8.19, 3·… = 12.29
        assert_eq!(bytes[33], 127, "{isa}");
        // Casting raw bytes back gives the same block (what GGUF loading does).
        assert_eq!(bytemuck::cast_slice::<u8, BlockQ8_0>(bytes)[0], b[0]);
    }
}

#[test]
fn q4_0_layout_matches_ggml() {
    // Values −16..15: max magnitude is −16 (first), so d = −16 / −8 = 2 and id = 0.5.
    let x: Vec<f32> = (0..QK).map(|i| i as f32 - 16.0).collect();
    for isa in Isa::available() {
        let b = q4(isa, &x);
        let bytes = bytemuck::bytes_of(&b[0]);
        assert_eq!(bytes.len(), 18);
        assert_eq!(&bytes[..2], &[0x00, 0x40], "{isa}: d = 2.0 as f16 0x4000");
        // nibble(v) = min(15, trunc(v/2 + 8.5)); element j low, element j + 16 high.
        let nib = |v: f32| ((v * 0.5 + 8.5) as u8).min(15);
        let want: Vec<u8> = (0..16).map(|j| nib(x[j]) | nib(x[j + 16]) << 4).collect();
        assert_eq!(&bytes[2..], &want[..], "{isa}");
        assert_eq!(bytes[2], 0x80, "{isa}: −16 → 0 low, 0 → 8 high");
        assert_eq!(
            bytes[17], 0xF8,
            "{isa}: −1 → 8 low, 15 → 15 (clamped from 16) high"
        );
        assert_eq!(deq4(isa, &b)[16], 0.0);
        assert_eq!(bytemuck::cast_slice::<u8, BlockQ4_0>(bytes)[0], b[0]);
    }
}

#[test]
fn quantize_and_dequantize_match_scalar_bit_for_bit() {
    let mut rows = tricky_rows(1);
    rows.push(Rng::new(2).vec(QK).iter().map(|v| v * 1e7).collect()); // Q8_0 d overflows f16
    for x in &rows {
        let (b8, b4) = (q8(Isa::Scalar, x), q4(Isa::Scalar, x));
        let (x8, x4) = (deq8(Isa::Scalar, &b8), deq4(Isa::Scalar, &b4));
        for isa in Isa::available() {
            assert_eq!(q8(isa, x), b8, "{isa}: quantize_row_q8_0");
            assert_eq!(q4(isa, x), b4, "{isa}: quantize_row_q4_0");
            assert_eq!(
                bits(&deq8(isa, &b8)),
                bits(&x8),
                "{isa}: dequantize_row_q8_0"
            );
            assert_eq!(
                bits(&deq4(isa, &b4)),
                bits(&x4),
                "{isa}: dequantize_row_q4_0"
            );
        }
    }
}

#[test]
fn round_trip_error_is_bounded_by_the_scale() {
    // f16 keeps 11 significant bits: the stored d differs from the exact one by ≤ 2^-11 · d.
    let f16_slack = 1.0 / 2048.0;
    for x in tricky_rows(3).iter().skip(2).take(5) {
        for isa in Isa::available() {
            let b8 = q8(isa, x);
            let y8 = deq8(isa, &b8);
            for (blk, (xb, yb)) in b8.iter().zip(x.chunks(QK).zip(y8.chunks(QK))) {
                let d = blk.d.to_f32().abs();
                let bound = d * (0.5 + 128.0 * f16_slack);
                for (v, y) in xb.iter().zip(yb) {
                    assert!((v - y).abs() <= bound, "{isa}: q8_0 {v} → {y}, d = {d}");
                }
            }
            let b4 = q4(isa, x);
            let y4 = deq4(isa, &b4);
            for (blk, (xb, yb)) in b4.iter().zip(x.chunks(QK).zip(y4.chunks(QK))) {
                let d = blk.d.to_f32().abs();
                let bound = d * (1.0 + 9.0 * f16_slack);
                for (v, y) in xb.iter().zip(yb) {
                    assert!((v - y).abs() <= bound, "{isa}: q4_0 {v} → {y}, d = {d}");
                }
            }
        }
    }
}

/// Σ |w_i · x_i| over both rows, the scale of any float reordering error.
fn dot_magnitude(w: &[f32], x: &[f32]) -> f32 {
    w.iter().zip(x).map(|(a, b)| (a * b).abs()).sum()
}

#[test]
fn vec_dots_match_scalar() {
    let mut rng = Rng::new(4);
    for blocks in [1usize, 2, 3, 4, 5, 7, 8, 9, 31, 128] {
        for scale in [1e-3f32, 1.0, 100.0] {
            let mut w: Vec<f32> = rng.vec(blocks * QK).iter().map(|v| v * scale).collect();
            let x = rng.vec(blocks * QK);
            w[..QK].fill(0.0); // a zero block among the others
            let xq = q8(Isa::Scalar, &x);
            let (w8, w4) = (q8(Isa::Scalar, &w), q4(Isa::Scalar, &w));
            let want8 = vec_dot_q8_0_q8_0_with(Isa::Scalar, &w8, &xq);
            let want4 = vec_dot_q4_0_q8_0_with(Isa::Scalar, &w4, &xq);
            let xd = deq8(Isa::Scalar, &xq);
            let tol8 = 1e-5 * dot_magnitude(&deq8(Isa::Scalar, &w8), &xd);
            let tol4 = 1e-5 * dot_magnitude(&deq4(Isa::Scalar, &w4), &xd);
            for isa in Isa::available() {
                let got8 = vec_dot_q8_0_q8_0_with(isa, &w8, &xq);
                let got4 = vec_dot_q4_0_q8_0_with(isa, &w4, &xq);
                assert_close(
                    &[got8],
                    &[want8],
                    tol8,
                    0.0,
                    &format!("{isa} q8_0·q8_0, {blocks} blocks"),
                );
                assert_close(
                    &[got4],
                    &[want4],
                    tol4,
                    0.0,
                    &format!("{isa} q4_0·q8_0, {blocks} blocks"),
                );
            }
        }
    }
}

#[test]
fn vec_dot_q8_0_handles_extreme_weights() {
    // Weights of −128 (possible in foreign GGUF files) against ±127 activations.
    let mut w = vec![
        BlockQ8_0 {
            d: f16::from_f32(0.5),
            qs: [-128; QK]
        };
        3
    ];
    w[1].qs = [127; QK];
    let mut x = vec![
        BlockQ8_0 {
            d: f16::from_f32(0.25),
            qs: [127; QK]
        };
        3
    ];
    x[2].qs = [-127; QK];
    let want = vec_dot_q8_0_q8_0_with(Isa::Scalar, &w, &x);
    for isa in Isa::available() {
        assert_eq!(vec_dot_q8_0_q8_0_with(isa, &w, &x), want, "{isa}");
    }
}

/// A weight matrix in both formats with the f32 values it stands for.
struct Weights {
    q8: Vec<BlockQ8_0>,
    q4: Vec<BlockQ4_0>,
    f8: Vec<f32>,
    f4: Vec<f32>,
}

fn weights(rng: &mut Rng, n: usize, k: usize) -> Weights {
    let mut w = rng.vec(n * k);
    if n > 1 {
        w[k..k + QK].fill(0.0);
    }
    let (q8, q4) = (q8(Isa::Scalar, &w), q4(Isa::Scalar, &w));
    let (f8, f4) = (deq8(Isa::Scalar, &q8), deq4(Isa::Scalar, &q4));
    Weights { q8, q4, f8, f4 }
}

/// `C = A · Wᵀ` for dequantized W, A rows quantized to Q8_0 and back as the kernel does,
/// in f64; plus the tolerance of each value (float reordering in f32).
fn reference(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    wf: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let (mut c, mut tol) = (vec![0.0; m * n], vec![0.0; m * n]);
    for i in 0..m {
        let aq = deq8(Isa::Scalar, &q8(Isa::Scalar, &a[i * lda..i * lda + k]));
        for j in 0..n {
            let wr = &wf[j * k..(j + 1) * k];
            c[i * n + j] = aq
                .iter()
                .zip(wr)
                .map(|(&x, &y)| x as f64 * y as f64)
                .sum::<f64>() as f32;
            tol[i * n + j] = 2e-5 * dot_magnitude(&aq, wr) + 1e-6;
        }
    }
    (c, tol)
}

type Gemm<W> = fn(Isa, usize, usize, usize, &[f32], usize, &[W], &mut [f32], usize);

/// Runs `gemm` with padded strides and checks C and that the padding is untouched.
#[allow(clippy::too_many_arguments)]
fn check_gemm<W>(
    isa: Isa,
    gemm: Gemm<W>,
    m: usize,
    n: usize,
    k: usize,
    pad: usize,
    w: &[W],
    wf: &[f32],
    seed: u64,
) {
    let (lda, ldc) = (k + pad, n + pad);
    let a = Rng::new(seed).vec(m * lda);
    let mut c = vec![f32::NAN; (m - 1) * ldc + n + pad];
    gemm(isa, m, n, k, &a, lda, w, &mut c, ldc);
    let (want, tol) = reference(m, n, k, &a, lda, wf);
    for i in 0..m {
        let what = format!("{isa} m={m} n={n} k={k} row {i}");
        for j in 0..n {
            let (g, r, t) = (c[i * ldc + j], want[i * n + j], tol[i * n + j]);
            assert!(
                (g - r).abs() <= t,
                "{what} col {j}: got {g}, want {r} (tol {t})"
            );
        }
        assert!(
            c[i * ldc + n..(i * ldc + ldc).min(c.len())]
                .iter()
                .all(|v| v.is_nan()),
            "{what}: wrote padding"
        );
    }
}

#[test]
fn gemm_matches_dequantized_matmul() {
    let mut rng = Rng::new(5);
    for k in [32, 64, 96, 224, 4096] {
        for n in [1usize, 7, 33] {
            let w = weights(&mut rng, n, k);
            for m in [1usize, 2, 3, 5, 9, 17] {
                for isa in Isa::available() {
                    let pad = if m % 2 == 1 { 3 } else { 0 };
                    check_gemm(isa, gemm_q8_0_with, m, n, k, pad, &w.q8, &w.f8, m as u64);
                    check_gemm(isa, gemm_q4_0_with, m, n, k, pad, &w.q4, &w.f4, m as u64);
                }
            }
        }
    }
}

#[test]
fn gemm_tiles_many_activation_rows_over_long_rows() {
    // k = 14336 keeps only a few quantized A rows per L2 tile, so m = 21 spans several.
    let (m, n, k) = (21, 5, 14336);
    let w = weights(&mut Rng::new(6), n, k);
    for isa in Isa::available() {
        check_gemm(isa, gemm_q8_0_with, m, n, k, 1, &w.q8, &w.f8, 7);
        check_gemm(isa, gemm_q4_0_with, m, n, k, 1, &w.q4, &w.f4, 7);
    }
}

#[test]
fn gemm_error_from_activation_quantization_is_bounded() {
    // Against the unquantized A: each activation moves by at most half its block's scale.
    let (m, n, k) = (3, 9, 256);
    let w = weights(&mut Rng::new(8), n, k);
    let a = Rng::new(9).vec(m * k);
    let mut c = vec![0.0; m * n];
    gemm_q8_0(m, n, k, &a, k, &w.q8, &mut c, n);
    for i in 0..m {
        let ar = &a[i * k..(i + 1) * k];
        let aq = q8(Isa::Scalar, ar);
        for j in 0..n {
            let wr = &w.f8[j * k..(j + 1) * k];
            let exact: f64 = ar.iter().zip(wr).map(|(&x, &y)| x as f64 * y as f64).sum();
            let bound: f32 = aq
                .iter()
                .zip(wr.chunks(QK))
                .map(|(blk, wb)| blk.d.to_f32() * 0.51 * wb.iter().map(|v| v.abs()).sum::<f32>())
                .sum();
            let err = (c[i * n + j] as f64 - exact).abs() as f32;
            assert!(
                err <= bound + 1e-4,
                "row {i} col {j}: error {err} > {bound}"
            );
        }
    }
}

#[test]
fn gemm_results_do_not_depend_on_the_pool_size() {
    // n and k large enough that the work is split into several tasks.
    let (n, k) = (101, 4096);
    let w = weights(&mut Rng::new(10), n, k);
    for m in [1, 5] {
        let a = Rng::new(11).vec(m * k);
        let run = |threads: usize, q4: bool| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut c = vec![0.0; m * n];
            pool.install(|| {
                if q4 {
                    gemm_q4_0(m, n, k, &a, k, &w.q4, &mut c, n)
                } else {
                    gemm_q8_0(m, n, k, &a, k, &w.q8, &mut c, n)
                }
            });
            bits(&c)
        };
        assert_eq!(run(1, false), run(3, false), "q8_0, m = {m}");
        assert_eq!(run(1, true), run(3, true), "q4_0, m = {m}");
    }
}

#[test]
fn gemm_with_empty_dimensions() {
    let w = weights(&mut Rng::new(12), 3, 64);
    let mut c = vec![1.0; 6];
    gemm_q8_0(0, 3, 64, &[], 64, &w.q8, &mut c, 3);
    gemm_q4_0(2, 0, 64, &[0.0; 128], 64, &[], &mut c, 3);
    assert!(c.iter().all(|&v| v == 1.0));
    gemm_q8_0(2, 3, 0, &[], 0, &[], &mut c, 3);
    assert_eq!(c, [0.0; 6]);
}

#[test]
#[should_panic(expected = "multiple of 32")]
fn gemm_rejects_k_not_a_multiple_of_32() {
    gemm_q8_0(
        1,
        1,
        48,
        &[0.0; 48],
        48,
        &[BlockQ8_0::default(); 2],
        &mut [0.0],
        1,
    );
}

#[test]
#[should_panic(expected = "too short")]
fn gemm_rejects_short_a() {
    let w = [BlockQ4_0::default(); 4];
    gemm_q4_0(2, 2, 64, &[0.0; 100], 64, &w, &mut [0.0; 4], 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn quantize_matches_scalar_for_any_finite_input(
        x in (1usize..5).prop_flat_map(|blocks| prop::collection::vec(-1e5f32..1e5, blocks * QK)),
        shrink in 0u32..20,
    ) {
        let x: Vec<f32> = x.iter().map(|v| v / (1u32 << shrink) as f32).collect();
        let (b8, b4) = (q8(Isa::Scalar, &x), q4(Isa::Scalar, &x));
        for isa in Isa::available() {
            prop_assert_eq!(&q8(isa, &x), &b8);
            prop_assert_eq!(&q4(isa, &x), &b4);
        }
    }
}
