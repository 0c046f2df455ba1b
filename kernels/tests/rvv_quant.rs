//! RVV Q8_0 / Q4_0 kernels (`omnirt_kernels::rvv::quant`): the model at VLEN 128 to
//! 1024 against the scalar references (bit for bit: the block sums are exact integers
//! and the f32 scale accumulation follows the reference's order), and, where this core
//! runs RVV natively (under qemu-riscv64 via scripts/rvv-test.sh), the asm kernels
//! against the model bit for bit on the same cases.

use half::f16;
use omnirt_kernels::quant::{self as q, BlockQ4_0, BlockQ8_0, QK};
use omnirt_kernels::rvv::quant as rq;
use omnirt_kernels::rvv::{native_vlen, Engine, RvvTarget};
use omnirt_kernels::testing::Rng;
use omnirt_kernels::Isa;

const VLENS: [usize; 4] = [128, 256, 512, 1024];

fn models() -> Vec<RvvTarget> {
    VLENS
        .iter()
        .map(|&v| RvvTarget::new(v).unwrap().model_only())
        .collect()
}

/// The native target with its model twin, when this core runs RVV.
fn native() -> Option<(RvvTarget, RvvTarget)> {
    let t = RvvTarget::new(native_vlen()?).unwrap();
    assert_eq!(t.engine(), Engine::Native);
    Some((t, t.model_only()))
}

/// Scales that stress the f32 part: zero, f16 subnormals, extremes, both signs.
fn scale(rng: &mut Rng) -> f16 {
    match rng.below(10) {
        0 => f16::ZERO,
        1 => f16::from_bits(1), // smallest subnormal
        2 => f16::MIN_POSITIVE,
        3 => f16::MAX,
        4 => f16::MIN,
        5 => f16::from_f32(-rng.uniform(1e-4, 1e-2)),
        _ => f16::from_f32(rng.uniform(1e-4, 0.1)),
    }
}

fn blocks_q8(rng: &mut Rng, n: usize) -> Vec<BlockQ8_0> {
    (0..n)
        .map(|i| {
            let mut b = BlockQ8_0 {
                d: scale(rng),
                qs: [0; QK],
            };
            for (j, q) in b.qs.iter_mut().enumerate() {
                *q = match i % 5 {
                    0 => -128,                       // all −128: largest products
                    1 => [127, -128][j % 2],         // alternating extremes
                    _ => rng.below(256) as u8 as i8, // full range
                };
            }
            b
        })
        .collect()
}

fn blocks_q4(rng: &mut Rng, n: usize) -> Vec<BlockQ4_0> {
    (0..n)
        .map(|i| {
            let mut b = BlockQ4_0 {
                d: scale(rng),
                qs: [0; QK / 2],
            };
            for q in b.qs.iter_mut() {
                *q = match i % 4 {
                    0 => 0x00, // nibble 0 → −8 everywhere
                    1 => 0xF0, // 7 high, −8 low
                    _ => rng.below(256) as u8,
                };
            }
            b
        })
        .collect()
}

const COUNTS: [usize; 6] = [0, 1, 3, 7, 64, 131];

#[test]
fn rvv_vec_dots_match_the_scalar_reference_bit_for_bit() {
    let mut rng = Rng::new(11);
    for &nb in &COUNTS {
        let (a, b) = (blocks_q8(&mut rng, nb), blocks_q8(&mut rng, nb));
        let w4 = blocks_q4(&mut rng, nb);
        let want8 = q::vec_dot_q8_0_q8_0_with(Isa::Scalar, &a, &b);
        let want4 = q::vec_dot_q4_0_q8_0_with(Isa::Scalar, &w4, &b);
        for t in models() {
            let v = t.vlen_bits();
            let got8 = rq::vec_dot_q8_0_q8_0(&t, &a, &b);
            assert_eq!(got8.to_bits(), want8.to_bits(), "q8 VLEN {v} nb {nb}");
            let got4 = rq::vec_dot_q4_0_q8_0(&t, &w4, &b);
            assert_eq!(got4.to_bits(), want4.to_bits(), "q4 VLEN {v} nb {nb}");
        }
    }
}

#[test]
fn rvv_native_vec_dots_match_the_model_bit_for_bit() {
    let Some((t, m)) = native() else { return };
    let mut rng = Rng::new(12);
    for &nb in &COUNTS {
        let (a, b) = (blocks_q8(&mut rng, nb), blocks_q8(&mut rng, nb));
        let w4 = blocks_q4(&mut rng, nb);
        let (n8, m8) = (
            rq::vec_dot_q8_0_q8_0(&t, &a, &b),
            rq::vec_dot_q8_0_q8_0(&m, &a, &b),
        );
        assert_eq!(n8.to_bits(), m8.to_bits(), "q8 nb {nb}");
        let (n4, m4) = (
            rq::vec_dot_q4_0_q8_0(&t, &w4, &b),
            rq::vec_dot_q4_0_q8_0(&m, &w4, &b),
        );
        assert_eq!(n4.to_bits(), m4.to_bits(), "q4 nb {nb}");
        // And both against the reference.
        let want8 = q::vec_dot_q8_0_q8_0_with(Isa::Scalar, &a, &b);
        assert_eq!(n8.to_bits(), want8.to_bits(), "q8 native vs scalar nb {nb}");
    }
}

/// Rows (multiples of 32 values) that stress quantization: many scales, zero and
/// constant blocks, exact `.5` ties and one-ulp neighbours, a lone spike, subnormals.
fn tricky_rows(seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    let mut rows = Vec::new();
    for scale in [1e-6f32, 1e-3, 0.1, 1.0, 7.0, 300.0, 1e4, 1e6, 1e7] {
        rows.push(rng.vec(5 * QK).iter().map(|v| v * scale).collect());
    }
    let below = |v: f32| f32::from_bits(v.to_bits() - 1);
    let above = |v: f32| f32::from_bits(v.to_bits() + 1);
    let mut s: Vec<f32> = Vec::new();
    s.extend([0.0f32; QK]);
    s.extend([-0.0f32; QK]);
    s.extend([2.5f32; QK]);
    s.extend([-3.25f32; QK]);
    // amax 127 → d = 1: x·id lands on .5 ties (roundf rounds away from zero).
    s.extend((0..QK).map(|i| if i == 0 { 127.0 } else { i as f32 - 16.5 }));
    s.extend((0..QK).map(|i| if i == 0 { -127.0 } else { 16.5 - i as f32 }));
    let mut edges = vec![127.0, 0.5 - 2f32.powi(-25), -below(0.5), above(0.5)];
    for e in [0.5f32, 1.5, 2.5, 63.5, 126.5, 0.25, 100.5] {
        edges.extend([below(e), e, above(e), -e, -below(e)]);
    }
    edges.resize(2 * QK, 1.0);
    s.extend(edges);
    s.extend((0..QK).map(|i| {
        if i == 17 {
            -50.0
        } else {
            rng.uniform(-0.1, 0.1)
        }
    }));
    s.extend([1e-30f32; QK]);
    // Subnormal inputs: d subnormal or 0, id may overflow to inf (0·inf = NaN → 0).
    s.extend((0..QK).map(|i| f32::from_bits(i as u32 * 3) * if i % 2 == 0 { 1.0 } else { -1.0 }));
    s.extend((0..QK).map(|i| f32::MIN_POSITIVE * (i as f32 - 16.0) / 16.0));
    s.extend((0..QK).map(|i| f32::MAX * (i as f32 - 16.0) / 16.0));
    rows.push(s);
    rows
}

fn quantize(f: impl Fn(&[f32], &mut [BlockQ8_0]), x: &[f32]) -> Vec<BlockQ8_0> {
    let mut out = vec![BlockQ8_0::default(); x.len() / QK];
    f(x, &mut out);
    out
}

#[test]
fn rvv_quantize_row_q8_0_matches_the_scalar_reference_bit_for_bit() {
    let mut rows = tricky_rows(21);
    rows.push(Vec::new());
    rows.push(Rng::new(22).vec(70 * QK)); // crosses a 64-block chunk
    for x in &rows {
        let want = quantize(|x, o| q::quantize_row_q8_0_with(Isa::Scalar, x, o), x);
        for t in models() {
            let got = quantize(|x, o| rq::quantize_row_q8_0(&t, x, o), x);
            assert_eq!(got, want, "VLEN {}", t.vlen_bits());
        }
        if let Some((t, _)) = native() {
            let got = quantize(|x, o| rq::quantize_row_q8_0(&t, x, o), x);
            assert_eq!(got, want, "native VLEN {}", t.vlen_bits());
        }
    }
}

#[test]
fn rvv_native_quantize_matches_the_model_on_non_finite_input() {
    let Some((t, m)) = native() else { return };
    let mut x = Rng::new(23).vec(4 * QK);
    x[3] = f32::INFINITY;
    x[40] = f32::NAN;
    x[70] = f32::NEG_INFINITY;
    x[96..128].fill(f32::NAN);
    let got = quantize(|x, o| rq::quantize_row_q8_0(&t, x, o), &x);
    let want = quantize(|x, o| rq::quantize_row_q8_0(&m, x, o), &x);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.qs, w.qs);
        assert_eq!(g.d.to_bits(), w.d.to_bits());
    }
}

/// (m, n, k, lda pad, ldc pad): m = 1, 2, odd, and more than one activation tile
/// (26 rows of 128 blocks); n odd and large enough for several rayon tasks.
const GEMM_CASES: [(usize, usize, usize, usize, usize); 6] = [
    (1, 7, 64, 0, 0),
    (1, 100, 4096, 0, 0),
    (2, 33, 96, 5, 3),
    (5, 13, 320, 1, 2),
    (29, 9, 4096, 3, 1),
    (3, 5, 0, 2, 1),
];

type Gemm<W> = fn(usize, usize, usize, &[f32], usize, &[W], &mut [f32], usize);
type RvvGemm<W> = fn(&RvvTarget, usize, usize, usize, &[f32], usize, &[W], &mut [f32], usize);

/// Runs `f` on C filled with a sentinel and checks the padding is left alone.
fn run_gemm(m: usize, n: usize, ldc: usize, f: impl FnOnce(&mut [f32])) -> Vec<f32> {
    let sentinel = -7.25f32;
    let mut c = vec![sentinel; m * ldc];
    f(&mut c);
    for row in c.chunks(ldc) {
        assert!(
            row[n..].iter().all(|&v| v == sentinel),
            "ldc padding written"
        );
    }
    c
}

fn check_gemm<W: Copy>(
    seed: u64,
    make: fn(&mut Rng, usize) -> Vec<W>,
    reference: Gemm<W>,
    rvv: RvvGemm<W>,
) {
    let mut rng = Rng::new(seed);
    for (m, n, k, pa, pc) in GEMM_CASES {
        let (lda, ldc) = (k + pa, n + pc);
        let a: Vec<f32> = (0..m * lda).map(|_| rng.normal() * 3.0).collect();
        let w = make(&mut rng, n * (k / QK));
        let want = run_gemm(m, n, ldc, |c| reference(m, n, k, &a, lda, &w, c, ldc));
        let bits = |c: &[f32]| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for t in models() {
            let got = run_gemm(m, n, ldc, |c| rvv(&t, m, n, k, &a, lda, &w, c, ldc));
            let what = format!("VLEN {} m {m} n {n} k {k}", t.vlen_bits());
            assert_eq!(bits(&got), bits(&want), "{what}");
        }
        if let Some((t, model)) = native() {
            let got = run_gemm(m, n, ldc, |c| rvv(&t, m, n, k, &a, lda, &w, c, ldc));
            let mdl = run_gemm(m, n, ldc, |c| rvv(&model, m, n, k, &a, lda, &w, c, ldc));
            assert_eq!(bits(&got), bits(&mdl), "native vs model m {m} n {n} k {k}");
            assert_eq!(
                bits(&got),
                bits(&want),
                "native vs scalar m {m} n {n} k {k}"
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn scalar_gemm_q8_0(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    w: &[BlockQ8_0],
    c: &mut [f32],
    ldc: usize,
) {
    q::gemm_q8_0_with(Isa::Scalar, m, n, k, a, lda, w, c, ldc)
}

#[allow(clippy::too_many_arguments)]
fn scalar_gemm_q4_0(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    w: &[BlockQ4_0],
    c: &mut [f32],
    ldc: usize,
) {
    q::gemm_q4_0_with(Isa::Scalar, m, n, k, a, lda, w, c, ldc)
}

#[test]
fn rvv_gemm_q8_0_matches_the_scalar_reference_bit_for_bit() {
    check_gemm(31, blocks_q8, scalar_gemm_q8_0, rq::gemm_q8_0);
}

#[test]
fn rvv_gemm_q4_0_matches_the_scalar_reference_bit_for_bit() {
    check_gemm(32, blocks_q4, scalar_gemm_q4_0, rq::gemm_q4_0);
}

#[test]
fn rvv_gemm_with_no_rows_or_columns_writes_nothing() {
    let t = RvvTarget::new(256).unwrap().model_only();
    let w: Vec<BlockQ8_0> = Vec::new();
    let mut c = vec![1.0f32; 4];
    rq::gemm_q8_0(&t, 0, 0, 64, &[], 64, &w, &mut c, 4);
    rq::gemm_q8_0(&t, 2, 0, 64, &[0.0; 128], 64, &w, &mut c, 2);
    assert_eq!(c, [1.0; 4]);
}

fn t128() -> RvvTarget {
    RvvTarget::new(128).unwrap()
}

#[test]
#[should_panic(expected = "not a multiple of 32")]
fn rvv_gemm_rejects_k_not_a_multiple_of_32() {
    let w = vec![BlockQ4_0::default(); 2];
    let mut c = vec![0.0; 2];
    rq::gemm_q4_0(&t128(), 1, 2, 40, &[0.0; 40], 40, &w, &mut c, 2);
}

#[test]
#[should_panic(expected = "w holds 3 blocks")]
fn rvv_gemm_rejects_a_wrong_weight_length() {
    let w = vec![BlockQ8_0::default(); 3];
    let mut c = vec![0.0; 2];
    rq::gemm_q8_0(&t128(), 1, 2, 64, &[0.0; 64], 64, &w, &mut c, 2);
}

#[test]
#[should_panic(expected = "c is too short")]
fn rvv_gemm_rejects_a_short_c() {
    let w = vec![BlockQ8_0::default(); 4];
    let mut c = vec![0.0; 3];
    rq::gemm_q8_0(&t128(), 2, 2, 64, &[0.0; 128], 64, &w, &mut c, 2);
}

#[test]
#[should_panic(expected = "rows differ in length")]
fn rvv_vec_dot_rejects_rows_of_different_lengths() {
    let (w, x) = (vec![BlockQ4_0::default(); 2], vec![BlockQ8_0::default(); 3]);
    rq::vec_dot_q4_0_q8_0(&t128(), &w, &x);
}

#[test]
#[should_panic(expected = "must be 32 × out.len()")]
fn rvv_quantize_rejects_a_bad_length() {
    let mut out = vec![BlockQ8_0::default(); 2];
    rq::quantize_row_q8_0(&t128(), &[0.0; 63], &mut out);
}
