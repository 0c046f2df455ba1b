//! Driver for small m (decode). Every weight is read exactly once, so these
//! products run at memory bandwidth; rayon splits n so that every core streams
//! its own contiguous part of B.

use rayon::prelude::*;

use super::arch::Kernels;
use super::element::WeightElem;
use super::problem::Problem;

/// Rows of A the kernels take in one pass (their accumulators fill the register
/// file); row-major B goes through GEMV only up to this m.
pub(crate) const MAX_M: usize = 4;

/// Largest m for which transposed B still goes through GEMV: each chunk of
/// weight rows is read from memory once and then reused from L2 for every group
/// of `MAX_M` rows of A, which beats packing B until the FMAs dominate.
pub(crate) const MAX_M_TRANSPOSED: usize = 16;

/// Weight bytes per chunk that stays in L2 while all rows of A pass over it.
const REUSE_CHUNK_BYTES: usize = 64 << 10;

/// Weight bytes one rayon task streams: large enough that scheduling costs
/// nothing, small enough that both cores finish together.
const TASK_BYTES: usize = 256 << 10;

/// Below this many weight bytes the product runs on the calling thread.
const PARALLEL_MIN_BYTES: usize = 256 << 10;

/// Output columns per task for row-major B: every task walks all k rows of its
/// column strip, so the strip must be wide enough for efficient bursts.
const STRIP_COLS: usize = 512;

/// Computes the whole product (`1 ≤ m ≤ MAX_M`, or `≤ MAX_M_TRANSPOSED` when B
/// is transposed).
///
/// # Safety
/// The host supports `K`'s ISA, the problem was validated, and nothing else
/// accesses C.
pub(crate) unsafe fn run<K: Kernels<E>, E: WeightElem>(pb: Problem<'_, E>) {
    let max_m = if pb.b_transposed {
        MAX_M_TRANSPOSED
    } else {
        MAX_M
    };
    assert!((1..=max_m).contains(&pb.m));
    let weight_bytes = pb.n * pb.k * std::mem::size_of::<E>();
    let parallel = weight_bytes >= PARALLEL_MIN_BYTES && rayon::current_num_threads() > 1;
    if pb.b_transposed {
        let row_bytes = pb.k * std::mem::size_of::<E>();
        let rows_per_task = if parallel {
            (TASK_BYTES / row_bytes)
                .max(8)
                .next_multiple_of(8)
                .min(pb.n)
        } else {
            pb.n
        };
        // With several groups of A rows, walk the task's weight rows in chunks
        // small enough to stay in L2 while every group passes over them.
        let chunk_rows = if pb.m > MAX_M {
            (REUSE_CHUNK_BYTES / row_bytes).max(1)
        } else {
            pb.n
        };
        let task = |j0: usize| {
            let end = pb.n.min(j0 + rows_per_task);
            for c0 in (j0..end).step_by(chunk_rows) {
                let rows = chunk_rows.min(end - c0);
                for i0 in (0..pb.m).step_by(MAX_M) {
                    // SAFETY: ISA support and C validity are this function's
                    // contract; the validated A covers rows i0.., B covers weight
                    // rows c0..c0+rows, and tasks write disjoint column ranges of C.
                    unsafe {
                        K::gemv_t(
                            MAX_M.min(pb.m - i0),
                            pb.k,
                            &pb.a[i0 * pb.lda..],
                            pb.lda,
                            &pb.b[c0 * pb.ldb..],
                            pb.ldb,
                            rows,
                            pb.c.at(i0 * pb.ldc + c0),
                            pb.ldc,
                        )
                    };
                }
            }
        };
        if parallel {
            (0..pb.n)
                .into_par_iter()
                .step_by(rows_per_task)
                .for_each(task);
        } else {
            task(0);
        }
    } else {
        let threads = rayon::current_num_threads();
        let cols_per_task = if parallel {
            STRIP_COLS.min(pb.n.div_ceil(threads).next_multiple_of(16))
        } else {
            pb.n
        };
        let task = |j0: usize| {
            let cols = cols_per_task.min(pb.n - j0);
            // SAFETY: as above, with B covering rows 0..k of columns j0..j0+cols.
            unsafe {
                K::gemv_n(
                    pb.m,
                    pb.k,
                    pb.a,
                    pb.lda,
                    &pb.b[j0..],
                    pb.ldb,
                    cols,
                    pb.c.at(j0),
                    pb.ldc,
                )
            };
        };
        if parallel {
            (0..pb.n)
                .into_par_iter()
                .step_by(cols_per_task)
                .for_each(task);
        } else {
            task(0);
        }
    }
}
