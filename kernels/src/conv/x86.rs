//! AVX2 + FMA depthwise row kernel.

use std::arch::x86_64::*;

use super::depthwise::check_row;

/// `out[o] = bias + Σ_t w[t] · x[o + t*dilation]` (a `depthwise::RowKernel`).
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn depthwise_row(
    x: &[f32],
    w: &[f32],
    dilation: usize,
    bias: f32,
    out: &mut [f32],
) {
    check_row(x, w, dilation, out);
    let n = out.len();
    let (xp, op) = (x.as_ptr(), out.as_mut_ptr());
    let mut o = 0;
    // SAFETY: the vector steps cover outputs o..o+width <= n, and output o' reads
    // x[o' + t*dilation] <= n - 1 + (w.len()-1)*dilation < x.len() (check_row);
    // the caller guarantees the CPU features.
    unsafe {
        // 32 outputs at a time: four independent accumulators per tap.
        while o + 32 <= n {
            let mut acc = [_mm256_set1_ps(bias); 4];
            for (t, wt) in w.iter().enumerate() {
                let (wv, xt) = (_mm256_broadcast_ss(wt), xp.add(o + t * dilation));
                for (u, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xt.add(8 * u)), *a);
                }
            }
            for (u, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(op.add(o + 8 * u), *a);
            }
            o += 32;
        }
        while o + 8 <= n {
            let mut acc = _mm256_set1_ps(bias);
            for (t, wt) in w.iter().enumerate() {
                acc = _mm256_fmadd_ps(
                    _mm256_broadcast_ss(wt),
                    _mm256_loadu_ps(xp.add(o + t * dilation)),
                    acc,
                );
            }
            _mm256_storeu_ps(op.add(o), acc);
            o += 8;
        }
    }
    for (o, out) in out.iter_mut().enumerate().skip(o) {
        *out = bias
            + w.iter()
                .enumerate()
                .map(|(t, &wt)| wt * x[o + t * dilation])
                .sum::<f32>();
    }
}
