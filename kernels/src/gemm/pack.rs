//! Portable packing into the layouts the micro-kernels read: A slivers
//! `dst[p*MR + i]` and B panels `dst[p*NR + j]`, both zero-padded to the full tile
//! so edge tiles run the same kernel. SIMD files call these for edges and for
//! layouts they do not specialise.

use super::arch::span;
use super::element::WeightElem;

/// See `Kernels::pack_a`.
pub(crate) fn pack_a<const MR: usize>(
    a: &[f32],
    lda: usize,
    rows: usize,
    kc: usize,
    dst: &mut [f32],
) {
    assert!(rows <= MR && a.len() >= span(rows, kc, lda) && dst.len() >= MR * kc);
    let dst = &mut dst[..MR * kc];
    if rows == MR {
        let src: [&[f32]; MR] = std::array::from_fn(|i| &a[i * lda..][..kc]);
        for (p, out) in dst.chunks_exact_mut(MR).enumerate() {
            for (o, row) in out.iter_mut().zip(&src) {
                *o = row[p];
            }
        }
    } else {
        dst.fill(0.0);
        for i in 0..rows {
            for (p, &x) in a[i * lda..][..kc].iter().enumerate() {
                dst[p * MR + i] = x;
            }
        }
    }
}

/// See `Kernels::pack_b`.
pub(crate) fn pack_b<E: WeightElem, const NR: usize>(
    b: &[E],
    ldb: usize,
    transposed: bool,
    cols: usize,
    kc: usize,
    dst: &mut [f32],
) {
    assert!(cols <= NR && dst.len() >= NR * kc);
    let dst = &mut dst[..NR * kc];
    if transposed {
        assert!(b.len() >= span(cols, kc, ldb));
        if cols < NR {
            dst.fill(0.0);
        }
        for j in 0..cols {
            for (p, &w) in b[j * ldb..][..kc].iter().enumerate() {
                dst[p * NR + j] = w.to_f32();
            }
        }
    } else {
        assert!(b.len() >= span(kc, cols, ldb));
        for (p, out) in dst.chunks_exact_mut(NR).enumerate() {
            let src = &b[p * ldb..][..cols];
            for (o, &w) in out.iter_mut().zip(src) {
                *o = w.to_f32();
            }
            out[cols..].fill(0.0);
        }
    }
}
