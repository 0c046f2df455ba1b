//! Native RVV 1.0 asm for the quant kernels. Called only when `t.engine()` is
//! `Native`, i.e. this core runs V at exactly `t.vlen_bits()`, so the LMULs chosen
//! from the target's VLEN are the hardware's. Each asm block runs a whole loop over
//! blocks; vtypes are computed here and applied with `vsetvl` (register form).
//!
//! T-Head `xtheadvdot` (`t.int8_dot`): `vmaqa.vv` (4-way i8 dot into i32 lanes) would
//! replace the `vwmul`/`vwmacc` + `vwredsum` pairs of the two block-sum loops. It is
//! not emitted: no emulator available here executes it, and untested code is not
//! shipped.

use super::CHUNK;
use crate::quant::{BlockQ4_0, BlockQ8_0, QK};
use crate::rvv::RvvTarget;
use half::f16;
use std::arch::asm;
use std::mem::{offset_of, size_of};

/// `vtype` (ta, ma) for `sew`-bit elements with the smallest legal LMUL whose VLMAX is
/// at least `elems` (LMUL ≥ SEW/ELEN with ELEN = 64). Every `vsetvl` below asks for
/// `AVL = elems`, so `vl = elems` exactly.
fn vtype(t: &RvvTarget, sew: usize, elems: usize) -> usize {
    let log2 = |v: usize| v.trailing_zeros() as i32;
    let lmul = (log2(elems * sew) - log2(t.vlen_bits())).max(log2(sew) - 6);
    assert!(lmul <= 3, "rvv quant: VLEN {} too small", t.vlen_bits());
    // vlmul encodes 1/8, 1/4, 1/2 as 5, 6, 7 (two's complement in 3 bits).
    let vlmul = (lmul & 7) as usize;
    let vsew = log2(sew / 8) as usize;
    vlmul | (vsew << 3) | 0xC0
}

pub(super) fn quantize_row_q8_0(t: &RvvTarget, x: &[f32], out: &mut [BlockQ8_0]) {
    assert_eq!(x.len(), out.len() * QK);
    let (vt32, vt16, vt8) = (vtype(t, 32, QK), vtype(t, 16, QK), vtype(t, 8, QK));
    for (xc, oc) in x.chunks(CHUNK * QK).zip(out.chunks_mut(CHUNK)) {
        let mut d = [0.0f32; CHUNK];
        // SAFETY: V is present (engine() is Native) at this VLEN, so every vtype is
        // legal and VLMAX ≥ 32 = AVL. The loop runs oc.len() ≥ 1 times, reading 32 f32
        // from `xc` and writing 32 bytes at `qs` of each block of `oc` and one f32 to
        // `d` per block, all in bounds (xc.len() = 32·oc.len() ≤ 32·CHUNK). frm is
        // restored after each conversion; every vector register written is clobbered.
        unsafe {
            asm!(
                ".option push",
                ".option arch, +v",
                "vsetivli zero, 1, e32, m1, ta, ma",
                "vmv.v.i v4, 0",
                "fmv.w.x {fzero}, zero",
                "2:",
                "vsetvl zero, {avl}, {vt32}",
                "vle32.v v8, ({x})",
                "vfsgnjx.vv v16, v8, v8",
                "vfredmax.vs v24, v16, v4",
                "vfmv.f.s {amax}, v24",
                "fdiv.s {d}, {amax}, {f127}",
                "fsw {d}, 0({dout})",
                "fmv.s {id}, {fzero}",
                "feq.s {tmp}, {d}, {fzero}",
                "bnez {tmp}, 3f",
                "fdiv.s {id}, {one}, {d}",
                "3:",
                "vfmul.vf v16, v8, {id}",
                "vmfne.vv v0, v16, v16",
                // Round half away from zero (RMM) for the conversion only.
                "fsrmi {frm}, 4",
                "vsetvl zero, {avl}, {vt16}",
                "vfncvt.x.f.w v24, v16",
                "fsrm {frm}",
                "vmax.vx v24, v24, {lo}",
                "vmin.vx v24, v24, {hi}",
                "vmerge.vim v24, v24, 0, v0",
                "vsetvl zero, {avl}, {vt8}",
                "vnsrl.wi v28, v24, 0",
                "addi {tmp}, {q}, {qs}",
                "vse8.v v28, ({tmp})",
                "addi {x}, {x}, {xstep}",
                "addi {q}, {q}, {bs}",
                "addi {dout}, {dout}, 4",
                "addi {n}, {n}, -1",
                "bnez {n}, 2b",
                ".option pop",
                x = inout(reg) xc.as_ptr() => _,
                q = inout(reg) oc.as_mut_ptr() => _,
                dout = inout(reg) d.as_mut_ptr() => _,
                n = inout(reg) oc.len() => _,
                avl = in(reg) QK,
                vt32 = in(reg) vt32,
                vt16 = in(reg) vt16,
                vt8 = in(reg) vt8,
                lo = in(reg) -128isize,
                hi = in(reg) 127isize,
                f127 = in(freg) 127.0f32,
                one = in(freg) 1.0f32,
                tmp = out(reg) _,
                frm = out(reg) _,
                fzero = out(freg) _,
                amax = out(freg) _,
                d = out(freg) _,
                id = out(freg) _,
                qs = const offset_of!(BlockQ8_0, qs),
                bs = const size_of::<BlockQ8_0>(),
                xstep = const QK * size_of::<f32>(),
                out("v0") _, out("v4") _,
                out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                out("v12") _, out("v13") _, out("v14") _, out("v15") _,
                out("v16") _, out("v17") _, out("v18") _, out("v19") _,
                out("v20") _, out("v21") _, out("v22") _, out("v23") _,
                out("v24") _, out("v25") _, out("v26") _, out("v27") _,
                out("v28") _, out("v29") _,
                options(nostack),
            );
        }
        for (ob, &d) in oc.iter_mut().zip(&d) {
            ob.d = f16::from_f32(d);
        }
    }
}

pub(super) fn block_sums_q8_0(t: &RvvTarget, a: &[BlockQ8_0], b: &[BlockQ8_0], sums: &mut [i32]) {
    assert!(a.len() == sums.len() && b.len() == sums.len());
    if sums.is_empty() {
        return;
    }
    let (vt8, vt16) = (vtype(t, 8, QK), vtype(t, 16, QK));
    // SAFETY: V is present at this VLEN (engine() is Native), so both vtypes are legal
    // with VLMAX ≥ 32 = AVL. The loop runs sums.len() ≥ 1 times, reading the 32 quants
    // of block i of `a` and `b` and writing sums[i], all in bounds; every vector
    // register written is clobbered.
    unsafe {
        asm!(
            ".option push",
            ".option arch, +v",
            "vsetivli zero, 1, e32, m1, ta, ma",
            "vmv.v.i v4, 0",
            "2:",
            "vsetvl zero, {avl}, {vt8}",
            "addi {tmp}, {a}, {qs}",
            "vle8.v v8, ({tmp})",
            "addi {tmp}, {b}, {qs}",
            "vle8.v v12, ({tmp})",
            "vwmul.vv v16, v8, v12",
            "vsetvl zero, {avl}, {vt16}",
            "vwredsum.vs v24, v16, v4",
            "vsetivli zero, 1, e32, m1, ta, ma",
            "vmv.x.s {tmp}, v24",
            "sw {tmp}, 0({out})",
            "addi {a}, {a}, {bs}",
            "addi {b}, {b}, {bs}",
            "addi {out}, {out}, 4",
            "addi {n}, {n}, -1",
            "bnez {n}, 2b",
            ".option pop",
            a = inout(reg) a.as_ptr() => _,
            b = inout(reg) b.as_ptr() => _,
            out = inout(reg) sums.as_mut_ptr() => _,
            n = inout(reg) sums.len() => _,
            avl = in(reg) QK,
            vt8 = in(reg) vt8,
            vt16 = in(reg) vt16,
            tmp = out(reg) _,
            qs = const offset_of!(BlockQ8_0, qs),
            bs = const size_of::<BlockQ8_0>(),
            out("v4") _,
            out("v8") _, out("v9") _, out("v12") _, out("v13") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("v24") _,
            options(nostack),
        );
    }
}

pub(super) fn block_sums_q4_0(t: &RvvTarget, w: &[BlockQ4_0], x: &[BlockQ8_0], sums: &mut [i32]) {
    assert!(w.len() == sums.len() && x.len() == sums.len());
    if sums.is_empty() {
        return;
    }
    const H: usize = QK / 2;
    let (vt8, vt16) = (vtype(t, 8, H), vtype(t, 16, H));
    // SAFETY: V is present at this VLEN (engine() is Native), so both vtypes are legal
    // with VLMAX ≥ 16 = AVL. The loop runs sums.len() ≥ 1 times, reading the 16 bytes
    // of block i of `w`, the 32 quants of block i of `x` and writing sums[i], all in
    // bounds; every vector register written is clobbered.
    unsafe {
        asm!(
            ".option push",
            ".option arch, +v",
            "vsetivli zero, 1, e32, m1, ta, ma",
            "vmv.v.i v4, 0",
            "2:",
            "vsetvl zero, {avl}, {vt8}",
            "addi {tmp}, {w}, {wqs}",
            "vle8.v v8, ({tmp})",
            "addi {tmp}, {x}, {xqs}",
            "vle8.v v11, ({tmp})",
            "addi {tmp}, {tmp}, {half}",
            "vle8.v v12, ({tmp})",
            "vand.vi v9, v8, 15",
            "vsrl.vi v10, v8, 4",
            "vadd.vi v9, v9, -8",
            "vadd.vi v10, v10, -8",
            "vwmul.vv v16, v9, v11",
            "vwmacc.vv v16, v10, v12",
            "vsetvl zero, {avl}, {vt16}",
            "vwredsum.vs v24, v16, v4",
            "vsetivli zero, 1, e32, m1, ta, ma",
            "vmv.x.s {tmp}, v24",
            "sw {tmp}, 0({out})",
            "addi {w}, {w}, {wbs}",
            "addi {x}, {x}, {xbs}",
            "addi {out}, {out}, 4",
            "addi {n}, {n}, -1",
            "bnez {n}, 2b",
            ".option pop",
            w = inout(reg) w.as_ptr() => _,
            x = inout(reg) x.as_ptr() => _,
            out = inout(reg) sums.as_mut_ptr() => _,
            n = inout(reg) sums.len() => _,
            avl = in(reg) H,
            vt8 = in(reg) vt8,
            vt16 = in(reg) vt16,
            tmp = out(reg) _,
            wqs = const offset_of!(BlockQ4_0, qs),
            xqs = const offset_of!(BlockQ8_0, qs),
            half = const H,
            wbs = const size_of::<BlockQ4_0>(),
            xbs = const size_of::<BlockQ8_0>(),
            out("v4") _,
            out("v8") _, out("v9") _, out("v10") _, out("v11") _, out("v12") _,
            out("v16") _, out("v17") _,
            out("v24") _,
            options(nostack),
        );
    }
}
