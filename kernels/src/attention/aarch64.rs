//! NEON primitives of the attention tile loop. Works in 8-element steps (two
//! f32x4 halves) to match `KvElem::load8_neon`.

// The kernels index several parallel arrays (rows, lanes, columns) with one
// counter; index loops read better here than zipped iterators.
#![allow(clippy::needless_range_loop)]

use std::arch::aarch64::*;
use std::ops::Range;

use super::flash::{self, AttnSimd, KvRows, QueryRows, RowBlock, RowState};
use super::KvElem;

/// The NEON variant's entry point (an `AccumulateFn`).
///
/// # Safety
/// The CPU must have NEON (`Isa::Neon.is_available()`).
#[target_feature(enable = "neon")]
pub(super) unsafe fn accumulate<K: KvElem>(
    k: &KvRows<K>,
    v: &KvRows<K>,
    keys: Range<usize>,
    rows: &QueryRows,
    state: &mut RowState,
) {
    // SAFETY: this function is compiled for, and only called on, CPUs with NEON.
    unsafe { flash::accumulate::<Neon, K>(k, v, keys, rows, state) }
}

struct Neon;

/// `2^x` for `x <= 0` (about 1 ulp; inputs below -125 give 0, NaN stays NaN).
#[inline(always)]
unsafe fn exp2(x: float32x4_t) -> float32x4_t {
    // SAFETY: register-only NEON ops; the caller guarantees NEON.
    unsafe {
        let floor = vdupq_n_f32(-125.0);
        let underflow = vcltq_f32(x, floor);
        // FMAXNM would turn NaN into the floor; FMAX keeps it.
        let x = vmaxq_f32(x, floor);
        let n = vrndnq_f32(x);
        let f = vsubq_f32(x, n);
        // Taylor series of 2^f = e^(f·ln2) on |f| <= 0.5, degree 6.
        let mut p = vdupq_n_f32(1.540_353e-4);
        p = vfmaq_f32(vdupq_n_f32(1.333_355_8e-3), p, f);
        p = vfmaq_f32(vdupq_n_f32(9.618_129e-3), p, f);
        p = vfmaq_f32(vdupq_n_f32(5.550_411e-2), p, f);
        p = vfmaq_f32(vdupq_n_f32(0.240_226_5), p, f);
        p = vfmaq_f32(vdupq_n_f32(std::f32::consts::LN_2), p, f);
        p = vfmaq_f32(vdupq_n_f32(1.0), p, f);
        // Multiply by 2^n through the exponent field (n >= -125 keeps it normal).
        let exponent = vshlq_n_s32::<23>(vcvtq_s32_f32(n));
        let r = vreinterpretq_f32_s32(vaddq_s32(vreinterpretq_s32_f32(p), exponent));
        vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(r), underflow))
    }
}

/// `q · row` for one key row of `q.len()` elements.
///
/// # Safety
/// `row..row + q.len()` must be readable; the CPU must have NEON.
#[inline(always)]
unsafe fn dot<K: KvElem>(q: &[f32], row: *const K) -> f32 {
    let d = q.len();
    // SAFETY: loads stay below d on both rows (caller guarantees `row`'s length);
    // the caller guarantees NEON.
    unsafe {
        let (mut lo, mut hi) = (vdupq_n_f32(0.0), vdupq_n_f32(0.0));
        let mut c = 0;
        while c + 8 <= d {
            let qv = vld1q_f32_x2(q.as_ptr().add(c));
            let kv = K::load8_neon(row.add(c));
            lo = vfmaq_f32(lo, qv.0, kv.0);
            hi = vfmaq_f32(hi, qv.1, kv.1);
            c += 8;
        }
        let mut out = vaddvq_f32(vaddq_f32(lo, hi));
        for c in c..d {
            out += q[c] * (*row.add(c)).to_f32();
        }
        out
    }
}

// No closures calling intrinsics below: closures would not inherit the caller's
// target features and the intrinsics would stay out-of-line calls.
impl AttnSimd for Neon {
    #[inline(always)]
    unsafe fn scores<K: KvElem>(q: &[f32], k: &RowBlock<K>, s: &mut [f32]) {
        let (d, n) = (k.dim(), k.len());
        assert!(q.len() == d && s.len() == n);
        let qp = q.as_ptr();
        // SAFETY: rows j < n of `k` hold d readable elements (RowBlock), `q` holds
        // d (checked); vector loads stay below d; the caller guarantees NEON.
        unsafe {
            let mut j = 0;
            while j + 4 <= n {
                let kp = [k.row(j), k.row(j + 1), k.row(j + 2), k.row(j + 3)];
                let mut lo = [vdupq_n_f32(0.0); 4];
                let mut hi = [vdupq_n_f32(0.0); 4];
                let mut c = 0;
                while c + 8 <= d {
                    let qv = vld1q_f32_x2(qp.add(c));
                    for t in 0..4 {
                        let kv = K::load8_neon(kp[t].add(c));
                        lo[t] = vfmaq_f32(lo[t], qv.0, kv.0);
                        hi[t] = vfmaq_f32(hi[t], qv.1, kv.1);
                    }
                    c += 8;
                }
                for t in 0..4 {
                    let mut dot = vaddvq_f32(vaddq_f32(lo[t], hi[t]));
                    for c in c..d {
                        dot += q[c] * (*kp[t].add(c)).to_f32();
                    }
                    s[j + t] = dot;
                }
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
        assert!(q[0].len() == d && q[1].len() == d && s0.len() == n && s1.len() == n);
        let qp = [q[0].as_ptr(), q[1].as_ptr()];
        // SAFETY: rows j < n of `k` hold d readable elements (RowBlock), each `q`
        // holds d (checked); vector loads stay below d; the caller guarantees NEON.
        unsafe {
            let mut j = 0;
            while j + 4 <= n {
                let kp = [k.row(j), k.row(j + 1), k.row(j + 2), k.row(j + 3)];
                // 2 rows x 4 keys x 8 lanes: each K load feeds two FMAs.
                let mut lo = [[vdupq_n_f32(0.0); 4]; 2];
                let mut hi = [[vdupq_n_f32(0.0); 4]; 2];
                let mut c = 0;
                while c + 8 <= d {
                    let qv = [vld1q_f32_x2(qp[0].add(c)), vld1q_f32_x2(qp[1].add(c))];
                    for t in 0..4 {
                        let kv = K::load8_neon(kp[t].add(c));
                        for r in 0..2 {
                            lo[r][t] = vfmaq_f32(lo[r][t], qv[r].0, kv.0);
                            hi[r][t] = vfmaq_f32(hi[r][t], qv[r].1, kv.1);
                        }
                    }
                    c += 8;
                }
                for t in 0..4 {
                    let mut dots = [
                        vaddvq_f32(vaddq_f32(lo[0][t], hi[0][t])),
                        vaddvq_f32(vaddq_f32(lo[1][t], hi[1][t])),
                    ];
                    for c in c..d {
                        let kc = (*kp[t].add(c)).to_f32();
                        dots[0] += q[0][c] * kc;
                        dots[1] += q[1][c] * kc;
                    }
                    s0[j + t] = dots[0];
                    s1[j + t] = dots[1];
                }
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
        // d (checked); vector accesses stay below d; the caller guarantees NEON.
        unsafe {
            // 64 columns of the accumulator live in registers across all keys.
            let mut c = 0;
            while c + 64 <= d {
                let mut a = [vdupq_n_f32(0.0); 16];
                for u in 0..8 {
                    let x = vld1q_f32_x2(ap.add(c + 8 * u));
                    (a[2 * u], a[2 * u + 1]) = (x.0, x.1);
                }
                for j in 0..n {
                    let (pj, vp) = (p[j], v.row(j).add(c));
                    for u in 0..8 {
                        let x = K::load8_neon(vp.add(8 * u));
                        a[2 * u] = vfmaq_n_f32(a[2 * u], x.0, pj);
                        a[2 * u + 1] = vfmaq_n_f32(a[2 * u + 1], x.1, pj);
                    }
                }
                for u in 0..8 {
                    vst1q_f32_x2(ap.add(c + 8 * u), float32x4x2_t(a[2 * u], a[2 * u + 1]));
                }
                c += 64;
            }
            while c + 8 <= d {
                let mut a = vld1q_f32_x2(ap.add(c));
                for j in 0..n {
                    let x = K::load8_neon(v.row(j).add(c));
                    a.0 = vfmaq_n_f32(a.0, x.0, p[j]);
                    a.1 = vfmaq_n_f32(a.1, x.1, p[j]);
                }
                vst1q_f32_x2(ap.add(c), a);
                c += 8;
            }
            for c in c..d {
                let mut sum = 0.0;
                for j in 0..n {
                    sum += p[j] * (*v.row(j).add(c)).to_f32();
                }
                acc[c] += sum;
            }
        }
    }

    #[inline(always)]
    unsafe fn weighted_sum2<K: KvElem>(p: [&[f32]; 2], v: &RowBlock<K>, acc: [&mut [f32]; 2]) {
        let (d, n) = (v.dim(), v.len());
        let [acc0, acc1] = acc;
        assert!(acc0.len() == d && acc1.len() == d && p[0].len() == n && p[1].len() == n);
        let ap = [acc0.as_mut_ptr(), acc1.as_mut_ptr()];
        // SAFETY: rows j < n of `v` hold d readable elements (RowBlock), each `acc`
        // holds d (checked); vector accesses stay below d; the caller guarantees
        // NEON.
        unsafe {
            // 2 rows x 32 columns of accumulator in registers; each V load feeds
            // two FMAs.
            let mut c = 0;
            while c + 32 <= d {
                let mut a = [[vdupq_n_f32(0.0); 8]; 2];
                for r in 0..2 {
                    for u in 0..4 {
                        let x = vld1q_f32_x2(ap[r].add(c + 8 * u));
                        (a[r][2 * u], a[r][2 * u + 1]) = (x.0, x.1);
                    }
                }
                for j in 0..n {
                    let (p0, p1, vp) = (p[0][j], p[1][j], v.row(j).add(c));
                    for u in 0..4 {
                        let x = K::load8_neon(vp.add(8 * u));
                        a[0][2 * u] = vfmaq_n_f32(a[0][2 * u], x.0, p0);
                        a[0][2 * u + 1] = vfmaq_n_f32(a[0][2 * u + 1], x.1, p0);
                        a[1][2 * u] = vfmaq_n_f32(a[1][2 * u], x.0, p1);
                        a[1][2 * u + 1] = vfmaq_n_f32(a[1][2 * u + 1], x.1, p1);
                    }
                }
                for r in 0..2 {
                    for u in 0..4 {
                        vst1q_f32_x2(
                            ap[r].add(c + 8 * u),
                            float32x4x2_t(a[r][2 * u], a[r][2 * u + 1]),
                        );
                    }
                }
                c += 32;
            }
            while c + 8 <= d {
                let mut a = [vld1q_f32_x2(ap[0].add(c)), vld1q_f32_x2(ap[1].add(c))];
                for j in 0..n {
                    let x = K::load8_neon(v.row(j).add(c));
                    for r in 0..2 {
                        a[r].0 = vfmaq_n_f32(a[r].0, x.0, p[r][j]);
                        a[r].1 = vfmaq_n_f32(a[r].1, x.1, p[r][j]);
                    }
                }
                vst1q_f32_x2(ap[0].add(c), a[0]);
                vst1q_f32_x2(ap[1].add(c), a[1]);
                c += 8;
            }
            for c in c..d {
                for r in 0..2 {
                    let mut sum = 0.0;
                    for j in 0..n {
                        sum += p[r][j] * (*v.row(j).add(c)).to_f32();
                    }
                    *ap[r].add(c) += sum;
                }
            }
        }
    }

    #[inline(always)]
    unsafe fn max(x: &[f32]) -> f32 {
        let n = x.len();
        // SAFETY: 4-element loads at i < n - 3; the caller guarantees NEON.
        unsafe {
            let mut m = vdupq_n_f32(f32::NEG_INFINITY);
            let mut i = 0;
            while i + 4 <= n {
                m = vmaxq_f32(m, vld1q_f32(x.as_ptr().add(i)));
                i += 4;
            }
            x[i..].iter().fold(vmaxvq_f32(m), |a, &b| a.max(b))
        }
    }

    #[inline(always)]
    unsafe fn exp2_shifted_sum(x: &mut [f32], shift: f32) -> f32 {
        let n = x.len();
        // SAFETY: 4-element loads/stores at i < n - 3, and on a local 4-element
        // buffer for the tail; the caller guarantees NEON.
        unsafe {
            let shift = vdupq_n_f32(shift);
            let mut sum = vdupq_n_f32(0.0);
            let mut i = 0;
            while i + 4 <= n {
                let p = exp2(vsubq_f32(vld1q_f32(x.as_ptr().add(i)), shift));
                vst1q_f32(x.as_mut_ptr().add(i), p);
                sum = vaddq_f32(sum, p);
                i += 4;
            }
            if i < n {
                // Same polynomial for the tail; -inf padding contributes 0.
                let mut tail = [f32::NEG_INFINITY; 4];
                tail[..n - i].copy_from_slice(&x[i..]);
                let p = exp2(vsubq_f32(vld1q_f32(tail.as_ptr()), shift));
                vst1q_f32(tail.as_mut_ptr(), p);
                x[i..].copy_from_slice(&tail[..n - i]);
                sum = vaddq_f32(sum, p);
            }
            vaddvq_f32(sum)
        }
    }

    #[inline(always)]
    unsafe fn scale(x: &mut [f32], c: f32) {
        let n = x.len();
        // SAFETY: 4-element loads/stores at i < n - 3; the caller guarantees NEON.
        unsafe {
            let mut i = 0;
            while i + 4 <= n {
                let p = x.as_mut_ptr().add(i);
                vst1q_f32(p, vmulq_n_f32(vld1q_f32(p), c));
                i += 4;
            }
        }
        for x in &mut x[n - n % 4..] {
            *x *= c;
        }
    }

    #[inline(always)]
    unsafe fn widen<K: KvElem>(src: &[K], dst: &mut [f32]) {
        let n = dst.len();
        assert_eq!(src.len(), n);
        // SAFETY: 8-element loads/stores at i < n - 7 of two length-n slices; the
        // caller guarantees NEON.
        unsafe {
            let mut i = 0;
            while i + 8 <= n {
                vst1q_f32_x2(dst.as_mut_ptr().add(i), K::load8_neon(src.as_ptr().add(i)));
                i += 8;
            }
        }
        for i in n - n % 8..n {
            dst[i] = src[i].to_f32();
        }
    }
}
