//! Driver for small m (decode). Every weight is read exactly once, so these
//! products run at memory bandwidth; rayon splits n so that every core streams
//! its own contiguous part of B.

use rayon::prelude::*;

use super::arch::Kernels;
use super::element::WeightElem;
use super::problem::Problem;

/// Largest m the GEMV kernels take in one pass (their accumulators fill the
/// register file); the dispatcher sends larger m to the blocked driver.
pub(crate) const MAX_M: usize = 4;

/// Weight bytes one rayon task streams: large enough that scheduling costs
/// nothing, small enough that both cores finish together.
const TASK_BYTES: usize = 256 << 10;

/// Below this many weight bytes the product runs on the calling thread.
const PARALLEL_MIN_BYTES: usize = 256 << 10;

/// Output columns per task for row-major B: every task walks all k rows of its
/// column strip, so the strip must be wide enough for efficient bursts.
const STRIP_COLS: usize = 512;

/// Computes the whole product (`1 ≤ m ≤ MAX_M`).
///
/// # Safety
/// The host supports `K`'s ISA, the problem was validated, and nothing else
/// accesses C.
pub(crate) unsafe fn run<K: Kernels<E>, E: WeightElem>(pb: Problem<'_, E>) {
    assert!((1..=MAX_M).contains(&pb.m));
    let weight_bytes = pb.n * pb.k * std::mem::size_of::<E>();
    let parallel = weight_bytes >= PARALLEL_MIN_BYTES && rayon::current_num_threads() > 1;
    if pb.b_transposed {
        let row_bytes = pb.k * std::mem::size_of::<E>();
        let rows_per_task = if parallel {
            (TASK_BYTES / row_bytes).clamp(8, pb.n).next_multiple_of(8)
        } else {
            pb.n
        };
        let task = |j0: usize| {
            let rows = rows_per_task.min(pb.n - j0);
            // SAFETY: ISA support and C validity are this function's contract; the
            // validated B covers weight rows j0..j0+rows, and tasks write disjoint
            // column ranges of C.
            unsafe {
                K::gemv_t(
                    pb.m,
                    pb.k,
                    pb.a,
                    pb.lda,
                    &pb.b[j0 * pb.ldb..],
                    pb.ldb,
                    rows,
                    pb.c.at(j0),
                    pb.ldc,
                )
            };
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
