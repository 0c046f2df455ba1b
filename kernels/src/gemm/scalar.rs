//! Reference implementation: the oracle every SIMD variant is tested against.
//! Straightforward loops; each output sums its products in increasing `p` order.

use super::element::WeightElem;

/// `c[i*ldc + j] = Σ_p a[i*lda + p] · b(p, j)`. Arguments were validated by the caller.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<E: WeightElem>(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[E],
    ldb: usize,
    b_transposed: bool,
    c: &mut [f32],
    ldc: usize,
) {
    for i in 0..m {
        let a_row = &a[i * lda..][..k];
        let c_row = &mut c[i * ldc..][..n];
        if b_transposed {
            for (j, out) in c_row.iter_mut().enumerate() {
                let w_row = &b[j * ldb..][..k];
                *out = a_row
                    .iter()
                    .zip(w_row)
                    .fold(0.0f32, |acc, (&x, &w)| acc + x * w.to_f32());
            }
        } else {
            // i-p-j order: same summation order per output as the dot form, but
            // walks B row by row, which keeps the oracle fast on big tests.
            c_row.fill(0.0);
            for (p, &x) in a_row.iter().enumerate() {
                let b_row = &b[p * ldb..][..n];
                for (out, &w) in c_row.iter_mut().zip(b_row) {
                    *out += x * w.to_f32();
                }
            }
        }
    }
}
