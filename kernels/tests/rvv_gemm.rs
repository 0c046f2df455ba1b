//! The RVV GEMM/GEMV (`omnirt_kernels::rvv::gemm`): its model at VLEN 128..1024
//! against the scalar reference (all weight types, both B layouts, padded strides,
//! shapes from empty to many cache blocks, f16 accumulation on and off), the
//! native asm against the model bit for bit where this core runs RVV (under
//! `scripts/rvv-test.sh`), the cache-derived blocking, and thread independence.

use half::{bf16, f16};
use omnirt_kernels::blocking::CacheInfo;
use omnirt_kernels::gemm::{gemm_f32_bf16_with, gemm_f32_f16_with, gemm_f32_with};
use omnirt_kernels::rvv::gemm::{blocking, MR};
use omnirt_kernels::rvv::{gemm, native_vlen, native_zvfh, RvvTarget, RvvWeights};
use omnirt_kernels::testing::{assert_close, Rng};
use omnirt_kernels::Isa;

const VLENS: [usize; 4] = [128, 256, 512, 1024];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Weights {
    F32,
    Bf16,
    F16,
}

const ALL_WEIGHTS: [Weights; 3] = [Weights::F32, Weights::Bf16, Weights::F16];

#[derive(Clone, Copy, Debug)]
struct Case {
    m: usize,
    n: usize,
    k: usize,
    bt: bool,
    pad_a: usize,
    pad_b: usize,
    pad_c: usize,
}

impl Case {
    fn new(m: usize, n: usize, k: usize, bt: bool) -> Case {
        Case {
            m,
            n,
            k,
            bt,
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
        (if self.bt { self.k } else { self.n }) + self.pad_b
    }

    fn ldc(&self) -> usize {
        self.n + self.pad_c
    }
}

/// A as f32; B in every storage type with the same values.
struct Operands {
    a: Vec<f32>,
    b32: Vec<f32>,
    b16: Vec<bf16>,
    h16: Vec<f16>,
}

fn operands(case: &Case, weights: Weights, rng: &mut Rng) -> Operands {
    let b_rows = if case.bt { case.n } else { case.k };
    let a = rng.vec(case.m * case.lda() + 3);
    let b32: Vec<f32> = rng
        .vec(b_rows * case.ldb() + 3)
        .into_iter()
        .map(|x| match weights {
            Weights::F32 => x,
            Weights::Bf16 => bf16::from_f32(x).to_f32(),
            Weights::F16 => f16::from_f32(x).to_f32(),
        })
        .collect();
    let b16 = b32.iter().map(|&x| bf16::from_f32(x)).collect();
    let h16 = b32.iter().map(|&x| f16::from_f32(x)).collect();
    Operands { a, b32, b16, h16 }
}

/// C starts as NaN (must be overwritten; padding and tail left alone).
fn run_rvv(t: &RvvTarget, w: Weights, case: &Case, ops: &Operands) -> Vec<f32> {
    let mut c = vec![f32::NAN; case.m * case.ldc() + 2];
    let b = match w {
        Weights::F32 => RvvWeights::F32(&ops.b32),
        Weights::Bf16 => RvvWeights::Bf16(&ops.b16),
        Weights::F16 => RvvWeights::F16(&ops.h16),
    };
    let (m, n, k) = (case.m, case.n, case.k);
    let (lda, ldb, ldc) = (case.lda(), case.ldb(), case.ldc());
    gemm(t, m, n, k, &ops.a, lda, b, ldb, case.bt, &mut c, ldc);
    c
}

/// The scalar reference on `a` (which the f16-accumulate checks pass pre-rounded).
fn run_ref(w: Weights, case: &Case, a: &[f32], ops: &Operands) -> Vec<f32> {
    let mut c = vec![f32::NAN; case.m * case.ldc() + 2];
    let caches = CacheInfo::default();
    let (m, n, k, bt) = (case.m, case.n, case.k, case.bt);
    let (lda, ldb, ldc) = (case.lda(), case.ldb(), case.ldc());
    let s = Isa::Scalar;
    match w {
        Weights::F32 => gemm_f32_with(s, &caches, m, n, k, a, lda, &ops.b32, ldb, bt, &mut c, ldc),
        Weights::Bf16 => {
            gemm_f32_bf16_with(s, &caches, m, n, k, a, lda, &ops.b16, ldb, bt, &mut c, ldc)
        }
        Weights::F16 => {
            gemm_f32_f16_with(s, &caches, m, n, k, a, lda, &ops.h16, ldb, bt, &mut c, ldc)
        }
    }
    c
}

/// f32 accumulation: a k-term dot product of O(1) values in another order.
fn tolerance(k: usize) -> (f32, f32) {
    (2e-6 * (k as f32 + 8.0), 1e-5)
}

/// f16 accumulation: each of the k steps rounds the running sum to 11 bits.
fn tolerance_f16(k: usize) -> (f32, f32) {
    (2e-3 * (k as f32 + 2.0), 2e-3)
}

fn check_model(t: &RvvTarget, w: Weights, case: Case, rng: &mut Rng) {
    let ops = operands(&case, w, rng);
    let got = run_rvv(t, w, &case, &ops);
    let what = format!("rvv model VLEN={} {w:?} {case:?}", t.vlen_bits());
    if w == Weights::F16 && t.fp16_accumulate {
        // The model rounds A to f16 first; the reference then sees the same A.
        let a16: Vec<f32> = ops.a.iter().map(|&x| f16::from_f32(x).to_f32()).collect();
        let want = run_ref(w, &case, &a16, &ops);
        let (atol, rtol) = tolerance_f16(case.k);
        assert_close(&got, &want, atol, rtol, &what);
    } else {
        let want = run_ref(w, &case, &ops.a, &ops);
        let (atol, rtol) = tolerance(case.k);
        assert_close(&got, &want, atol, rtol, &what);
    }
    if case.m > 0 && case.n > 0 {
        assert!(
            got[..case.n].iter().all(|x| x.is_finite()),
            "{what}: C not overwritten"
        );
    }
}

/// Caches so small that modest shapes need many kc, mc and nc blocks.
fn tiny_caches() -> CacheInfo {
    CacheInfo {
        l1d: 4 << 10,
        l2: 16 << 10,
        l3: 64 << 10,
        vector_bits: 128,
    }
}

fn targets(fp16_accumulate: bool, caches: CacheInfo) -> Vec<RvvTarget> {
    VLENS
        .iter()
        .map(|&v| {
            RvvTarget::new(v)
                .unwrap()
                .with_caches(caches)
                .with_fp16_accumulate(fp16_accumulate)
                .model_only()
        })
        .collect()
}

#[test]
fn rvv_model_small_shapes_match_scalar() {
    let mut rng = Rng::new(11);
    for t in targets(false, CacheInfo::default()) {
        for w in ALL_WEIGHTS {
            for bt in [false, true] {
                for m in [0, 1, 3, 5, 13] {
                    for n in [0, 1, 7, 17] {
                        for k in [0, 1, 5, 13] {
                            check_model(&t, w, Case::new(m, n, k, bt), &mut rng);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn rvv_model_shapes_spanning_many_blocks_match_scalar() {
    // Tiny caches: at VLEN 128, kc = 64, mc = 24, nc = 128 (f32).
    let shapes = [
        (67, 141, 150),
        (13, 17, 200),
        (5, 300, 131),
        (29, 37, 67),
        (1, 700, 300),
        (3, 517, 129),
        (4, 100, 90),
        (2, 45, 1000),
    ];
    let mut rng = Rng::new(12);
    for t in targets(false, tiny_caches()) {
        for w in ALL_WEIGHTS {
            for bt in [false, true] {
                for (m, n, k) in shapes {
                    check_model(&t, w, Case::new(m, n, k, bt), &mut rng);
                }
            }
        }
    }
}

#[test]
fn rvv_model_strided_operands_match_scalar() {
    let mut rng = Rng::new(13);
    for t in targets(false, tiny_caches()) {
        for w in ALL_WEIGHTS {
            for bt in [false, true] {
                for (m, n, k) in [(1, 19, 37), (4, 23, 70), (17, 41, 97), (31, 9, 11)] {
                    let case = Case::new(m, n, k, bt).padded(3, 5, 7);
                    check_model(&t, w, case, &mut rng);
                }
            }
        }
    }
}

#[test]
fn rvv_model_f16_accumulate_matches_scalar_loosely() {
    let mut rng = Rng::new(14);
    for t in targets(true, tiny_caches()) {
        for bt in [false, true] {
            for (m, n, k) in [
                (1, 33, 1),
                (3, 40, 17),
                (4, 9, 64),
                (13, 29, 48),
                (30, 70, 63),
            ] {
                check_model(&t, Weights::F16, Case::new(m, n, k, bt), &mut rng);
                let case = Case::new(m, n, k, bt).padded(2, 1, 3);
                check_model(&t, Weights::F16, case, &mut rng);
            }
        }
    }
}

#[test]
fn rvv_f16_accumulate_really_rounds_in_f16() {
    // Same f16 weights: f16 accumulation must differ from f32 accumulation (and
    // f32 weights must ignore the flag).
    let mut rng = Rng::new(15);
    for v in VLENS {
        for (m, bt) in [(1, true), (2, false), (20, true)] {
            let case = Case::new(m, 32, 40, bt);
            let ops = operands(&case, Weights::F16, &mut rng);
            let t32 = RvvTarget::new(v).unwrap().model_only();
            let t16 = t32.with_fp16_accumulate(true);
            let c32 = run_rvv(&t32, Weights::F16, &case, &ops);
            let c16 = run_rvv(&t16, Weights::F16, &case, &ops);
            let differ = c32.iter().zip(&c16).filter(|(x, y)| x != y).count();
            assert!(differ > case.m * case.n / 4, "VLEN={v} {case:?}: {differ}");
            // f16 results widened: every output is an f16 value, except that the
            // GEMV dot sums its f16 lanes in f32.
            if !bt || m > 4 {
                assert!(c16[..case.n]
                    .iter()
                    .all(|&x| f16::from_f32(x).to_f32() == x));
            }
            let f32a = run_rvv(&t32, Weights::F32, &case, &ops);
            let f32b = run_rvv(&t16, Weights::F32, &case, &ops);
            assert_eq!(bits(&f32a), bits(&f32b));
        }
    }
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// Native asm against the model at this core's VLEN, bit for bit.
fn check_native(t: RvvTarget, w: Weights, case: Case, rng: &mut Rng) {
    let ops = operands(&case, w, rng);
    let native = run_rvv(&t, w, &case, &ops);
    let model = run_rvv(&t.model_only(), w, &case, &ops);
    if native == model || bits(&native) == bits(&model) {
        return;
    }
    let i = (0..native.len())
        .find(|&i| native[i].to_bits() != model[i].to_bits())
        .unwrap();
    panic!(
        "rvv native != model at VLEN={} fp16acc={} {w:?} {case:?}: element {i}: native {} model {}",
        t.vlen_bits(),
        t.fp16_accumulate,
        native[i],
        model[i]
    );
}

#[test]
fn rvv_native_matches_model_bit_for_bit() {
    let Some(v) = native_vlen() else {
        assert!(!cfg!(target_arch = "x86_64") || RvvTarget::host().is_none());
        return;
    };
    eprintln!("rvv gemm: native VLEN {v}, zvfh {}", native_zvfh());
    let mut rng = Rng::new(16);
    let mut shapes = vec![];
    for m in [0, 1, 2, 3, 4, 5, 13] {
        for n in [0, 1, 7, 33] {
            for k in [0, 1, 5, 19] {
                shapes.push((m, n, k));
            }
        }
    }
    shapes.extend([(29, 75, 70), (2, 131, 90), (1, 40, 300)]);
    for caches in [CacheInfo::default(), tiny_caches()] {
        for f16acc in [false, true] {
            let t = RvvTarget::new(v)
                .unwrap()
                .with_caches(caches)
                .with_fp16_accumulate(f16acc);
            for w in ALL_WEIGHTS {
                if f16acc && w != Weights::F16 {
                    continue;
                }
                for bt in [false, true] {
                    for &(m, n, k) in &shapes {
                        check_native(t, w, Case::new(m, n, k, bt), &mut rng);
                    }
                    let case = Case::new(14, 21, 33, bt).padded(1, 2, 3);
                    check_native(t, w, case, &mut rng);
                }
            }
        }
    }
}

#[test]
fn rvv_blocking_follows_the_caches_and_stays_tile_aligned() {
    let small = CacheInfo {
        l1d: 16 << 10,
        l2: 128 << 10,
        l3: 0,
        vector_bits: 0,
    };
    let big = CacheInfo {
        l1d: 64 << 10,
        l2: 1 << 20,
        l3: 64 << 20,
        vector_bits: 0,
    };
    for v in VLENS {
        for f16c in [false, true] {
            let sew = if f16c { 16 } else { 32 };
            let bs = blocking(&RvvTarget::new(v).unwrap().with_caches(small), f16c);
            let bb = blocking(&RvvTarget::new(v).unwrap().with_caches(big), f16c);
            for b in [bs, bb] {
                assert_eq!(b.mr, MR);
                assert_eq!(b.nr, 2 * v / sew, "nr = 2·packn");
                assert_eq!(b.kc % 8, 0);
                assert!(b.kc >= 32 && b.kc <= 1024);
                assert_eq!(b.mc % MR, 0);
                assert!(b.mc >= MR);
                assert_eq!(b.nc % b.nr, 0);
                assert!(b.nc >= b.nr);
            }
            assert!(bs.kc < bb.kc || bs.kc == 32, "VLEN={v}: {bs:?} {bb:?}");
            assert!(bs.mc < bb.mc && bs.nc < bb.nc, "VLEN={v}: {bs:?} {bb:?}");
        }
    }
    // The B panel fills half of L1d where the clamp allows.
    let b = blocking(&RvvTarget::new(128).unwrap().with_caches(big), false);
    assert_eq!(b.kc * b.nr * 4, (64 << 10) / 2);
}

#[test]
fn rvv_results_do_not_depend_on_the_thread_count() {
    let mut rng = Rng::new(17);
    for (m, n, k, bt, f16acc) in [
        (40, 150, 100, true, false),
        (40, 150, 100, false, true),
        (1, 300, 200, true, false),
        (3, 300, 200, false, false),
        (2, 100, 70, true, true),
    ] {
        let case = Case::new(m, n, k, bt);
        let w = if f16acc { Weights::F16 } else { Weights::Bf16 };
        let ops = operands(&case, w, &mut rng);
        let t = RvvTarget::new(256)
            .unwrap()
            .with_caches(tiny_caches())
            .with_fp16_accumulate(f16acc)
            .model_only();
        let in_pool = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| run_rvv(&t, w, &case, &ops))
        };
        let one = in_pool(1);
        assert_eq!(bits(&one), bits(&in_pool(3)), "{case:?}");
        assert_eq!(bits(&one), bits(&in_pool(4)), "{case:?}");
    }
}

#[test]
#[should_panic(expected = "B has")]
fn rvv_gemm_panics_on_a_short_b() {
    let t = RvvTarget::new(128).unwrap();
    let a = vec![0.0; 6];
    let b = vec![0.0; 5];
    let mut c = vec![0.0; 4];
    gemm(&t, 2, 2, 3, &a, 3, RvvWeights::F32(&b), 3, true, &mut c, 2);
}

#[test]
#[should_panic(expected = "C has")]
fn rvv_gemm_panics_on_a_short_c() {
    let t = RvvTarget::new(128).unwrap();
    let a = vec![0.0; 6];
    let b = vec![half::bf16::ZERO; 6];
    let mut c = vec![0.0; 3];
    gemm(
        &t,
        2,
        2,
        3,
        &a,
        3,
        RvvWeights::Bf16(&b),
        2,
        false,
        &mut c,
        2,
    );
}
