//! AVX2 + FMA (+F16C for f16 caches) primitives of the attention tile loop.

// The kernels index several parallel arrays (rows, lanes, columns) with one
// counter; index loops read better here than zipped iterators.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;
use std::ops::Range;

use super::flash::{self, AttnSimd, KvRows, QueryRows, RowBlock, RowState};
use super::KvElem;

/// The AVX2 variant's entry point (an `AccumulateFn`).
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C (`Isa::Avx2.is_available()`).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn accumulate<K: KvElem>(
    k: &KvRows<K>,
    v: &KvRows<K>,
    keys: Range<usize>,
    rows: &QueryRows,
    state: &mut RowState,
) {
    // SAFETY: this function is compiled for, and only called on, CPUs with the
    // features `Avx2`'s primitives use.
    unsafe { flash::accumulate::<Avx2, K>(k, v, keys, rows, state) }
}

struct Avx2;

/// `q · row` for one key row of `q.len()` elements.
///
/// # Safety
/// `row..row + q.len()` must be readable; the CPU must have AVX2/FMA/F16C.
#[inline(always)]
unsafe fn dot<K: KvElem>(q: &[f32], row: *const K) -> f32 {
    let d = q.len();
    // SAFETY: loads stay below d on both rows (caller guarantees `row`'s length);
    // the caller guarantees the features.
    unsafe {
        let mut acc = _mm256_setzero_ps();
        let mut c = 0;
        while c + 8 <= d {
            acc = _mm256_fmadd_ps(
                _mm256_loadu_ps(q.as_ptr().add(c)),
                K::load8_avx2(row.add(c)),
                acc,
            );
            c += 8;
        }
        let mut out = hsum(acc);
        for c in c..d {
            out += q[c] * (*row.add(c)).to_f32();
        }
        out
    }
}

/// Sum of the 8 lanes.
#[inline(always)]
unsafe fn hsum(x: __m256) -> f32 {
    // SAFETY: register-only AVX ops; the caller guarantees AVX2.
    unsafe {
        let s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps::<1>(x));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }
}

/// Lane sums of four vectors at once.
#[inline(always)]
unsafe fn hsum4(a: __m256, b: __m256, c: __m256, d: __m256) -> [f32; 4] {
    // SAFETY: register-only AVX ops; the caller guarantees AVX2.
    unsafe {
        let abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
        let s = _mm_add_ps(
            _mm256_castps256_ps128(abcd),
            _mm256_extractf128_ps::<1>(abcd),
        );
        let mut out = [0.0f32; 4];
        _mm_storeu_ps(out.as_mut_ptr(), s);
        out
    }
}

/// `2^x` for `x <= 0` (about 1 ulp; inputs below -125 give 0, NaN stays NaN).
#[inline(always)]
unsafe fn exp2(x: __m256) -> __m256 {
    // SAFETY: register-only AVX2/FMA ops; the caller guarantees the features.
    unsafe {
        let floor = _mm256_set1_ps(-125.0);
        let underflow = _mm256_cmp_ps::<_CMP_LT_OQ>(x, floor);
        // max(floor, x) keeps a NaN x (MAXPS returns its second operand on NaN).
        let x = _mm256_max_ps(floor, x);
        let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(x);
        let f = _mm256_sub_ps(x, n);
        // Taylor series of 2^f = e^(f·ln2) on |f| <= 0.5, degree 6.
        let mut p = _mm256_set1_ps(1.540_353e-4);
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.333_355_8e-3));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.618_129e-3));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550_411e-2));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.240_226_5));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(std::f32::consts::LN_2));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0));
        // Multiply by 2^n through the exponent field (n >= -125 keeps it normal).
        let exponent = _mm256_slli_epi32::<23>(_mm256_cvtps_epi32(n));
        let r = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), exponent));
        _mm256_andnot_ps(underflow, r)
    }
}

impl AttnSimd for Avx2 {
    #[inline(always)]
    unsafe fn scores<K: KvElem>(q: &[f32], k: &RowBlock<K>, s: &mut [f32]) {
        let (d, n) = (k.dim(), k.len());
        assert!(q.len() == d && s.len() == n);
        let qp = q.as_ptr();
        // SAFETY: rows j < n of `k` hold d readable elements (RowBlock), `q` holds
        // d (checked); vector loads stay below d; the caller guarantees the features.
        unsafe {
            let mut j = 0;
            while j + 4 <= n {
                let kp = [k.row(j), k.row(j + 1), k.row(j + 2), k.row(j + 3)];
                // Two accumulators per key hide the FMA latency.
                let mut acc = [_mm256_setzero_ps(); 8];
                let mut c = 0;
                while c + 16 <= d {
                    let (q0, q1) = (_mm256_loadu_ps(qp.add(c)), _mm256_loadu_ps(qp.add(c + 8)));
                    for t in 0..4 {
                        acc[t] = _mm256_fmadd_ps(q0, K::load8_avx2(kp[t].add(c)), acc[t]);
                        acc[t + 4] =
                            _mm256_fmadd_ps(q1, K::load8_avx2(kp[t].add(c + 8)), acc[t + 4]);
                    }
                    c += 16;
                }
                if c + 8 <= d {
                    let q0 = _mm256_loadu_ps(qp.add(c));
                    for t in 0..4 {
                        acc[t] = _mm256_fmadd_ps(q0, K::load8_avx2(kp[t].add(c)), acc[t]);
                    }
                    c += 8;
                }
                let mut dots = hsum4(
                    _mm256_add_ps(acc[0], acc[4]),
                    _mm256_add_ps(acc[1], acc[5]),
                    _mm256_add_ps(acc[2], acc[6]),
                    _mm256_add_ps(acc[3], acc[7]),
                );
                for c in c..d {
                    for t in 0..4 {
                        dots[t] += q[c] * (*kp[t].add(c)).to_f32();
                    }
                }
                s[j..j + 4].copy_from_slice(&dots);
                j += 4;
            }
            for j in j..n {
                s[j] = dot(q, k.row(j));
            }
        }
    }

    #[inline(always)]
    unsafe fn scores2<K: KvElem>(q: [&[f32]; 2], k: &RowBlock<K>, s: [&mut [f32]; 2]) {
        let (d, n) = (k.dim(), k.len());
        let [s0, s1] = s;
        assert!(q.iter().all(|q| q.len() == d) && s0.len() == n && s1.len() == n);
        let qp = q.map(|q| q.as_ptr());
        // SAFETY: rows j < n of `k` hold d readable elements (RowBlock), each `q`
        // holds d (checked); vector loads stay below d; the caller guarantees the
        // features.
        unsafe {
            let mut j = 0;
            while j + 4 <= n {
                let kp = [k.row(j), k.row(j + 1), k.row(j + 2), k.row(j + 3)];
                // 2 rows x 4 keys: each K load feeds two FMAs.
                let mut acc = [[_mm256_setzero_ps(); 4]; 2];
                let mut c = 0;
                while c + 8 <= d {
                    let qv = [_mm256_loadu_ps(qp[0].add(c)), _mm256_loadu_ps(qp[1].add(c))];
                    for t in 0..4 {
                        let kv = K::load8_avx2(kp[t].add(c));
                        acc[0][t] = _mm256_fmadd_ps(qv[0], kv, acc[0][t]);
                        acc[1][t] = _mm256_fmadd_ps(qv[1], kv, acc[1][t]);
                    }
                    c += 8;
                }
                // (No closures here: they would not inherit the caller's target features.)
                let mut dots = [
                    hsum4(acc[0][0], acc[0][1], acc[0][2], acc[0][3]),
                    hsum4(acc[1][0], acc[1][1], acc[1][2], acc[1][3]),
                ];
                for c in c..d {
                    for t in 0..4 {
                        let kc = (*kp[t].add(c)).to_f32();
                        dots[0][t] += q[0][c] * kc;
                        dots[1][t] += q[1][c] * kc;
                    }
                }
                s0[j..j + 4].copy_from_slice(&dots[0]);
                s1[j..j + 4].copy_from_slice(&dots[1]);
                j += 4;
            }
            for j in j..n {
                s0[j] = dot(q[0], k.row(j));
                s1[j] = dot(q[1], k.row(j));
            }
        }
    }

    #[inline(always)]
    unsafe fn weighted_sum<K: KvElem>(p: &[f32], v: &RowBlock<K>, acc: &mut [f32]) {
        let (d, n) = (v.dim(), v.len());
        assert!(acc.len() == d && p.len() == n);
        let ap = acc.as_mut_ptr();
        // SAFETY: rows j < n of `v` hold d readable elements (RowBlock), `acc` holds
        // d (checked); vector accesses stay below d; the caller guarantees the
        // features.
        unsafe {
            // 64 columns of the accumulator live in registers across all keys.
            let mut c = 0;
            while c + 64 <= d {
                let mut a = [_mm256_setzero_ps(); 8];
                for (u, a) in a.iter_mut().enumerate() {
                    *a = _mm256_loadu_ps(ap.add(c + 8 * u));
                }
                for (j, p) in p.iter().enumerate() {
                    let (pv, vp) = (_mm256_broadcast_ss(p), v.row(j).add(c));
                    for (u, a) in a.iter_mut().enumerate() {
                        *a = _mm256_fmadd_ps(pv, K::load8_avx2(vp.add(8 * u)), *a);
                    }
                }
                for (u, a) in a.iter().enumerate() {
                    _mm256_storeu_ps(ap.add(c + 8 * u), *a);
                }
                c += 64;
            }
            while c + 8 <= d {
                let mut a = _mm256_loadu_ps(ap.add(c));
                for (j, p) in p.iter().enumerate() {
                    a = _mm256_fmadd_ps(_mm256_broadcast_ss(p), K::load8_avx2(v.row(j).add(c)), a);
                }
                _mm256_storeu_ps(ap.add(c), a);
                c += 8;
            }
            for c in c..d {
                acc[c] += p
                    .iter()
                    .enumerate()
                    .map(|(j, &p)| p * (*v.row(j).add(c)).to_f32())
                    .sum::<f32>();
            }
        }
    }

    #[inline(always)]
    unsafe fn weighted_sum2<K: KvElem>(p: [&[f32]; 2], v: &RowBlock<K>, acc: [&mut [f32]; 2]) {
        let (d, n) = (v.dim(), v.len());
        let [acc0, acc1] = acc;
        assert!(acc0.len() == d && acc1.len() == d && p.iter().all(|p| p.len() == n));
        let ap = [acc0.as_mut_ptr(), acc1.as_mut_ptr()];
        // SAFETY: rows j < n of `v` hold d readable elements (RowBlock), each `acc`
        // holds d (checked); vector accesses stay below d; the caller guarantees
        // the features.
        unsafe {
            // 2 rows x 32 columns of accumulator in registers; each V load feeds
            // two FMAs.
            let mut c = 0;
            while c + 32 <= d {
                let mut a = [[_mm256_setzero_ps(); 4]; 2];
                for r in 0..2 {
                    for u in 0..4 {
                        a[r][u] = _mm256_loadu_ps(ap[r].add(c + 8 * u));
                    }
                }
                for j in 0..n {
                    let pv = [_mm256_broadcast_ss(&p[0][j]), _mm256_broadcast_ss(&p[1][j])];
                    let vp = v.row(j).add(c);
                    for u in 0..4 {
                        let x = K::load8_avx2(vp.add(8 * u));
                        a[0][u] = _mm256_fmadd_ps(pv[0], x, a[0][u]);
                        a[1][u] = _mm256_fmadd_ps(pv[1], x, a[1][u]);
                    }
                }
                for r in 0..2 {
                    for u in 0..4 {
                        _mm256_storeu_ps(ap[r].add(c + 8 * u), a[r][u]);
                    }
                }
                c += 32;
            }
            while c + 8 <= d {
                let mut a = [_mm256_loadu_ps(ap[0].add(c)), _mm256_loadu_ps(ap[1].add(c))];
                for j in 0..n {
                    let x = K::load8_avx2(v.row(j).add(c));
                    a[0] = _mm256_fmadd_ps(_mm256_broadcast_ss(&p[0][j]), x, a[0]);
                    a[1] = _mm256_fmadd_ps(_mm256_broadcast_ss(&p[1][j]), x, a[1]);
                }
                _mm256_storeu_ps(ap[0].add(c), a[0]);
                _mm256_storeu_ps(ap[1].add(c), a[1]);
                c += 8;
            }
            for c in c..d {
                for r in 0..2 {
                    *ap[r].add(c) += (0..n)
                        .map(|j| p[r][j] * (*v.row(j).add(c)).to_f32())
                        .sum::<f32>();
                }
            }
        }
    }

    #[inline(always)]
    unsafe fn max(x: &[f32]) -> f32 {
        let n = x.len();
        // SAFETY: 8-element loads at i < n - 7; the caller guarantees AVX2.
        unsafe {
            let mut m = _mm256_set1_ps(f32::NEG_INFINITY);
            let mut i = 0;
            while i + 8 <= n {
                m = _mm256_max_ps(m, _mm256_loadu_ps(x.as_ptr().add(i)));
                i += 8;
            }
            let mut lanes = [0.0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), m);
            lanes
                .iter()
                .chain(&x[i..])
                .fold(f32::NEG_INFINITY, |a, &b| a.max(b))
        }
    }

    #[inline(always)]
    unsafe fn exp2_shifted_sum(x: &mut [f32], shift: f32) -> f32 {
        let n = x.len();
        // SAFETY: 8-element loads/stores at i < n - 7, and on a local 8-element
        // buffer for the tail; the caller guarantees AVX2/FMA.
        unsafe {
            let shift = _mm256_set1_ps(shift);
            let mut sum = _mm256_setzero_ps();
            let mut i = 0;
            while i + 8 <= n {
                let p = exp2(_mm256_sub_ps(_mm256_loadu_ps(x.as_ptr().add(i)), shift));
                _mm256_storeu_ps(x.as_mut_ptr().add(i), p);
                sum = _mm256_add_ps(sum, p);
                i += 8;
            }
            if i < n {
                // Same polynomial for the tail; -inf padding contributes 0.
                let mut tail = [f32::NEG_INFINITY; 8];
                tail[..n - i].copy_from_slice(&x[i..]);
                let p = exp2(_mm256_sub_ps(_mm256_loadu_ps(tail.as_ptr()), shift));
                _mm256_storeu_ps(tail.as_mut_ptr(), p);
                x[i..].copy_from_slice(&tail[..n - i]);
                sum = _mm256_add_ps(sum, p);
            }
            hsum(sum)
        }
    }

    #[inline(always)]
    unsafe fn scale(x: &mut [f32], c: f32) {
        let n = x.len();
        // SAFETY: 8-element loads/stores at i < n - 7; the caller guarantees AVX.
        unsafe {
            let cv = _mm256_set1_ps(c);
            let mut i = 0;
            while i + 8 <= n {
                let p = x.as_mut_ptr().add(i);
                _mm256_storeu_ps(p, _mm256_mul_ps(_mm256_loadu_ps(p), cv));
                i += 8;
            }
        }
        for x in &mut x[n - n % 8..] {
            *x *= c;
        }
    }

    #[inline(always)]
    unsafe fn widen<K: KvElem>(src: &[K], dst: &mut [f32]) {
        let n = dst.len();
        assert_eq!(src.len(), n);
        // SAFETY: 8-element loads/stores at i < n - 7 of two length-n slices; the
        // caller guarantees AVX2/F16C.
        unsafe {
            let mut i = 0;
            while i + 8 <= n {
                _mm256_storeu_ps(dst.as_mut_ptr().add(i), K::load8_avx2(src.as_ptr().add(i)));
                i += 8;
            }
        }
        for i in n - n % 8..n {
            dst[i] = src[i].to_f32();
        }
    }
}
