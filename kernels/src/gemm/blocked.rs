//! BLIS-style blocked GEMM driver for m large enough to amortise packing.
//!
//! C is cut into a grid of at most `threads` parts (rows × columns); each rayon task
//! runs the classic five loops on its part: `nc` columns of B at a time, `kc` deep,
//! packing that `kc×nc` B block once (converting bf16/f16 to f32 on the way), then
//! `mc` rows of A packed into L2, then register tiles (`MR×NR`) with the B
//! micro-panel resident in L1 while every A sliver of the block streams past it.

use rayon::prelude::*;

use super::arch::{Kernels, MAX_TILE};
use super::element::WeightElem;
use super::prefetch::PanelSource;
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
        unsafe { run_part::<K, E>(&blocking, &pb, rows, cols) };
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

/// Depth of each packed block: `k` cut into equal steps no deeper than `kc`, so
/// the last block is not a thin remainder.
fn balanced_kc(k: usize, kc: usize) -> usize {
    let steps = k.div_ceil(kc);
    k.div_ceil(steps).next_multiple_of(4).min(kc).max(1)
}

/// Runs the five-loop nest on rows `rows.0..rows.1` and columns `cols.0..cols.1` of C.
///
/// # Safety
/// As for `run`, and no other thread touches this block of C meanwhile.
unsafe fn run_part<K: Kernels<E>, E: WeightElem>(
    blocking: &GemmBlocking,
    pb: &Problem<'_, E>,
    rows: (usize, usize),
    cols: (usize, usize),
) {
    if rows.0 >= rows.1 || cols.0 >= cols.1 {
        return;
    }
    let (mr, nr) = (K::MR, K::NR);
    let kc = balanced_kc(pb.k, blocking.kc);
    let nc = blocking.nc.min((cols.1 - cols.0).next_multiple_of(nr));
    let mc = blocking.mc.min((rows.1 - rows.0).next_multiple_of(mr));
    with_scratch(Slot::PackedB, kc * nc, |packed_b| {
        with_scratch(Slot::PackedA, mc * kc, |packed_a| {
            for j0 in (cols.0..cols.1).step_by(nc) {
                let nb = nc.min(cols.1 - j0);
                for p0 in (0..pb.k).step_by(kc) {
                    let kb = kc.min(pb.k - p0);
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
                            pack_b: ic == 0,
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
    /// First row block of this (j0, p0): B panels are packed here, just before
    /// their first use, and later row blocks reuse them.
    pack_b: bool,
}

/// All register tiles of one block, B micro-panel outermost so it stays in L1
/// across the A slivers. When packing B, the next panel's source is prefetched
/// into L2 a little per tile, so packing never waits on memory.
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
    let slivers = blk.mb.div_ceil(mr);
    for (panel, jp) in (0..blk.nb).step_by(nr).enumerate() {
        let width = nr.min(blk.nb - jp);
        let b_panel = &mut packed_b[panel * nr * kb..][..nr * kb];
        let mut upcoming = None;
        if blk.pack_b {
            let j = blk.j0 + jp;
            let origin = if pb.b_transposed {
                j * pb.ldb + blk.p0
            } else {
                blk.p0 * pb.ldb + j
            };
            // SAFETY: ISA support is forwarded; the validated B covers every (p, j)
            // of the product, so the slice from `origin` covers this panel.
            unsafe { K::pack_b(&pb.b[origin..], pb.ldb, pb.b_transposed, width, kb, b_panel) };
            if jp + nr < blk.nb {
                upcoming = Some(PanelSource::new(
                    pb,
                    blk.p0,
                    kb,
                    j + nr,
                    nr.min(blk.nb - jp - nr),
                ));
            }
        }
        let b_panel = &*b_panel;
        for (sliver, ip) in (0..blk.mb).step_by(mr).enumerate() {
            if let Some(next) = &upcoming {
                next.prefetch_share(sliver, slivers, K::prefetch_l2);
            }
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
