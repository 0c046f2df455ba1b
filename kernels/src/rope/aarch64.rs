//! NEON rotate-half RoPE: 4 pairs per step with the reference's exact f32
//! operations (no FMA), so results are bit-identical.

use std::arch::aarch64::*;

use super::scalar::{rotate_first, rotate_second};
use crate::cast::aarch64::round_through;
use crate::cast::Rounding;

/// # Safety
/// The CPU must support NEON; `head_dim > 0`, `rotary_dim` even and
/// ≤ `head_dim`, `cos`/`sin` of `rotary_dim` values.
#[target_feature(enable = "neon")]
pub(super) unsafe fn rope_half_rows(
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    head_dim: usize,
    rotary_dim: usize,
    rounding: Rounding,
    out: &mut [f32],
) {
    let h = rotary_dim / 2;
    // Slicing here makes every index below `h` in bounds for all halves.
    let (cos1, cos2) = (&cos[..h], &cos[h..2 * h]);
    let (sin1, sin2) = (&sin[..h], &sin[h..2 * h]);
    let body = h - h % 4;
    for (row, out_row) in x.chunks_exact(head_dim).zip(out.chunks_exact_mut(head_dim)) {
        let (a, b) = (&row[..h], &row[h..2 * h]);
        let (out_rot, out_pass) = out_row.split_at_mut(rotary_dim);
        let (o1, o2) = out_rot.split_at_mut(h);
        for i in (0..body).step_by(4) {
            // SAFETY: i + 4 <= body <= h, the length of every slice indexed here.
            let ld = |s: &[f32]| vld1q_f32(s.as_ptr().add(i));
            let (va, vb) = (ld(a), ld(b));
            let round = |v| round_through(v, rounding);
            let first = vsubq_f32(
                round(vmulq_f32(va, ld(cos1))),
                round(vmulq_f32(vb, ld(sin1))),
            );
            let second = vaddq_f32(
                round(vmulq_f32(vb, ld(cos2))),
                round(vmulq_f32(va, ld(sin2))),
            );
            vst1q_f32(o1.as_mut_ptr().add(i), round(first));
            vst1q_f32(o2.as_mut_ptr().add(i), round(second));
        }
        for i in body..h {
            o1[i] = rotate_first(a[i], b[i], cos1[i], sin1[i], rounding);
            o2[i] = rotate_second(a[i], b[i], cos2[i], sin2[i], rounding);
        }
        out_pass.copy_from_slice(&row[rotary_dim..]);
    }
}
