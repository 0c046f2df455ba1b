//! AVX2 + FMA + F16C inner loops: a 6×16 register tile (12 ymm accumulators fed by
//! two B loads and six A broadcasts per step), bandwidth-bound GEMV loops, and
//! packing that widens bf16/f16 weights to f32 eight lanes at a time.

use std::arch::x86_64::*;

use super::arch::{span, Kernels};
use super::element::{Storage, WeightElem};
use super::pack;

/// The AVX2 kernel family. Only instantiated after `Isa::Avx2.checked()`.
pub(crate) struct Avx2;

const MR: usize = 6;
const NR: usize = 16;

/// Loads eight consecutive weights widened to f32.
///
/// # Safety
/// AVX2/F16C available; `p` valid for reading 8 elements.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load8<E: WeightElem>(p: *const E) -> __m256 {
    // SAFETY: 8 readable elements per the contract; `STORAGE` names E's real type
    // (sealed trait), so each cast reinterprets memory of exactly that type.
    unsafe {
        match E::STORAGE {
            Storage::F32 => _mm256_loadu_ps(p as *const f32),
            Storage::Bf16 => {
                let raw = _mm_loadu_si128(p as *const __m128i);
                _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(raw)))
            }
            Storage::F16 => _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i)),
        }
    }
}

impl<E: WeightElem> Kernels<E> for Avx2 {
    const MR: usize = MR;
    const NR: usize = NR;

    unsafe fn pack_a(a: &[f32], lda: usize, rows: usize, kc: usize, dst: &mut [f32]) {
        if rows < MR {
            return pack::pack_a::<MR>(a, lda, rows, kc, dst);
        }
        assert!(a.len() >= span(MR, kc, lda) && dst.len() >= MR * kc);
        // SAFETY: AVX2 is the caller's contract; extents asserted above.
        unsafe { pack_full_sliver(a.as_ptr(), lda, kc, dst.as_mut_ptr()) };
    }

    unsafe fn pack_b_transposed(w: &[E], ldw: usize, cols: usize, kc: usize, dst: &mut [f32]) {
        if cols < NR {
            return pack::pack_b_transposed::<E, NR>(w, ldw, cols, kc, dst);
        }
        assert!(w.len() >= span(NR, kc, ldw) && dst.len() >= NR * kc);
        // SAFETY: AVX2 is the caller's contract; extents asserted above.
        unsafe { pack_panel_transposed(w.as_ptr(), ldw, kc, dst.as_mut_ptr()) };
    }

    unsafe fn pack_b_rows(b: &[E], ldb: usize, cols: usize, kc: usize, dst: &mut [f32]) {
        let full = cols / NR;
        assert!(b.len() >= span(kc, cols, ldb) && dst.len() >= cols.div_ceil(NR) * NR * kc);
        // SAFETY: AVX2 is the caller's contract; the full panels lie inside the
        // extents asserted above.
        unsafe { pack_full_panels(b.as_ptr(), ldb, full, kc, dst.as_mut_ptr()) };
        if cols > full * NR {
            let tail = full * NR;
            pack::pack_b_rows::<E, NR>(&b[tail..], ldb, cols - tail, kc, &mut dst[tail * kc..]);
        }
    }

    unsafe fn tile(kc: usize, a: &[f32], b: &[f32], c: *mut f32, ldc: usize, accumulate: bool) {
        assert!(a.len() >= MR * kc && b.len() >= NR * kc);
        // SAFETY: AVX2 and C's validity are the caller's contract; packed extents
        // asserted above.
        unsafe { tile_6x16(kc, a.as_ptr(), b.as_ptr(), c, ldc, accumulate) };
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
        // SAFETY: AVX2 and C's validity are the caller's contract; A and W extents
        // asserted above.
        unsafe {
            match m {
                1 => gemv_t_rows::<E, 1, 4>(k, a, lda, w, ldw, rows, c, ldc),
                2 => gemv_t_rows::<E, 2, 4>(k, a, lda, w, ldw, rows, c, ldc),
                3 => gemv_t_rows::<E, 3, 2>(k, a, lda, w, ldw, rows, c, ldc),
                _ => gemv_t_rows::<E, 4, 2>(k, a, lda, w, ldw, rows, c, ldc),
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
                3 => gemv_n_cols::<E, 3, 2>(k, a, lda, b, ldb, cols, c, ldc),
                _ => gemv_n_cols::<E, 4, 2>(k, a, lda, b, ldb, cols, c, ldc),
            }
        }
    }
}

/// The 6×16 register tile over `kc` packed steps.
///
/// # Safety
/// AVX2/FMA available; `a` readable for `6*kc`, `b` for `16*kc` floats; `c` valid
/// for reads and writes of 6 rows × 16 columns with stride `ldc`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile_6x16(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    // C is touched only after the whole k loop; start fetching it now so the
    // final read-modify-write does not wait on L3.
    for r in 0..MR {
        let row = c.wrapping_add(r * ldc) as *const i8;
        _mm_prefetch::<_MM_HINT_T0>(row);
        _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(NR * 4 - 1));
    }
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    for p in 0..kc {
        // SAFETY: p < kc, so these reads stay inside the packed sliver and panel.
        unsafe {
            let b0 = _mm256_loadu_ps(b.add(p * NR));
            let b1 = _mm256_loadu_ps(b.add(p * NR + 8));
            let ap = a.add(p * MR);
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let ar = _mm256_broadcast_ss(&*ap.add(r));
                acc_r[0] = _mm256_fmadd_ps(ar, b0, acc_r[0]);
                acc_r[1] = _mm256_fmadd_ps(ar, b1, acc_r[1]);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        // SAFETY: row r < 6, columns 0..16 of the tile, valid per the contract.
        unsafe {
            let out = c.add(r * ldc);
            let (mut lo, mut hi) = (acc_r[0], acc_r[1]);
            if accumulate {
                lo = _mm256_add_ps(lo, _mm256_loadu_ps(out));
                hi = _mm256_add_ps(hi, _mm256_loadu_ps(out.add(8)));
            }
            _mm256_storeu_ps(out, lo);
            _mm256_storeu_ps(out.add(8), hi);
        }
    }
}

/// Packs a full 6-row sliver of A: 8 columns at a time are transposed in
/// registers (two zero rows complete the 8×8 block) and each column's six values
/// stored exactly; a ragged end of `kc` goes scalar.
///
/// # Safety
/// AVX2 available; `a` readable for `5*lda + kc` elements, `dst` writable for `6*kc`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pack_full_sliver(a: *const f32, lda: usize, kc: usize, dst: *mut f32) {
    let k8 = kc / 8 * 8;
    for p in (0..k8).step_by(8) {
        // SAFETY: rows < 6, columns p..p+8 ≤ kc: inside A's extent; column p+q < kc
        // of the sliver occupies dst[(p+q)*6..+6].
        unsafe {
            let rows: [__m256; 8] = std::array::from_fn(|r| {
                if r < MR {
                    _mm256_loadu_ps(a.add(r * lda + p))
                } else {
                    _mm256_setzero_ps()
                }
            });
            for (q, col) in transpose8x8(rows).iter().enumerate() {
                let out = dst.add((p + q) * MR);
                _mm_storeu_ps(out, _mm256_castps256_ps128(*col));
                // `storeu_si64` has no alignment requirement (out+4 may be 4-aligned only).
                let rows_4_5 = _mm_castps_si128(_mm256_extractf128_ps::<1>(*col));
                _mm_storeu_si64(out.add(4) as *mut u8, rows_4_5);
            }
        }
    }
    for p in k8..kc {
        for r in 0..MR {
            // SAFETY: r < 6, p < kc: inside both extents.
            unsafe { *dst.add(p * MR + r) = *a.add(r * lda + p) };
        }
    }
}

/// Packs `panels` full 16-column panels of row-major B, a whole row of B at a
/// time (each step copies and widens 16 contiguous elements per panel).
///
/// # Safety
/// AVX2/F16C available; `b` readable for `(kc-1)*ldb + 16*panels` elements,
/// `dst` writable for `16*kc*panels`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pack_full_panels<E: WeightElem>(
    b: *const E,
    ldb: usize,
    panels: usize,
    kc: usize,
    dst: *mut f32,
) {
    for p in 0..kc {
        for panel in 0..panels {
            // SAFETY: row p < kc, columns 16*panel..+16 inside the stated extents;
            // the destination lies in panel `panel`, row p.
            unsafe {
                let src = b.add(p * ldb + panel * NR);
                let out = dst.add(panel * NR * kc + p * NR);
                _mm256_storeu_ps(out, load8(src));
                _mm256_storeu_ps(out.add(8), load8(src.add(8)));
            }
        }
    }
}

/// Packs 16 full columns of transposed B (16 weight rows, `kc` deep): 8×8 blocks
/// are widened and transposed in registers; a ragged end of `kc` goes scalar.
///
/// # Safety
/// AVX2/F16C available; `b` readable for `15*ldb + kc` elements, `dst` writable
/// for `16*kc`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pack_panel_transposed<E: WeightElem>(b: *const E, ldb: usize, kc: usize, dst: *mut f32) {
    let k8 = kc / 8 * 8;
    // Both halves per step: all 16 weight rows stream at once, which keeps more
    // cache-line fills in flight than finishing one half first.
    for p in (0..k8).step_by(8) {
        for half in 0..2 {
            let rows = b.wrapping_add(half * 8 * ldb);
            // SAFETY: rows half*8..half*8+8 < 16, columns p..p+8 ≤ k8 ≤ kc: inside B's
            // extent; writes go to dst[(p+q)*16 + half*8 ..+8] with p+q < kc.
            unsafe {
                let v: [__m256; 8] = std::array::from_fn(|r| load8(rows.add(r * ldb + p)));
                let t = transpose8x8(v);
                for (q, tq) in t.iter().enumerate() {
                    _mm256_storeu_ps(dst.add((p + q) * NR + half * 8), *tq);
                }
            }
        }
    }
    for j in 0..NR {
        for p in k8..kc {
            // SAFETY: j < 16, p < kc: inside both extents.
            unsafe { *dst.add(p * NR + j) = (*b.add(j * ldb + p)).to_f32() };
        }
    }
}

/// Transposes an 8×8 block held as eight row vectors.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn transpose8x8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
}

/// Sum of the eight lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// `M` rows of A against `rows` weight rows, `R` weight rows at a time (`M×R`
/// accumulators, each weight vector loaded once and used `M` times).
///
/// # Safety
/// See `Kernels::gemv_t`, with `a`, `w` the start pointers of those slices.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma,f16c")]
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
/// AVX2/FMA available; `a` readable for `(M-1)*lda + k`, `w` for `(R-1)*ldw + k`
/// elements; `c` writable at `i*ldc + r`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gemv_t_block<E: WeightElem, const M: usize, const R: usize>(
    k: usize,
    a: *const f32,
    lda: usize,
    w: *const E,
    ldw: usize,
    c: *mut f32,
    ldc: usize,
) {
    let mut acc = [[_mm256_setzero_ps(); R]; M];
    let k8 = k / 8 * 8;
    for p in (0..k8).step_by(8) {
        // SAFETY: p + 8 ≤ k, rows < R and < M: inside the stated extents.
        unsafe {
            let wv: [__m256; R] = std::array::from_fn(|r| load8(w.add(r * ldw + p)));
            for (i, acc_i) in acc.iter_mut().enumerate() {
                let av = _mm256_loadu_ps(a.add(i * lda + p));
                for (acc_ir, &wr) in acc_i.iter_mut().zip(&wv) {
                    *acc_ir = _mm256_fmadd_ps(av, wr, *acc_ir);
                }
            }
        }
    }
    for (i, acc_i) in acc.iter().enumerate() {
        for (r, &acc_ir) in acc_i.iter().enumerate() {
            let mut sum = hsum(acc_ir);
            for p in k8..k {
                // SAFETY: p < k inside A row i and weight row r.
                unsafe { sum += *a.add(i * lda + p) * (*w.add(r * ldw + p)).to_f32() };
            }
            // SAFETY: (i, r) inside the output block.
            unsafe { *c.add(i * ldc + r) = sum };
        }
    }
}

/// `M` rows of A against row-major B, `P` rows of B per pass over the output
/// strip (which stays in L1), so B streams in `P` sequential runs.
///
/// # Safety
/// See `Kernels::gemv_n`, with `a`, `b` the start pointers of those slices.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma,f16c")]
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
/// AVX2/FMA available; `a` readable at `i*lda + q`, `b` for `(P-1)*ldb + cols`
/// elements, `c` readable and writable for `M × cols` with stride `ldc`.
#[target_feature(enable = "avx2,fma,f16c")]
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
    let coef_v: [[__m256; P]; M] =
        std::array::from_fn(|i| std::array::from_fn(|q| _mm256_set1_ps(coef[i][q])));
    let c8 = cols / 8 * 8;
    for j in (0..c8).step_by(8) {
        // SAFETY: j + 8 ≤ cols, q < P, i < M: inside the stated extents.
        unsafe {
            let bv: [__m256; P] = std::array::from_fn(|q| load8(b.add(q * ldb + j)));
            for (i, coef_i) in coef_v.iter().enumerate() {
                let out = c.add(i * ldc + j);
                let mut acc = _mm256_loadu_ps(out);
                for (&cq, &bq) in coef_i.iter().zip(&bv) {
                    acc = _mm256_fmadd_ps(cq, bq, acc);
                }
                _mm256_storeu_ps(out, acc);
            }
        }
    }
    for j in c8..cols {
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
