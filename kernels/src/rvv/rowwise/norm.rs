//! RMSNorm: Σx² with `vfmacc` into per-lane accumulators (LMUL 4, `tu` on the
//! last strip) and the ordered `vfredosum`; then `round(x·inv)·w`.

use super::exp::canon;
use super::{fma_multiversion, round_lane};
use crate::cast::Rounding;
use crate::norm::scalar::inv_rms;

/// LMUL of the accumulator group (its lane count is part of the result).
pub(super) const LMUL: usize = 4;

fma_multiversion! {
    fn model(
        lanes: usize,
        x: &[f32],
        weight: Option<&[f32]>,
        dim: usize,
        eps: f32,
        rounding: Rounding,
        out: &mut [f32],
    ) {
        let mut acc = vec![0.0f32; lanes];
        for (row, orow) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
            acc.fill(0.0);
            for strip in row.chunks(lanes) {
                for (a, &v) in acc.iter_mut().zip(strip) {
                    *a = v.mul_add(v, *a);
                }
            }
            let ss = acc.iter().fold(0.0f32, |s, &a| s + a);
            let inv = inv_rms(ss / dim as f32, eps);
            let scaled = |v: f32| round_lane(canon(v * inv), rounding);
            match weight {
                Some(w) => {
                    for (o, (&v, &wv)) in orow.iter_mut().zip(row.iter().zip(w)) {
                        *o = canon(wv * scaled(v));
                    }
                }
                None => {
                    for (o, &v) in orow.iter_mut().zip(row) {
                        *o = scaled(v);
                    }
                }
            }
        }
    }
}

/// The native kernel over whole rows of `dim` (> 0).
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
pub(super) fn native(
    x: &[f32],
    weight: Option<&[f32]>,
    dim: usize,
    eps: f32,
    rounding: Rounding,
    out: &mut [f32],
) {
    use super::{round_asm, round_flags};
    assert!(dim > 0 && x.len() == out.len() && x.len() % dim == 0);
    assert!(weight.is_none_or(|w| w.len() == dim));
    let (bf16, f16) = round_flags(rounding);
    let pw = weight.map_or(std::ptr::null(), |w| w.as_ptr());
    for (row, orow) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let ss: f32;
        // SAFETY: reads `dim` f32 from `row` (valid for `dim`), vl ≤ remaining,
        // writes only the declared vector registers and `ss`.
        unsafe {
            std::arch::asm!(
                ".option push",
                ".option arch, +v",
                "vsetvli {vm}, zero, e32, m4, ta, ma",
                "vmv.v.i v16, 0",
                "2:",
                "mv {avl}, {n}",
                "bgeu {vm}, {n}, 3f",
                "mv {avl}, {vm}",
                "3:",
                "vsetvli zero, {avl}, e32, m4, tu, ma",
                "vle32.v v8, ({x})",
                "vfmacc.vv v16, v8, v8",
                "sub {n}, {n}, {avl}",
                "slli {avl}, {avl}, 2",
                "add {x}, {x}, {avl}",
                "bnez {n}, 2b",
                "vsetvli zero, {vm}, e32, m4, ta, ma",
                "vmv.s.x v4, zero",
                "vfredosum.vs v4, v16, v4",
                "vfmv.f.s {ss}, v4",
                ".option pop",
                x = inout(reg) row.as_ptr() => _,
                n = inout(reg) dim => _,
                vm = out(reg) _,
                avl = out(reg) _,
                ss = out(freg) ss,
                out("v4") _,
                out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                out("v16") _, out("v17") _, out("v18") _, out("v19") _,
                options(nostack)
            )
        }
        let inv = inv_rms(ss / dim as f32, eps);
        // SAFETY: reads `dim` f32 from `row` and (when not null) from `weight`,
        // writes `dim` to `orow`, all valid for `dim`; vl ≤ remaining; only the
        // declared vector registers change.
        unsafe {
            std::arch::asm!(
                ".option push",
                ".option arch, +v, +zvfh",
                "vsetvli {vm}, zero, e32, m4, ta, ma",
                "2:",
                "mv {avl}, {n}",
                "bgeu {vm}, {n}, 3f",
                "mv {avl}, {vm}",
                "3:",
                "vsetvli zero, {avl}, e32, m4, ta, ma",
                "vle32.v v8, ({x})",
                "vfmul.vf v8, v8, {inv}",
                round_asm!("v8", "v16", "v24", "m4", "m2"),
                "beqz {w}, 4f",
                "vle32.v v20, ({w})",
                "vfmul.vv v8, v8, v20",
                "4:",
                "vse32.v v8, ({o})",
                "sub {n}, {n}, {avl}",
                "slli {avl}, {avl}, 2",
                "add {x}, {x}, {avl}",
                "add {o}, {o}, {avl}",
                "beqz {w}, 7f",
                "add {w}, {w}, {avl}",
                "7:",
                "bnez {n}, 2b",
                ".option pop",
                x = inout(reg) row.as_ptr() => _,
                w = inout(reg) pw => _,
                o = inout(reg) orow.as_mut_ptr() => _,
                n = inout(reg) dim => _,
                vm = out(reg) _,
                avl = out(reg) _,
                inv = in(freg) inv,
                bf16 = in(reg) bf16,
                f16 = in(reg) f16,
                k7fff = in(reg) 0x7fffusize,
                khi = in(reg) 0xffff_0000usize,
                out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                out("v16") _, out("v17") _, out("v18") _, out("v19") _,
                out("v20") _, out("v21") _, out("v22") _, out("v23") _,
                out("v24") _, out("v25") _,
                options(nostack)
            )
        }
    }
}
