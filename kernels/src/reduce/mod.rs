//! Row reductions (sum, mean, max, min), dot products, argmax and top-k.
//!
//! Sums and dot products: the reference accumulates in f64; the SIMD variants
//! in f32 over 4 independent vector accumulators (32 lanes on AVX2, 16 on
//! NEON), combined at the end, so their error grows with about len/32 (len/16)
//! rather than len.

use crate::Isa;

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
pub mod scalar;
mod select;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

/// How `reduce_rows` folds a row into one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    Sum,
    Mean,
    /// Largest element; NaN if the row holds a NaN (like `torch.amax`).
    Max,
    /// Smallest element; NaN if the row holds a NaN (like `torch.amin`).
    Min,
}

impl ReduceOp {
    pub const ALL: [ReduceOp; 4] = [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min];
}

/// `out[r] = op(x[r·dim .. (r+1)·dim])` for `out.len()` rows. Empty rows
/// (`dim == 0`) give the identity: 0 for Sum, NaN for Mean (0/0), −inf for
/// Max, +inf for Min. The sign of a zero Max/Min result is unspecified when
/// the row holds both +0 and −0.
pub fn reduce_rows(op: ReduceOp, x: &[f32], dim: usize, out: &mut [f32]) {
    reduce_rows_with(Isa::best(), op, x, dim, out)
}

pub fn reduce_rows_with(isa: Isa, op: ReduceOp, x: &[f32], dim: usize, out: &mut [f32]) {
    let n = out
        .len()
        .checked_mul(dim)
        .expect("reduce_rows: rows × dim overflows");
    assert_eq!(
        x.len(),
        n,
        "reduce_rows {op:?}: x must hold out.len() = {} rows of dim = {dim}",
        out.len()
    );
    if dim == 0 {
        out.fill(scalar::reduce_row(op, &[]));
        return;
    }
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::reduce_rows(op, x, dim, out) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::reduce_rows(op, x, dim, out) },
        _ => scalar::reduce_rows(op, x, dim, out),
    }
}

/// `Σ a[i]·b[i]`.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_with(Isa::best(), a, b)
}

pub fn dot_with(isa: Isa, a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot: a and b lengths differ");
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::dot_product(a, b) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::dot_product(a, b) },
        _ => scalar::dot(a, b),
    }
}

/// `out[r]` = index of the largest element of row r, the first one on ties.
/// NaN counts as larger than every number (the first NaN wins), as in
/// `torch.argmax`. Rows must not be empty.
pub fn argmax_rows(x: &[f32], dim: usize, out: &mut [u32]) {
    argmax_rows_with(Isa::best(), x, dim, out)
}

pub fn argmax_rows_with(isa: Isa, x: &[f32], dim: usize, out: &mut [u32]) {
    let n = out
        .len()
        .checked_mul(dim)
        .expect("argmax_rows: rows × dim overflows");
    assert_eq!(
        x.len(),
        n,
        "argmax_rows: x must hold out.len() = {} rows of dim = {dim}",
        out.len()
    );
    assert!(
        dim > 0 || out.is_empty(),
        "argmax_rows: rows of dim = 0 have no argmax"
    );
    assert!(
        dim <= u32::MAX as usize,
        "argmax_rows: dim does not fit u32 indices"
    );
    // Scalar for every ISA: argmax is not hot (once per sampled token).
    let _ = isa;
    scalar::argmax_rows(x, dim, out)
}

/// The `k` largest elements of each row with their indices, sorted
/// descending; equal values keep ascending index order (a stable sort, so
/// `torch.topk` on CPU agrees whenever the row's values are distinct). NaN
/// counts as larger than every number. `values` and `indices` hold `rows × k`.
pub fn topk_rows(x: &[f32], dim: usize, k: usize, values: &mut [f32], indices: &mut [u32]) {
    topk_rows_with(Isa::best(), x, dim, k, values, indices)
}

pub fn topk_rows_with(
    isa: Isa,
    x: &[f32],
    dim: usize,
    k: usize,
    values: &mut [f32],
    indices: &mut [u32],
) {
    assert!(k <= dim, "topk_rows: k = {k} exceeds dim = {dim}");
    assert!(
        dim <= u32::MAX as usize,
        "topk_rows: dim does not fit u32 indices"
    );
    let rows = x.len().checked_div(dim).unwrap_or(0);
    assert_eq!(
        x.len(),
        rows * dim,
        "topk_rows: x is not whole rows of dim = {dim}"
    );
    assert!(
        values.len() == rows * k && indices.len() == rows * k,
        "topk_rows: values and indices must hold rows × k = {} entries",
        rows * k
    );
    // Scalar for every ISA: a selection, dominated by comparisons and branches.
    let _ = isa;
    scalar::topk_rows(x, dim, k, values, indices)
}
