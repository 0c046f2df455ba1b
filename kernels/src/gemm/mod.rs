//! Dense matrix multiply: `C[m×n] = A[m×k] · B`, where B is `[k×n]` row-major or,
//! with `b_transposed`, stored as `[n×k]` row-major (the layout of a Linear weight).
//!
//! PLACEHOLDER BODY: a naive loop so other families can call the final signature
//! while the blocked SIMD version is being written.

use crate::blocking::CacheInfo;

/// `c[i*ldc + j] = Σ_p a[i*lda + p] · b(p, j)`, overwriting C.
#[allow(clippy::too_many_arguments)]
pub fn gemm_f32(
    caches: &CacheInfo,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    b_transposed: bool,
    c: &mut [f32],
    ldc: usize,
) {
    let _ = caches;
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                let bv = if b_transposed { b[j * ldb + p] } else { b[p * ldb + j] };
                acc += a[i * lda + p] * bv;
            }
            c[i * ldc + j] = acc;
        }
    }
}
