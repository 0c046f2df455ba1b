//! The portable model of the RVV quant kernels: the same per-block arithmetic as
//! `riscv64.rs`, written as fixed-size loops that LLVM vectorizes on any host.
//!
//! The integer parts need no lane order (the block sums are exact `i32`s, whatever
//! the order of the adds); the lane widths follow the asm (i8×i8 products in i16,
//! widened to i32 by the reduction). Callers checked the slice lengths.

use super::{f16_to_f32, Weight};
use crate::quant::{BlockQ4_0, BlockQ8_0, QK};
use half::f16;

/// As the asm: `vfredmax` of `|x|` from 0, scalar `d = amax/127` and `id`, `vfmul.vf`,
/// `vfncvt.x.f.w` under RMM (saturating to i16), NaN lanes merged to 0, clamp to i8.
pub(super) fn quantize_row_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, ob) in x.chunks_exact(QK).zip(out) {
        let amax = xb.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        ob.d = f16::from_f32(d);
        for (q, &v) in ob.qs.iter_mut().zip(xb) {
            let p = v * id;
            // `round` is RMM (half away from zero); `as i16` saturates as vfncvt does.
            let w = if p.is_nan() { 0 } else { p.round() as i16 };
            *q = w.clamp(-128, 127) as i8;
        }
    }
}

/// `Σ_b sumi_b · (d_w,b · d_x,b)` in block order, as `super::dot` does for the
/// native engine (there in chunks; here one fused loop, whose serial f32 chain keeps
/// LLVM vectorizing inside each block rather than gathering across blocks).
pub(super) fn dot<W: Weight>(w: &[W], x: &[BlockQ8_0], dx: Option<&[f32]>) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the only feature the function enables.
        return unsafe { dot_avx2(w, x, dx) };
    }
    dot_impl(w, x, dx)
}

/// [`dot_impl`] compiled with AVX2, so the block sums vectorize 256 bits wide; the
/// arithmetic (exact integers, then ordered unfused f32) is the same.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2<W: Weight>(w: &[W], x: &[BlockQ8_0], dx: Option<&[f32]>) -> f32 {
    dot_impl(w, x, dx)
}

#[inline(always)]
fn dot_impl<W: Weight>(w: &[W], x: &[BlockQ8_0], dx: Option<&[f32]>) -> f32 {
    let mut acc = 0.0f32;
    match dx {
        Some(dx) => {
            for ((wb, xb), &d) in w.iter().zip(x).zip(dx) {
                acc += W::model_sum(wb, xb) as f32 * (f16_to_f32(wb.scale()) * d);
            }
        }
        None => {
            for (wb, xb) in w.iter().zip(x) {
                let d = f16_to_f32(wb.scale()) * f16_to_f32(xb.d);
                acc += W::model_sum(wb, xb) as f32 * d;
            }
        }
    }
    acc
}

/// `vwmul.vv` (i8×i8→i16), `vwredsum.vs` (i16→i32).
#[inline(always)]
pub(super) fn sum_q8_0(a: &BlockQ8_0, b: &BlockQ8_0) -> i32 {
    a.qs.iter()
        .zip(&b.qs)
        .map(|(&x, &y)| (x as i16 * y as i16) as i32)
        .sum()
}

/// Nibbles `vand 0x0F` / `vsrl 4`, `−8`; `vwmul.vv` of the low half with `x[0..16]`,
/// `vwmacc.vv` of the high half with `x[16..32]` (i16 lanes), `vwredsum.vs` (i32).
#[inline(always)]
pub(super) fn sum_q4_0(w: &BlockQ4_0, x: &BlockQ8_0) -> i32 {
    const H: usize = QK / 2;
    let mut u = [0i8; QK];
    let (lo, hi) = u.split_at_mut(H);
    for ((l, h), &q) in lo.iter_mut().zip(hi).zip(&w.qs) {
        *l = (q & 0x0F) as i8 - 8;
        *h = (q >> 4) as i8 - 8;
    }
    u.iter()
        .zip(&x.qs)
        .map(|(&p, &q)| (p as i16 * q as i16) as i32)
        .sum()
}
