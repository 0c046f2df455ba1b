//! Elementwise binary arithmetic: `vfadd`/`vfsub`/`vfmul`/`vfdiv` at LMUL 8;
//! Max/Min as compare + merge at LMUL 4 (NaN through `vfadd` when either input
//! is NaN), the CPU reference's rule rather than `vfmax`'s.

use super::exp::canon;
use super::fma_multiversion;
use crate::binary::BinaryOp;

fma_multiversion! {
    fn model(op: BinaryOp, a: &[f32], b: &[f32], out: &mut [f32]) {
        let it = out.iter_mut().zip(a.iter().zip(b));
        match op {
            BinaryOp::Add => it.for_each(|(o, (&x, &y))| *o = canon(x + y)),
            BinaryOp::Sub => it.for_each(|(o, (&x, &y))| *o = canon(x - y)),
            BinaryOp::Mul => it.for_each(|(o, (&x, &y))| *o = canon(x * y)),
            BinaryOp::Div => it.for_each(|(o, (&x, &y))| *o = canon(x / y)),
            BinaryOp::Max => it.for_each(|(o, (&x, &y))| {
                let m = if y < x { x } else { y };
                *o = if x.is_nan() || y.is_nan() { f32::NAN } else { m };
            }),
            BinaryOp::Min => it.for_each(|(o, (&x, &y))| {
                let m = if x < y { x } else { y };
                *o = if x.is_nan() || y.is_nan() { f32::NAN } else { m };
            }),
        }
    }
}

#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
macro_rules! arith_loop {
    ($insn:literal, $a:expr, $b:expr, $o:expr, $n:expr) => {
        // SAFETY: the loop reads `n` f32 from `a` and `b` and writes `n` to `o`,
        // all three valid for `n` elements (checked by the caller); vl never
        // exceeds the remaining count. Only the declared vector registers change.
        unsafe {
            std::arch::asm!(
                ".option push",
                ".option arch, +v",
                "vsetvli {vm}, zero, e32, m8, ta, ma",
                "beqz {n}, 9f",
                "2:",
                "mv {avl}, {n}",
                "bgeu {vm}, {n}, 3f",
                "mv {avl}, {vm}",
                "3:",
                "vsetvli zero, {avl}, e32, m8, ta, ma",
                "vle32.v v8, ({a})",
                "vle32.v v16, ({b})",
                concat!($insn, " v8, v8, v16"),
                "vse32.v v8, ({o})",
                "sub {n}, {n}, {avl}",
                "slli {avl}, {avl}, 2",
                "add {a}, {a}, {avl}",
                "add {b}, {b}, {avl}",
                "add {o}, {o}, {avl}",
                "bnez {n}, 2b",
                "9:",
                ".option pop",
                a = inout(reg) $a => _,
                b = inout(reg) $b => _,
                o = inout(reg) $o => _,
                n = inout(reg) $n => _,
                vm = out(reg) _,
                avl = out(reg) _,
                out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                out("v12") _, out("v13") _, out("v14") _, out("v15") _,
                out("v16") _, out("v17") _, out("v18") _, out("v19") _,
                out("v20") _, out("v21") _, out("v22") _, out("v23") _,
                options(nostack)
            )
        }
    };
}

/// `$cmp` sets v0 where the first operand wins (`vmflt.vv v0, v12, v8`: b < a).
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
macro_rules! select_loop {
    ($cmp:literal, $a:expr, $b:expr, $o:expr, $n:expr) => {
        // SAFETY: as in `arith_loop`: `n` elements read from `a`, `b`, written
        // to `o`, vl ≤ remaining; only the declared registers change.
        unsafe {
            std::arch::asm!(
                ".option push",
                ".option arch, +v",
                "vsetvli {vm}, zero, e32, m4, ta, ma",
                "beqz {n}, 9f",
                "2:",
                "mv {avl}, {n}",
                "bgeu {vm}, {n}, 3f",
                "mv {avl}, {vm}",
                "3:",
                "vsetvli zero, {avl}, e32, m4, ta, ma",
                "vle32.v v8, ({a})",
                "vle32.v v12, ({b})",
                $cmp,
                "vmerge.vvm v16, v12, v8, v0",
                "vfadd.vv v20, v8, v12",
                "vmfeq.vv v0, v8, v8",
                "vmfeq.vv v1, v12, v12",
                "vmand.mm v0, v0, v1",
                "vmerge.vvm v20, v20, v16, v0",
                "vse32.v v20, ({o})",
                "sub {n}, {n}, {avl}",
                "slli {avl}, {avl}, 2",
                "add {a}, {a}, {avl}",
                "add {b}, {b}, {avl}",
                "add {o}, {o}, {avl}",
                "bnez {n}, 2b",
                "9:",
                ".option pop",
                a = inout(reg) $a => _,
                b = inout(reg) $b => _,
                o = inout(reg) $o => _,
                n = inout(reg) $n => _,
                vm = out(reg) _,
                avl = out(reg) _,
                out("v0") _, out("v1") _,
                out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                out("v12") _, out("v13") _, out("v14") _, out("v15") _,
                out("v16") _, out("v17") _, out("v18") _, out("v19") _,
                out("v20") _, out("v21") _, out("v22") _, out("v23") _,
                options(nostack)
            )
        }
    };
}

/// The native loop; `a`, `b` and `out` have the same length.
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
pub(super) fn native(op: BinaryOp, a: &[f32], b: &[f32], out: &mut [f32]) {
    let n = out.len();
    assert!(a.len() == n && b.len() == n);
    let (pa, pb, po) = (a.as_ptr(), b.as_ptr(), out.as_mut_ptr());
    match op {
        BinaryOp::Add => arith_loop!("vfadd.vv", pa, pb, po, n),
        BinaryOp::Sub => arith_loop!("vfsub.vv", pa, pb, po, n),
        BinaryOp::Mul => arith_loop!("vfmul.vv", pa, pb, po, n),
        BinaryOp::Div => arith_loop!("vfdiv.vv", pa, pb, po, n),
        BinaryOp::Max => select_loop!("vmflt.vv v0, v12, v8", pa, pb, po, n),
        BinaryOp::Min => select_loop!("vmflt.vv v0, v8, v12", pa, pb, po, n),
    }
}
