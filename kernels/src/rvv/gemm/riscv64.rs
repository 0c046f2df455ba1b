//! The native RVV 1.0 kernels: one `asm!` block per whole loop, generated per
//! (kind, row count) by `tile_fn!` / `dot_fn!` so each variant keeps its
//! accumulators in fixed registers. Register plan:
//! - `tile`: vtype e32,m2 (e16,m2 for f16 accumulation), `vl` = the columns of the
//!   strip (≤ VLMAX). Accumulators `v8, v10, .., v30` (one m2 group per row, up to
//!   12), B in `v2..v3`, conversion scratch `v4..v7`, A scalars in `ft0..ft11`
//!   (f16 A values are NaN-boxed by hand: `lhu` + `or 0xffff_ffff_ffff_0000` +
//!   `fmv.d.x`, so no Zfh scalar load is needed).
//! - `dot`: vtype e32,m4 (e16,m4), accumulators `v16, v20, v24, v28`, B in
//!   `v8..v11`, A in `v12..v15`, scratch `v4..v5`; `vl = min(rest, VLMAX)`
//!   computed before each `vsetvli` (the module rule), `tu` so lanes past a short
//!   last strip keep their sums, then an ordered reduction over all VLMAX lanes.

use std::arch::asm;

use super::Kind;

/// Upper 48 bits of a NaN-boxed f16 in a 64-bit FP register.
const BOX: u64 = 0xFFFF_FFFF_FFFF_0000;

macro_rules! t_setup {
    (F16Acc) => {
        "vsetvli zero, {vl}, e16, m2, ta, ma"
    };
    ($v:ident) => {
        "vsetvli zero, {vl}, e32, m2, ta, ma"
    };
}

macro_rules! t_loadb {
    (F32) => {
        "vle32.v v2, ({b})"
    };
    (Bf16) => {
        "vle16.v v4, ({b})\nvzext.vf2 v2, v4\nvsll.vi v2, v2, 16"
    };
    (F16Widen) => {
        "vsetvli zero, {vl}, e16, m1, ta, ma\nvle16.v v4, ({b})\nvfwcvt.f.f.v v2, v4\nvsetvli zero, {vl}, e32, m2, ta, ma"
    };
    (F16Acc) => {
        "vle16.v v2, ({b})"
    };
}

macro_rules! t_loada {
    (F16Acc, $fr:literal, $off:literal) => {
        concat!(
            "lhu {s}, ",
            $off,
            "({a})\nor {s}, {s}, {bx}\nfmv.d.x ",
            $fr,
            ", {s}"
        )
    };
    ($v:ident, $fr:literal, $off:literal) => {
        concat!("flw ", $fr, ", ", $off, "({a})")
    };
}

macro_rules! t_loadc {
    (F16Acc, $acc:literal) => {
        concat!("vle32.v v4, ({t})\nvfncvt.f.f.w ", $acc, ", v4")
    };
    ($v:ident, $acc:literal) => {
        concat!("vle32.v ", $acc, ", ({t})")
    };
}

macro_rules! t_storec {
    (F16Acc, $acc:literal) => {
        concat!("vfwcvt.f.f.v v4, ", $acc, "\nvse32.v v4, ({t})")
    };
    ($v:ident, $acc:literal) => {
        concat!("vse32.v ", $acc, ", ({t})")
    };
}

/// `tile_fn!(name, kind, A bytes per k step, [(accumulator, FP register, A byte
/// offset) per row])`.
macro_rules! tile_fn {
    ($name:ident, $v:ident, $astep:literal, [$(($acc:literal, $fr:literal, $off:literal)),+]) => {
        /// # Safety
        /// As `super::tile` (strides in bytes), on a core with V (and Zvfh for f16).
        #[allow(clippy::too_many_arguments)]
        unsafe fn $name(
            kc: usize,
            a: *const u8,
            b: *const u8,
            bs: usize,
            c: *mut f32,
            ldc: usize,
            vl: usize,
            load: usize,
        ) {
            // SAFETY: the caller guarantees kc ≥ 1 packed A steps of this row count,
            // kc B rows of vl elements `bs` bytes apart, and the C rows (vl floats,
            // `ldc` bytes apart) this block reads and writes; `vl` ≤ VLMAX so the
            // vsetvli gives exactly vl lanes. Every vector and FP register written
            // is declared clobbered.
            unsafe {
                asm!(
                    ".option push",
                    ".option arch, +v, +zvfh",
                    "# {bx} {s}",
                    t_setup!($v),
                    "mv {t}, {c}",
                    "beqz {load}, 2f",
                    $( t_loadc!($v, $acc), "add {t}, {t}, {ldc}", )+
                    "j 3f",
                    "2:",
                    $( concat!("vmv.v.i ", $acc, ", 0"), )+
                    "3:",
                    t_loadb!($v),
                    "add {b}, {b}, {bs}",
                    $( t_loada!($v, $fr, $off), )+
                    concat!("addi {a}, {a}, ", $astep),
                    $( concat!("vfmacc.vf ", $acc, ", ", $fr, ", v2"), )+
                    "addi {k}, {k}, -1",
                    "bnez {k}, 3b",
                    "mv {t}, {c}",
                    $( t_storec!($v, $acc), "add {t}, {t}, {ldc}", )+
                    ".option pop",
                    k = inout(reg) kc => _,
                    a = inout(reg) a => _,
                    b = inout(reg) b => _,
                    bs = in(reg) bs,
                    c = in(reg) c,
                    ldc = in(reg) ldc,
                    vl = in(reg) vl,
                    load = in(reg) load,
                    bx = in(reg) BOX,
                    t = out(reg) _,
                    s = out(reg) _,
                    out("v2") _, out("v3") _, out("v4") _, out("v5") _,
                    out("v6") _, out("v7") _, out("v8") _, out("v9") _,
                    out("v10") _, out("v11") _, out("v12") _, out("v13") _,
                    out("v14") _, out("v15") _, out("v16") _, out("v17") _,
                    out("v18") _, out("v19") _, out("v20") _, out("v21") _,
                    out("v22") _, out("v23") _, out("v24") _, out("v25") _,
                    out("v26") _, out("v27") _, out("v28") _, out("v29") _,
                    out("v30") _, out("v31") _,
                    out("ft0") _, out("ft1") _, out("ft2") _, out("ft3") _,
                    out("ft4") _, out("ft5") _, out("ft6") _, out("ft7") _,
                    out("ft8") _, out("ft9") _, out("ft10") _, out("ft11") _,
                    options(nostack),
                );
            }
        }
    };
}

macro_rules! d_setup {
    (F16Acc, $policy:literal) => {
        concat!("vsetvli zero, {vl}, e16, m4, ", $policy, ", ma")
    };
    ($v:ident, $policy:literal) => {
        concat!("vsetvli zero, {vl}, e32, m4, ", $policy, ", ma")
    };
}

macro_rules! d_loadb {
    (F32) => {
        "vle32.v v8, ({b})"
    };
    (Bf16) => {
        "vle16.v v4, ({b})\nvzext.vf2 v8, v4\nvsll.vi v8, v8, 16"
    };
    (F16Widen) => {
        "vsetvli zero, {vl}, e16, m2, tu, ma\nvle16.v v4, ({b})\nvfwcvt.f.f.v v8, v4\nvsetvli zero, {vl}, e32, m4, tu, ma"
    };
    (F16Acc) => {
        "vle16.v v8, ({b})"
    };
}

macro_rules! d_loada {
    (F16Acc) => {
        "vle16.v v12, ({t})"
    };
    ($v:ident) => {
        "vle32.v v12, ({t})"
    };
}

/// Shift amounts turning `vl` into the A and B byte advances.
macro_rules! d_advance {
    (F32) => {
        "slli {s}, {vl}, 2\nadd {a}, {a}, {s}\nadd {b}, {b}, {s}"
    };
    (F16Acc) => {
        "slli {s}, {vl}, 1\nadd {a}, {a}, {s}\nadd {b}, {b}, {s}"
    };
    ($v:ident) => {
        "slli {s}, {vl}, 2\nadd {a}, {a}, {s}\nslli {s}, {vl}, 1\nadd {b}, {b}, {s}"
    };
}

macro_rules! d_reduce {
    (F16Acc, $acc:literal) => {
        concat!(
            "vsetvli zero, {lanes}, e16, m4, ta, ma\n",
            "vfwredosum.vs v4, ",
            $acc,
            ", v5\n",
            "vsetivli zero, 1, e32, m1, ta, ma\n",
            "vfmv.f.s ft0, v4\n",
            "fsw ft0, 0({o})"
        )
    };
    ($v:ident, $acc:literal) => {
        concat!(
            "vsetvli zero, {lanes}, e32, m4, ta, ma\n",
            "vfredosum.vs v4, ",
            $acc,
            ", v5\n",
            "vfmv.f.s ft0, v4\n",
            "fsw ft0, 0({o})"
        )
    };
}

/// `dot_fn!(name, kind, [accumulator per row])`.
macro_rules! dot_fn {
    ($name:ident, $v:ident, [$($acc:literal),+]) => {
        /// # Safety
        /// As `super::dot` (strides in bytes), `lanes` = VLMAX at m4 of the chain's
        /// SEW, on a core with V (and Zvfh for f16).
        #[allow(clippy::too_many_arguments)]
        unsafe fn $name(
            k: usize,
            a: *const u8,
            lda: usize,
            b: *const u8,
            out: *mut f32,
            ldc: usize,
            lanes: usize,
        ) {
            // SAFETY: the caller guarantees k ≥ 1 elements in each A row (`lda`
            // bytes apart) and in the B row, and the outputs `ldc` bytes apart;
            // each strip reads `vl = min(rest, lanes)` elements, so no load passes
            // k, and `vl` ≤ VLMAX keeps the vsetvli exact. Every vector and FP
            // register written is declared clobbered.
            unsafe {
                asm!(
                    ".option push",
                    ".option arch, +v, +zvfh",
                    "mv {vl}, {lanes}",
                    d_setup!($v, "ta"),
                    $( concat!("vmv.v.i ", $acc, ", 0"), )+
                    "1:",
                    "mv {vl}, {lanes}",
                    "bgeu {rem}, {lanes}, 2f",
                    "mv {vl}, {rem}",
                    "2:",
                    d_setup!($v, "tu"),
                    d_loadb!($v),
                    "mv {t}, {a}",
                    $( d_loada!($v), concat!("vfmacc.vv ", $acc, ", v12, v8"), "add {t}, {t}, {lda}", )+
                    d_advance!($v),
                    "sub {rem}, {rem}, {vl}",
                    "bnez {rem}, 1b",
                    "vsetivli zero, 1, e32, m1, ta, ma",
                    "vmv.s.x v5, zero",
                    $( d_reduce!($v, $acc), "add {o}, {o}, {ldc}", )+
                    ".option pop",
                    rem = inout(reg) k => _,
                    a = inout(reg) a => _,
                    b = inout(reg) b => _,
                    o = inout(reg) out => _,
                    lda = in(reg) lda,
                    ldc = in(reg) ldc,
                    lanes = in(reg) lanes,
                    vl = out(reg) _,
                    t = out(reg) _,
                    s = out(reg) _,
                    out("v4") _, out("v5") _, out("v6") _, out("v7") _,
                    out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                    out("v12") _, out("v13") _, out("v14") _, out("v15") _,
                    out("v16") _, out("v17") _, out("v18") _, out("v19") _,
                    out("v20") _, out("v21") _, out("v22") _, out("v23") _,
                    out("v24") _, out("v25") _, out("v26") _, out("v27") _,
                    out("v28") _, out("v29") _, out("v30") _, out("v31") _,
                    out("ft0") _,
                    options(nostack),
                );
            }
        }
    };
}

tile_fn!(
    tile_f32_12,
    F32,
    "48",
    [
        ("v8", "ft0", "0"),
        ("v10", "ft1", "4"),
        ("v12", "ft2", "8"),
        ("v14", "ft3", "12"),
        ("v16", "ft4", "16"),
        ("v18", "ft5", "20"),
        ("v20", "ft6", "24"),
        ("v22", "ft7", "28"),
        ("v24", "ft8", "32"),
        ("v26", "ft9", "36"),
        ("v28", "ft10", "40"),
        ("v30", "ft11", "44")
    ]
);
tile_fn!(
    tile_f32_4,
    F32,
    "16",
    [
        ("v8", "ft0", "0"),
        ("v10", "ft1", "4"),
        ("v12", "ft2", "8"),
        ("v14", "ft3", "12")
    ]
);
tile_fn!(
    tile_f32_3,
    F32,
    "12",
    [("v8", "ft0", "0"), ("v10", "ft1", "4"), ("v12", "ft2", "8")]
);
tile_fn!(
    tile_f32_2,
    F32,
    "8",
    [("v8", "ft0", "0"), ("v10", "ft1", "4")]
);
tile_fn!(tile_f32_1, F32, "4", [("v8", "ft0", "0")]);
tile_fn!(
    tile_bf16_4,
    Bf16,
    "16",
    [
        ("v8", "ft0", "0"),
        ("v10", "ft1", "4"),
        ("v12", "ft2", "8"),
        ("v14", "ft3", "12")
    ]
);
tile_fn!(
    tile_bf16_3,
    Bf16,
    "12",
    [("v8", "ft0", "0"), ("v10", "ft1", "4"), ("v12", "ft2", "8")]
);
tile_fn!(
    tile_bf16_2,
    Bf16,
    "8",
    [("v8", "ft0", "0"), ("v10", "ft1", "4")]
);
tile_fn!(tile_bf16_1, Bf16, "4", [("v8", "ft0", "0")]);
tile_fn!(
    tile_f16widen_4,
    F16Widen,
    "16",
    [
        ("v8", "ft0", "0"),
        ("v10", "ft1", "4"),
        ("v12", "ft2", "8"),
        ("v14", "ft3", "12")
    ]
);
tile_fn!(
    tile_f16widen_3,
    F16Widen,
    "12",
    [("v8", "ft0", "0"), ("v10", "ft1", "4"), ("v12", "ft2", "8")]
);
tile_fn!(
    tile_f16widen_2,
    F16Widen,
    "8",
    [("v8", "ft0", "0"), ("v10", "ft1", "4")]
);
tile_fn!(tile_f16widen_1, F16Widen, "4", [("v8", "ft0", "0")]);
tile_fn!(
    tile_f16acc_12,
    F16Acc,
    "24",
    [
        ("v8", "ft0", "0"),
        ("v10", "ft1", "2"),
        ("v12", "ft2", "4"),
        ("v14", "ft3", "6"),
        ("v16", "ft4", "8"),
        ("v18", "ft5", "10"),
        ("v20", "ft6", "12"),
        ("v22", "ft7", "14"),
        ("v24", "ft8", "16"),
        ("v26", "ft9", "18"),
        ("v28", "ft10", "20"),
        ("v30", "ft11", "22")
    ]
);
tile_fn!(
    tile_f16acc_4,
    F16Acc,
    "8",
    [
        ("v8", "ft0", "0"),
        ("v10", "ft1", "2"),
        ("v12", "ft2", "4"),
        ("v14", "ft3", "6")
    ]
);
tile_fn!(
    tile_f16acc_3,
    F16Acc,
    "6",
    [("v8", "ft0", "0"), ("v10", "ft1", "2"), ("v12", "ft2", "4")]
);
tile_fn!(
    tile_f16acc_2,
    F16Acc,
    "4",
    [("v8", "ft0", "0"), ("v10", "ft1", "2")]
);
tile_fn!(tile_f16acc_1, F16Acc, "2", [("v8", "ft0", "0")]);
dot_fn!(dot_f32_4, F32, ["v16", "v20", "v24", "v28"]);
dot_fn!(dot_f32_3, F32, ["v16", "v20", "v24"]);
dot_fn!(dot_f32_2, F32, ["v16", "v20"]);
dot_fn!(dot_f32_1, F32, ["v16"]);
dot_fn!(dot_bf16_4, Bf16, ["v16", "v20", "v24", "v28"]);
dot_fn!(dot_bf16_3, Bf16, ["v16", "v20", "v24"]);
dot_fn!(dot_bf16_2, Bf16, ["v16", "v20"]);
dot_fn!(dot_bf16_1, Bf16, ["v16"]);
dot_fn!(dot_f16widen_4, F16Widen, ["v16", "v20", "v24", "v28"]);
dot_fn!(dot_f16widen_3, F16Widen, ["v16", "v20", "v24"]);
dot_fn!(dot_f16widen_2, F16Widen, ["v16", "v20"]);
dot_fn!(dot_f16widen_1, F16Widen, ["v16"]);
dot_fn!(dot_f16acc_4, F16Acc, ["v16", "v20", "v24", "v28"]);
dot_fn!(dot_f16acc_3, F16Acc, ["v16", "v20", "v24"]);
dot_fn!(dot_f16acc_2, F16Acc, ["v16", "v20"]);
dot_fn!(dot_f16acc_1, F16Acc, ["v16"]);

/// See `super::tile`; strides are in elements here.
///
/// # Safety
/// As `super::tile`, on a core with V (and Zvfh for f16) at the target's VLEN.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn tile(
    kind: Kind,
    rows: usize,
    kc: usize,
    a: *const u8,
    b: *const u8,
    b_stride: usize,
    c: *mut f32,
    ldc: usize,
    vl: usize,
    load_c: bool,
) {
    let bs = b_stride * if kind == Kind::F32 { 4 } else { 2 };
    let ldc = ldc * 4;
    let load = load_c as usize;
    // SAFETY: forwarded with strides converted to bytes.
    unsafe {
        match (kind, rows) {
            (Kind::F32, 12) => tile_f32_12(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F32, 4) => tile_f32_4(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F32, 3) => tile_f32_3(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F32, 2) => tile_f32_2(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F32, 1) => tile_f32_1(kc, a, b, bs, c, ldc, vl, load),
            (Kind::Bf16, 4) => tile_bf16_4(kc, a, b, bs, c, ldc, vl, load),
            (Kind::Bf16, 3) => tile_bf16_3(kc, a, b, bs, c, ldc, vl, load),
            (Kind::Bf16, 2) => tile_bf16_2(kc, a, b, bs, c, ldc, vl, load),
            (Kind::Bf16, 1) => tile_bf16_1(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F16Widen, 4) => tile_f16widen_4(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F16Widen, 3) => tile_f16widen_3(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F16Widen, 2) => tile_f16widen_2(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F16Widen, 1) => tile_f16widen_1(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F16Acc, 12) => tile_f16acc_12(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F16Acc, 4) => tile_f16acc_4(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F16Acc, 3) => tile_f16acc_3(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F16Acc, 2) => tile_f16acc_2(kc, a, b, bs, c, ldc, vl, load),
            (Kind::F16Acc, 1) => tile_f16acc_1(kc, a, b, bs, c, ldc, vl, load),
            _ => unreachable!("rvv gemm: no {kind:?} tile for {rows} rows"),
        }
    }
}

/// See `super::dot`; `lda` and `ldc` are in elements here.
///
/// # Safety
/// As `super::dot`, on a core with V (and Zvfh for f16) at the target's VLEN.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn dot(
    kind: Kind,
    rows: usize,
    k: usize,
    a: *const u8,
    lda: usize,
    b: *const u8,
    out: *mut f32,
    ldc: usize,
    lanes: usize,
) {
    let lda = lda * if kind == Kind::F16Acc { 2 } else { 4 };
    let ldc = ldc * 4;
    // SAFETY: forwarded with strides converted to bytes.
    unsafe {
        match (kind, rows) {
            (Kind::F32, 4) => dot_f32_4(k, a, lda, b, out, ldc, lanes),
            (Kind::F32, 3) => dot_f32_3(k, a, lda, b, out, ldc, lanes),
            (Kind::F32, 2) => dot_f32_2(k, a, lda, b, out, ldc, lanes),
            (Kind::F32, 1) => dot_f32_1(k, a, lda, b, out, ldc, lanes),
            (Kind::Bf16, 4) => dot_bf16_4(k, a, lda, b, out, ldc, lanes),
            (Kind::Bf16, 3) => dot_bf16_3(k, a, lda, b, out, ldc, lanes),
            (Kind::Bf16, 2) => dot_bf16_2(k, a, lda, b, out, ldc, lanes),
            (Kind::Bf16, 1) => dot_bf16_1(k, a, lda, b, out, ldc, lanes),
            (Kind::F16Widen, 4) => dot_f16widen_4(k, a, lda, b, out, ldc, lanes),
            (Kind::F16Widen, 3) => dot_f16widen_3(k, a, lda, b, out, ldc, lanes),
            (Kind::F16Widen, 2) => dot_f16widen_2(k, a, lda, b, out, ldc, lanes),
            (Kind::F16Widen, 1) => dot_f16widen_1(k, a, lda, b, out, ldc, lanes),
            (Kind::F16Acc, 4) => dot_f16acc_4(k, a, lda, b, out, ldc, lanes),
            (Kind::F16Acc, 3) => dot_f16acc_3(k, a, lda, b, out, ldc, lanes),
            (Kind::F16Acc, 2) => dot_f16acc_2(k, a, lda, b, out, ldc, lanes),
            (Kind::F16Acc, 1) => dot_f16acc_1(k, a, lda, b, out, ldc, lanes),
            _ => unreachable!("rvv gemm: no {kind:?} dot for {rows} rows"),
        }
    }
}
