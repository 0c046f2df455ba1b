//! The GEMM driver: quantizes A once, hands contiguous runs of W's rows to rayon tasks
//! (so every core streams its own part of the weights) and, inside a task, reads each
//! weight row once per tile of A rows, which for small m (decode) is all of them.

use super::activations::{ActRow, Layout, QuantizedActivations};
use super::{scalar, BlockQ4_0, BlockQ8_0, QK};
use crate::Isa;
use rayon::prelude::*;

#[cfg(target_arch = "aarch64")]
use super::aarch64;
#[cfg(target_arch = "x86_64")]
use super::x86;

/// `out[r][j] = (row j of w) · acts[r]` for 1..=[`MAX_ROWS`] activation rows, with `w`
/// holding `out[r].len()` weight rows as long as the activation rows.
pub(super) type DotRows<W> = fn(&[W], &[ActRow<'_>], &mut [&mut [f32]]);

/// Checks the operands of a [`DotRows`] kernel (a caller bug otherwise; kernels read
/// without bounds checks after this) and returns the blocks per row.
pub(super) fn check_tile(w_len: usize, acts: &[ActRow<'_>], out: &[&mut [f32]]) -> usize {
    assert!(
        (1..=MAX_ROWS).contains(&acts.len()) && acts.len() == out.len(),
        "dot tile: 1..=4 rows, one output each"
    );
    let kb = acts[0].qs.len();
    assert!(kb > 0, "dot tile: empty rows");
    for act in acts {
        assert!(
            act.qs.len() == kb && act.d.len() == kb && act.sum8.len() == kb,
            "dot tile: activation row length"
        );
    }
    let n = out[0].len();
    assert!(
        out.iter().all(|o| o.len() == n),
        "dot tile: output lengths differ"
    );
    assert_eq!(
        w_len,
        n * kb,
        "dot tile: weights are not {n} rows of {kb} blocks"
    );
    kb
}

/// Activation rows one kernel call serves; it loads each weight block once for all.
pub(super) const MAX_ROWS: usize = 4;

/// Weight formats the driver multiplies with.
pub(super) trait WeightBlock: Copy + Sync {
    /// The dot kernel of `isa` (runnable on this host, or the scalar one) and the
    /// activation layout it reads.
    fn dot_rows(isa: Isa) -> (DotRows<Self>, Layout);
}

impl WeightBlock for BlockQ8_0 {
    fn dot_rows(isa: Isa) -> (DotRows<Self>, Layout) {
        match isa {
            // SAFETY (both closures): returned only when `is_available` confirmed the
            // CPU features their `#[target_feature]` kernel needs.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 if isa.is_available() => (
                |w, acts, out| unsafe { x86::dot_rows_q8_0(w, acts, out) },
                Layout::Blocks,
            ),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon if isa.is_available() => (
                |w, acts, out| unsafe { aarch64::dot_rows_q8_0(w, acts, out) },
                Layout::Blocks,
            ),
            _ => (scalar::dot_rows_q8_0, Layout::Blocks),
        }
    }
}

impl WeightBlock for BlockQ4_0 {
    fn dot_rows(isa: Isa) -> (DotRows<Self>, Layout) {
        match isa {
            // SAFETY (both closures): returned only when `is_available` confirmed the
            // CPU features their `#[target_feature]` kernel needs.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 if isa.is_available() => (
                |w, acts, out| unsafe { x86::dot_rows_q4_0(w, acts, out) },
                Layout::PairedHalves,
            ),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon if isa.is_available() => (
                |w, acts, out| unsafe { aarch64::dot_rows_q4_0(w, acts, out) },
                Layout::Blocks,
            ),
            _ => (scalar::dot_rows_q4_0, Layout::Blocks),
        }
    }
}

/// Smallest task worth a rayon hand-off: weight bytes × A rows it multiplies.
const MIN_TASK_WORK: usize = 64 << 10;
/// Tasks per pool thread: enough to even out a busy core, few enough to keep runs long.
const TASKS_PER_THREAD: usize = 4;
/// Quantized A rows kept in L2 while weight rows are reused (about a quarter of a
/// 512 KiB L2). One group of four stays in L1 during a kernel call.
const ACTIVATION_TILE_BYTES: usize = 128 << 10;
/// Weight rows kept in L2 while the groups of A rows take turns on them (when m > 4).
const WEIGHT_SLICE_BYTES: usize = 192 << 10;

/// Validates the shared `C[m×n] = A·Wᵀ` contract of the quantized GEMMs (panics on
/// caller bugs, with the reason) and handles the empty cases: returns the blocks per
/// row, or `None` when there is nothing left to compute (C already written).
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_and_trivial(
    m: usize,
    n: usize,
    k: usize,
    a_len: usize,
    lda: usize,
    w_len: usize,
    c: &mut [f32],
    ldc: usize,
) -> Option<usize> {
    assert!(k % QK == 0, "gemm: k = {k} is not a multiple of {QK}");
    let kb = k / QK;
    assert!(
        n.checked_mul(kb) == Some(w_len),
        "gemm: w holds {w_len} blocks, not n × k/32 = {n} × {kb}"
    );
    if m > 0 {
        assert!(lda >= k, "gemm: lda = {lda} < k = {k}");
        assert!(
            a_len >= (m - 1) * lda + k,
            "gemm: a is too short for m = {m}, lda = {lda}"
        );
        assert!(ldc >= n, "gemm: ldc = {ldc} < n = {n}");
        assert!(
            c.len() >= (m - 1) * ldc + n,
            "gemm: c is too short for m = {m}, ldc = {ldc}"
        );
    }
    if m == 0 || n == 0 {
        return None;
    }
    if kb == 0 {
        c.chunks_mut(ldc).take(m).for_each(|row| row[..n].fill(0.0));
        return None;
    }
    Some(kb)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn gemm<W: WeightBlock>(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    w: &[W],
    c: &mut [f32],
    ldc: usize,
) {
    let Some(kb) = check_and_trivial(m, n, k, a.len(), lda, w.len(), c, ldc) else {
        return;
    };

    let (dot, layout) = W::dot_rows(isa);
    let qa = QuantizedActivations::new(isa, layout, m, k, a, lda);
    let acts: Vec<ActRow<'_>> = (0..m).map(|i| qa.row(i)).collect();
    let chunk = rows_per_task(n, m, kb * std::mem::size_of::<W>());
    let tile = activation_tile_rows(kb);

    // Task t owns columns [t·chunk, (t+1)·chunk) of every C row.
    let mut tasks: Vec<Vec<&mut [f32]>> = (0..n.div_ceil(chunk))
        .map(|_| Vec::with_capacity(m))
        .collect();
    for row in c.chunks_mut(ldc).take(m) {
        for (task, piece) in tasks.iter_mut().zip(row[..n].chunks_mut(chunk)) {
            task.push(piece);
        }
    }
    let run = |(t, mut out): (usize, Vec<&mut [f32]>)| {
        let rows = t * chunk..t * chunk + out[0].len();
        multiply_rows(
            dot,
            &w[rows.start * kb..rows.end * kb],
            kb,
            &acts,
            tile,
            &mut out,
        );
    };
    if tasks.len() == 1 {
        tasks.into_iter().enumerate().for_each(run);
    } else {
        tasks.into_par_iter().enumerate().for_each(run);
    }
}

/// `out[i][j] = w row j · acts[i]`. A rows go in tiles that stay in L2; within a tile,
/// each group of up to four shares a kernel call (and stays in L1) over a slice of
/// weight rows that stays in L2 while the groups take turns (all rows when m ≤ 4).
fn multiply_rows<W>(
    dot: DotRows<W>,
    w: &[W],
    kb: usize,
    acts: &[ActRow<'_>],
    tile: usize,
    out: &mut [&mut [f32]],
) {
    let n = w.len() / kb;
    let slice = if acts.len() <= MAX_ROWS {
        n
    } else {
        (WEIGHT_SLICE_BYTES / (kb * std::mem::size_of::<W>())).max(1)
    };
    for (t, tile_acts) in acts.chunks(tile).enumerate() {
        for j0 in (0..n).step_by(slice) {
            let j1 = (j0 + slice).min(n);
            for (g, group) in tile_acts.chunks(MAX_ROWS).enumerate() {
                let i0 = t * tile + g * MAX_ROWS;
                let mut outs: [&mut [f32]; MAX_ROWS] = Default::default();
                for (o, row) in outs.iter_mut().zip(&mut out[i0..i0 + group.len()]) {
                    *o = &mut row[j0..j1];
                }
                dot(&w[j0 * kb..j1 * kb], group, &mut outs[..group.len()]);
            }
        }
    }
}

/// Rows of W per rayon task. Each output is computed by one kernel call whatever the
/// split, so results do not depend on the pool size.
fn rows_per_task(n: usize, m: usize, row_bytes: usize) -> usize {
    let balanced = n.div_ceil(TASKS_PER_THREAD * rayon::current_num_threads());
    let worthwhile = MIN_TASK_WORK.div_ceil(row_bytes * m);
    balanced.max(worthwhile).clamp(1, n)
}

/// A rows per tile: as many as fit the L2 budget, at least 8 (so decode with a few
/// sequences reads every weight once), in whole kernel groups.
fn activation_tile_rows(kb: usize) -> usize {
    let row_bytes = kb * (QK + 2 * std::mem::size_of::<f32>());
    (ACTIVATION_TILE_BYTES / row_bytes).max(2 * MAX_ROWS) / MAX_ROWS * MAX_ROWS
}
