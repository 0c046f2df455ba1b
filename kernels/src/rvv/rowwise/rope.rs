//! Rotate-half RoPE: plain `vfmul` / `vfsub` / `vfadd` (no FMA), each result
//! rounded through the rounding mode, over the first half of the rotary dims
//! (LMUL 2); the dims past `rotary_dim` are copied.

use super::exp::canon;
use super::round_lane;
use crate::cast::Rounding;

pub(super) fn model(
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    head_dim: usize,
    rotary_dim: usize,
    rounding: Rounding,
    out: &mut [f32],
) {
    let h = rotary_dim / 2;
    let r = |v: f32| round_lane(canon(v), rounding);
    let (c1, c2) = cos.split_at(h);
    let (s1, s2) = sin.split_at(h);
    for (row, orow) in x.chunks_exact(head_dim).zip(out.chunks_exact_mut(head_dim)) {
        let (xa, rest) = row.split_at(h);
        let xb = &rest[..h];
        let (oa, orest) = orow.split_at_mut(h);
        let ob = &mut orest[..h];
        for i in 0..h {
            let (a, b) = (xa[i], xb[i]);
            oa[i] = r(r(a * c1[i]) - r(b * s1[i]));
            ob[i] = r(r(b * c2[i]) + r(a * s2[i]));
        }
        orow[rotary_dim..].copy_from_slice(&row[rotary_dim..]);
    }
}

/// The native kernel over whole rows of `head_dim` (> 0).
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
pub(super) fn native(
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    head_dim: usize,
    rotary_dim: usize,
    rounding: Rounding,
    out: &mut [f32],
) {
    use super::{round_asm, round_flags};
    assert!(head_dim > 0 && x.len() == out.len() && x.len() % head_dim == 0);
    assert!(rotary_dim <= head_dim && cos.len() == rotary_dim && sin.len() == rotary_dim);
    let h = rotary_dim / 2;
    let (bf16, f16) = round_flags(rounding);
    for (row, orow) in x.chunks_exact(head_dim).zip(out.chunks_exact_mut(head_dim)) {
        let (xa, xb) = (row.as_ptr(), row[h..].as_ptr());
        let (oa, ob) = (orow.as_mut_ptr(), orow[h..].as_mut_ptr());
        // SAFETY: reads `h` f32 from each of row[..h], row[h..2h], cos[..h],
        // cos[h..], sin[..h], sin[h..] and writes `h` to orow[..h] and
        // orow[h..2h], all in bounds since 2h = rotary_dim ≤ head_dim; vl ≤
        // remaining; only the declared vector registers change.
        unsafe {
            std::arch::asm!(
                ".option push",
                ".option arch, +v, +zvfh",
                "vsetvli {vm}, zero, e32, m2, ta, ma",
                "beqz {n}, 9f",
                "2:",
                "mv {avl}, {n}",
                "bgeu {vm}, {n}, 3f",
                "mv {avl}, {vm}",
                "3:",
                "vsetvli zero, {avl}, e32, m2, ta, ma",
                "vle32.v v8, ({xa})",
                "vle32.v v10, ({xb})",
                "vle32.v v12, ({c1})",
                "vle32.v v14, ({s1})",
                "vle32.v v16, ({c2})",
                "vle32.v v18, ({s2})",
                "vfmul.vv v20, v8, v12",
                round_asm!("v20", "v24", "v26", "m2", "m1"),
                "vfmul.vv v22, v10, v14",
                round_asm!("v22", "v24", "v26", "m2", "m1"),
                "vfsub.vv v20, v20, v22",
                round_asm!("v20", "v24", "v26", "m2", "m1"),
                "vse32.v v20, ({oa})",
                "vfmul.vv v20, v10, v16",
                round_asm!("v20", "v24", "v26", "m2", "m1"),
                "vfmul.vv v22, v8, v18",
                round_asm!("v22", "v24", "v26", "m2", "m1"),
                "vfadd.vv v20, v20, v22",
                round_asm!("v20", "v24", "v26", "m2", "m1"),
                "vse32.v v20, ({ob})",
                "sub {n}, {n}, {avl}",
                "slli {avl}, {avl}, 2",
                "add {xa}, {xa}, {avl}",
                "add {xb}, {xb}, {avl}",
                "add {c1}, {c1}, {avl}",
                "add {c2}, {c2}, {avl}",
                "add {s1}, {s1}, {avl}",
                "add {s2}, {s2}, {avl}",
                "add {oa}, {oa}, {avl}",
                "add {ob}, {ob}, {avl}",
                "bnez {n}, 2b",
                "9:",
                ".option pop",
                xa = inout(reg) xa => _,
                xb = inout(reg) xb => _,
                c1 = inout(reg) cos.as_ptr() => _,
                c2 = inout(reg) cos[h..].as_ptr() => _,
                s1 = inout(reg) sin.as_ptr() => _,
                s2 = inout(reg) sin[h..].as_ptr() => _,
                oa = inout(reg) oa => _,
                ob = inout(reg) ob => _,
                n = inout(reg) h => _,
                vm = out(reg) _,
                avl = out(reg) _,
                bf16 = in(reg) bf16,
                f16 = in(reg) f16,
                k7fff = in(reg) 0x7fffusize,
                khi = in(reg) 0xffff_0000usize,
                out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                out("v12") _, out("v13") _, out("v14") _, out("v15") _,
                out("v16") _, out("v17") _, out("v18") _, out("v19") _,
                out("v20") _, out("v21") _, out("v22") _, out("v23") _,
                out("v24") _, out("v25") _, out("v26") _,
                options(nostack)
            )
        }
        orow[rotary_dim..].copy_from_slice(&row[rotary_dim..]);
    }
}
