//! NEON variants (baseline Advanced SIMD; `sdot` is used only where the CPU reports
//! the dot-product extension at run time).
//!
//! Integer dot products widen with `smull` (i8 × i8 → i16, exact) and pairwise-add into
//! i32 with `sadalp`; each block's four i32 partial sums are scaled in f32 with one FMA.
//! f16 scales convert through `half` (its software path on CPUs without FP16).
//!
//! Every function is `unsafe` only because of `#[target_feature]`: memory is read
//! through references to whole blocks or arrays, and slices are indexed with checks.

use super::activations::ActRow;
use super::gemm::check_tile;
use super::{BlockQ4_0, BlockQ8_0, QK};
use crate::isa::HostFeatures;
use core::arch::aarch64::*;
use half::f16;

// ---- small helpers -------------------------------------------------------------------

#[inline]
#[target_feature(enable = "neon")]
unsafe fn load_f32x32(x: &[f32; QK]) -> [float32x4_t; 8] {
    // SAFETY: the array holds 8 × 4 floats.
    core::array::from_fn(|i| vld1q_f32(x.as_ptr().add(4 * i)))
}

/// The two 16-byte halves of a block's quants.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load_i8x32(q: &[i8; QK]) -> (int8x16_t, int8x16_t) {
    // SAFETY: the array holds 32 bytes.
    (vld1q_s8(q.as_ptr()), vld1q_s8(q.as_ptr().add(16)))
}

/// Q4_0 values 0..16 and 16..32 as signed bytes −8..7.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn unpack_q4(qs: &[u8; QK / 2]) -> (int8x16_t, int8x16_t) {
    // SAFETY: the array holds 16 bytes.
    let v = vld1q_u8(qs.as_ptr());
    let eight = vdupq_n_s8(8);
    let lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F))), eight);
    let hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8::<4>(v)), eight);
    (lo, hi)
}

#[inline]
#[target_feature(enable = "neon")]
unsafe fn abs_max(v: &[float32x4_t; 8]) -> f32 {
    let mut m = vabsq_f32(v[0]);
    for x in &v[1..] {
        m = vmaxq_f32(m, vabsq_f32(*x));
    }
    vmaxvq_f32(m)
}

/// Four i32 partial sums of `Σ a·b` over one block (32 pairs).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn block_products(a: (int8x16_t, int8x16_t), b: (int8x16_t, int8x16_t)) -> int32x4_t {
    let s = vpaddlq_s16(vmull_s8(vget_low_s8(a.0), vget_low_s8(b.0)));
    let s = vpadalq_s16(s, vmull_high_s8(a.0, b.0));
    let s = vpadalq_s16(s, vmull_s8(vget_low_s8(a.1), vget_low_s8(b.1)));
    vpadalq_s16(s, vmull_high_s8(a.1, b.1))
}

/// The same sums with `sdot` (four products per lane per instruction).
#[inline]
#[target_feature(enable = "neon,dotprod")]
unsafe fn block_products_sdot(a: (int8x16_t, int8x16_t), b: (int8x16_t, int8x16_t)) -> int32x4_t {
    let mut s = vdupq_n_s32(0);
    // SAFETY: `sdot` only reads and writes the registers named; the dotprod feature is
    // enabled on this function and checked at run time by its callers.
    core::arch::asm!(
        "sdot {s:v}.4s, {a0:v}.16b, {b0:v}.16b",
        "sdot {s:v}.4s, {a1:v}.16b, {b1:v}.16b",
        s = inout(vreg) s,
        a0 = in(vreg) a.0,
        b0 = in(vreg) b.0,
        a1 = in(vreg) a.1,
        b1 = in(vreg) b.1,
        options(pure, nomem, nostack),
    );
    s
}

#[inline]
#[target_feature(enable = "neon")]
unsafe fn narrow_to_i8(q: [int32x4_t; 8]) -> (int8x16_t, int8x16_t) {
    let h: [int16x8_t; 4] =
        core::array::from_fn(|i| vcombine_s16(vqmovn_s32(q[2 * i]), vqmovn_s32(q[2 * i + 1])));
    (
        vcombine_s8(vqmovn_s16(h[0]), vqmovn_s16(h[1])),
        vcombine_s8(vqmovn_s16(h[2]), vqmovn_s16(h[3])),
    )
}

// ---- quantize / dequantize -----------------------------------------------------------

#[target_feature(enable = "neon")]
pub(super) unsafe fn quantize_row_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, ob) in x.chunks_exact(QK).zip(out) {
        let v = load_f32x32(xb.try_into().unwrap());
        let d = abs_max(&v) / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        ob.d = f16::from_f32(d);
        // fcvtas rounds half away from zero, like roundf.
        let q = core::array::from_fn(|i| vcvtaq_s32_f32(vmulq_n_f32(v[i], id)));
        let (lo, hi) = narrow_to_i8(q);
        // SAFETY: `qs` holds 32 bytes.
        vst1q_s8(ob.qs.as_mut_ptr(), lo);
        vst1q_s8(ob.qs.as_mut_ptr().add(16), hi);
    }
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn quantize_row_q4_0(x: &[f32], out: &mut [BlockQ4_0]) {
    for (xb, ob) in x.chunks_exact(QK).zip(out) {
        let v = load_f32x32(xb.try_into().unwrap());
        let amax = abs_max(&v);
        // The first value of largest magnitude keeps its sign (the reference's scan order).
        let max = xb
            .iter()
            .copied()
            .find(|x| x.abs() == amax && amax != 0.0)
            .unwrap_or(0.0);
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        ob.d = f16::from_f32(d);
        // Separate multiply and add (no FMA) to round exactly as the reference does;
        // fcvtzs truncates like the C cast.
        let nibble = |v| {
            let t = vcvtq_s32_f32(vaddq_f32(vmulq_n_f32(v, id), vdupq_n_f32(8.5)));
            vminq_s32(vmaxq_s32(t, vdupq_n_s32(0)), vdupq_n_s32(15))
        };
        let (lo, hi) = narrow_to_i8(core::array::from_fn(|i| nibble(v[i])));
        let packed = vorrq_u8(
            vreinterpretq_u8_s8(lo),
            vshlq_n_u8::<4>(vreinterpretq_u8_s8(hi)),
        );
        // SAFETY: `qs` holds 16 bytes.
        vst1q_u8(ob.qs.as_mut_ptr(), packed);
    }
}

/// Stores 32 bytes as `f32 · d`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn store_scaled(q: (int8x16_t, int8x16_t), d: f32, out: &mut [f32]) {
    assert!(out.len() >= QK);
    for (h, half) in [q.0, q.1].into_iter().enumerate() {
        let w = [vmovl_s8(vget_low_s8(half)), vmovl_high_s8(half)];
        for (i, wi) in w.into_iter().enumerate() {
            for (j, v) in [vmovl_s16(vget_low_s16(wi)), vmovl_high_s16(wi)]
                .into_iter()
                .enumerate()
            {
                // SAFETY: index ≤ 28 and `out` holds at least 32 floats (asserted).
                vst1q_f32(
                    out.as_mut_ptr().add(16 * h + 8 * i + 4 * j),
                    vmulq_n_f32(vcvtq_f32_s32(v), d),
                );
            }
        }
    }
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn dequantize_row_q8_0(b: &[BlockQ8_0], out: &mut [f32]) {
    for (blk, ob) in b.iter().zip(out.chunks_exact_mut(QK)) {
        store_scaled(load_i8x32(&blk.qs), blk.d.to_f32(), ob);
    }
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn dequantize_row_q4_0(b: &[BlockQ4_0], out: &mut [f32]) {
    for (blk, ob) in b.iter().zip(out.chunks_exact_mut(QK)) {
        store_scaled(unpack_q4(&blk.qs), blk.d.to_f32(), ob);
    }
}

// ---- dot products --------------------------------------------------------------------
//
// Each kernel is written once as an `#[inline]` body generic over the block product and
// instantiated twice: baseline NEON with `smull`/`sadalp`, and under `dotprod` with
// `sdot`, chosen at run time.

type Products = unsafe fn((int8x16_t, int8x16_t), (int8x16_t, int8x16_t)) -> int32x4_t;

/// `Σ_b scale(b) · Σ products(b)`, alternating two accumulators.
#[inline(always)]
unsafe fn scaled_sum(blocks: usize, mut block: impl FnMut(usize) -> (int32x4_t, f32)) -> f32 {
    let mut acc = [vdupq_n_f32(0.0); 2];
    for b in 0..blocks {
        let (p, s) = block(b);
        acc[b % 2] = vfmaq_n_f32(acc[b % 2], vcvtq_f32_s32(p), s);
    }
    vaddvq_f32(vaddq_f32(acc[0], acc[1]))
}

#[inline(always)]
unsafe fn dot_q8_0(a: &[BlockQ8_0], b: &[BlockQ8_0], products: Products) -> f32 {
    scaled_sum(a.len(), |i| {
        (
            products(load_i8x32(&a[i].qs), load_i8x32(&b[i].qs)),
            a[i].d.to_f32() * b[i].d.to_f32(),
        )
    })
}

#[inline(always)]
unsafe fn dot_q4_0(w: &[BlockQ4_0], x: &[BlockQ8_0], products: Products) -> f32 {
    scaled_sum(w.len(), |i| {
        (
            products(unpack_q4(&w[i].qs), load_i8x32(&x[i].qs)),
            w[i].d.to_f32() * x[i].d.to_f32(),
        )
    })
}

/// `out[r][j] = (row j of w) · acts[r]`; `unpack` gives a weight block's 32 values.
#[inline(always)]
unsafe fn dot_rows<W>(
    w: &[W],
    acts: &[ActRow<'_>],
    out: &mut [&mut [f32]],
    unpack: impl Fn(&W) -> ((int8x16_t, int8x16_t), f16),
    products: Products,
) {
    let kb = check_tile(w.len(), acts, out);
    for (act, o) in acts.iter().zip(out) {
        for (wrow, o) in w.chunks_exact(kb).zip(o.iter_mut()) {
            *o = scaled_sum(kb, |b| {
                let (wq, d) = unpack(&wrow[b]);
                (
                    products(wq, load_i8x32(&act.qs[b].0)),
                    d.to_f32() * act.d[b],
                )
            });
        }
    }
}

fn has_dotprod() -> bool {
    HostFeatures::detect().neon_dotprod
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q8_0_q8_0(a: &[BlockQ8_0], b: &[BlockQ8_0]) -> f32 {
    if has_dotprod() {
        // SAFETY: the CPU reports the dot-product extension.
        return vec_dot_q8_0_q8_0_sdot(a, b);
    }
    dot_q8_0(a, b, block_products)
}

#[target_feature(enable = "neon,dotprod")]
unsafe fn vec_dot_q8_0_q8_0_sdot(a: &[BlockQ8_0], b: &[BlockQ8_0]) -> f32 {
    dot_q8_0(a, b, block_products_sdot)
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q4_0_q8_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    if has_dotprod() {
        // SAFETY: the CPU reports the dot-product extension.
        return vec_dot_q4_0_q8_0_sdot(w, x);
    }
    dot_q4_0(w, x, block_products)
}

#[target_feature(enable = "neon,dotprod")]
unsafe fn vec_dot_q4_0_q8_0_sdot(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    dot_q4_0(w, x, block_products_sdot)
}

// GEMM kernels: activations in `Layout::Blocks`, one row at a time.

/// `out[r][j] = (row j of w) · acts[r]` (see `DotRows`).
#[target_feature(enable = "neon")]
pub(super) unsafe fn dot_rows_q8_0(w: &[BlockQ8_0], acts: &[ActRow<'_>], out: &mut [&mut [f32]]) {
    if has_dotprod() {
        // SAFETY: the CPU reports the dot-product extension.
        return dot_rows_q8_0_sdot(w, acts, out);
    }
    dot_rows(
        w,
        acts,
        out,
        |b: &BlockQ8_0| (load_i8x32(&b.qs), b.d),
        block_products,
    )
}

#[target_feature(enable = "neon,dotprod")]
unsafe fn dot_rows_q8_0_sdot(w: &[BlockQ8_0], acts: &[ActRow<'_>], out: &mut [&mut [f32]]) {
    dot_rows(
        w,
        acts,
        out,
        |b: &BlockQ8_0| (load_i8x32(&b.qs), b.d),
        block_products_sdot,
    )
}

/// `out[r][j] = (row j of w) · acts[r]` (see `DotRows`).
#[target_feature(enable = "neon")]
pub(super) unsafe fn dot_rows_q4_0(w: &[BlockQ4_0], acts: &[ActRow<'_>], out: &mut [&mut [f32]]) {
    if has_dotprod() {
        // SAFETY: the CPU reports the dot-product extension.
        return dot_rows_q4_0_sdot(w, acts, out);
    }
    dot_rows(
        w,
        acts,
        out,
        |b: &BlockQ4_0| (unpack_q4(&b.qs), b.d),
        block_products,
    )
}

#[target_feature(enable = "neon,dotprod")]
unsafe fn dot_rows_q4_0_sdot(w: &[BlockQ4_0], acts: &[ActRow<'_>], out: &mut [&mut [f32]]) {
    dot_rows(
        w,
        acts,
        out,
        |b: &BlockQ4_0| (unpack_q4(&b.qs), b.d),
        block_products_sdot,
    )
}
