//! Attention: the scalar reference against hand-computed cases, and every variant
//! this host runs against the reference over random shapes, masks, layouts and
//! KV element types.

use half::{bf16, f16};
use omnirt_kernels::attention::{attention_with, AttentionMask, AttentionShape, KvElem, Strides4};
use omnirt_kernels::testing::{assert_close, Rng};
use omnirt_kernels::Isa;

/// Building test caches in each KV element type.
trait TestElem: KvElem + std::fmt::Debug {
    const NAME: &'static str;
    fn from_f32(x: f32) -> Self;
}
impl TestElem for f32 {
    const NAME: &'static str = "f32";
    fn from_f32(x: f32) -> Self {
        x
    }
}
impl TestElem for f16 {
    const NAME: &'static str = "f16";
    fn from_f32(x: f32) -> Self {
        f16::from_f32(x)
    }
}
impl TestElem for bf16 {
    const NAME: &'static str = "bf16";
    fn from_f32(x: f32) -> Self {
        bf16::from_f32(x)
    }
}

#[derive(Clone, Copy, Debug)]
enum MaskKind {
    None,
    Causal,
    Sliding { window: usize },
    Segments,
}

#[derive(Clone, Debug)]
struct Case {
    batch: usize,
    q_heads: usize,
    kv_heads: usize,
    q_len: usize,
    kv_len: usize,
    head_dim: usize,
    scale: f32,
    q_offset: usize,
    mask: MaskKind,
    cu_seqlens: Vec<usize>,
    /// q stored `[B, S, H, D]` instead of `[B, H, S, D]`.
    q_seq_major: bool,
    /// K/V cache stored `[B, cap, H, D]` instead of `[B, H, cap, D]`.
    kv_seq_major: bool,
    /// Cache capacity (>= kv_len); rows past kv_len hold NaN.
    capacity: usize,
}

impl Case {
    fn new(
        batch: usize,
        q_heads: usize,
        kv_heads: usize,
        q_len: usize,
        kv_len: usize,
        head_dim: usize,
    ) -> Case {
        Case {
            batch,
            q_heads,
            kv_heads,
            q_len,
            kv_len,
            head_dim,
            scale: 1.0 / (head_dim.max(1) as f32).sqrt(),
            q_offset: 0,
            mask: MaskKind::None,
            cu_seqlens: Vec::new(),
            q_seq_major: false,
            kv_seq_major: false,
            capacity: kv_len,
        }
    }

    fn shape(&self) -> AttentionShape {
        AttentionShape {
            batch: self.batch,
            q_heads: self.q_heads,
            kv_heads: self.kv_heads,
            q_len: self.q_len,
            kv_len: self.kv_len,
            head_dim: self.head_dim,
            scale: self.scale,
        }
    }

    fn mask(&self) -> AttentionMask<'_> {
        match self.mask {
            MaskKind::None => AttentionMask::None,
            MaskKind::Causal => AttentionMask::Causal {
                q_offset: self.q_offset,
            },
            MaskKind::Sliding { window } => AttentionMask::SlidingWindow {
                q_offset: self.q_offset,
                window,
            },
            MaskKind::Segments => AttentionMask::Segments {
                cu_seqlens: &self.cu_seqlens,
            },
        }
    }
}

/// A `[batch, heads, seq, d]` view over a buffer of capacity `cap >= seq` along seq;
/// rows past `seq` hold NaN so any read of them poisons the result.
fn make_view<K: TestElem>(
    rng: &mut Rng,
    batch: usize,
    heads: usize,
    seq: usize,
    cap: usize,
    d: usize,
    seq_major: bool,
) -> (Vec<K>, Strides4) {
    let strides = if seq_major {
        Strides4::bshd(cap, heads, d)
    } else {
        Strides4::bhsd(heads, cap, d)
    };
    let mut buf = vec![K::from_f32(f32::NAN); batch * heads * cap * d];
    for b in 0..batch {
        for h in 0..heads {
            for s in 0..seq {
                let o = b * strides.batch + h * strides.head + s * strides.seq;
                for x in &mut buf[o..o + d] {
                    *x = K::from_f32(rng.normal());
                }
            }
        }
    }
    (buf, strides)
}

#[allow(clippy::too_many_arguments)]
fn run<K: TestElem>(
    isa: Isa,
    case: &Case,
    q: &[f32],
    qs: Strides4,
    k: &[K],
    ks: Strides4,
    v: &[K],
    vs: Strides4,
) -> Vec<f32> {
    let mut out = vec![f32::NAN; case.batch * case.q_heads * case.q_len * case.head_dim];
    attention_with(
        isa,
        &case.shape(),
        &case.mask(),
        q,
        qs,
        k,
        ks,
        v,
        vs,
        &mut out,
    );
    out
}

/// Every available variant against the scalar reference.
fn check_case<K: TestElem>(rng: &mut Rng, case: &Case) {
    let (q, qs) = make_view::<f32>(
        rng,
        case.batch,
        case.q_heads,
        case.q_len,
        case.q_len,
        case.head_dim,
        case.q_seq_major,
    );
    let kv = |rng: &mut Rng| {
        make_view::<K>(
            rng,
            case.batch,
            case.kv_heads,
            case.kv_len,
            case.capacity,
            case.head_dim,
            case.kv_seq_major,
        )
    };
    let (k, ks) = kv(rng);
    let (v, vs) = kv(rng);
    let want = run(Isa::Scalar, case, &q, qs, &k, ks, &v, vs);
    assert!(
        want.iter().all(|x| x.is_finite()),
        "reference read outside the views: {case:?}"
    );
    for isa in Isa::available() {
        let got = run(isa, case, &q, qs, &k, ks, &v, vs);
        assert_close(
            &got,
            &want,
            2e-5,
            2e-4,
            &format!("{isa} {} {case:?}", K::NAME),
        );
    }
}

fn random_case(rng: &mut Rng) -> Case {
    const DIMS: [usize; 22] = [
        1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 72, 80, 96, 127, 128, 130,
    ];
    let ratio = [1, 2, 4, 8][rng.below(4)];
    let kv_heads = 1 + rng.below(2);
    let q_len = 1 + rng.below(24);
    let mut case = Case::new(
        1 + rng.below(2),
        kv_heads * ratio,
        kv_heads,
        q_len,
        0,
        DIMS[rng.below(DIMS.len())],
    );
    case.scale *= [1.0, 4.0][rng.below(2)]; // 4x: peaky softmax, many running-max updates
    case.q_offset = rng.below(120);
    case.mask = match rng.below(4) {
        0 => MaskKind::None,
        1 => MaskKind::Causal,
        2 => MaskKind::Sliding {
            window: rng.below(40),
        },
        _ => MaskKind::Segments,
    };
    case.kv_len = match case.mask {
        MaskKind::None => rng.below(150),
        MaskKind::Segments => q_len,
        // Usually the cache ends at the last query; sometimes not.
        _ if rng.below(4) > 0 => case.q_offset + q_len,
        _ => rng.below(case.q_offset + q_len + 8),
    };
    if let MaskKind::Segments = case.mask {
        case.cu_seqlens = random_cu_seqlens(rng, q_len);
    }
    case.q_seq_major = rng.below(2) == 0;
    case.kv_seq_major = rng.below(2) == 0;
    case.capacity = case.kv_len + rng.below(3) * rng.below(20);
    case
}

/// Sorted boundaries from 0 to `len`, empty segments included now and then.
fn random_cu_seqlens(rng: &mut Rng, len: usize) -> Vec<usize> {
    let mut cu: Vec<usize> = (0..rng.below(5)).map(|_| rng.below(len + 1)).collect();
    cu.extend([0, len]);
    cu.sort_unstable();
    cu
}

#[test]
fn variants_match_reference_f32() {
    let mut rng = Rng::new(1);
    for _ in 0..120 {
        let case = random_case(&mut rng);
        check_case::<f32>(&mut rng, &case);
    }
}

#[test]
fn variants_match_reference_f16_kv() {
    let mut rng = Rng::new(2);
    for _ in 0..80 {
        let case = random_case(&mut rng);
        check_case::<f16>(&mut rng, &case);
    }
}

#[test]
fn variants_match_reference_bf16_kv() {
    let mut rng = Rng::new(3);
    for _ in 0..80 {
        let case = random_case(&mut rng);
        check_case::<bf16>(&mut rng, &case);
    }
}

/// One query per head against a long cache (the decode hot path), with fewer
/// tiles than threads so the keys are split and the partial softmaxes merged.
#[test]
fn decode_long_cache_all_gqa_ratios() {
    // A fixed pool: the split depends on the thread count, not on this machine.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    pool.install(decode_long_cache_cases);
}

fn decode_long_cache_cases() {
    let mut rng = Rng::new(4);
    for (ratio, d) in [(1, 64), (2, 72), (4, 80), (8, 128), (8, 7), (4, 130)] {
        for kv_heads in [1, 2] {
            let kv_len = 1500 + rng.below(1200);
            let mut case = Case::new(1, kv_heads * ratio, kv_heads, 1, kv_len, d);
            case.mask = MaskKind::Causal;
            case.q_offset = kv_len - 1;
            case.capacity = kv_len + 37;
            case.kv_seq_major = kv_heads == 2;
            check_case::<f32>(&mut rng, &case);
            check_case::<f16>(&mut rng, &case);
        }
    }
}

/// code2wav: causal sliding window of 72, prefill and decode.
#[test]
fn sliding_window_72() {
    let mut rng = Rng::new(5);
    for (q_len, kv_len) in [(200, 200), (1, 500), (7, 300)] {
        let mut case = Case::new(1, 8, 8, q_len, kv_len, 64);
        case.mask = MaskKind::Sliding { window: 72 };
        case.q_offset = kv_len - q_len;
        check_case::<f32>(&mut rng, &case);
    }
}

/// Thinker-like prefill: GQA 8, head_dim 128, q in [B, S, H, D] (projection
/// order), K/V written into a larger [B, H, cap, D] cache.
#[test]
fn causal_prefill_gqa_into_cache() {
    let mut rng = Rng::new(6);
    let mut case = Case::new(2, 16, 2, 97, 97, 128);
    case.mask = MaskKind::Causal;
    case.q_seq_major = true;
    case.capacity = 160;
    check_case::<f32>(&mut rng, &case);
    check_case::<bf16>(&mut rng, &case);
    // Chunked prefill: the second chunk of queries after 97 cached positions.
    case.q_offset = 97;
    case.q_len = 40;
    case.kv_len = 137;
    check_case::<f32>(&mut rng, &case);
}

/// Vision/audio: bidirectional inside packed segments.
#[test]
fn segments_packed_images() {
    let mut rng = Rng::new(7);
    let mut case = Case::new(1, 4, 4, 150, 150, 80);
    case.mask = MaskKind::Segments;
    case.cu_seqlens = vec![0, 64, 64, 100, 101, 150];
    case.q_seq_major = true;
    case.kv_seq_major = true;
    check_case::<f32>(&mut rng, &case);
}

#[test]
fn rows_without_visible_keys_are_zero_in_every_variant() {
    let mut rng = Rng::new(8);
    let cases = [
        (MaskKind::Sliding { window: 0 }, 0, 10),
        // The queries sit past the end of the cache, the window ends before them.
        (MaskKind::Sliding { window: 3 }, 20, 10),
        (MaskKind::None, 0, 0),
        (MaskKind::Causal, 0, 0),
    ];
    for (mask, q_offset, kv_len) in cases {
        let mut case = Case::new(1, 4, 2, 5, kv_len, 16);
        case.mask = mask;
        case.q_offset = q_offset;
        let (q, qs) = make_view::<f32>(&mut rng, 1, 4, 5, 5, 16, false);
        let (k, ks) = make_view::<f32>(&mut rng, 1, 2, kv_len, kv_len, 16, false);
        for isa in Isa::available() {
            let out = run(isa, &case, &q, qs, &k, ks, &k, ks);
            assert!(out.iter().all(|&x| x == 0.0), "{isa} {case:?}");
        }
    }
    // Some rows see keys, some do not (window 2 at offset 9 with 10 keys: row 0
    // sees keys 8..10, row 2 sees nothing).
    let mut case = Case::new(1, 2, 1, 3, 10, 9);
    case.mask = MaskKind::Sliding { window: 2 };
    case.q_offset = 9;
    check_case::<f32>(&mut rng, &case);
}

#[test]
fn empty_problems_are_fine() {
    for (q_len, d) in [(0, 8), (3, 0)] {
        let case = Case::new(2, 2, 1, q_len, 5, d);
        let q = vec![0.0f32; 2 * 2 * q_len * d];
        let k = vec![0.0f32; 5 * d];
        let qs = Strides4::bhsd(2, q_len, d);
        let ks = Strides4::bhsd(1, 5, d);
        for isa in Isa::available() {
            let out = run(
                isa,
                &case,
                &q,
                qs,
                &k,
                Strides4 { batch: 0, ..ks },
                &k,
                Strides4 { batch: 0, ..ks },
            );
            assert!(out.is_empty());
        }
    }
}

/// Hand-computed: one head, head_dim 1, scale 1, q = 1, keys 0 and ln 3, values 4
/// and 8. Both keys visible: weights 1/4, 3/4, output 7. Causally, row 0 sees only
/// key 0 (output 4) and row 1 both (output 7).
#[test]
fn reference_hand_computed() {
    let k = [0.0f32, 3f32.ln()];
    let v = [4.0f32, 8.0];
    let q = [1.0f32, 1.0];
    let shape = AttentionShape {
        batch: 1,
        q_heads: 1,
        kv_heads: 1,
        q_len: 2,
        kv_len: 2,
        head_dim: 1,
        scale: 1.0,
    };
    let s = Strides4::bhsd(1, 2, 1);
    for (mask, want) in [
        (AttentionMask::None, [7.0, 7.0]),
        (AttentionMask::Causal { q_offset: 0 }, [4.0, 7.0]),
        (
            AttentionMask::SlidingWindow {
                q_offset: 0,
                window: 1,
            },
            [4.0, 8.0],
        ),
        (
            AttentionMask::Segments {
                cu_seqlens: &[0, 1, 2],
            },
            [4.0, 8.0],
        ),
    ] {
        let mut out = [0.0f32; 2];
        attention_with(Isa::Scalar, &shape, &mask, &q, s, &k, s, &v, s, &mut out);
        assert_close(&out, &want, 1e-6, 1e-6, &format!("{mask:?}"));
    }
}

/// Hand-computed GQA mapping: 4 query heads over 2 kv heads; query heads 0,1 must
/// read kv head 0 (values 1) and heads 2,3 kv head 1 (values 2).
#[test]
fn reference_gqa_head_mapping() {
    let shape = AttentionShape {
        batch: 1,
        q_heads: 4,
        kv_heads: 2,
        q_len: 1,
        kv_len: 1,
        head_dim: 2,
        scale: 1.0,
    };
    let q = [0.5f32; 8];
    let k = [0.0f32; 4];
    let v = [1.0f32, 1.0, 2.0, 2.0];
    for isa in Isa::available() {
        let mut out = [0.0f32; 8];
        let (qs, ks) = (Strides4::bhsd(4, 1, 2), Strides4::bhsd(2, 1, 2));
        attention_with(
            isa,
            &shape,
            &AttentionMask::None,
            &q,
            qs,
            &k,
            ks,
            &v,
            ks,
            &mut out,
        );
        assert_eq!(out, [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0], "{isa}");
    }
}

fn visibility_table(mask: &AttentionMask, q_len: usize, kv_len: usize) -> Vec<String> {
    (0..q_len)
        .map(|i| {
            (0..kv_len)
                .map(|j| if mask.is_visible(i, j) { '1' } else { '.' })
                .collect()
        })
        .collect()
}

#[test]
fn mask_visibility_tables() {
    assert_eq!(
        visibility_table(&AttentionMask::Causal { q_offset: 2 }, 3, 5),
        ["111..", "1111.", "11111"]
    );
    assert_eq!(
        visibility_table(
            &AttentionMask::SlidingWindow {
                q_offset: 2,
                window: 2
            },
            3,
            5
        ),
        [".11..", "..11.", "...11"]
    );
    assert_eq!(
        visibility_table(
            &AttentionMask::Segments {
                cu_seqlens: &[0, 2, 2, 5]
            },
            5,
            5
        ),
        ["11...", "11...", "..111", "..111", "..111"]
    );
    assert_eq!(visibility_table(&AttentionMask::None, 2, 3), ["111", "111"]);
}

/// The contiguous key ranges the fast kernels use agree with the per-element
/// definition.
#[test]
fn visible_keys_match_is_visible() {
    let mut rng = Rng::new(9);
    for _ in 0..300 {
        let q_len = rng.below(12);
        let cu = random_cu_seqlens(&mut rng, q_len);
        let (q_offset, window) = (rng.below(10), rng.below(6));
        let kv_len = rng.below(25);
        let masks = [
            AttentionMask::None,
            AttentionMask::Causal { q_offset },
            AttentionMask::SlidingWindow { q_offset, window },
            AttentionMask::Segments { cu_seqlens: &cu },
        ];
        for mask in masks {
            let kv_len = if let AttentionMask::Segments { .. } = mask {
                q_len
            } else {
                kv_len
            };
            for i in 0..q_len {
                let range = mask.visible_keys(i, kv_len);
                for j in 0..kv_len {
                    assert_eq!(
                        range.contains(&j),
                        mask.is_visible(i, j),
                        "{mask:?} i={i} j={j}"
                    );
                }
            }
        }
    }
}

fn call_f32(
    shape: AttentionShape,
    mask: AttentionMask,
    q_len_buf: usize,
    kv_buf: usize,
    out_len: usize,
) {
    let d = shape.head_dim;
    let q = vec![0.0f32; q_len_buf];
    let k = vec![0.0f32; kv_buf];
    let mut out = vec![0.0f32; out_len];
    let qs = Strides4::bhsd(shape.q_heads, shape.q_len, d);
    let ks = Strides4::bhsd(shape.kv_heads, shape.kv_len, d);
    attention_with(Isa::best(), &shape, &mask, &q, qs, &k, ks, &k, ks, &mut out);
}

const SHAPE: AttentionShape = AttentionShape {
    batch: 1,
    q_heads: 4,
    kv_heads: 2,
    q_len: 3,
    kv_len: 3,
    head_dim: 8,
    scale: 1.0,
};

#[test]
fn well_formed_call_passes() {
    call_f32(SHAPE, AttentionMask::None, 96, 48, 96);
}

#[test]
#[should_panic(expected = "multiple of kv_heads")]
fn rejects_heads_not_divisible() {
    call_f32(
        AttentionShape {
            kv_heads: 3,
            ..SHAPE
        },
        AttentionMask::None,
        96,
        72,
        96,
    );
}

#[test]
#[should_panic(expected = "k view exceeds")]
fn rejects_short_cache() {
    call_f32(SHAPE, AttentionMask::None, 96, 47, 96);
}

#[test]
#[should_panic(expected = "out must be")]
fn rejects_wrong_out_len() {
    call_f32(SHAPE, AttentionMask::None, 96, 48, 95);
}

#[test]
#[should_panic(expected = "cu_seqlens must end")]
fn rejects_bad_segments() {
    call_f32(
        SHAPE,
        AttentionMask::Segments {
            cu_seqlens: &[0, 2],
        },
        96,
        48,
        96,
    );
}
