//! SiLU and SwiGLU on the shared vector exp: `x / (1 + e^(−x))` (then `· up`),
//! LMUL 4, one `vfdiv` (as the CPU kernels do it).

use super::exp::{canon, exp_lane};
use super::fma_multiversion;

#[inline(always)]
fn silu_lane(x: f32) -> f32 {
    canon(x / (1.0 + exp_lane(-x)))
}

fma_multiversion! {
    fn silu_model(x: &[f32], out: &mut [f32]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = silu_lane(v);
        }
    }
}

fma_multiversion! {
    fn swiglu_model(gate: &[f32], up: &[f32], out: &mut [f32]) {
        for (o, (&g, &u)) in out.iter_mut().zip(gate.iter().zip(up)) {
            *o = canon(silu_lane(g) * u);
        }
    }
}

/// `up = None`: silu; `Some`: swiglu. All slices hold `out.len()` elements.
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
fn native(x: &[f32], up: Option<&[f32]>, out: &mut [f32]) {
    use super::exp::{exp_asm, exp_operands};
    let n = out.len();
    assert!(x.len() == n && up.is_none_or(|u| u.len() == n));
    let pu = up.map_or(std::ptr::null(), |u| u.as_ptr());
    // SAFETY: the loop reads `n` f32 from `x` (and from `up` when it is not
    // null) and writes `n` to `out`, all valid for `n` elements; vl never
    // exceeds the remaining count. Only the declared registers change.
    unsafe {
        exp_operands!(
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
            "vle32.v v28, ({x})",
            "vfneg.v v8, v28",
            exp_asm!(),
            "vfadd.vf v24, v24, {one}",
            "vfdiv.vv v24, v28, v24",
            "beqz {u}, 4f",
            "vle32.v v8, ({u})",
            "vfmul.vv v24, v24, v8",
            "4:",
            "vse32.v v24, ({o})",
            "sub {n}, {n}, {avl}",
            "slli {avl}, {avl}, 2",
            "add {x}, {x}, {avl}",
            "add {o}, {o}, {avl}",
            "beqz {u}, 5f",
            "add {u}, {u}, {avl}",
            "5:",
            "bnez {n}, 2b",
            "9:",
            ".option pop",
            x = inout(reg) x.as_ptr() => _,
            u = inout(reg) pu => _,
            o = inout(reg) out.as_mut_ptr() => _,
            n = inout(reg) n => _,
            vm = out(reg) _,
            avl = out(reg) _,
            out("v28") _, out("v29") _, out("v30") _, out("v31") _,
        )
    }
}

#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
pub(super) fn silu_native(x: &[f32], out: &mut [f32]) {
    native(x, None, out)
}

#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
pub(super) fn swiglu_native(gate: &[f32], up: &[f32], out: &mut [f32]) {
    native(gate, Some(up), out)
}
