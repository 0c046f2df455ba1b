//! AVX2 + FMA + F16C variants.
//!
//! Dot products multiply bytes with `vpmaddubsw` (unsigned × signed → i16 pair sums) and
//! widen with `vpmaddwd` against ones, then scale each block's eight i32 partial sums in
//! f32 with one FMA; horizontal sums wait until the end of the row. Q8_0 × Q8_0 makes
//! the unsigned operand with the sign trick `|w| · sign(x, w)`. Q4_0 nibbles are already
//! unsigned (0..15), so the GEMM kernel multiplies them as they are and subtracts 8·Σx.
//!
//! At m = 1 these loops are bound by instruction throughput (about four per cycle on
//! Zen 3), not by any one port, so the GEMM kernels are shaped to issue few: scales are
//! converted four blocks at a time, Q4_0 blocks are unpacked two per register against
//! activations stored to match (`Layout::PairedHalves`), and weights are prefetched a
//! fixed distance ahead so the DRAM stream keeps going while the core computes.
//!
//! Functions are `unsafe` for their CPU features; the GEMM kernels also read with
//! unchecked indexing after `check_tile` has checked every length.

use super::activations::{ActRow, Quants};
use super::gemm::check_tile;
use super::{BlockQ4_0, BlockQ8_0, QK};
use core::arch::x86_64::*;
use half::f16;

// ---- small helpers -------------------------------------------------------------------

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_to_f32(h: f16) -> f32 {
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h.to_bits() as i32)))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_f32x32(x: &[f32; QK]) -> [__m256; 4] {
    // SAFETY: the array holds 4 × 8 floats.
    let p = x.as_ptr();
    [
        _mm256_loadu_ps(p),
        _mm256_loadu_ps(p.add(8)),
        _mm256_loadu_ps(p.add(16)),
        _mm256_loadu_ps(p.add(24)),
    ]
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_i8x32(q: &[i8; QK]) -> __m256i {
    // SAFETY: the array holds 32 bytes.
    _mm256_loadu_si256(q.as_ptr().cast())
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_quants(q: &Quants) -> __m256i {
    // SAFETY: `Quants` is 32 bytes aligned to 32.
    _mm256_load_si256(q.0.as_ptr().cast())
}

/// The 32 nibbles of a Q4_0 block as bytes 0..15, in value order: low nibbles (values
/// 0..16) in the low lane, high nibbles (values 16..32) in the high lane.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn unpack_nibbles(qs: &[u8; QK / 2]) -> __m256i {
    // SAFETY: the array holds 16 bytes.
    let both = _mm256_broadcastsi128_si256(_mm_loadu_si128(qs.as_ptr().cast()));
    let shifted = _mm256_srlv_epi64(both, _mm256_setr_epi64x(0, 0, 4, 4));
    _mm256_and_si256(shifted, _mm256_set1_epi8(0x0F))
}

/// Eight i32 partial sums of `Σ w·x` over one block, for any `x` and `w` > −128.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn block_products(w: __m256i, x: __m256i) -> __m256i {
    let pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
}

/// `[a·b; 8]` from two f16 scales, converted together.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scale_product(a: f16, b: f16) -> __m256 {
    let both = _mm_cvtph_ps(_mm_cvtsi32_si128(
        (a.to_bits() as u32 | (b.to_bits() as u32) << 16) as i32,
    ));
    _mm256_broadcastss_ps(_mm_mul_ss(both, _mm_movehdup_ps(both)))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum(v: __m256) -> f32 {
    hsum128(_mm_add_ps(
        _mm256_castps256_ps128(v),
        _mm256_extractf128_ps::<1>(v),
    ))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum128(s: __m128) -> f32 {
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
}

/// `f32::round(v) as i32` (half away from zero, C's roundf) for |v| < 2^31:
/// `_mm256_round_ps` only offers ties to even, so add the largest float below 0.5 with
/// v's sign and truncate (0.5 itself would carry 0.49999997 up to 1).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn round_half_away(v: __m256) -> __m256i {
    let below_half = _mm256_set1_ps(f32::from_bits(0.5f32.to_bits() - 1));
    let signed = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0)), below_half);
    _mm256_cvttps_epi32(_mm256_add_ps(v, signed))
}

// ---- quantize / dequantize -----------------------------------------------------------

// Blocks are quantized four at a time: their scales come out of one transposed max,
// one division and one f16 conversion, and the four dependency chains overlap.

/// `|x|` of a block's values.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn abs_x32(v: &[__m256; 4]) -> [__m256; 4] {
    let sign = _mm256_set1_ps(-0.0);
    core::array::from_fn(|i| _mm256_andnot_ps(sign, v[i]))
}

/// Lane-wise max of a block's four vectors.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn max_x32(a: &[__m256; 4]) -> __m256 {
    _mm256_max_ps(_mm256_max_ps(a[0], a[1]), _mm256_max_ps(a[2], a[3]))
}

/// `[max(m0) max(m1) max(m2) max(m3)]`, each over its 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hmax_x4(m: [__m256; 4]) -> __m128 {
    let a: [__m128; 4] = core::array::from_fn(|i| {
        _mm_max_ps(
            _mm256_castps256_ps128(m[i]),
            _mm256_extractf128_ps::<1>(m[i]),
        )
    });
    let m01 = _mm_max_ps(_mm_unpacklo_ps(a[0], a[1]), _mm_unpackhi_ps(a[0], a[1]));
    let m23 = _mm_max_ps(_mm_unpacklo_ps(a[2], a[3]), _mm_unpackhi_ps(a[2], a[3]));
    _mm_max_ps(_mm_movelh_ps(m01, m23), _mm_movehl_ps(m23, m01))
}

/// `1/d`, or 0 where `d` is 0 (as the reference does).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn inverse_or_zero(d: __m128) -> __m128 {
    _mm_and_ps(
        _mm_cmpneq_ps(d, _mm_setzero_ps()),
        _mm_div_ps(_mm_set1_ps(1.0), d),
    )
}

/// The four scales as f16 (round to nearest even, like `half::f16::from_f32`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn to_f16_x4(d: __m128) -> [f16; 4] {
    let h = _mm_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(d);
    let bits = _mm_cvtsi128_si64(h) as u64;
    core::array::from_fn(|i| f16::from_bits((bits >> (16 * i)) as u16))
}

/// The values of a block at `x[QK·i ..]` for each of `N` blocks.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_blocks<const N: usize>(x: &[f32]) -> [[__m256; 4]; N] {
    core::array::from_fn(|i| load_f32x32(x[i * QK..(i + 1) * QK].try_into().unwrap()))
}

/// Calls `quantize` (values loaded, the same values in memory, output blocks) on
/// groups of four blocks, then on the tail with its last block repeated to fill a group
/// (the extra results are dropped).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn in_groups_of_4<B: Copy>(
    x: &[f32],
    out: &mut [B],
    quantize: impl Fn(&[[__m256; 4]; 4], &[f32], &mut [B; 4]),
) {
    let groups = out.len() / 4;
    for (g, og) in out.chunks_exact_mut(4).enumerate() {
        let xg = &x[g * 4 * QK..(g + 1) * 4 * QK];
        quantize(&load_blocks::<4>(xg), xg, og.try_into().unwrap());
    }
    let tail = &mut out[groups * 4..];
    if !tail.is_empty() {
        let xt = &x[groups * 4 * QK..];
        let mut filled = [0.0f32; 4 * QK];
        for (i, block) in filled.chunks_exact_mut(QK).enumerate() {
            let b = i.min(tail.len() - 1);
            block.copy_from_slice(&xt[b * QK..(b + 1) * QK]);
        }
        let mut blocks = [tail[0]; 4];
        quantize(&load_blocks::<4>(&filled), &filled, &mut blocks);
        tail.copy_from_slice(&blocks[..tail.len()]);
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn quantize_row_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    in_groups_of_4(x, out, |v, _, og| {
        let abs: [[__m256; 4]; 4] = core::array::from_fn(|i| abs_x32(&v[i]));
        let d = _mm_div_ps(
            hmax_x4(core::array::from_fn(|i| max_x32(&abs[i]))),
            _mm_set1_ps(127.0),
        );
        let id = _mm256_set_m128(inverse_or_zero(d), inverse_or_zero(d));
        let dh = to_f16_x4(d);
        for (i, ob) in og.iter_mut().enumerate() {
            ob.d = dh[i];
            let id = lane(id, i);
            let q = |v| round_half_away(_mm256_mul_ps(v, id));
            let [v0, v1, v2, v3] = v[i];
            let packed = _mm256_packs_epi16(
                _mm256_packs_epi32(q(v0), q(v1)),
                _mm256_packs_epi32(q(v2), q(v3)),
            );
            // packs work per 128-bit lane; put the 4-byte groups back in order.
            let ordered =
                _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            // SAFETY: `qs` holds 32 bytes.
            _mm256_storeu_si256(ob.qs.as_mut_ptr().cast(), ordered);
        }
    })
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn quantize_row_q4_0(x: &[f32], out: &mut [BlockQ4_0]) {
    in_groups_of_4(x, out, |v, xg, og| {
        let abs: [[__m256; 4]; 4] = core::array::from_fn(|i| abs_x32(&v[i]));
        let amax = hmax_x4(core::array::from_fn(|i| max_x32(&abs[i])));
        let mut amax_each = [0.0f32; 4];
        _mm_storeu_ps(amax_each.as_mut_ptr(), amax);
        // The first value of largest magnitude keeps its sign (the reference's scan order).
        let max: [f32; 4] = core::array::from_fn(|i| {
            let m = _mm256_set1_ps(amax_each[i]);
            let is_max = |a| _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(a, m)) as u32;
            let a = &abs[i];
            let bits = is_max(a[0]) | is_max(a[1]) << 8 | is_max(a[2]) << 16 | is_max(a[3]) << 24;
            if amax_each[i] == 0.0 {
                0.0
            } else {
                xg.get(i * QK + bits.trailing_zeros() as usize)
                    .copied()
                    .unwrap_or(0.0)
            }
        });
        let d = _mm_div_ps(_mm_loadu_ps(max.as_ptr()), _mm_set1_ps(-8.0));
        let id = _mm256_set_m128(inverse_or_zero(d), inverse_or_zero(d));
        let dh = to_f16_x4(d);
        for (i, ob) in og.iter_mut().enumerate() {
            ob.d = dh[i];
            let id = lane(id, i);
            // Separate multiply and add (no FMA) to round exactly as the reference does.
            let nibble = |v| {
                let t =
                    _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(v, id), _mm256_set1_ps(8.5)));
                _mm256_min_epi32(
                    _mm256_max_epi32(t, _mm256_setzero_si256()),
                    _mm256_set1_epi32(15),
                )
            };
            let lo = _mm256_or_si256(nibble(v[i][0]), _mm256_slli_epi32::<4>(nibble(v[i][2])));
            let hi = _mm256_or_si256(nibble(v[i][1]), _mm256_slli_epi32::<4>(nibble(v[i][3])));
            let words = _mm256_packus_epi32(lo, hi);
            let bytes = _mm256_packus_epi16(words, words);
            let ordered =
                _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 0, 4, 1, 5));
            // SAFETY: `qs` holds 16 bytes.
            _mm_storeu_si128(ob.qs.as_mut_ptr().cast(), _mm256_castsi256_si128(ordered));
        }
    })
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn dequantize_row_q8_0(b: &[BlockQ8_0], out: &mut [f32]) {
    for (blk, ob) in b.iter().zip(out.chunks_exact_mut(QK)) {
        let d = _mm256_set1_ps(f16_to_f32(blk.d));
        let q = load_i8x32(&blk.qs);
        let lo = _mm256_castsi256_si128(q);
        let hi = _mm256_extracti128_si256::<1>(q);
        let groups = [
            lo,
            _mm_unpackhi_epi64(lo, lo),
            hi,
            _mm_unpackhi_epi64(hi, hi),
        ];
        for (g, o) in groups.into_iter().zip(ob.chunks_exact_mut(8)) {
            let f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(g)), d);
            // SAFETY: `o` holds 8 floats.
            _mm256_storeu_ps(o.as_mut_ptr(), f);
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn dequantize_row_q4_0(b: &[BlockQ4_0], out: &mut [f32]) {
    for (blk, ob) in b.iter().zip(out.chunks_exact_mut(QK)) {
        let d = _mm256_set1_ps(f16_to_f32(blk.d));
        let q = _mm256_sub_epi8(unpack_nibbles(&blk.qs), _mm256_set1_epi8(8));
        let lo = _mm256_castsi256_si128(q);
        let hi = _mm256_extracti128_si256::<1>(q);
        let groups = [
            lo,
            _mm_unpackhi_epi64(lo, lo),
            hi,
            _mm_unpackhi_epi64(hi, hi),
        ];
        for (g, o) in groups.into_iter().zip(ob.chunks_exact_mut(8)) {
            let f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(g)), d);
            // SAFETY: `o` holds 8 floats.
            _mm256_storeu_ps(o.as_mut_ptr(), f);
        }
    }
}

// ---- dot products on ggml blocks -----------------------------------------------------

/// Four blocks per iteration into four accumulators, so FMA latency never stalls.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn vec_dot_q8_0_q8_0(a: &[BlockQ8_0], b: &[BlockQ8_0]) -> f32 {
    let mut acc = [_mm256_setzero_ps(); 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail = a4.remainder().iter().zip(b4.remainder());
    for (a4, b4) in a4.zip(b4) {
        for u in 0..4 {
            let p = block_products(load_i8x32(&a4[u].qs), load_i8x32(&b4[u].qs));
            acc[u] = _mm256_fmadd_ps(
                _mm256_cvtepi32_ps(p),
                scale_product(a4[u].d, b4[u].d),
                acc[u],
            );
        }
    }
    for (x, y) in tail {
        let p = block_products(load_i8x32(&x.qs), load_i8x32(&y.qs));
        acc[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), scale_product(x.d, y.d), acc[0]);
    }
    hsum(_mm256_add_ps(
        _mm256_add_ps(acc[0], acc[1]),
        _mm256_add_ps(acc[2], acc[3]),
    ))
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn vec_dot_q4_0_q8_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    let eight = _mm256_set1_epi8(8);
    let mut acc = [_mm256_setzero_ps(); 4];
    let (w4, x4) = (w.chunks_exact(4), x.chunks_exact(4));
    let tail = w4.remainder().iter().zip(x4.remainder());
    for (w4, x4) in w4.zip(x4) {
        for u in 0..4 {
            let wq = _mm256_sub_epi8(unpack_nibbles(&w4[u].qs), eight);
            let p = block_products(wq, load_i8x32(&x4[u].qs));
            acc[u] = _mm256_fmadd_ps(
                _mm256_cvtepi32_ps(p),
                scale_product(w4[u].d, x4[u].d),
                acc[u],
            );
        }
    }
    for (wb, xb) in tail {
        let wq = _mm256_sub_epi8(unpack_nibbles(&wb.qs), eight);
        let p = block_products(wq, load_i8x32(&xb.qs));
        acc[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), scale_product(wb.d, xb.d), acc[0]);
    }
    hsum(_mm256_add_ps(
        _mm256_add_ps(acc[0], acc[1]),
        _mm256_add_ps(acc[2], acc[3]),
    ))
}

// ---- GEMM kernels: one weight row against up to four activation rows -----------------
//
// Blocks go in groups of four. Their f16 scales are gathered into one register with
// `vpinsrw` and converted together, multiplied by the activation scales, and each block
// (or pair of blocks) takes its scale with an in-lane `vpermilps`. Per block that is
// about one instruction instead of a scalar convert, multiply and broadcast; at m = 1
// the loop is bound by instruction throughput, so this is what keeps Q4_0 ahead of DRAM.

/// `out[r][j] = (row j of w) · acts[r]` (see `DotRows`), activations in `Layout::Blocks`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn dot_rows_q8_0(w: &[BlockQ8_0], acts: &[ActRow<'_>], out: &mut [&mut [f32]]) {
    let kb = check_tile(w.len(), acts, out);
    match acts.len() {
        1 => dot_rows::<_, 1>(w, kb, acts, out, |w, a| dot_tile_q8_0::<1, 4>(w, a)),
        2 => dot_rows::<_, 2>(w, kb, acts, out, |w, a| dot_tile_q8_0::<2, 2>(w, a)),
        3 => dot_rows::<_, 3>(w, kb, acts, out, |w, a| dot_tile_q8_0::<3, 1>(w, a)),
        _ => dot_rows::<_, 4>(w, kb, acts, out, |w, a| dot_tile_q8_0::<4, 1>(w, a)),
    }
}

/// `out[r][j] = (row j of w) · acts[r]` (see `DotRows`), activations in
/// `Layout::PairedHalves`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn dot_rows_q4_0(w: &[BlockQ4_0], acts: &[ActRow<'_>], out: &mut [&mut [f32]]) {
    let kb = check_tile(w.len(), acts, out);
    match acts.len() {
        1 => dot_rows::<_, 1>(w, kb, acts, out, |w, a| dot_tile_q4_0::<1, 2>(w, a)),
        2 => dot_rows::<_, 2>(w, kb, acts, out, |w, a| dot_tile_q4_0::<2, 2>(w, a)),
        3 => dot_rows::<_, 3>(w, kb, acts, out, |w, a| dot_tile_q4_0::<3, 1>(w, a)),
        _ => dot_rows::<_, 4>(w, kb, acts, out, |w, a| dot_tile_q4_0::<4, 1>(w, a)),
    }
}

/// Runs `tile` on each weight row of `kb` blocks against all `R` activation rows.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_rows<W, const R: usize>(
    w: &[W],
    kb: usize,
    acts: &[ActRow<'_>],
    out: &mut [&mut [f32]],
    tile: impl Fn(&[W], &[ActRow<'_>; R]) -> [f32; R],
) {
    let acts: &[ActRow<'_>; R] = acts.try_into().unwrap();
    for (j, wrow) in w.chunks_exact(kb).enumerate() {
        for (o, v) in out.iter_mut().zip(tile(wrow, acts)) {
            o[j] = v;
        }
    }
}

/// `&s[i..i + N]` as an array, without a bounds check.
///
/// # Safety
/// `i + N <= s.len()`.
#[inline(always)]
unsafe fn array_at<T, const N: usize>(s: &[T], i: usize) -> &[T; N] {
    debug_assert!(i + N <= s.len());
    // SAFETY: in bounds by the caller's guarantee; an array has the layout of N elements.
    &*(s.as_ptr().add(i) as *const [T; N])
}

/// Four f16 scales as f32 `[d0 d1 d2 d3 | d0 d1 d2 d3]`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scales_repeated(d: [f16; 4]) -> __m256 {
    let h = _mm_cvtsi32_si128(d[0].to_bits() as i32);
    let h = _mm_insert_epi16::<1>(h, d[1].to_bits() as i32);
    let h = _mm_insert_epi16::<2>(h, d[2].to_bits() as i32);
    let h = _mm_insert_epi16::<3>(h, d[3].to_bits() as i32);
    _mm256_cvtph_ps(_mm_unpacklo_epi64(h, h))
}

/// Four f16 scales as f32 `[d0 0 d1 0 | d2 0 d3 0]`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scales_spread(d: [f16; 4]) -> __m256 {
    let h = _mm_cvtsi32_si128(d[0].to_bits() as i32);
    let h = _mm_insert_epi16::<2>(h, d[1].to_bits() as i32);
    let h = _mm_insert_epi16::<4>(h, d[2].to_bits() as i32);
    let h = _mm_insert_epi16::<6>(h, d[3].to_bits() as i32);
    _mm256_cvtph_ps(h)
}

/// `[x0 x1 x2 x3 | x0 x1 x2 x3]`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_f32x4_repeated(x: &[f32; 4]) -> __m256 {
    // SAFETY: the array holds 4 floats.
    let v = _mm_loadu_ps(x.as_ptr());
    _mm256_set_m128(v, v)
}

/// `[x0 0 x1 0 | x2 0 x3 0]`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_f32x4_spread(x: &[f32; 4]) -> __m256 {
    // SAFETY: the array holds 4 floats (16 bytes).
    _mm256_castsi256_ps(_mm256_cvtepu32_epi64(_mm_loadu_si128(x.as_ptr().cast())))
}

/// Element `u` (0..4) of each 128-bit half, in all four slots of that half.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn lane(s: __m256, u: usize) -> __m256 {
    match u {
        0 => _mm256_permute_ps::<0x00>(s),
        1 => _mm256_permute_ps::<0x55>(s),
        2 => _mm256_permute_ps::<0xAA>(s),
        _ => _mm256_permute_ps::<0xFF>(s),
    }
}

/// How far past the current group weights are prefetched into L1. With the hardware
/// prefetchers alone the m = 1 loop reached 65-90% of a plain read loop's bandwidth
/// (Zen 3, 1 and 2 threads); 2-3 KiB ahead (32-48 lines in flight) brought it to
/// 85-100%, 3 KiB slightly ahead of 2 KiB.
const PREFETCH_BYTES: usize = 3072;

/// Hints the cache lines `PREFETCH_BYTES` past `group`, one per 64 bytes of it.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn prefetch_ahead<T>(group: &[T]) {
    let ahead = group.as_ptr().cast::<i8>().wrapping_add(PREFETCH_BYTES);
    for line in (0..std::mem::size_of_val(group)).step_by(64) {
        // SAFETY: a prefetch is only a hint and never faults, so the address may lie
        // past the end of the weights.
        _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(line));
    }
}

/// `R` activation rows, each with `A` accumulators (to hide FMA latency).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_tile_q8_0<const R: usize, const A: usize>(
    w: &[BlockQ8_0],
    acts: &[ActRow<'_>; R],
) -> [f32; R] {
    let kb = w.len();
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_ps(); A]; R];
    let mut b = 0;
    while b + 4 <= kb {
        // SAFETY (every `array_at` in this loop): b + 4 <= kb, the length of `w` and of
        // each activation slice (`check_tile`).
        let wb: &[BlockQ8_0; 4] = array_at(w, b);
        prefetch_ahead(wb);
        let dw = scales_repeated([wb[0].d, wb[1].d, wb[2].d, wb[3].d]);
        let s: [__m256; R] = core::array::from_fn(|r| {
            _mm256_mul_ps(dw, load_f32x4_repeated(array_at(acts[r].d, b)))
        });
        for (u, blk) in wb.iter().enumerate() {
            let wq = load_i8x32(&blk.qs);
            let w_abs = _mm256_sign_epi8(wq, wq);
            for r in 0..R {
                let x: &[Quants; 1] = array_at(acts[r].qs, b + u);
                // Activations are never −128, so sign(x, w) cannot overflow.
                let p = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(load_quants(&x[0]), wq)),
                    ones,
                );
                acc[r][u % A] =
                    _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), lane(s[r], u), acc[r][u % A]);
            }
        }
        b += 4;
    }
    for (bt, blk) in w.iter().enumerate().skip(b) {
        let dw = f16_to_f32(blk.d);
        let wq = load_i8x32(&blk.qs);
        for r in 0..R {
            let p = block_products(wq, load_quants(&acts[r].qs[bt]));
            acc[r][0] = _mm256_fmadd_ps(
                _mm256_cvtepi32_ps(p),
                _mm256_set1_ps(dw * acts[r].d[bt]),
                acc[r][0],
            );
        }
    }
    core::array::from_fn(|r| hsum_all(&acc[r]))
}

/// Q4_0 nibbles are unsigned, so `vpmaddubsw` takes them as they are: Σ (n − 8)·x is
/// Σ n·x − 8·Σx, the second term folded in with one FMA per four blocks. Blocks are
/// unpacked two at a time: blocks b and b + 2 of a group share a register (low nibbles,
/// then high), matching `Layout::PairedHalves`, so each pair needs one widening
/// `vpmaddwd`, one convert and one FMA.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_tile_q4_0<const R: usize, const A: usize>(
    w: &[BlockQ4_0],
    acts: &[ActRow<'_>; R],
) -> [f32; R] {
    let kb = w.len();
    let ones = _mm256_set1_epi16(1);
    let low = _mm256_set1_epi8(0x0F);
    let mut acc = [[_mm256_setzero_ps(); A]; R];
    let mut b = 0;
    while b + 4 <= kb {
        // SAFETY (every `array_at` in this loop): b + 4 <= kb, the length of `w` and of
        // each activation slice (`check_tile`).
        let wb: &[BlockQ4_0; 4] = array_at(w, b);
        prefetch_ahead(wb);
        // [s0 0 s1 0 | s2 0 s3 0]: element 0 of each half scales pair (b0, b2), element 2
        // pair (b1, b3).
        let dw = scales_spread([wb[0].d, wb[1].d, wb[2].d, wb[3].d]);
        let mut s = [_mm256_setzero_ps(); R];
        for r in 0..R {
            s[r] = _mm256_mul_ps(dw, load_f32x4_spread(array_at(acts[r].d, b)));
            let offset = load_f32x4_spread(array_at(acts[r].sum8, b));
            acc[r][A - 1] = _mm256_fnmadd_ps(s[r], offset, acc[r][A - 1]);
        }
        for pair in 0..2 {
            // SAFETY: each `qs` holds 16 bytes.
            let first = _mm_loadu_si128(wb[pair].qs.as_ptr().cast());
            let second = _mm_loadu_si128(wb[pair + 2].qs.as_ptr().cast());
            let both = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(first), second);
            let lo = _mm256_and_si256(both, low);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(both), low);
            for r in 0..R {
                let x: &[Quants; 2] = array_at(acts[r].qs, b + 2 * pair);
                // Each i16 lane stays below 2 · 2 · 15 · 128 = 7680.
                let p16 = _mm256_add_epi16(
                    _mm256_maddubs_epi16(lo, load_quants(&x[0])),
                    _mm256_maddubs_epi16(hi, load_quants(&x[1])),
                );
                let p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
                acc[r][pair % A] = _mm256_fmadd_ps(p, lane(s[r], 2 * pair), acc[r][pair % A]);
            }
        }
        b += 4;
    }
    // The tail (fewer than four blocks) is stored block by block.
    for (bt, blk) in w.iter().enumerate().skip(b) {
        let dw = f16_to_f32(blk.d);
        let nibbles = unpack_nibbles(&blk.qs);
        for r in 0..R {
            let s = dw * acts[r].d[bt];
            let p = _mm256_madd_epi16(
                _mm256_maddubs_epi16(nibbles, load_quants(&acts[r].qs[bt])),
                ones,
            );
            let p = _mm256_sub_ps(
                _mm256_cvtepi32_ps(p),
                _mm256_setr_ps(acts[r].sum8[bt], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            );
            acc[r][0] = _mm256_fmadd_ps(p, _mm256_set1_ps(s), acc[r][0]);
        }
    }
    core::array::from_fn(|r| hsum_all(&acc[r]))
}

/// Sum of all lanes of all accumulators.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum_all<const A: usize>(acc: &[__m256; A]) -> f32 {
    let mut s = acc[0];
    for a in &acc[1..] {
        s = _mm256_add_ps(s, *a);
    }
    hsum(s)
}
