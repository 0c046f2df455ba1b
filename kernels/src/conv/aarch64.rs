//! NEON depthwise row kernel.

use std::arch::aarch64::*;

use super::depthwise::check_row;

/// `out[o] = bias + Σ_t w[t] · x[o + t*dilation]` (a `depthwise::RowKernel`).
///
/// # Safety
/// The CPU must have NEON.
#[target_feature(enable = "neon")]
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
        // 32 outputs at a time: eight independent accumulators per tap.
        while o + 32 <= n {
            let mut acc = [vdupq_n_f32(bias); 8];
            for (t, &wt) in w.iter().enumerate() {
                let xt = xp.add(o + t * dilation);
                for (u, a) in acc.iter_mut().enumerate() {
                    *a = vfmaq_n_f32(*a, vld1q_f32(xt.add(4 * u)), wt);
                }
            }
            for (u, a) in acc.iter().enumerate() {
                vst1q_f32(op.add(o + 4 * u), *a);
            }
            o += 32;
        }
        while o + 4 <= n {
            let mut acc = vdupq_n_f32(bias);
            for (t, &wt) in w.iter().enumerate() {
                acc = vfmaq_n_f32(acc, vld1q_f32(xp.add(o + t * dilation)), wt);
            }
            vst1q_f32(op.add(o), acc);
            o += 4;
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
