//! RVV row-wise kernels: RMSNorm, softmax, rotate-half RoPE, SiLU / SwiGLU and
//! elementwise binary arithmetic (flat and with a broadcast row).
//!
//! Each op has the same semantics and panics as the CPU function of the same
//! name (`crate::norm`, `crate::softmax`, `crate::rope`, `crate::act`,
//! `crate::binary`) and, like every kernel in [`crate::rvv`], two engines: a
//! native strip-mined asm loop (riscv64 with the `rvv` feature) and a model that
//! replays it lane by lane (bit for bit the same, NaNs included: the model
//! returns RISC-V's canonical NaN wherever the hardware's arithmetic makes one).
//!
//! - Reductions (RMSNorm's Σx², softmax's max and Σe) keep one accumulator per
//!   lane of an LMUL=4 register group across the strips (`tu` on the short last
//!   strip), then reduce it with `vfredmax` / the ordered `vfredosum`, so the
//!   result depends on the VLEN (as on the chip) but never on scheduling.
//! - Softmax and SiLU share one vector `e^x` (see `exp.rs`), about 1–2 ulp.
//! - Rounding to bf16 is round-to-nearest-even on the bit pattern with integer
//!   vector ops; to f16 it is `vfncvt.f.f.w` + `vfwcvt.f.f.v` (Zvfh). Both are
//!   exactly `Rounding::apply` for every non-NaN value.
//! - Rows are spread over rayon's pool only when there are many large ones
//!   (each row is computed by one thread, so results never depend on it).

use rayon::prelude::*;

#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
use super::Engine;
use super::RvvTarget;
use crate::binary::BinaryOp;
use crate::cast::Rounding;

mod act;
mod binary;
pub(crate) mod exp;
mod norm;
mod rope;
mod softmax;

/// Below this many elements a call runs on the calling thread.
const PAR_MIN_ELEMS: usize = 1 << 16;
/// Elements per parallel task for the elementwise ops (a multiple of every VLMAX).
const PAR_CHUNK: usize = 1 << 14;

/// Runs `f` over whole rows of `x`/`out`, on rayon's pool when there are many
/// rows and enough work, each row handled entirely by one task.
fn for_rows<F>(x: &[f32], out: &mut [f32], dim: usize, f: F)
where
    F: Fn(&[f32], &mut [f32]) + Sync,
{
    let rows = x.len() / dim;
    if rows >= 4 && x.len() >= PAR_MIN_ELEMS && rayon::current_num_threads() > 1 {
        let per_task = (PAR_CHUNK / dim).max(1) * dim;
        x.par_chunks(per_task)
            .zip(out.par_chunks_mut(per_task))
            .for_each(|(xs, os)| f(xs, os));
    } else {
        f(x, out);
    }
}

/// Runs an elementwise `f` over `x`/`out` (and the matching part of `y`), split
/// in chunks on rayon's pool when long. Elementwise results do not depend on
/// where a strip starts, so the split is invisible.
fn for_elems<F>(x: &[f32], y: &[f32], out: &mut [f32], f: F)
where
    F: Fn(&[f32], &[f32], &mut [f32]) + Sync,
{
    if x.len() >= 4 * PAR_MIN_ELEMS && rayon::current_num_threads() > 1 {
        x.par_chunks(PAR_CHUNK)
            .zip(y.par_chunks(PAR_CHUNK))
            .zip(out.par_chunks_mut(PAR_CHUNK))
            .for_each(|((xs, ys), os)| f(xs, ys, os));
    } else {
        f(x, y, out);
    }
}

fn check_rows(what: &str, x: &[f32], out: &[f32], dim: usize) {
    assert_eq!(x.len(), out.len(), "{what}: x and out lengths differ");
    if dim == 0 {
        assert!(x.is_empty(), "{what}: dim = 0 with a non-empty x");
    } else {
        assert_eq!(
            x.len() % dim,
            0,
            "{what}: x is not whole rows of dim = {dim}"
        );
    }
}

/// RMSNorm of each row, as [`crate::norm::rms_norm_rows`]:
/// `y = w ⊙ round(x · 1/sqrt(mean(x²) + eps))`. Σx² is accumulated in f32 with
/// `vfmacc` per lane (LMUL 4) and reduced with the ordered `vfredosum`.
pub fn rms_norm_rows(
    t: &RvvTarget,
    x: &[f32],
    weight: Option<&[f32]>,
    dim: usize,
    eps: f32,
    rounding: Rounding,
    out: &mut [f32],
) {
    check_rows("rms_norm_rows", x, out, dim);
    if let Some(w) = weight {
        assert_eq!(
            w.len(),
            dim,
            "rms_norm_rows: weight must hold dim = {dim} values"
        );
    }
    if dim == 0 {
        return;
    }
    let lanes = t.vlmax(32, norm::LMUL);
    match t.engine() {
        #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
        Engine::Native => for_rows(x, out, dim, |xs, os| {
            norm::native(xs, weight, dim, eps, rounding, os)
        }),
        _ => for_rows(x, out, dim, |xs, os| {
            norm::model(lanes, xs, weight, dim, eps, rounding, os)
        }),
    }
}

/// Softmax of each row, as [`crate::softmax::softmax_rows`] (a row with NaN or
/// +inf, or only −inf, gives NaN everywhere). Max and Σe are per-lane (LMUL 4)
/// then `vfredmax` / ordered `vfredosum`; the row is scaled by `1/Σe`.
pub fn softmax_rows(t: &RvvTarget, x: &[f32], dim: usize, out: &mut [f32]) {
    check_rows("softmax_rows", x, out, dim);
    if dim == 0 {
        return;
    }
    let lanes = t.vlmax(32, softmax::LMUL);
    match t.engine() {
        #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
        Engine::Native => for_rows(x, out, dim, |xs, os| softmax::native(xs, dim, os)),
        _ => for_rows(x, out, dim, |xs, os| softmax::model(lanes, xs, dim, os)),
    }
}

/// Rotate-half RoPE on each row of `head_dim`, as [`crate::rope::rope_half_rows`]
/// (plain f32 products and sums, no FMA, each rounded through `rounding`), so
/// the result equals the CPU reference exactly.
#[allow(clippy::too_many_arguments)]
pub fn rope_half_rows(
    t: &RvvTarget,
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    head_dim: usize,
    rotary_dim: usize,
    rounding: Rounding,
    out: &mut [f32],
) {
    let what = "rope_half_rows";
    assert_eq!(x.len(), out.len(), "{what}: x and out lengths differ");
    assert!(
        rotary_dim % 2 == 0,
        "{what}: rotary_dim = {rotary_dim} is odd"
    );
    assert!(
        rotary_dim <= head_dim,
        "{what}: rotary_dim = {rotary_dim} exceeds head_dim = {head_dim}"
    );
    check_rows(what, x, out, head_dim);
    assert!(
        cos.len() == rotary_dim && sin.len() == rotary_dim,
        "{what}: cos and sin must hold rotary_dim = {rotary_dim} values"
    );
    if head_dim == 0 {
        return;
    }
    match t.engine() {
        #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
        Engine::Native => for_rows(x, out, head_dim, |xs, os| {
            rope::native(xs, cos, sin, head_dim, rotary_dim, rounding, os)
        }),
        _ => for_rows(x, out, head_dim, |xs, os| {
            rope::model(xs, cos, sin, head_dim, rotary_dim, rounding, os)
        }),
    }
}

/// `out[i] = x[i] / (1 + e^(−x[i]))`, as [`crate::act::silu`].
pub fn silu(t: &RvvTarget, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "unary Silu: x and out lengths differ");
    match t.engine() {
        #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
        Engine::Native => for_elems(x, x, out, |xs, _, os| act::silu_native(xs, os)),
        _ => for_elems(x, x, out, |xs, _, os| act::silu_model(xs, os)),
    }
}

/// `out[i] = silu(gate[i]) · up[i]`, as [`crate::act::swiglu`].
pub fn swiglu(t: &RvvTarget, gate: &[f32], up: &[f32], out: &mut [f32]) {
    assert!(
        gate.len() == up.len() && gate.len() == out.len(),
        "swiglu: gate, up and out lengths differ ({}, {}, {})",
        gate.len(),
        up.len(),
        out.len()
    );
    match t.engine() {
        #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
        Engine::Native => for_elems(gate, up, out, act::swiglu_native),
        _ => for_elems(gate, up, out, act::swiglu_model),
    }
}

/// Whether [`binary`] and [`binary_row_broadcast`] implement `op` on RVV.
/// Callers must check it before calling them (they panic on an unsupported
/// op). Today every [`BinaryOp`] is supported: Add/Sub/Mul/Div are single
/// instructions; Max/Min follow the CPU rule (NaN if either input is NaN, else
/// the first operand only when strictly larger/smaller, so ±0 ties give the
/// second) with a compare and a merge, because `vfmax`/`vfmin` ignore NaN.
pub fn binary_supported(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Max
            | BinaryOp::Min
    )
}

/// `out[i] = a[i] op b[i]`, as [`crate::binary::binary`]. Check
/// [`binary_supported`] first.
pub fn binary(t: &RvvTarget, op: BinaryOp, a: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(
        a.len() == b.len() && a.len() == out.len(),
        "binary {op:?}: a, b and out lengths differ ({}, {}, {})",
        a.len(),
        b.len(),
        out.len()
    );
    assert!(binary_supported(op), "binary {op:?}: not supported on RVV");
    match t.engine() {
        #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
        Engine::Native => for_elems(a, b, out, |x, y, o| binary::native(op, x, y, o)),
        _ => for_elems(a, b, out, |x, y, o| binary::model(op, x, y, o)),
    }
}

/// `out[r·dim + j] = a[r·dim + j] op b[j]`, as
/// [`crate::binary::binary_row_broadcast`]. Check [`binary_supported`] first.
pub fn binary_row_broadcast(
    t: &RvvTarget,
    op: BinaryOp,
    a: &[f32],
    b: &[f32],
    dim: usize,
    out: &mut [f32],
) {
    assert_eq!(
        b.len(),
        dim,
        "binary_row_broadcast {op:?}: b must hold one row of dim = {dim}"
    );
    assert_eq!(
        a.len(),
        out.len(),
        "binary_row_broadcast {op:?}: a and out lengths differ"
    );
    if dim == 0 {
        assert!(
            a.is_empty(),
            "binary_row_broadcast {op:?}: dim = 0 with a non-empty a"
        );
        return;
    }
    assert_eq!(
        a.len() % dim,
        0,
        "binary_row_broadcast {op:?}: a is not whole rows of {dim}"
    );
    assert!(
        binary_supported(op),
        "binary_row_broadcast {op:?}: not supported on RVV"
    );
    let engine = t.engine();
    for_rows(a, out, dim, |rows, os| {
        for (a_row, o_row) in rows.chunks_exact(dim).zip(os.chunks_exact_mut(dim)) {
            match engine {
                #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
                Engine::Native => binary::native(op, a_row, b, o_row),
                _ => binary::model(op, a_row, b, o_row),
            }
        }
    });
}

/// One lane of the output rounding, as the asm does it: bf16 by
/// round-to-nearest-even on the bits (`y` must not be a NaN other than the
/// canonical one, which it never is after RISC-V arithmetic), f16 through the
/// IEEE conversion.
#[inline(always)]
fn round_lane(y: f32, rounding: Rounding) -> f32 {
    match rounding {
        Rounding::None => y,
        Rounding::Bf16 => {
            let b = y.to_bits();
            f32::from_bits(b.wrapping_add(0x7fff + ((b >> 16) & 1)) & 0xffff_0000)
        }
        Rounding::F16 => half::f16::from_f32(y).to_f32(),
    }
}

/// The rounding step in asm, applied in place to the f32 group `$y` (LMUL
/// `$m32`) when `{bf16}` / `{f16}` is non-zero, with `$tmp` (same LMUL) and
/// `$h` (half the LMUL, `$m16`) as scratch. Needs the operands `bf16`, `f16`,
/// `avl` (the strip's vl), `k7fff` = 0x7fff and `khi` = 0xffff0000.
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
macro_rules! round_asm {
    ($y:literal, $tmp:literal, $h:literal, $m32:literal, $m16:literal) => {
        concat!(
            "beqz {bf16}, 5f\n",
            "vsrl.vi ",
            $tmp,
            ", ",
            $y,
            ", 16\n",
            "vand.vi ",
            $tmp,
            ", ",
            $tmp,
            ", 1\n",
            "vadd.vv ",
            $y,
            ", ",
            $y,
            ", ",
            $tmp,
            "\n",
            "vadd.vx ",
            $y,
            ", ",
            $y,
            ", {k7fff}\n",
            "vand.vx ",
            $y,
            ", ",
            $y,
            ", {khi}\n",
            "5:\n",
            "beqz {f16}, 6f\n",
            "vsetvli zero, {avl}, e16, ",
            $m16,
            ", ta, ma\n",
            "vfncvt.f.f.w ",
            $h,
            ", ",
            $y,
            "\n",
            "vfwcvt.f.f.v ",
            $y,
            ", ",
            $h,
            "\n",
            "vsetvli zero, {avl}, e32, ",
            $m32,
            ", ta, ma\n",
            "6:\n",
        )
    };
}
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
use round_asm;

/// `(bf16, f16)` flags for [`round_asm!`].
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
fn round_flags(r: Rounding) -> (usize, usize) {
    (
        usize::from(r == Rounding::Bf16),
        usize::from(r == Rounding::F16),
    )
}

/// Runs `$body` compiled with AVX2+FMA when the host has them (so the model's
/// `mul_add` is one instruction and its loops vectorise), else as is.
macro_rules! fma_multiversion {
    (fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        pub(super) fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fast($($arg: $ty),*) {
                    body($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: AVX2 and FMA were just detected on this CPU.
                    return unsafe { fast($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
use fma_multiversion;
