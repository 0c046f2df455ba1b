//! BLIS-style blocked GEMM driver for m large enough to amortise packing.
//!
//! C is cut into a grid of at most `threads` parts (rows × columns); each rayon
//! task runs the classic loop nest on its part: `nc` columns of B, `kc` deep, `mc`
//! rows of A packed into L2, then `MR×NR` register tiles with one B micro-panel
//! held close while every A sliver of the block streams past it. B is widened to
//! f32 while packing, so bf16/f16 weights reuse the f32 tile:
//! - row-major B is packed a `kc×nc` block at a time, reading whole rows;
//! - transposed B (weight layout) is packed one panel just before first use,
//!   reading each weight row's `kc` contiguous elements.

use rayon::prelude::*;

use super::arch::{Kernels, MAX_TILE};
use super::element::WeightElem;
use super::problem::Problem;
use super::scratch::{with_scratch, Slot};
use crate::blocking::{CacheInfo, GemmBlocking};

/// Below this many flops a product runs on the calling thread: waking the pool
/// would cost more than it saves.
const PARALLEL_MIN_FLOPS: usize = 4 << 20;

/// Computes the whole product.
///
/// # Safety
/// The host supports `K`'s ISA, the operands were validated (slices cover their
/// extents, `c` covers `m×n` with stride `ldc`), and nothing else accesses C.
pub(crate) unsafe fn run<K: Kernels<E>, E: WeightElem>(caches: &CacheInfo, pb: Problem<'_, E>) {
    let blocking = GemmBlocking::for_f32(caches, K::MR, K::NR);
    let threads = if 2 * pb.m * pb.n * pb.k < PARALLEL_MIN_FLOPS {
        1
    } else {
        rayon::current_num_threads()
    };
    let m_tiles = pb.m.div_ceil(K::MR);
    let n_tiles = pb.n.div_ceil(K::NR);
    let (parts_m, parts_n) = split_grid(m_tiles, n_tiles, pb.m, pb.n, threads);
    let part = |t: usize| {
        let (pi, pj) = (t / parts_n, t % parts_n);
        let rows = (
            m_tiles * pi / parts_m * K::MR,
            (m_tiles * (pi + 1) / parts_m * K::MR).min(pb.m),
        );
        let cols = (
            n_tiles * pj / parts_n * K::NR,
            (n_tiles * (pj + 1) / parts_n * K::NR).min(pb.n),
        );
        // SAFETY: forwarded from this function's contract; parts are disjoint
        // blocks of C, so concurrent tasks never write the same element.
        unsafe { run_part::<K, E>(caches, &blocking, &pb, rows, cols) };
    };
    if parts_m * parts_n == 1 {
        part(0);
    } else {
        (0..parts_m * parts_n).into_par_iter().for_each(part);
    }
}

/// Picks how many row parts × column parts to cut C into for `threads` tasks.
/// Splitting columns makes every task pack its own copy of A, splitting rows its
/// own copy of B; choose the split that packs the least, with as many tasks as
/// there are threads (or as tiles allow).
fn split_grid(
    m_tiles: usize,
    n_tiles: usize,
    m: usize,
    n: usize,
    threads: usize,
) -> (usize, usize) {
    let mut best = (1, 1);
    let mut best_key = (usize::MAX, usize::MAX);
    for parts_m in 1..=threads {
        let parts_n = threads / parts_m;
        let (pm, pn) = (parts_m.min(m_tiles), parts_n.min(n_tiles));
        let idle = threads - pm * pn;
        let packed = m * pn + n * pm;
        if (idle, packed) < best_key {
            best_key = (idle, packed);
            best = (pm, pn);
        }
    }
    best
}

/// Depth of the packed blocks. `GemmBlocking` sizes kc for a full `mc` rows of A;
/// with fewer rows the A block (`mc×kc`, half of L2) can be deeper, which the
/// register tile runs just as fast (its B panel streams from L2 well) while
/// each C tile is revisited fewer times and transposed B is read in longer
/// runs. The B panel (`kc×nr`) is kept to a quarter of L2. `k` is then cut into
/// equal steps so the last block is not a thin remainder.
fn block_depth(
    caches: &CacheInfo,
    blocking: &GemmBlocking,
    k: usize,
    mc: usize,
    nr: usize,
) -> usize {
    let by_a_block = caches.l2 / 2 / (4 * mc);
    let by_b_panel = caches.l2 / 4 / (4 * nr);
    let kc = blocking.kc.max(by_a_block.min(by_b_panel)).max(1);
    let steps = k.div_ceil(kc);
    k.div_ceil(steps).next_multiple_of(4).min(kc)
}

/// Runs the five-loop nest on rows `rows.0..rows.1` and columns `cols.0..cols.1` of C.
///
/// # Safety
/// As for `run`, and no other thread touches this block of C meanwhile.
unsafe fn run_part<K: Kernels<E>, E: WeightElem>(
    caches: &CacheInfo,
    blocking: &GemmBlocking,
    pb: &Problem<'_, E>,
    rows: (usize, usize),
    cols: (usize, usize),
) {
    if rows.0 >= rows.1 || cols.0 >= cols.1 {
        return;
    }
    let (mr, nr) = (K::MR, K::NR);
    let mc = blocking.mc.min((rows.1 - rows.0).next_multiple_of(mr));
    // Depth from the whole m, not this part's rows: every element then sums its
    // products in the same order whatever the thread count.
    let kc = block_depth(
        caches,
        blocking,
        pb.k,
        blocking.mc.min(pb.m.next_multiple_of(mr)),
        nr,
    );
    let part_cols = cols.1 - cols.0;
    let one_row_block = rows.1 - rows.0 <= mc;
    // Row-major B is packed a kc×nc block at a time, reading whole rows of B.
    // Transposed B is packed one panel at a time just before its first use
    // (each weight row is contiguous along k), so with a single row block one
    // panel of scratch suffices; with several, later row blocks reuse the block.
    let pack_ahead = !pb.b_transposed;
    let keep_panels = pack_ahead || !one_row_block;
    let nc = if keep_panels {
        // Half of L3 when later row blocks revisit the block (GemmBlocking's rule),
        // less when it is used once: long enough rows, modest scratch.
        let share = if one_row_block { 8 } else { 2 };
        (caches.l3 / share / (kc * 4)).clamp(nr, blocking.nc.max(nr)) / nr * nr
    } else {
        part_cols
    };
    let packed_b_len = if keep_panels {
        kc * nc.min(part_cols.next_multiple_of(nr))
    } else {
        kc * nr
    };
    with_scratch(Slot::PackedB, packed_b_len, |packed_b| {
        with_scratch(Slot::PackedA, mc * kc, |packed_a| {
            for j0 in (cols.0..cols.1).step_by(nc) {
                let nb = nc.min(cols.1 - j0);
                for p0 in (0..pb.k).step_by(kc) {
                    let kb = kc.min(pb.k - p0);
                    if pack_ahead {
                        // SAFETY: ISA support is this function's precondition; the
                        // validated B covers rows p0..p0+kb, columns j0..j0+nb.
                        unsafe {
                            K::pack_b_rows(&pb.b[p0 * pb.ldb + j0..], pb.ldb, nb, kb, packed_b)
                        };
                    }
                    for (ic, i0) in (rows.0..rows.1).step_by(mc).enumerate() {
                        let mb = mc.min(rows.1 - i0);
                        for (sliver, ip) in (0..mb).step_by(mr).enumerate() {
                            let height = mr.min(mb - ip);
                            let dst = &mut packed_a[sliver * mr * kb..][..mr * kb];
                            // SAFETY: ISA support is this function's precondition; the
                            // validated A covers rows i0+ip..+height, columns p0..p0+kb.
                            unsafe {
                                K::pack_a(&pb.a[(i0 + ip) * pb.lda + p0..], pb.lda, height, kb, dst)
                            };
                        }
                        let block = Block {
                            i0,
                            mb,
                            j0,
                            nb,
                            p0,
                            kb,
                            pack_b: !pack_ahead && ic == 0,
                            keep_panels,
                        };
                        // SAFETY: forwarded; this block lies inside our part.
                        unsafe { macro_block::<K, E>(pb, packed_a, packed_b, &block) };
                    }
                }
            }
        })
    });
}

/// One `mb × nb` block of C at (i0, j0) and the `kb`-deep slice of k from `p0`.
struct Block {
    i0: usize,
    mb: usize,
    j0: usize,
    nb: usize,
    p0: usize,
    kb: usize,
    /// Transposed B, first row block of this (j0, p0): B panels are packed here,
    /// just before their first use.
    pack_b: bool,
    /// Whether packed panels must be kept for later row blocks (else every panel
    /// is packed into the same scratch slot).
    keep_panels: bool,
}

/// All register tiles of one block, B micro-panel outermost so it stays close
/// (L1, or L2 when deep) across the A slivers.
///
/// # Safety
/// As for `run_part`; the block lies inside the caller's part of C.
unsafe fn macro_block<K: Kernels<E>, E: WeightElem>(
    pb: &Problem<'_, E>,
    packed_a: &[f32],
    packed_b: &mut [f32],
    blk: &Block,
) {
    let (mr, nr, ldc, kb) = (K::MR, K::NR, pb.ldc, blk.kb);
    assert!(mr * nr <= MAX_TILE);
    for (panel, jp) in (0..blk.nb).step_by(nr).enumerate() {
        let width = nr.min(blk.nb - jp);
        let slot = if blk.keep_panels { panel } else { 0 };
        let b_panel = &mut packed_b[slot * nr * kb..][..nr * kb];
        if blk.pack_b {
            let j = blk.j0 + jp;
            // SAFETY: ISA support is forwarded; the validated (transposed) B covers
            // weight rows j..j+width, columns p0..p0+kb.
            unsafe {
                K::pack_b_transposed(&pb.b[j * pb.ldb + blk.p0..], pb.ldb, width, kb, b_panel)
            };
        }
        let b_panel = &*b_panel;
        for (sliver, ip) in (0..blk.mb).step_by(mr).enumerate() {
            let a_sliver = &packed_a[sliver * mr * kb..][..mr * kb];
            let height = mr.min(blk.mb - ip);
            let offset = (blk.i0 + ip) * ldc + blk.j0 + jp;
            assert!(pb.c.holds(offset, height, width, ldc));
            let c = pb.c.at(offset);
            let accumulate = blk.p0 > 0;
            if height == mr && width == nr {
                // SAFETY: ISA support forwarded; the full tile lies inside C (checked
                // above) and inside this task's part.
                unsafe { K::tile(kb, a_sliver, b_panel, c, ldc, accumulate) };
            } else {
                let mut staged = [0.0f32; MAX_TILE];
                // SAFETY: ISA support forwarded; `staged` holds MR×NR ≤ MAX_TILE floats.
                unsafe { K::tile(kb, a_sliver, b_panel, staged.as_mut_ptr(), nr, false) };
                for i in 0..height {
                    for j in 0..width {
                        let v = staged[i * nr + j];
                        // SAFETY: (i, j) lies in the checked height × width block.
                        unsafe {
                            let out = c.add(i * ldc + j);
                            *out = if accumulate { *out + v } else { v };
                        }
                    }
                }
            }
        }
    }
}
