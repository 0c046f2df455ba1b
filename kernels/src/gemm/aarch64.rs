//! NEON inner loops: an 8×12 register tile (24 q-register accumulators, A and B
//! each loaded once per step, FMAs by lane), GEMV loops, and packing that widens
//! bf16 (shift) and f16 (`fcvtl`, base ARMv8 SIMD) four lanes at a time.

use std::arch::aarch64::*;
use std::arch::asm;

use super::arch::{span, Kernels};
use super::element::{Storage, WeightElem};
use super::pack;

/// The NEON kernel family. Only instantiated after `Isa::Neon.checked()`.
pub(crate) struct Neon;

const MR: usize = 8;
const NR: usize = 12;

/// Loads four consecutive weights widened to f32.
///
/// # Safety
/// NEON available; `p` valid for reading 4 elements.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load4<E: WeightElem>(p: *const E) -> float32x4_t {
    // SAFETY: 4 readable elements per the contract; `STORAGE` names E's real type
    // (sealed trait), so each cast reinterprets memory of exactly that type.
    unsafe {
        match E::STORAGE {
            Storage::F32 => vld1q_f32(p as *const f32),
            Storage::Bf16 => vreinterpretq_f32_u32(vshll_n_u16::<16>(vld1_u16(p as *const u16))),
            Storage::F16 => {
                let half = vld1_u16(p as *const u16);
                let wide: float32x4_t;
                // `fcvtl` is base ARMv8 SIMD; the f16 vector types are not stable Rust.
                asm!("fcvtl {0:v}.4s, {1:v}.4h", out(vreg) wide, in(vreg) half,
                     options(pure, nomem, nostack, preserves_flags));
                wide
            }
        }
    }
}

impl<E: WeightElem> Kernels<E> for Neon {
    const MR: usize = MR;
    const NR: usize = NR;

    unsafe fn pack_a(a: &[f32], lda: usize, rows: usize, kc: usize, dst: &mut [f32]) {
        pack::pack_a::<MR>(a, lda, rows, kc, dst);
    }

    unsafe fn pack_b_transposed(w: &[E], ldw: usize, cols: usize, kc: usize, dst: &mut [f32]) {
        if cols < NR || E::STORAGE == Storage::F32 {
            return pack::pack_b_transposed::<E, NR>(w, ldw, cols, kc, dst);
        }
        assert!(w.len() >= span(NR, kc, ldw) && dst.len() >= NR * kc);
        // SAFETY: NEON is the caller's contract; extents asserted above.
        unsafe { pack_panel_transposed(w.as_ptr(), ldw, kc, dst.as_mut_ptr()) };
    }

    unsafe fn pack_b_rows(b: &[E], ldb: usize, cols: usize, kc: usize, dst: &mut [f32]) {
        let full = cols / NR;
        assert!(b.len() >= span(kc, cols, ldb) && dst.len() >= cols.div_ceil(NR) * NR * kc);
        // SAFETY: NEON is the caller's contract; the full panels lie inside the
        // extents asserted above.
        unsafe { pack_full_panels(b.as_ptr(), ldb, full, kc, dst.as_mut_ptr()) };
        if cols > full * NR {
            let tail = full * NR;
            pack::pack_b_rows::<E, NR>(&b[tail..], ldb, cols - tail, kc, &mut dst[tail * kc..]);
        }
    }

    unsafe fn tile(kc: usize, a: &[f32], b: &[f32], c: *mut f32, ldc: usize, accumulate: bool) {
        assert!(a.len() >= MR * kc && b.len() >= NR * kc);
        // SAFETY: NEON and C's validity are the caller's contract; packed extents
        // asserted above.
        unsafe { tile_8x12(kc, a.as_ptr(), b.as_ptr(), c, ldc, accumulate) };
    }

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
    ) {
        assert!(
            (1..=4).contains(&m) && a.len() >= span(m, k, lda) && w.len() >= span(rows, k, ldw)
        );
        let (a, w) = (a.as_ptr(), w.as_ptr());
        // SAFETY: NEON and C's validity are the caller's contract; A and W extents
        // asserted above.
        unsafe {
            match m {
                1 => gemv_t_rows::<E, 1, 8>(k, a, lda, w, ldw, rows, c, ldc),
                2 => gemv_t_rows::<E, 2, 4>(k, a, lda, w, ldw, rows, c, ldc),
                3 => gemv_t_rows::<E, 3, 4>(k, a, lda, w, ldw, rows, c, ldc),
                _ => gemv_t_rows::<E, 4, 4>(k, a, lda, w, ldw, rows, c, ldc),
            }
        }
    }

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
    ) {
        assert!(
            (1..=4).contains(&m) && a.len() >= span(m, k, lda) && b.len() >= span(k, cols, ldb)
        );
        let (a, b) = (a.as_ptr(), b.as_ptr());
        // SAFETY: as for gemv_t.
        unsafe {
            match m {
                1 => gemv_n_cols::<E, 1, 4>(k, a, lda, b, ldb, cols, c, ldc),
                2 => gemv_n_cols::<E, 2, 4>(k, a, lda, b, ldb, cols, c, ldc),
                3 => gemv_n_cols::<E, 3, 4>(k, a, lda, b, ldb, cols, c, ldc),
                _ => gemv_n_cols::<E, 4, 4>(k, a, lda, b, ldb, cols, c, ldc),
            }
        }
    }
}

/// One row of the tile: `acc[r][..] += a[lane] · b[..]`.
macro_rules! fma_row {
    ($acc:expr, $b:expr, $a:expr, $lane:literal) => {
        $acc[0] = vfmaq_laneq_f32::<$lane>($acc[0], $b[0], $a);
        $acc[1] = vfmaq_laneq_f32::<$lane>($acc[1], $b[1], $a);
        $acc[2] = vfmaq_laneq_f32::<$lane>($acc[2], $b[2], $a);
    };
}

/// The 8×12 register tile over `kc` packed steps.
///
/// # Safety
/// NEON available; `a` readable for `8*kc`, `b` for `12*kc` floats; `c` valid for
/// reads and writes of 8 rows × 12 columns with stride `ldc`.
#[target_feature(enable = "neon")]
unsafe fn tile_8x12(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    let mut acc = [[vdupq_n_f32(0.0); 3]; MR];
    for p in 0..kc {
        // SAFETY: p < kc, so these reads stay inside the packed sliver and panel.
        unsafe {
            let bp = b.add(p * NR);
            let bv = [vld1q_f32(bp), vld1q_f32(bp.add(4)), vld1q_f32(bp.add(8))];
            let lo = vld1q_f32(a.add(p * MR));
            let hi = vld1q_f32(a.add(p * MR + 4));
            fma_row!(acc[0], bv, lo, 0);
            fma_row!(acc[1], bv, lo, 1);
            fma_row!(acc[2], bv, lo, 2);
            fma_row!(acc[3], bv, lo, 3);
            fma_row!(acc[4], bv, hi, 0);
            fma_row!(acc[5], bv, hi, 1);
            fma_row!(acc[6], bv, hi, 2);
            fma_row!(acc[7], bv, hi, 3);
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (q, &v) in acc_r.iter().enumerate() {
            // SAFETY: row r < 8, columns 4q..4q+4 < 12 of the tile, valid per the contract.
            unsafe {
                let out = c.add(r * ldc + 4 * q);
                let v = if accumulate {
                    vaddq_f32(v, vld1q_f32(out))
                } else {
                    v
                };
                vst1q_f32(out, v);
            }
        }
    }
}

/// Packs `panels` full 12-column panels of row-major B, a whole row of B at a
/// time, widening as it copies.
///
/// # Safety
/// NEON available; `b` readable for `(kc-1)*ldb + 12*panels` elements, `dst`
/// writable for `12*kc*panels`.
#[target_feature(enable = "neon")]
unsafe fn pack_full_panels<E: WeightElem>(
    b: *const E,
    ldb: usize,
    panels: usize,
    kc: usize,
    dst: *mut f32,
) {
    for p in 0..kc {
        for panel in 0..panels {
            for q in 0..3 {
                // SAFETY: row p < kc, columns 12*panel + 4q..+4 inside the stated
                // extents; the destination lies in panel `panel`, row p.
                unsafe {
                    let src = b.add(p * ldb + panel * NR + 4 * q);
                    vst1q_f32(dst.add(panel * NR * kc + p * NR + 4 * q), load4(src));
                }
            }
        }
    }
}

/// Packs 12 full columns of transposed B (12 weight rows, `kc` deep), widening
/// four elements of a row at a time and storing them by lane.
///
/// # Safety
/// NEON available; `b` readable for `11*ldb + kc` elements, `dst` writable for `12*kc`.
#[target_feature(enable = "neon")]
unsafe fn pack_panel_transposed<E: WeightElem>(b: *const E, ldb: usize, kc: usize, dst: *mut f32) {
    let k4 = kc / 4 * 4;
    for j in 0..NR {
        for p in (0..k4).step_by(4) {
            // SAFETY: row j < 12, columns p..p+4 ≤ kc; stores to (p+q)*12 + j < 12*kc.
            unsafe {
                let v = load4(b.add(j * ldb + p));
                vst1q_lane_f32::<0>(dst.add(p * NR + j), v);
                vst1q_lane_f32::<1>(dst.add((p + 1) * NR + j), v);
                vst1q_lane_f32::<2>(dst.add((p + 2) * NR + j), v);
                vst1q_lane_f32::<3>(dst.add((p + 3) * NR + j), v);
            }
        }
        for p in k4..kc {
            // SAFETY: j < 12, p < kc: inside both extents.
            unsafe { *dst.add(p * NR + j) = (*b.add(j * ldb + p)).to_f32() };
        }
    }
}

/// `M` rows of A against `rows` weight rows, `R` weight rows at a time.
///
/// # Safety
/// See `Kernels::gemv_t`, with `a`, `w` the start pointers of those slices.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "neon")]
unsafe fn gemv_t_rows<E: WeightElem, const M: usize, const R: usize>(
    k: usize,
    a: *const f32,
    lda: usize,
    w: *const E,
    ldw: usize,
    rows: usize,
    c: *mut f32,
    ldc: usize,
) {
    let mut j = 0;
    while j + R <= rows {
        // SAFETY: weight rows j..j+R < rows, forwarded extents.
        unsafe { gemv_t_block::<E, M, R>(k, a, lda, w.add(j * ldw), ldw, c.add(j), ldc) };
        j += R;
    }
    while j < rows {
        // SAFETY: weight row j < rows.
        unsafe { gemv_t_block::<E, M, 1>(k, a, lda, w.add(j * ldw), ldw, c.add(j), ldc) };
        j += 1;
    }
}

/// `c[i*ldc + r] = Σ_p a[i*lda + p] · w[r*ldw + p]` for `i < M`, `r < R`.
///
/// # Safety
/// NEON available; `a` readable for `(M-1)*lda + k`, `w` for `(R-1)*ldw + k`
/// elements; `c` writable at `i*ldc + r`.
#[target_feature(enable = "neon")]
unsafe fn gemv_t_block<E: WeightElem, const M: usize, const R: usize>(
    k: usize,
    a: *const f32,
    lda: usize,
    w: *const E,
    ldw: usize,
    c: *mut f32,
    ldc: usize,
) {
    let mut acc = [[vdupq_n_f32(0.0); R]; M];
    let k4 = k / 4 * 4;
    for p in (0..k4).step_by(4) {
        // SAFETY: p + 4 ≤ k, rows < R and < M: inside the stated extents.
        unsafe {
            let wv: [float32x4_t; R] = std::array::from_fn(|r| load4(w.add(r * ldw + p)));
            for (i, acc_i) in acc.iter_mut().enumerate() {
                let av = vld1q_f32(a.add(i * lda + p));
                for (acc_ir, &wr) in acc_i.iter_mut().zip(&wv) {
                    *acc_ir = vfmaq_f32(*acc_ir, av, wr);
                }
            }
        }
    }
    for (i, acc_i) in acc.iter().enumerate() {
        for (r, &acc_ir) in acc_i.iter().enumerate() {
            let mut sum = vaddvq_f32(acc_ir);
            for p in k4..k {
                // SAFETY: p < k inside A row i and weight row r.
                unsafe { sum += *a.add(i * lda + p) * (*w.add(r * ldw + p)).to_f32() };
            }
            // SAFETY: (i, r) inside the output block.
            unsafe { *c.add(i * ldc + r) = sum };
        }
    }
}

/// `M` rows of A against row-major B, `P` rows of B per pass over the output strip.
///
/// # Safety
/// See `Kernels::gemv_n`, with `a`, `b` the start pointers of those slices.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "neon")]
unsafe fn gemv_n_cols<E: WeightElem, const M: usize, const P: usize>(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const E,
    ldb: usize,
    cols: usize,
    c: *mut f32,
    ldc: usize,
) {
    for i in 0..M {
        // SAFETY: row i < M, columns < cols: inside C's block.
        unsafe { std::ptr::write_bytes(c.add(i * ldc), 0, cols) };
    }
    let mut p = 0;
    while p + P <= k {
        // SAFETY: rows p..p+P ≤ k of B and columns p..p+P of A.
        unsafe { axpy_rows::<E, M, P>(a.add(p), lda, b.add(p * ldb), ldb, cols, c, ldc) };
        p += P;
    }
    while p < k {
        // SAFETY: row p < k.
        unsafe { axpy_rows::<E, M, 1>(a.add(p), lda, b.add(p * ldb), ldb, cols, c, ldc) };
        p += 1;
    }
}

/// `c[i][j] += Σ_{q<P} a[i*lda + q] · b[q*ldb + j]` for `i < M`, `j < cols`, each
/// element accumulated by a chain of fused multiply-adds in `q` order.
///
/// # Safety
/// NEON available; `a` readable at `i*lda + q`, `b` for `(P-1)*ldb + cols`
/// elements, `c` readable and writable for `M × cols` with stride `ldc`.
#[target_feature(enable = "neon")]
unsafe fn axpy_rows<E: WeightElem, const M: usize, const P: usize>(
    a: *const f32,
    lda: usize,
    b: *const E,
    ldb: usize,
    cols: usize,
    c: *mut f32,
    ldc: usize,
) {
    // SAFETY: (i, q) with i < M, q < P: inside A's extent.
    let coef: [[f32; P]; M] =
        std::array::from_fn(|i| std::array::from_fn(|q| unsafe { *a.add(i * lda + q) }));
    let c4 = cols / 4 * 4;
    for j in (0..c4).step_by(4) {
        // SAFETY: j + 4 ≤ cols, q < P, i < M: inside the stated extents.
        unsafe {
            let bv: [float32x4_t; P] = std::array::from_fn(|q| load4(b.add(q * ldb + j)));
            for (i, coef_i) in coef.iter().enumerate() {
                let out = c.add(i * ldc + j);
                let mut acc = vld1q_f32(out);
                for (&cq, &bq) in coef_i.iter().zip(&bv) {
                    acc = vfmaq_n_f32(acc, bq, cq);
                }
                vst1q_f32(out, acc);
            }
        }
    }
    for j in c4..cols {
        for (i, coef_i) in coef.iter().enumerate() {
            // SAFETY: (i, j) inside C's block; q < P, j < cols inside B's extent.
            unsafe {
                let out = c.add(i * ldc + j);
                let mut acc = *out;
                for (q, &cq) in coef_i.iter().enumerate() {
                    acc = cq.mul_add((*b.add(q * ldb + j)).to_f32(), acc);
                }
                *out = acc;
            }
        }
    }
}
