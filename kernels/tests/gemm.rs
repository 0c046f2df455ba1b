//! Every GEMM variant against the scalar reference: tiny and odd shapes, shapes
//! spanning many cache blocks, strided operands, all three weight types, both B
//! layouts, and different thread counts.

use half::{bf16, f16};
use omnirt_kernels::blocking::CacheInfo;
use omnirt_kernels::gemm::{
    gemm_f32, gemm_f32_bf16, gemm_f32_bf16_with, gemm_f32_f16, gemm_f32_f16_with, gemm_f32_with,
};
use omnirt_kernels::testing::{assert_close, Rng};
use omnirt_kernels::Isa;
use proptest::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Weights {
    F32,
    Bf16,
    F16,
}

const ALL_WEIGHTS: [Weights; 3] = [Weights::F32, Weights::Bf16, Weights::F16];

/// One product to test: shape, B layout, and extra elements per row of each operand.
#[derive(Clone, Copy, Debug)]
struct Case {
    m: usize,
    n: usize,
    k: usize,
    b_transposed: bool,
    pad_a: usize,
    pad_b: usize,
    pad_c: usize,
}

impl Case {
    fn new(m: usize, n: usize, k: usize, b_transposed: bool) -> Case {
        Case {
            m,
            n,
            k,
            b_transposed,
            pad_a: 0,
            pad_b: 0,
            pad_c: 0,
        }
    }

    fn padded(self, pad_a: usize, pad_b: usize, pad_c: usize) -> Case {
        Case {
            pad_a,
            pad_b,
            pad_c,
            ..self
        }
    }

    fn lda(&self) -> usize {
        self.k + self.pad_a
    }

    fn ldb(&self) -> usize {
        (if self.b_transposed { self.k } else { self.n }) + self.pad_b
    }

    fn ldc(&self) -> usize {
        self.n + self.pad_c
    }
}

/// Generated operands of a case; B is kept as f32 values exactly representable in
/// every weight type under test.
struct Operands {
    a: Vec<f32>,
    b: Vec<f32>,
}

fn operands(case: &Case, weights: Weights, rng: &mut Rng) -> Operands {
    let b_rows = if case.b_transposed { case.n } else { case.k };
    // A few extra elements past the last row: kernels must not depend on them.
    let a = rng.vec(case.m * case.lda() + 3);
    let b = rng
        .vec(b_rows * case.ldb() + 3)
        .into_iter()
        .map(|x| round_to(weights, x))
        .collect();
    Operands { a, b }
}

fn round_to(weights: Weights, x: f32) -> f32 {
    match weights {
        Weights::F32 => x,
        Weights::Bf16 => bf16::from_f32(x).to_f32(),
        Weights::F16 => f16::from_f32(x).to_f32(),
    }
}

/// Runs one variant; C starts as NaN (it must be overwritten, and its padding and
/// tail left alone) and is returned whole.
fn run(
    isa: Option<Isa>,
    caches: &CacheInfo,
    weights: Weights,
    case: &Case,
    ops: &Operands,
) -> Vec<f32> {
    let Case {
        m,
        n,
        k,
        b_transposed: bt,
        ..
    } = *case;
    let (lda, ldb, ldc) = (case.lda(), case.ldb(), case.ldc());
    let mut c = vec![f32::NAN; m * ldc + 2];
    let a = &ops.a;
    match weights {
        Weights::F32 => match isa {
            Some(isa) => gemm_f32_with(isa, caches, m, n, k, a, lda, &ops.b, ldb, bt, &mut c, ldc),
            None => gemm_f32(caches, m, n, k, a, lda, &ops.b, ldb, bt, &mut c, ldc),
        },
        Weights::Bf16 => {
            let b: Vec<bf16> = ops.b.iter().map(|&x| bf16::from_f32(x)).collect();
            match isa {
                Some(isa) => {
                    gemm_f32_bf16_with(isa, caches, m, n, k, a, lda, &b, ldb, bt, &mut c, ldc)
                }
                None => gemm_f32_bf16(caches, m, n, k, a, lda, &b, ldb, bt, &mut c, ldc),
            }
        }
        Weights::F16 => {
            let b: Vec<f16> = ops.b.iter().map(|&x| f16::from_f32(x)).collect();
            match isa {
                Some(isa) => {
                    gemm_f32_f16_with(isa, caches, m, n, k, a, lda, &b, ldb, bt, &mut c, ldc)
                }
                None => gemm_f32_f16(caches, m, n, k, a, lda, &b, ldb, bt, &mut c, ldc),
            }
        }
    }
    c
}

/// Tolerance for a k-term f32 dot product of O(1) values whose summation order
/// differs between variants (blocking, vector lanes, FMA).
fn tolerance(k: usize) -> (f32, f32) {
    (2e-6 * (k as f32 + 8.0), 1e-5)
}

/// Compares `isa` with the scalar reference on one case.
fn check(isa: Isa, caches: &CacheInfo, weights: Weights, case: Case, rng: &mut Rng) {
    let ops = operands(&case, weights, rng);
    let want = run(Some(Isa::Scalar), caches, weights, &case, &ops);
    let got = run(Some(isa), caches, weights, &case, &ops);
    let (atol, rtol) = tolerance(case.k);
    assert_close(
        &got,
        &want,
        atol,
        rtol,
        &format!("{isa} {weights:?} {case:?}"),
    );
    if case.m > 0 && case.n > 0 {
        assert!(
            want[..case.n].iter().all(|x| x.is_finite()),
            "C not overwritten: {case:?}"
        );
    }
}

fn simd_variants() -> Vec<Isa> {
    Isa::available()
        .into_iter()
        .filter(|&i| i != Isa::Scalar)
        .collect()
}

/// Caches so small that modest shapes need many kc, mc and nc blocks.
fn tiny_caches() -> CacheInfo {
    CacheInfo {
        l1d: 4 << 10,
        l2: 16 << 10,
        l3: 64 << 10,
        vector_bits: 256,
    }
}

#[test]
fn every_small_shape_matches_scalar() {
    let sizes = [0, 1, 2, 3, 5, 7, 13, 17];
    let caches = CacheInfo::default();
    let mut rng = Rng::new(1);
    for isa in simd_variants() {
        for weights in ALL_WEIGHTS {
            for bt in [false, true] {
                for m in sizes {
                    for n in sizes {
                        for k in sizes {
                            check(isa, &caches, weights, Case::new(m, n, k, bt), &mut rng);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn odd_medium_shapes_match_scalar() {
    let sizes = [1, 4, 6, 31, 33, 65];
    let caches = CacheInfo::default();
    let mut rng = Rng::new(2);
    for isa in simd_variants() {
        for weights in ALL_WEIGHTS {
            for bt in [false, true] {
                for m in sizes {
                    for n in sizes {
                        let k = [7, 33, 65, 130][rng.below(4)];
                        check(isa, &caches, weights, Case::new(m, n, k, bt), &mut rng);
                    }
                }
            }
        }
    }
}

#[test]
fn shapes_spanning_many_blocks_match_scalar() {
    // With tiny caches: kc = 64, mc = 30, nc = 128 for a 6×16 tile (8×12 similar).
    let shapes = [
        (67, 141, 150),
        (100, 33, 131),
        (5, 300, 257),
        (13, 17, 200),
        (61, 259, 65),
        (31, 16, 64),
        (1, 700, 300),
        (3, 517, 129),
        (4, 1000, 90),
        (2, 45, 1000),
    ];
    let caches = tiny_caches();
    let mut rng = Rng::new(3);
    for isa in simd_variants() {
        for weights in ALL_WEIGHTS {
            for bt in [false, true] {
                for (m, n, k) in shapes {
                    check(isa, &caches, weights, Case::new(m, n, k, bt), &mut rng);
                }
            }
        }
    }
}

#[test]
fn strided_operands_match_scalar() {
    let caches = tiny_caches();
    let mut rng = Rng::new(4);
    for isa in simd_variants() {
        for weights in ALL_WEIGHTS {
            for bt in [false, true] {
                for (m, n, k) in [
                    (1, 37, 19),
                    (3, 70, 45),
                    (4, 9, 8),
                    (9, 50, 70),
                    (40, 35, 129),
                ] {
                    for (pa, pb, pc) in [(1, 0, 0), (0, 3, 0), (0, 0, 5), (7, 9, 11)] {
                        check(
                            isa,
                            &caches,
                            weights,
                            Case::new(m, n, k, bt).padded(pa, pb, pc),
                            &mut rng,
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn thread_count_does_not_change_results() {
    let cases = [
        (Weights::Bf16, Case::new(1, 1024, 300, true)),
        (Weights::F32, Case::new(2, 700, 300, false)),
        (Weights::F16, Case::new(4, 333, 517, true).padded(3, 1, 2)),
        (Weights::F32, Case::new(64, 200, 200, false)),
        (Weights::F32, Case::new(77, 190, 201, true)),
        (Weights::Bf16, Case::new(37, 301, 129, true)),
        // Tall and narrow: split over rows of C.
        (Weights::F32, Case::new(600, 40, 100, false)),
        (Weights::F16, Case::new(333, 17, 257, true)),
        // Few, very long weight rows.
        (Weights::F32, Case::new(1, 3, 40000, true)),
    ];
    let mut rng = Rng::new(5);
    for (weights, case) in cases {
        let ops = operands(&case, weights, &mut rng);
        for caches in [CacheInfo::default(), tiny_caches()] {
            let want = run(Some(Isa::Scalar), &caches, weights, &case, &ops);
            let mut results = Vec::new();
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                results.push(pool.install(|| run(None, &caches, weights, &case, &ops)));
            }
            let (atol, rtol) = tolerance(case.k);
            assert_close(
                &results[0],
                &want,
                atol,
                rtol,
                &format!("{weights:?} {case:?}"),
            );
            // Splits never change any element's summation order: bitwise equal.
            let same = results[0]
                .iter()
                .zip(&results[1])
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "1 vs 3 threads differ: {weights:?} {case:?}");
        }
    }
}

#[test]
fn unavailable_isa_falls_back_to_scalar() {
    let mut rng = Rng::new(6);
    let case = Case::new(9, 21, 17, true);
    for isa in Isa::ALL {
        check(isa, &CacheInfo::default(), Weights::F32, case, &mut rng);
    }
}

#[test]
#[should_panic(expected = "A has")]
fn short_a_panics() {
    let mut c = vec![0.0; 4];
    gemm_f32(
        &CacheInfo::default(),
        2,
        2,
        3,
        &[0.0; 5],
        3,
        &[0.0; 6],
        2,
        false,
        &mut c,
        2,
    );
}

#[test]
#[should_panic(expected = "B has")]
fn short_b_panics() {
    let mut c = vec![0.0; 4];
    gemm_f32(
        &CacheInfo::default(),
        2,
        2,
        3,
        &[0.0; 6],
        3,
        &[0.0; 5],
        3,
        true,
        &mut c,
        2,
    );
}

#[test]
#[should_panic(expected = "C has")]
fn short_c_panics() {
    let mut c = vec![0.0; 3];
    gemm_f32(
        &CacheInfo::default(),
        2,
        2,
        3,
        &[0.0; 6],
        3,
        &[0.0; 6],
        2,
        false,
        &mut c,
        2,
    );
}

#[test]
#[should_panic(expected = "ldc")]
fn overlapping_c_rows_panic() {
    let mut c = vec![0.0; 8];
    gemm_f32(
        &CacheInfo::default(),
        2,
        3,
        1,
        &[0.0; 2],
        1,
        &[0.0; 3],
        3,
        false,
        &mut c,
        2,
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_cases_match_scalar(
        m in 0usize..40,
        n in 0usize..80,
        k in 0usize..150,
        bt in any::<bool>(),
        pads in (0usize..4, 0usize..4, 0usize..4),
        weights in 0usize..3,
        seed in any::<u64>(),
    ) {
        let case = Case::new(m, n, k, bt).padded(pads.0, pads.1, pads.2);
        let mut rng = Rng::new(seed);
        for isa in simd_variants() {
            check(isa, &tiny_caches(), ALL_WEIGHTS[weights], case, &mut rng);
        }
    }
}
