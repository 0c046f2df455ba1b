//! The per-ISA inner loops, as the blocked and GEMV drivers see them. Each SIMD
//! file implements this trait once for all three weight types.

use super::element::WeightElem;

/// Largest `MR × NR` register tile of any implementation (edge tiles are staged
/// in a stack buffer of this size).
pub(crate) const MAX_TILE: usize = 128;

/// Inner loops of one ISA for weights stored as `E`.
///
/// Every method is `unsafe` for two reasons: implementations execute
/// `#[target_feature]` code, so the host must support the ISA (callers check
/// `Isa::checked()` first), and they write C through a raw pointer that must be
/// valid for the block they are told to write.
pub(crate) trait Kernels<E: WeightElem> {
    /// Rows of the register tile (A sliver height).
    const MR: usize;
    /// Columns of the register tile (B panel width).
    const NR: usize;

    /// Packs `rows ≤ MR` rows × `kc` columns of A (row stride `lda`, `a` starting at
    /// the block's first element) into `dst[p*MR + i]`, zero-filling rows past `rows`.
    ///
    /// # Safety
    /// The host supports the ISA. `a` holds `(rows-1)*lda + kc` elements and `dst`
    /// holds `MR*kc`.
    unsafe fn pack_a(a: &[f32], lda: usize, rows: usize, kc: usize, dst: &mut [f32]);

    /// Packs one panel of transposed B (stored `[n×k]`): `cols ≤ NR` weight rows
    /// of `kc` elements each (row stride `ldw`, `w` starting at the panel's first
    /// element) into `dst[p*NR + j]` as f32, zero-filling columns past `cols`.
    ///
    /// # Safety
    /// The host supports the ISA. `w` holds `(cols-1)*ldw + kc`, `dst` holds `NR*kc`.
    unsafe fn pack_b_transposed(w: &[E], ldw: usize, cols: usize, kc: usize, dst: &mut [f32]);

    /// Packs `kc` rows × `cols` columns of row-major B (any `cols`) into
    /// `ceil(cols/NR)` consecutive panels `dst[panel*NR*kc + p*NR + j]` as f32,
    /// zero-filling the last panel's missing columns. Reads B a whole row at a
    /// time, the order memory streams best.
    ///
    /// # Safety
    /// The host supports the ISA. `b` holds `(kc-1)*ldb + cols`, `dst` holds
    /// `ceil(cols/NR)*NR*kc`.
    unsafe fn pack_b_rows(b: &[E], ldb: usize, cols: usize, kc: usize, dst: &mut [f32]);

    /// `C[MR×NR] = (accumulate ? C : 0) + Σ_p a[p*MR + i] · b[p*NR + j]`.
    ///
    /// # Safety
    /// The host supports the ISA; `a` holds `MR*kc`, `b` holds `NR*kc`, and `c` is
    /// valid for reads and writes of `MR` rows × `NR` columns with row stride `ldc`.
    unsafe fn tile(kc: usize, a: &[f32], b: &[f32], c: *mut f32, ldc: usize, accumulate: bool);

    /// Small-m product with transposed B: `c[i*ldc + j] = Σ_p a[i*lda + p] · w[j*ldw + p]`
    /// for `i < m` (1..=4) and `j < rows`.
    ///
    /// # Safety
    /// The host supports the ISA; `a` holds `(m-1)*lda + k`, `w` holds
    /// `(rows-1)*ldw + k`, and `c` is valid for writes of that `m × rows` block.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemv_t(
        m: usize,
        k: usize,
        a: &[f32],
        lda: usize,
        w: &[E],
        ldw: usize,
        rows: usize,
        c: *mut f32,
        ldc: usize,
    );

    /// Small-m product with row-major B: `c[i*ldc + j] = Σ_p a[i*lda + p] · b[p*ldb + j]`
    /// for `i < m` (1..=4) and `j < cols`.
    ///
    /// # Safety
    /// The host supports the ISA; `a` holds `(m-1)*lda + k`, `b` holds
    /// `(k-1)*ldb + cols`, and `c` is valid for reads and writes of that `m × cols` block.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemv_n(
        m: usize,
        k: usize,
        a: &[f32],
        lda: usize,
        b: &[E],
        ldb: usize,
        cols: usize,
        c: *mut f32,
        ldc: usize,
    );
}

/// Elements a `rows × cols` block with row stride `ld` spans (0 when empty).
pub(crate) fn span(rows: usize, cols: usize, ld: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1)
            .checked_mul(ld)
            .and_then(|x| x.checked_add(cols))
            .expect("matrix extent overflows usize")
    }
}
