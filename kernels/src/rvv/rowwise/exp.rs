//! The one vector `e^x` of the RVV row-wise kernels (softmax, silu, swiglu), as
//! an asm fragment and as its lane-by-lane model.
//!
//! Algorithm (every step the same in both):
//! 1. `t = x·log2(e)` (one rounding), `n = rne(t)` (`vfcvt.x.f.v`, dynamic
//!    rounding mode = round-to-nearest-even, the Linux default);
//! 2. `r = x − n·ln2_hi − n·ln2_lo` as two fused steps (`vfnmsac`);
//! 3. `e^r ≈ 1 + (r + r²·P(r))`, `P` the degree-5 Cephes `expf` polynomial by
//!    Horner with fused `vfmadd` (degree 7 in all, |r| ≤ ln2/2);
//! 4. scale by `2^n`: add `n1 << 23` to the bits (`n1 = n − n2 ≥ −125`, so the
//!    exponent field never leaves the normal range) and multiply by the normal
//!    `2^n2`, `n2 = min(n + 125, 0)`, which is exactly 1 unless the result is
//!    subnormal (then that multiply is the one rounding into the subnormals);
//! 5. `x > 88.72283` (ln of the largest f32, rounded down) gives `+inf`,
//!    `x < −104` gives `+0` (e^x < 2^-150 there), NaN gives the canonical NaN.
//!
//! Accuracy: ≤ 1–2 ulp versus the correctly rounded `e^x` for normal results
//! (the Cephes reduction and polynomial); measured figures are in
//! `kernels/tests/rvv_rowwise.rs`.

pub(super) const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n · LN2_HI` is exact for the n that occur (Cody–Waite).
pub(super) const LN2_HI: f32 = 6.933_594e-1;
pub(super) const LN2_LO: f32 = -2.121_944_4e-4;
/// Cephes `expf` polynomial, highest degree first: `e^r ≈ 1 + r + r²·P(r)`.
pub(super) const POLY: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_6e-1,
    5e-1,
];
/// Largest x whose e^x is finite in f32 (the next f32 overflows to +inf).
pub(super) const X_MAX: f32 = 88.722_83;
/// Below this e^x rounds to 0 (e^-104 < 2^-150).
pub(super) const X_MIN: f32 = -104.0;
/// `1.5·2^23`: adding it rounds |v| < 2^22 to an integer, ties to even.
const RNE_MAGIC: f32 = 12_582_912.0;

/// RISC-V arithmetic returns this NaN (sign +, quiet bit only) for every NaN
/// result; the model canonicalises its arithmetic outputs to it.
#[inline(always)]
pub(super) fn canon(y: f32) -> f32 {
    if y.is_nan() {
        f32::NAN
    } else {
        y
    }
}

/// One lane of the vector `e^x`, step for step as [`exp_asm!`] does it.
#[inline(always)]
pub(super) fn exp_lane(x: f32) -> f32 {
    // Lanes outside [X_MIN, X_MAX] (and NaN) are replaced at the end; clamping
    // keeps the integer steps below free of overflow without changing the others.
    // Not `clamp`: that keeps NaN, this maps it to −110 (its lane is replaced).
    #[allow(clippy::manual_clamp)]
    let xc = x.max(-110.0).min(100.0);
    let t = xc * LOG2E;
    // rne(t) exactly as vfcvt.x.f.v (frm = RNE) gives it, for |t| < 2^22.
    let n = ((t + RNE_MAGIC).to_bits() as i32).wrapping_sub(RNE_MAGIC.to_bits() as i32);
    let nf = n as f32;
    let r = (-nf).mul_add(LN2_HI, xc);
    let r = (-nf).mul_add(LN2_LO, r);
    let mut p = POLY[0];
    for &c in &POLY[1..] {
        p = p.mul_add(r, c);
    }
    let er = p.mul_add(r * r, r) + 1.0;
    let n2 = (n + 125).min(0);
    let n1 = n - n2;
    let scaled = f32::from_bits((er.to_bits() as i32).wrapping_add(n1 << 23) as u32);
    let y = scaled * f32::from_bits(((n2 + 127) << 23) as u32);
    if x > X_MAX {
        f32::INFINITY
    } else if x < X_MIN {
        0.0
    } else if x.is_nan() {
        f32::NAN
    } else {
        y
    }
}

/// `v24 = e^v8` at SEW 32, LMUL 4, for the current `vl`. Reads v8 (kept);
/// clobbers v0, v12, v16, v20, v24. Needs the named operands `log2e`, `ln2hi`,
/// `ln2lo`, `p0`..`p5`, `one`, `xmax`, `xmin`, `inf`, `nan` (f32 in `freg`) and
/// `c125`, `c127` (in `reg`).
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
macro_rules! exp_asm {
    () => {
        concat!(
            "vfmul.vf v16, v8, {log2e}\n",
            "vfcvt.x.f.v v12, v16\n",
            "vfcvt.f.x.v v16, v12\n",
            "vmv.v.v v20, v8\n",
            "vfnmsac.vf v20, {ln2hi}, v16\n",
            "vfnmsac.vf v20, {ln2lo}, v16\n",
            "vfmv.v.f v24, {p0}\n",
            "vfmv.v.f v16, {p1}\n",
            "vfmadd.vv v24, v20, v16\n",
            "vfmv.v.f v16, {p2}\n",
            "vfmadd.vv v24, v20, v16\n",
            "vfmv.v.f v16, {p3}\n",
            "vfmadd.vv v24, v20, v16\n",
            "vfmv.v.f v16, {p4}\n",
            "vfmadd.vv v24, v20, v16\n",
            "vfmv.v.f v16, {p5}\n",
            "vfmadd.vv v24, v20, v16\n",
            "vfmul.vv v16, v20, v20\n",
            "vfmadd.vv v24, v16, v20\n",
            "vfadd.vf v24, v24, {one}\n",
            "vadd.vx v16, v12, {c125}\n",
            "vmin.vx v16, v16, zero\n",
            "vsub.vv v12, v12, v16\n",
            "vsll.vi v12, v12, 23\n",
            "vadd.vv v24, v24, v12\n",
            "vadd.vx v16, v16, {c127}\n",
            "vsll.vi v16, v16, 23\n",
            "vfmul.vv v24, v24, v16\n",
            "vmfgt.vf v0, v8, {xmax}\n",
            "vfmerge.vfm v24, v24, {inf}, v0\n",
            "vmflt.vf v0, v8, {xmin}\n",
            "vmerge.vim v24, v24, 0, v0\n",
            "vmfne.vv v0, v8, v8\n",
            "vfmerge.vfm v24, v24, {nan}, v0\n",
        )
    };
}
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
pub(super) use exp_asm;

/// The operands [`exp_asm!`] names, appended to an `asm!` call.
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
macro_rules! exp_operands {
    ($($rest:tt)*) => {
        std::arch::asm!(
            $($rest)*
            log2e = in(freg) $crate::rvv::rowwise::exp::LOG2E,
            ln2hi = in(freg) $crate::rvv::rowwise::exp::LN2_HI,
            ln2lo = in(freg) $crate::rvv::rowwise::exp::LN2_LO,
            p0 = in(freg) $crate::rvv::rowwise::exp::POLY[0],
            p1 = in(freg) $crate::rvv::rowwise::exp::POLY[1],
            p2 = in(freg) $crate::rvv::rowwise::exp::POLY[2],
            p3 = in(freg) $crate::rvv::rowwise::exp::POLY[3],
            p4 = in(freg) $crate::rvv::rowwise::exp::POLY[4],
            p5 = in(freg) $crate::rvv::rowwise::exp::POLY[5],
            one = in(freg) 1.0f32,
            xmax = in(freg) $crate::rvv::rowwise::exp::X_MAX,
            xmin = in(freg) $crate::rvv::rowwise::exp::X_MIN,
            inf = in(freg) f32::INFINITY,
            nan = in(freg) f32::NAN,
            c125 = in(reg) 125usize,
            c127 = in(reg) 127usize,
            out("v0") _, out("v8") _, out("v9") _, out("v10") _, out("v11") _,
            out("v12") _, out("v13") _, out("v14") _, out("v15") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("v20") _, out("v21") _, out("v22") _, out("v23") _,
            out("v24") _, out("v25") _, out("v26") _, out("v27") _,
            options(nostack)
        )
    };
}
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
pub(super) use exp_operands;
