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

/// See `Kernels::pack_b_transposed`.
pub(crate) fn pack_b_transposed<E: WeightElem, const NR: usize>(
    w: &[E],
    ldw: usize,
    cols: usize,
    kc: usize,
    dst: &mut [f32],
) {
    assert!(cols <= NR && dst.len() >= NR * kc && w.len() >= span(cols, kc, ldw));
    let dst = &mut dst[..NR * kc];
    if cols < NR {
        dst.fill(0.0);
    }
    for j in 0..cols {
        for (p, &x) in w[j * ldw..][..kc].iter().enumerate() {
            dst[p * NR + j] = x.to_f32();
        }
    }
}

/// See `Kernels::pack_b_rows`.
pub(crate) fn pack_b_rows<E: WeightElem, const NR: usize>(
    b: &[E],
    ldb: usize,
    cols: usize,
    kc: usize,
    dst: &mut [f32],
) {
    let panels = cols.div_ceil(NR);
    assert!(b.len() >= span(kc, cols, ldb) && dst.len() >= panels * NR * kc);
    for p in 0..kc {
        for (panel, src) in b[p * ldb..][..cols].chunks(NR).enumerate() {
            let out = &mut dst[panel * NR * kc + p * NR..][..NR];
            for (o, &x) in out.iter_mut().zip(src) {
                *o = x.to_f32();
            }
            out[src.len()..].fill(0.0);
        }
    }
}
