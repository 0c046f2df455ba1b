//! NEON softmax: a max pass, an exp-and-sum pass, a scale pass.

use std::arch::aarch64::*;

use crate::act::aarch64_math::exp;
use crate::reduce::aarch64::extremum;

/// `dst[i] = e^(src[i] − m)` for `i < n`, returning the f32 sum (16 partial
/// sums). `src` and `dst` may be the same pointer (in-place softmax): each
/// element is read before it is written.
///
/// # Safety
/// The CPU must support NEON; `src` must be valid for `n` reads and `dst` for
/// `n` writes, and the two ranges are either identical or disjoint.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn exp_shifted_sum(src: *const f32, dst: *mut f32, n: usize, m: f32) -> f32 {
    let vm = vdupq_n_f32(m);
    let mut acc = [vdupq_n_f32(0.0); 4];
    let mut i = 0;
    while i + 16 <= n {
        for (k, a) in acc.iter_mut().enumerate() {
            // SAFETY: i + 4k + 4 <= i + 16 <= n.
            let e = exp(vsubq_f32(vld1q_f32(src.add(i + 4 * k)), vm));
            vst1q_f32(dst.add(i + 4 * k), e);
            *a = vaddq_f32(*a, e);
        }
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: i + 4 <= n.
        let e = exp(vsubq_f32(vld1q_f32(src.add(i)), vm));
        vst1q_f32(dst.add(i), e);
        acc[0] = vaddq_f32(acc[0], e);
        i += 4;
    }
    let mut total = vaddvq_f32(vaddq_f32(
        vaddq_f32(acc[0], acc[1]),
        vaddq_f32(acc[2], acc[3]),
    ));
    if i < n {
        // The tail through the same vector exp, via a padded copy.
        let rest = n - i;
        let mut buf = [0.0f32; 4];
        // SAFETY: `rest` < 4 elements from index i are in bounds of both ranges,
        // and `buf` holds 4.
        std::ptr::copy_nonoverlapping(src.add(i), buf.as_mut_ptr(), rest);
        let e = exp(vsubq_f32(vld1q_f32(buf.as_ptr()), vm));
        vst1q_f32(buf.as_mut_ptr(), e);
        std::ptr::copy_nonoverlapping(buf.as_ptr(), dst.add(i), rest);
        total += buf[..rest].iter().sum::<f32>();
    }
    total
}

/// `x[i] *= s`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn scale(x: &mut [f32], s: f32) {
    let vs = vdupq_n_f32(s);
    let mut x4 = x.chunks_exact_mut(4);
    for c in &mut x4 {
        // SAFETY: `c` holds exactly 4 elements.
        vst1q_f32(c.as_mut_ptr(), vmulq_f32(vld1q_f32(c.as_ptr()), vs));
    }
    for v in x4.into_remainder() {
        *v *= s;
    }
}

/// # Safety
/// The CPU must support NEON; `dim > 0`.
#[target_feature(enable = "neon")]
pub(super) unsafe fn softmax_rows(x: &[f32], dim: usize, out: &mut [f32]) {
    for (row, out_row) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let m = extremum::<true>(row);
        // SAFETY: both rows hold `dim` elements and are distinct slices.
        let sum = exp_shifted_sum(row.as_ptr(), out_row.as_mut_ptr(), dim, m);
        scale(out_row, 1.0 / sum);
    }
}

/// # Safety
/// The CPU must support NEON; `dim > 0`.
#[target_feature(enable = "neon")]
pub(super) unsafe fn softmax_rows_inplace(x: &mut [f32], dim: usize) {
    for row in x.chunks_exact_mut(dim) {
        let m = extremum::<true>(row);
        let p = row.as_mut_ptr();
        // SAFETY: `p` is valid for `dim` reads and writes; source and
        // destination are the same range, which `exp_shifted_sum` allows.
        let sum = exp_shifted_sum(p, p, dim, m);
        scale(row, 1.0 / sum);
    }
}

/// # Safety
/// The CPU must support NEON; `dim > 0`.
#[target_feature(enable = "neon")]
pub(super) unsafe fn log_softmax_rows(x: &[f32], dim: usize, out: &mut [f32]) {
    for (row, out_row) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let m = extremum::<true>(row);
        // `out_row` holds the exponentials only until it is overwritten below.
        // SAFETY: both rows hold `dim` elements and are distinct slices.
        let log_sum = exp_shifted_sum(row.as_ptr(), out_row.as_mut_ptr(), dim, m).ln();
        let (vm, vl) = (vdupq_n_f32(m), vdupq_n_f32(log_sum));
        let mut r4 = row.chunks_exact(4);
        let mut o4 = out_row.chunks_exact_mut(4);
        for (r, o) in (&mut r4).zip(&mut o4) {
            // SAFETY: `r` and `o` hold exactly 4 elements each.
            vst1q_f32(
                o.as_mut_ptr(),
                vsubq_f32(vsubq_f32(vld1q_f32(r.as_ptr()), vm), vl),
            );
        }
        for (o, &v) in o4.into_remainder().iter_mut().zip(r4.remainder()) {
            *o = (v - m) - log_sum;
        }
    }
}
