//! RVV float GEMM / GEMV: `C[m×n] = A[m×k] · B` with f32 activations and f32, bf16
//! or f16 weights, built the way SHL builds its RVV GEMM (see
//! `shared/design/thead.md` §A.3), in native asm and as a bit-exact model.
//!
//! **Micro-kernel** (`tile`): an outer product of `MR = 12` rows of A by one packed
//! B panel of `NR = 2·packn` columns (`packn = VLEN/SEW`). The panel is one
//! LMUL=2 register group (`vl = NR`), so each k step is one vector load of B and 12
//! `vfmacc.vf` with the A values broadcast from FP scalar registers (`ft0..ft11`).
//! 12 accumulators × 2 registers fill `v8..v31`, B uses `v2..v3`, `v4..v7` is
//! conversion scratch. This is SHL's `12 × pack2n` tile; LMUL=2 instead of two
//! LMUL=1 halves halves the instruction count at the same register budget. Row
//! tails use 4/3/2/1-row variants of the same kernel, column tails a shorter `vl`.
//!
//! **Arithmetic** (what the model replays): each output is one fused
//! multiply-accumulate chain `acc = a[i,p]·b[p,j] + acc` over `p = 0..k` in order,
//! starting from +0. Between `kc` blocks the accumulator goes through C and is read
//! back exactly, so neither the blocking nor the thread split changes a bit.
//! - F32 weights: f32 chain. Bf16: weights widened exactly (bits << 16), f32 chain.
//! - F16 weights, `fp16_accumulate == false`: widened exactly (`vfwcvt`), f32 chain.
//! - F16 weights, `fp16_accumulate == true` (SHL on C908/C920v2): A rounded to f16
//!   (RNE), the chain runs in f16 (`vfmacc.vf` at e16, `NR = 2·VLEN/16`), and the
//!   result is widened to f32.
//!
//! **Packing** (per call, scratch `Vec`s): B is packed per `kc × nc` block into
//! `NR`-wide panels `[panel][p][NR]` (zero-padded), converted to the compute type
//! (f32, or f16 bits) while packing; A per `mc × kc` block into row groups
//! (12, then 4/3/2/1) laid out `[p][rows]`.
//!
//! **Blocking** ([`blocking`]): a `kc × NR` B panel takes half of L1d
//! (`kc = l1d/2 / (NR·es)`, a multiple of 8 in `32..=1024`), an `mc × kc` A block
//! half of L2 (`mc = l2/2 / (kc·es)`, a multiple of 12, at least 12), a `kc × nc` B
//! block half of L3 (`nc = l3/2 / (kc·es)`, a multiple of `NR`, at least `NR`; L2 is
//! used when there is no L3). `es` is the packed element size (4 or 2 bytes).
//!
//! **GEMV** (`m ≤ 4`, decode): B is streamed once, unpacked.
//! - `b_transposed` ([n×k] rows): per output row `j`, the `m` rows of A are dotted
//!   with B's row `j`: `vfmacc.vv` over k strips at LMUL=4 (`vl = min(rest, VLMAX)`,
//!   `tu` accumulators, so lane `l` sums `p ≡ l mod VLMAX` in order), then one
//!   *ordered* `vfredosum` over all `VLMAX` lanes from +0 (for f16 accumulation,
//!   lanes are f16 and the ordered widening `vfwredosum` sums them in f32).
//! - otherwise: an axpy over B's rows, i.e. the micro-kernel run with the `m` rows
//!   of A directly on B (row stride `ldb`), converting bf16/f16 in registers.
//!
//! Threads (rayon): GEMM splits each `mc × nc` block over (panel, row-group) tasks,
//! GEMV over output columns. Every output is computed by one task with the
//! arithmetic above, so results do not depend on the number of threads.

#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
mod riscv64;

mod model;

use half::{bf16, f16};
use rayon::prelude::*;

use super::{strips, Engine, RvvTarget};
use crate::blocking::GemmBlocking;

/// The weights (B operand) in their storage type.
#[derive(Clone, Copy, Debug)]
pub enum RvvWeights<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    Bf16(&'a [bf16]),
}

impl RvvWeights<'_> {
    fn len(&self) -> usize {
        match self {
            RvvWeights::F32(b) => b.len(),
            RvvWeights::F16(b) => b.len(),
            RvvWeights::Bf16(b) => b.len(),
        }
    }

    fn elem_bytes(&self) -> usize {
        match self {
            RvvWeights::F32(_) => 4,
            _ => 2,
        }
    }

    fn as_ptr(&self) -> *const u8 {
        match self {
            RvvWeights::F32(b) => b.as_ptr().cast(),
            RvvWeights::F16(b) => b.as_ptr().cast(),
            RvvWeights::Bf16(b) => b.as_ptr().cast(),
        }
    }

    /// `b[idx]` widened exactly to f32 (bf16 by shifting its bits, as the asm does).
    #[inline(always)]
    fn get_f32(&self, idx: usize) -> f32 {
        match self {
            RvvWeights::F32(b) => b[idx],
            RvvWeights::F16(b) => b[idx].to_f32(),
            RvvWeights::Bf16(b) => f32::from_bits((b[idx].to_bits() as u32) << 16),
        }
    }
}

/// Rows of the micro-kernel tile.
pub const MR: usize = 12;

/// Largest m served by the GEMV path.
pub const GEMV_MAX_M: usize = 4;

/// Which arithmetic a kernel runs (and how it reads B).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// f32 B (packed panels or raw f32), f32 chain.
    F32,
    /// Raw bf16 B widened in registers, f32 chain.
    Bf16,
    /// Raw f16 B widened in registers, f32 chain.
    F16Widen,
    /// f16 B (packed or raw) and f16 A, f16 chain.
    F16Acc,
}

/// Blocking for this target: `mr × nr` is the register tile (`nr = 2·VLEN/SEW`,
/// SEW = 16 when `f16_compute`, else 32); `kc`, `mc`, `nc` follow the caches as the
/// module docs describe.
pub fn blocking(t: &RvvTarget, f16_compute: bool) -> GemmBlocking {
    let es = if f16_compute { 2 } else { 4 };
    let nr = t.vlmax(es * 8, 2);
    let c = &t.caches;
    let kc = (c.l1d / 2 / (nr * es)).clamp(32, 1024) / 8 * 8;
    let mc = (c.l2 / 2 / (kc * es)).clamp(MR, 4096) / MR * MR;
    let outer = if c.l3 > 0 { c.l3 } else { c.l2 };
    let nc = ((outer / 2 / (kc * es)).clamp(nr, 1 << 16) / nr) * nr;
    GemmBlocking {
        mr: MR,
        nr,
        kc,
        mc,
        nc,
    }
}

/// Elements a `rows × cols` row-major matrix with stride `ld` spans.
fn span(rows: usize, cols: usize, ld: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * ld + cols
    }
}

/// A raw pointer that parallel tasks may share; each task writes its own
/// disjoint elements (see the SAFETY comments where it is dereferenced).
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: only a pointer; tasks write disjoint elements and rayon joins every task
// before the borrow it came from ends.
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Shared<T> {}

/// `c[i*ldc + j] = Σ_p a[i*lda + p] · b(p, j)`, overwriting C, where `b(p, j)` is
/// `b[j*ldb + p]` when `b_transposed` (a Linear weight `[n×k]`), else
/// `b[p*ldb + j]`. Runs the native RVV kernels when `t.engine()` is native, else
/// their model. Panics if a slice is too short for its shape and stride.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    t: &RvvTarget,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: RvvWeights<'_>,
    ldb: usize,
    b_transposed: bool,
    c: &mut [f32],
    ldc: usize,
) {
    assert!(m <= 1 || k == 0 || lda >= k, "rvv gemm: lda {lda} < k {k}");
    assert!(
        a.len() >= span(m, k, lda),
        "rvv gemm: A has {} elements, needs {}",
        a.len(),
        span(m, k, lda)
    );
    let (b_rows, b_cols) = if b_transposed { (n, k) } else { (k, n) };
    assert!(
        b_rows <= 1 || b_cols == 0 || ldb >= b_cols,
        "rvv gemm: ldb {ldb} < {b_cols}"
    );
    assert!(
        b.len() >= span(b_rows, b_cols, ldb),
        "rvv gemm: B has {} elements, needs {}",
        b.len(),
        span(b_rows, b_cols, ldb)
    );
    assert!(m <= 1 || n == 0 || ldc >= n, "rvv gemm: ldc {ldc} < n {n}");
    assert!(
        c.len() >= span(m, n, ldc),
        "rvv gemm: C has {} elements, needs {}",
        c.len(),
        span(m, n, ldc)
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for i in 0..m {
            c[i * ldc..][..n].fill(0.0);
        }
        return;
    }
    let f16acc = matches!(b, RvvWeights::F16(_)) && t.fp16_accumulate;
    // The f16 kernels (f16 accumulation, and GEMV widening f16 in registers) need
    // Zvfh; a native core without it runs them through the model.
    let needs_zvfh = matches!(b, RvvWeights::F16(_)) && (f16acc || m <= GEMV_MAX_M);
    let engine = match t.engine() {
        Engine::Native if needs_zvfh && !super::native_zvfh() => Engine::Model,
        e => e,
    };
    let p = Prob {
        t: *t,
        engine,
        m,
        n,
        k,
        a,
        lda,
        b,
        ldb,
        b_transposed,
        c: Shared(c.as_mut_ptr()),
        ldc,
        f16acc,
    };
    if m <= GEMV_MAX_M {
        if b_transposed {
            gemv_dot(&p);
        } else {
            gemv_axpy(&p);
        }
    } else {
        gemm_blocked(&p);
    }
}

/// One validated product.
struct Prob<'a> {
    t: RvvTarget,
    engine: Engine,
    m: usize,
    n: usize,
    k: usize,
    a: &'a [f32],
    lda: usize,
    b: RvvWeights<'a>,
    ldb: usize,
    b_transposed: bool,
    c: Shared<f32>,
    ldc: usize,
    f16acc: bool,
}

impl Prob<'_> {
    /// `b(p, j)` widened to f32.
    #[inline(always)]
    fn b_at(&self, p: usize, j: usize) -> f32 {
        if self.b_transposed {
            self.b.get_f32(j * self.ldb + p)
        } else {
            self.b.get_f32(p * self.ldb + j)
        }
    }

    /// `b(p, j)` as f16 bits (only for f16 weights).
    #[inline(always)]
    fn b_f16_bits(&self, p: usize, j: usize) -> u16 {
        let RvvWeights::F16(b) = self.b else {
            unreachable!("f16 bits of non-f16 weights")
        };
        let idx = if self.b_transposed {
            j * self.ldb + p
        } else {
            p * self.ldb + j
        };
        b[idx].to_bits()
    }
}

/// Runs `rows` (1..=4 or 12) rows of the micro-kernel: for each of the `rows` rows
/// `i` and `vl` columns `j`, `c[i*ldc + j] = chain over p < kc of a[p*rows + i] ·
/// b[p*b_stride + j]` continued from C when `load_c`, else from +0.
///
/// # Safety
/// `a` holds `kc·rows` packed values of the kind's A type (f32, or f16 bits for
/// `F16Acc`), `b` holds `kc` rows of at least `vl` elements of the kind's B type
/// `b_stride` elements apart, `c` covers `rows` rows of `vl` floats `ldc` apart that
/// no other thread touches, `1 ≤ vl ≤ VLMAX(e32|e16, m2)` (the model takes any
/// `vl`) and `kc ≥ 1`.
#[allow(clippy::too_many_arguments)]
unsafe fn tile(
    t: &RvvTarget,
    engine: Engine,
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
    debug_assert!(vl >= 1);
    debug_assert!(
        engine == Engine::Model || vl <= t.vlmax(if kind == Kind::F16Acc { 16 } else { 32 }, 2)
    );
    match engine {
        #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
        Engine::Native => {
            // SAFETY: forwarded; `Native` means this core runs V at t's VLEN.
            unsafe { riscv64::tile(kind, rows, kc, a, b, b_stride, c, ldc, vl, load_c) }
        }
        _ => {
            let _ = t;
            // SAFETY: forwarded.
            unsafe { model::tile(kind, rows, kc, a, b, b_stride, c, ldc, vl, load_c) }
        }
    }
}

/// Dot products of `rows` (1..=4) rows of A (`lda` apart) with one row of B:
/// `out[i*ldc] = ordered sum over lanes of the lane-strided chains`.
///
/// # Safety
/// `a` covers `rows` rows of `k` elements of the kind's A type (f32, or f16 bits for
/// `F16Acc`) `lda` elements apart, `b` covers `k` elements of the kind's B type,
/// `out` covers `rows` floats `ldc` apart that no other thread touches, `k ≥ 1`.
#[allow(clippy::too_many_arguments)]
unsafe fn dot(
    t: &RvvTarget,
    engine: Engine,
    kind: Kind,
    rows: usize,
    k: usize,
    a: *const u8,
    lda: usize,
    b: *const u8,
    out: *mut f32,
    ldc: usize,
) {
    let lanes = t.vlmax(if kind == Kind::F16Acc { 16 } else { 32 }, 4);
    match engine {
        #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
        Engine::Native => {
            // SAFETY: forwarded; `Native` means this core runs V at t's VLEN, whose
            // e32/e16 m4 VLMAX is `lanes`.
            unsafe { riscv64::dot(kind, rows, k, a, lda, b, out, ldc, lanes) }
        }
        _ => {
            // SAFETY: forwarded.
            unsafe { model::dot(kind, rows, k, a, lda, b, out, ldc, lanes) }
        }
    }
}

/// Splits `rows` into micro-kernel row groups: 12s, then 4s, then one of 3/2/1.
fn row_groups(rows: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut start = 0;
    std::iter::from_fn(move || {
        let left = rows - start;
        if left == 0 {
            return None;
        }
        let g = if left >= MR {
            MR
        } else if left >= 4 {
            4
        } else {
            left
        };
        let s = start;
        start += g;
        Some((s, g))
    })
}

/// The m (≤ 4) rows of A packed `[p][m]`: f32, or f16 bits when accumulating in f16.
fn pack_a_small(p: &Prob<'_>, rows_buf_f32: &mut Vec<f32>, rows_buf_f16: &mut Vec<u16>) {
    let (m, k) = (p.m, p.k);
    if p.f16acc {
        rows_buf_f16.resize(m * k, 0);
        for i in 0..m {
            for q in 0..k {
                rows_buf_f16[q * m + i] = f16::from_f32(p.a[i * p.lda + q]).to_bits();
            }
        }
    } else {
        rows_buf_f32.resize(m * k, 0.0);
        for i in 0..m {
            for q in 0..k {
                rows_buf_f32[q * m + i] = p.a[i * p.lda + q];
            }
        }
    }
}

/// Small m, B `[k×n]`: the micro-kernel with the m rows of A over B's own rows,
/// one `NR`-column strip per call, B converted in registers.
fn gemv_axpy(p: &Prob<'_>) {
    let (mut af, mut ah) = (Vec::new(), Vec::new());
    pack_a_small(p, &mut af, &mut ah);
    let (kind, a_ptr) = match (p.b, p.f16acc) {
        (_, true) => (Kind::F16Acc, ah.as_ptr() as usize),
        (RvvWeights::F32(_), _) => (Kind::F32, af.as_ptr() as usize),
        (RvvWeights::Bf16(_), _) => (Kind::Bf16, af.as_ptr() as usize),
        (RvvWeights::F16(_), _) => (Kind::F16Widen, af.as_ptr() as usize),
    };
    let nr = p.t.vlmax(if p.f16acc { 16 } else { 32 }, 2);
    let es = p.b.elem_bytes();
    let b_ptr = p.b.as_ptr() as usize;
    // The model's arithmetic per output does not depend on the strip width, so
    // it takes wider strips (fewer passes over B's rows, better host locality).
    let width = if p.engine == Engine::Model {
        nr.max(256)
    } else {
        nr
    };
    let all: Vec<(usize, usize)> = strips(p.n, width).collect();
    all.par_iter().with_min_len(4).for_each(|&(j, vl)| {
        // SAFETY: A was packed as `k × m` values of the kind's A type; B's rows
        // `0..k` hold columns `j..j+vl` (validated span, `j + vl ≤ n`), `ldb`
        // elements apart; C rows `0..m` hold columns `j..j+vl`, and each strip
        // (a disjoint column range) is written by one task only.
        unsafe {
            tile(
                &p.t,
                p.engine,
                kind,
                p.m,
                p.k,
                a_ptr as *const u8,
                (b_ptr as *const u8).add(j * es),
                p.ldb,
                p.c.0.add(j),
                p.ldc,
                vl,
                false,
            )
        }
    });
}

/// Small m, B `[n×k]`: per output column j, the m rows of A dotted with B's row j.
fn gemv_dot(p: &Prob<'_>) {
    let mut ah: Vec<u16> = Vec::new();
    let (kind, a_ptr, lda) = match (p.b, p.f16acc) {
        (_, true) => {
            ah.resize(p.m * p.k, 0);
            for i in 0..p.m {
                for q in 0..p.k {
                    ah[i * p.k + q] = f16::from_f32(p.a[i * p.lda + q]).to_bits();
                }
            }
            (Kind::F16Acc, ah.as_ptr() as usize, p.k)
        }
        (RvvWeights::F32(_), _) => (Kind::F32, p.a.as_ptr() as usize, p.lda),
        (RvvWeights::Bf16(_), _) => (Kind::Bf16, p.a.as_ptr() as usize, p.lda),
        (RvvWeights::F16(_), _) => (Kind::F16Widen, p.a.as_ptr() as usize, p.lda),
    };
    let es = p.b.elem_bytes();
    let b_ptr = p.b.as_ptr() as usize;
    (0..p.n).into_par_iter().with_min_len(16).for_each(|j| {
        // SAFETY: A rows `0..m` hold k elements `lda` apart (validated, or the f16
        // copy with `lda = k`); B's row j holds k elements (validated span); the
        // outputs `c[i*ldc + j]` lie inside the validated C and column j belongs to
        // this task only.
        unsafe {
            dot(
                &p.t,
                p.engine,
                kind,
                p.m,
                p.k,
                a_ptr as *const u8,
                lda,
                (b_ptr as *const u8).add(j * p.ldb * es),
                p.c.0.add(j),
                p.ldc,
            )
        }
    });
}

/// Packed scratch in the compute type.
enum Packed {
    F32(Vec<f32>),
    F16(Vec<u16>),
}

impl Packed {
    fn new(f16: bool, len: usize) -> Packed {
        if f16 {
            Packed::F16(vec![0; len])
        } else {
            Packed::F32(vec![0.0; len])
        }
    }

    fn ptr(&self) -> usize {
        match self {
            Packed::F32(v) => v.as_ptr() as usize,
            Packed::F16(v) => v.as_ptr() as usize,
        }
    }

    fn es(&self) -> usize {
        match self {
            Packed::F32(_) => 4,
            Packed::F16(_) => 2,
        }
    }
}

/// The packed GEMM for m > 4.
fn gemm_blocked(p: &Prob<'_>) {
    let f16 = p.f16acc;
    let blk = blocking(&p.t, f16);
    let (nr, kc_max, mc_max, nc_max) = (blk.nr, blk.kc, blk.mc, blk.nc);
    let kind = if f16 { Kind::F16Acc } else { Kind::F32 };
    let mut bp = Packed::new(f16, 0);
    let mut ap = Packed::new(f16, 0);
    for jc in (0..p.n).step_by(nc_max) {
        let nc = nc_max.min(p.n - jc);
        let panels = nc.div_ceil(nr);
        for pc in (0..p.k).step_by(kc_max) {
            let kc = kc_max.min(p.k - pc);
            pack_b(p, &mut bp, jc, nc, pc, kc, nr);
            for ic in (0..p.m).step_by(mc_max) {
                let mc = mc_max.min(p.m - ic);
                pack_a(p, &mut ap, ic, mc, pc, kc);
                let groups: Vec<(usize, usize)> = row_groups(mc).collect();
                // Tasks: (panel, run of up to 4 row groups).
                let runs = groups.len().div_ceil(4);
                let (a_ptr, b_ptr, es) = (ap.ptr(), bp.ptr(), ap.es());
                (0..panels * runs).into_par_iter().for_each(|task| {
                    let (jp, run) = (task / runs, task % runs);
                    let j0 = jp * nr;
                    let vl = nr.min(nc - j0);
                    for &(r0, g) in groups.iter().skip(run * 4).take(4) {
                        // SAFETY: the packed A block holds each group's `kc × g`
                        // values at offset `r0·kc` (pack_a); packed panel jp
                        // holds `kc × nr` values (pack_b); C rows
                        // `ic+r0 .. ic+r0+g`, columns `jc+j0 .. +vl` lie inside
                        // the validated C and belong to this task only.
                        unsafe {
                            tile(
                                &p.t,
                                p.engine,
                                kind,
                                g,
                                kc,
                                (a_ptr as *const u8).add(r0 * kc * es),
                                (b_ptr as *const u8).add(jp * kc * nr * es),
                                nr,
                                p.c.0.add((ic + r0) * p.ldc + jc + j0),
                                p.ldc,
                                vl,
                                pc > 0,
                            )
                        }
                    }
                });
            }
        }
    }
}

/// Packs `b(pc..pc+kc, jc..jc+nc)` into `nr`-wide zero-padded panels `[panel][p][nr]`
/// of the compute type.
fn pack_b(p: &Prob<'_>, buf: &mut Packed, jc: usize, nc: usize, pc: usize, kc: usize, nr: usize) {
    let panels = nc.div_ceil(nr);
    let len = panels * kc * nr;
    match buf {
        Packed::F32(v) => {
            v.resize(len, 0.0);
            v.par_chunks_mut(kc * nr)
                .enumerate()
                .for_each(|(jp, panel)| {
                    let j0 = jc + jp * nr;
                    let w = nr.min(jc + nc - j0);
                    for (q, row) in panel.chunks_exact_mut(nr).enumerate() {
                        for (jj, x) in row.iter_mut().enumerate() {
                            *x = if jj < w { p.b_at(pc + q, j0 + jj) } else { 0.0 };
                        }
                    }
                });
        }
        Packed::F16(v) => {
            v.resize(len, 0);
            v.par_chunks_mut(kc * nr)
                .enumerate()
                .for_each(|(jp, panel)| {
                    let j0 = jc + jp * nr;
                    let w = nr.min(jc + nc - j0);
                    for (q, row) in panel.chunks_exact_mut(nr).enumerate() {
                        for (jj, x) in row.iter_mut().enumerate() {
                            *x = if jj < w {
                                p.b_f16_bits(pc + q, j0 + jj)
                            } else {
                                0
                            };
                        }
                    }
                });
        }
    }
}

/// Packs `a(ic..ic+mc, pc..pc+kc)` as row groups (`row_groups`), each `[p][g]`, the
/// group starting at `r0` stored at offset `r0·kc`; f16 bits (RNE) when
/// accumulating in f16.
fn pack_a(p: &Prob<'_>, buf: &mut Packed, ic: usize, mc: usize, pc: usize, kc: usize) {
    let a = |i: usize, q: usize| p.a[(ic + i) * p.lda + pc + q];
    match buf {
        Packed::F32(v) => {
            v.resize(mc * kc, 0.0);
            for (r0, g) in row_groups(mc) {
                let dst = &mut v[r0 * kc..][..g * kc];
                for (q, d) in dst.chunks_exact_mut(g).enumerate() {
                    for (i, x) in d.iter_mut().enumerate() {
                        *x = a(r0 + i, q);
                    }
                }
            }
        }
        Packed::F16(v) => {
            v.resize(mc * kc, 0);
            for (r0, g) in row_groups(mc) {
                let dst = &mut v[r0 * kc..][..g * kc];
                for (q, d) in dst.chunks_exact_mut(g).enumerate() {
                    for (i, x) in d.iter_mut().enumerate() {
                        *x = f16::from_f32(a(r0 + i, q)).to_bits();
                    }
                }
            }
        }
    }
}
