//! Reference RoPE: plain f32 products and sums, each rounded through
//! `rounding`.

use crate::cast::Rounding;

/// `round(round(a·c) − round(b·s))`, the first half of a rotation.
#[inline]
pub(crate) fn rotate_first(a: f32, b: f32, c: f32, s: f32, r: Rounding) -> f32 {
    r.apply(r.apply(a * c) - r.apply(b * s))
}

/// `round(round(b·c) + round(a·s))`, the second half of a rotation.
#[inline]
pub(crate) fn rotate_second(a: f32, b: f32, c: f32, s: f32, r: Rounding) -> f32 {
    r.apply(r.apply(b * c) + r.apply(a * s))
}

pub fn rope_half_rows(
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    head_dim: usize,
    rotary_dim: usize,
    rounding: Rounding,
    out: &mut [f32],
) {
    let h = rotary_dim / 2;
    for (row, out_row) in x.chunks_exact(head_dim).zip(out.chunks_exact_mut(head_dim)) {
        for i in 0..h {
            let (a, b) = (row[i], row[i + h]);
            out_row[i] = rotate_first(a, b, cos[i], sin[i], rounding);
            out_row[i + h] = rotate_second(a, b, cos[i + h], sin[i + h], rounding);
        }
        out_row[rotary_dim..].copy_from_slice(&row[rotary_dim..]);
    }
}

pub fn rope_interleaved_rows(
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    head_dim: usize,
    rotary_dim: usize,
    rounding: Rounding,
    out: &mut [f32],
) {
    for (row, out_row) in x.chunks_exact(head_dim).zip(out.chunks_exact_mut(head_dim)) {
        let pairs = row[..rotary_dim]
            .chunks_exact(2)
            .zip(out_row[..rotary_dim].chunks_exact_mut(2));
        for ((p, o), (&c, &s)) in pairs.zip(cos.iter().zip(sin)) {
            o[0] = rotate_first(p[0], p[1], c, s, rounding);
            o[1] = rotate_second(p[0], p[1], c, s, rounding);
        }
        out_row[rotary_dim..].copy_from_slice(&row[rotary_dim..]);
    }
}
