//! Portable reference: the oracle every SIMD variant is tested against. Follows ggml's
//! `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref` and `ggml_vec_dot_*` generic code.
//!
//! Entry points in `mod.rs` have checked the slice lengths.

use super::activations::ActRow;
use super::gemm::check_tile;
use super::{BlockQ4_0, BlockQ8_0, QK};
use half::f16;

pub(super) fn quantize_row_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, ob) in x.chunks_exact(QK).zip(out) {
        let amax = xb.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        ob.d = f16::from_f32(d);
        for (q, &v) in ob.qs.iter_mut().zip(xb) {
            // `round` rounds half away from zero, like C's roundf.
            *q = (v * id).round() as i8;
        }
    }
}

pub(super) fn quantize_row_q4_0(x: &[f32], out: &mut [BlockQ4_0]) {
    for (xb, ob) in x.chunks_exact(QK).zip(out) {
        // The signed value of largest magnitude (the first one on ties) maps to −8.
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in xb {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        ob.d = f16::from_f32(d);
        let nibble = |v: f32| ((v * id + 8.5) as i8).clamp(0, 15) as u8;
        for j in 0..QK / 2 {
            ob.qs[j] = nibble(xb[j]) | (nibble(xb[j + QK / 2]) << 4);
        }
    }
}

pub(super) fn dequantize_row_q8_0(b: &[BlockQ8_0], out: &mut [f32]) {
    for (blk, ob) in b.iter().zip(out.chunks_exact_mut(QK)) {
        let d = blk.d.to_f32();
        for (o, &q) in ob.iter_mut().zip(&blk.qs) {
            *o = q as f32 * d;
        }
    }
}

pub(super) fn dequantize_row_q4_0(b: &[BlockQ4_0], out: &mut [f32]) {
    for (blk, ob) in b.iter().zip(out.chunks_exact_mut(QK)) {
        let d = blk.d.to_f32();
        let (lo, hi) = ob.split_at_mut(QK / 2);
        for ((l, h), &q) in lo.iter_mut().zip(hi).zip(&blk.qs) {
            *l = ((q & 0x0F) as i32 - 8) as f32 * d;
            *h = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

fn block_dot_q8(a: &[i8; QK], b: &[i8; QK]) -> i32 {
    a.iter().zip(b).map(|(&p, &q)| p as i32 * q as i32).sum()
}

fn block_dot_q4(w: &[u8; QK / 2], x: &[i8; QK]) -> i32 {
    let (lo, hi) = x.split_at(QK / 2);
    w.iter()
        .zip(lo.iter().zip(hi))
        .map(|(&q, (&l, &h))| ((q & 0x0F) as i32 - 8) * l as i32 + ((q >> 4) as i32 - 8) * h as i32)
        .sum()
}

pub(super) fn vec_dot_q8_0_q8_0(a: &[BlockQ8_0], b: &[BlockQ8_0]) -> f32 {
    a.iter().zip(b).fold(0.0f32, |acc, (x, y)| {
        acc + block_dot_q8(&x.qs, &y.qs) as f32 * (x.d.to_f32() * y.d.to_f32())
    })
}

pub(super) fn vec_dot_q4_0_q8_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    w.iter().zip(x).fold(0.0f32, |acc, (wb, xb)| {
        acc + block_dot_q4(&wb.qs, &xb.qs) as f32 * (wb.d.to_f32() * xb.d.to_f32())
    })
}

/// `out[r][j] = (row j of w) · acts[r]`, the same sums as [`vec_dot_q8_0_q8_0`].
pub(super) fn dot_rows_q8_0(w: &[BlockQ8_0], acts: &[ActRow<'_>], out: &mut [&mut [f32]]) {
    let kb = check_tile(w.len(), acts, out);
    for (act, o) in acts.iter().zip(out) {
        for (wrow, o) in w.chunks_exact(kb).zip(o.iter_mut()) {
            *o = wrow.iter().enumerate().fold(0.0f32, |acc, (b, wb)| {
                acc + block_dot_q8(&wb.qs, &act.qs[b].0) as f32 * (wb.d.to_f32() * act.d[b])
            });
        }
    }
}

/// `out[r][j] = (row j of w) · acts[r]`, the same sums as [`vec_dot_q4_0_q8_0`]; the
/// activations are in `Layout::Blocks`.
pub(super) fn dot_rows_q4_0(w: &[BlockQ4_0], acts: &[ActRow<'_>], out: &mut [&mut [f32]]) {
    let kb = check_tile(w.len(), acts, out);
    for (act, o) in acts.iter().zip(out) {
        for (wrow, o) in w.chunks_exact(kb).zip(o.iter_mut()) {
            *o = wrow.iter().enumerate().fold(0.0f32, |acc, (b, wb)| {
                acc + block_dot_q4(&wb.qs, &act.qs[b].0) as f32 * (wb.d.to_f32() * act.d[b])
            });
        }
    }
}
