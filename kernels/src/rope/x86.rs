//! AVX2 rotate-half RoPE: 8 pairs per step with the reference's exact f32
//! operations (no FMA), so results are bit-identical.

use std::arch::x86_64::*;

use super::scalar::{rotate_first, rotate_second};
use crate::cast::x86::round_through;
use crate::cast::Rounding;

/// # Safety
/// The CPU must support AVX2, FMA and F16C; `head_dim > 0`, `rotary_dim`
/// even and ≤ `head_dim`, `cos`/`sin` of `rotary_dim` values.
#[target_feature(enable = "avx2,fma,f16c")]
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
    let body = h - h % 8;
    for (row, out_row) in x.chunks_exact(head_dim).zip(out.chunks_exact_mut(head_dim)) {
        let (a, b) = (&row[..h], &row[h..2 * h]);
        let (out_rot, out_pass) = out_row.split_at_mut(rotary_dim);
        let (o1, o2) = out_rot.split_at_mut(h);
        for i in (0..body).step_by(8) {
            // SAFETY: i + 8 <= body <= h, the length of every slice indexed here.
            let ld = |s: &[f32]| _mm256_loadu_ps(s.as_ptr().add(i));
            let (va, vb) = (ld(a), ld(b));
            let round = |v| round_through(v, rounding);
            let first = _mm256_sub_ps(
                round(_mm256_mul_ps(va, ld(cos1))),
                round(_mm256_mul_ps(vb, ld(sin1))),
            );
            let second = _mm256_add_ps(
                round(_mm256_mul_ps(vb, ld(cos2))),
                round(_mm256_mul_ps(va, ld(sin2))),
            );
            _mm256_storeu_ps(o1.as_mut_ptr().add(i), round(first));
            _mm256_storeu_ps(o2.as_mut_ptr().add(i), round(second));
        }
        for i in body..h {
            o1[i] = rotate_first(a[i], b[i], cos1[i], sin1[i], rounding);
            o2[i] = rotate_second(a[i], b[i], cos2[i], sin2[i], rounding);
        }
        out_pass.copy_from_slice(&row[rotary_dim..]);
    }
}
