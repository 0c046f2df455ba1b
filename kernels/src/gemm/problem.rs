//! One validated product `C = A·B`: the operands and their strides, checked once
//! at the entry so the drivers and kernels can rely on every extent.

use super::arch::span;
use super::shared_out::SharedOut;

/// The operands of one product, after validation.
#[derive(Clone, Copy)]
pub(crate) struct Problem<'a, E> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: &'a [f32],
    pub lda: usize,
    pub b: &'a [E],
    pub ldb: usize,
    pub b_transposed: bool,
    pub c: SharedOut,
    pub ldc: usize,
}

impl<'a, E> Problem<'a, E> {
    /// Checks every precondition of the public API; a violation is a caller bug.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        m: usize,
        n: usize,
        k: usize,
        a: &'a [f32],
        lda: usize,
        b: &'a [E],
        ldb: usize,
        b_transposed: bool,
        c: &'a mut [f32],
        ldc: usize,
    ) -> Problem<'a, E> {
        assert!(m <= 1 || k == 0 || lda >= k, "gemm: lda {lda} < k {k}");
        assert!(
            a.len() >= span(m, k, lda),
            "gemm: A has {} elements, needs {}",
            a.len(),
            span(m, k, lda)
        );
        let (b_rows, b_cols) = if b_transposed { (n, k) } else { (k, n) };
        assert!(
            b_rows <= 1 || b_cols == 0 || ldb >= b_cols,
            "gemm: ldb {ldb} < {b_cols}"
        );
        assert!(
            b.len() >= span(b_rows, b_cols, ldb),
            "gemm: B has {} elements, needs {}",
            b.len(),
            span(b_rows, b_cols, ldb)
        );
        // Overlapping C rows would let parallel tasks write the same element.
        assert!(m <= 1 || n == 0 || ldc >= n, "gemm: ldc {ldc} < n {n}");
        assert!(
            c.len() >= span(m, n, ldc),
            "gemm: C has {} elements, needs {}",
            c.len(),
            span(m, n, ldc)
        );
        Problem {
            m,
            n,
            k,
            a,
            lda,
            b,
            ldb,
            b_transposed,
            c: SharedOut::new(c),
            ldc,
        }
    }
}
