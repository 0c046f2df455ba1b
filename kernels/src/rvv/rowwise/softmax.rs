//! Softmax: row max with `vfmax` into per-lane accumulators and `vfredmax`;
//! `e = exp(x − m)` stored while Σe accumulates per lane (`tu`), ordered
//! `vfredosum`; then `out *= 1/Σe`. LMUL 4.

use super::exp::{canon, exp_lane};
use super::fma_multiversion;

/// LMUL of the accumulator groups (their lane count is part of the result).
pub(super) const LMUL: usize = 4;

/// `vfmax`: IEEE maximumNumber (a NaN operand loses; both NaN give the
/// canonical NaN), with −0 < +0.
#[inline(always)]
fn vfmax(a: f32, b: f32) -> f32 {
    if a.is_nan() {
        canon(b)
    } else if b.is_nan() || a > b || (a == b && b.is_sign_negative()) {
        a
    } else {
        b
    }
}

fma_multiversion! {
    fn model(lanes: usize, x: &[f32], dim: usize, out: &mut [f32]) {
        let mut acc = vec![0.0f32; lanes];
        for (row, orow) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
            acc.fill(f32::NEG_INFINITY);
            for strip in row.chunks(lanes) {
                for (a, &v) in acc.iter_mut().zip(strip) {
                    *a = vfmax(*a, v);
                }
            }
            let m = acc.iter().fold(f32::NEG_INFINITY, |s, &a| vfmax(s, a));
            acc.fill(0.0);
            for (strip, ostrip) in row.chunks(lanes).zip(orow.chunks_mut(lanes)) {
                for ((a, o), &v) in acc.iter_mut().zip(ostrip.iter_mut()).zip(strip) {
                    let e = exp_lane(v - m);
                    *o = e;
                    *a += e;
                }
            }
            let s = acc.iter().fold(0.0f32, |s, &a| s + a);
            let inv = 1.0 / s;
            for o in orow.iter_mut() {
                *o = canon(*o * inv);
            }
        }
    }
}

/// The native kernel over whole rows of `dim` (> 0).
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
pub(super) fn native(x: &[f32], dim: usize, out: &mut [f32]) {
    use super::exp::{exp_asm, exp_operands};
    assert!(dim > 0 && x.len() == out.len() && x.len() % dim == 0);
    for (row, orow) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let m: f32;
        // SAFETY: reads `dim` f32 from `row`, vl ≤ remaining; writes only the
        // declared vector registers and `m`.
        unsafe {
            std::arch::asm!(
                ".option push",
                ".option arch, +v",
                "vsetvli {vm}, zero, e32, m4, ta, ma",
                "vfmv.v.f v16, {ninf}",
                "2:",
                "mv {avl}, {n}",
                "bgeu {vm}, {n}, 3f",
                "mv {avl}, {vm}",
                "3:",
                "vsetvli zero, {avl}, e32, m4, tu, ma",
                "vle32.v v8, ({x})",
                "vfmax.vv v16, v16, v8",
                "sub {n}, {n}, {avl}",
                "slli {avl}, {avl}, 2",
                "add {x}, {x}, {avl}",
                "bnez {n}, 2b",
                "vsetvli zero, {vm}, e32, m4, ta, ma",
                "vfmv.s.f v4, {ninf}",
                "vfredmax.vs v4, v16, v4",
                "vfmv.f.s {m}, v4",
                ".option pop",
                x = inout(reg) row.as_ptr() => _,
                n = inout(reg) dim => _,
                vm = out(reg) _,
                avl = out(reg) _,
                ninf = in(freg) f32::NEG_INFINITY,
                m = out(freg) m,
                out("v4") _,
                out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                out("v16") _, out("v17") _, out("v18") _, out("v19") _,
                options(nostack)
            )
        }
        let s: f32;
        // SAFETY: reads `dim` f32 from `row`, writes `dim` to `orow` (both
        // valid for `dim`), vl ≤ remaining; writes only the declared vector
        // registers and `s`.
        unsafe {
            exp_operands!(
                ".option push",
                ".option arch, +v",
                "vsetvli {vm}, zero, e32, m4, ta, ma",
                "vmv.v.i v28, 0",
                "2:",
                "mv {avl}, {n}",
                "bgeu {vm}, {n}, 3f",
                "mv {avl}, {vm}",
                "3:",
                "vsetvli zero, {avl}, e32, m4, tu, ma",
                "vle32.v v8, ({x})",
                "vfsub.vf v8, v8, {m}",
                exp_asm!(),
                "vse32.v v24, ({o})",
                "vfadd.vv v28, v28, v24",
                "sub {n}, {n}, {avl}",
                "slli {avl}, {avl}, 2",
                "add {x}, {x}, {avl}",
                "add {o}, {o}, {avl}",
                "bnez {n}, 2b",
                "vsetvli zero, {vm}, e32, m4, ta, ma",
                "vmv.s.x v4, zero",
                "vfredosum.vs v4, v28, v4",
                "vfmv.f.s {s}, v4",
                ".option pop",
                x = inout(reg) row.as_ptr() => _,
                o = inout(reg) orow.as_mut_ptr() => _,
                n = inout(reg) dim => _,
                vm = out(reg) _,
                avl = out(reg) _,
                m = in(freg) m,
                s = out(freg) s,
                out("v4") _,
                out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            )
        }
        let inv = 1.0 / s;
        // SAFETY: reads and writes `dim` f32 of `orow`, vl ≤ remaining; only
        // the declared vector registers change.
        unsafe {
            std::arch::asm!(
                ".option push",
                ".option arch, +v",
                "vsetvli {vm}, zero, e32, m8, ta, ma",
                "2:",
                "mv {avl}, {n}",
                "bgeu {vm}, {n}, 3f",
                "mv {avl}, {vm}",
                "3:",
                "vsetvli zero, {avl}, e32, m8, ta, ma",
                "vle32.v v8, ({o})",
                "vfmul.vf v8, v8, {inv}",
                "vse32.v v8, ({o})",
                "sub {n}, {n}, {avl}",
                "slli {avl}, {avl}, 2",
                "add {o}, {o}, {avl}",
                "bnez {n}, 2b",
                ".option pop",
                o = inout(reg) orow.as_mut_ptr() => _,
                n = inout(reg) dim => _,
                vm = out(reg) _,
                avl = out(reg) _,
                inv = in(freg) inv,
                out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                out("v12") _, out("v13") _, out("v14") _, out("v15") _,
                options(nostack)
            )
        }
    }
}
