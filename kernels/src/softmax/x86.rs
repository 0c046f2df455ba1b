//! AVX2 + FMA softmax: a max pass, an exp-and-sum pass, a scale pass.

use std::arch::x86_64::*;

use crate::act::x86_math::exp;
use crate::reduce::x86::{extremum, hsum};

/// `dst[i] = e^(src[i] − m)` for `i < n`, returning the f32 sum (32 partial
/// sums). `src` and `dst` may be the same pointer (in-place softmax): each
/// element is read before it is written.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `src` must be valid for `n` reads and
/// `dst` for `n` writes, and the two ranges are either identical or disjoint.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_shifted_sum(src: *const f32, dst: *mut f32, n: usize, m: f32) -> f32 {
    let vm = _mm256_set1_ps(m);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, a) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8k + 8 <= i + 32 <= n.
            let e = exp(_mm256_sub_ps(_mm256_loadu_ps(src.add(i + 8 * k)), vm));
            _mm256_storeu_ps(dst.add(i + 8 * k), e);
            *a = _mm256_add_ps(*a, e);
        }
        i += 32;
    }
    while i + 8 <= n {
        // SAFETY: i + 8 <= n.
        let e = exp(_mm256_sub_ps(_mm256_loadu_ps(src.add(i)), vm));
        _mm256_storeu_ps(dst.add(i), e);
        acc[0] = _mm256_add_ps(acc[0], e);
        i += 8;
    }
    let mut total = hsum(_mm256_add_ps(
        _mm256_add_ps(acc[0], acc[1]),
        _mm256_add_ps(acc[2], acc[3]),
    ));
    if i < n {
        // The tail through the same vector exp, via a padded copy.
        let rest = n - i;
        let mut buf = [0.0f32; 8];
        // SAFETY: `rest` < 8 elements from index i are in bounds of both ranges,
        // and `buf` holds 8.
        std::ptr::copy_nonoverlapping(src.add(i), buf.as_mut_ptr(), rest);
        let e = exp(_mm256_sub_ps(_mm256_loadu_ps(buf.as_ptr()), vm));
        _mm256_storeu_ps(buf.as_mut_ptr(), e);
        std::ptr::copy_nonoverlapping(buf.as_ptr(), dst.add(i), rest);
        total += buf[..rest].iter().sum::<f32>();
    }
    total
}

/// `x[i] *= s`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn scale(x: &mut [f32], s: f32) {
    let vs = _mm256_set1_ps(s);
    let mut x8 = x.chunks_exact_mut(8);
    for c in &mut x8 {
        // SAFETY: `c` holds exactly 8 elements.
        _mm256_storeu_ps(
            c.as_mut_ptr(),
            _mm256_mul_ps(_mm256_loadu_ps(c.as_ptr()), vs),
        );
    }
    for v in x8.into_remainder() {
        *v *= s;
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C; `dim > 0`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn softmax_rows(x: &[f32], dim: usize, out: &mut [f32]) {
    for (row, out_row) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let m = extremum::<true>(row);
        // SAFETY: both rows hold `dim` elements and are distinct slices.
        let sum = exp_shifted_sum(row.as_ptr(), out_row.as_mut_ptr(), dim, m);
        scale(out_row, 1.0 / sum);
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C; `dim > 0`.
#[target_feature(enable = "avx2,fma,f16c")]
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
/// The CPU must support AVX2, FMA and F16C; `dim > 0`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn log_softmax_rows(x: &[f32], dim: usize, out: &mut [f32]) {
    for (row, out_row) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let m = extremum::<true>(row);
        // `out_row` holds the exponentials only until it is overwritten below.
        // SAFETY: both rows hold `dim` elements and are distinct slices.
        let log_sum = exp_shifted_sum(row.as_ptr(), out_row.as_mut_ptr(), dim, m).ln();
        let (vm, vl) = (_mm256_set1_ps(m), _mm256_set1_ps(log_sum));
        let mut r8 = row.chunks_exact(8);
        let mut o8 = out_row.chunks_exact_mut(8);
        for (r, o) in (&mut r8).zip(&mut o8) {
            // SAFETY: `r` and `o` hold exactly 8 elements each.
            let y = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(r.as_ptr()), vm), vl);
            _mm256_storeu_ps(o.as_mut_ptr(), y);
        }
        for (o, &v) in o8.into_remainder().iter_mut().zip(r8.remainder()) {
            *o = (v - m) - log_sum;
        }
    }
}
