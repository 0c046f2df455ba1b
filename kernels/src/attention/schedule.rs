//! Splitting an attention call into parallel tiles and assembling the output.
//!
//! A tile is (batch, kv head, block of query positions) × every query head of that
//! kv head's group, so the heads sharing a kv head read each K/V block once (the
//! decode hot path: one query per head against a long, memory-bound cache). When
//! there are fewer tiles than threads, a tile's keys are split further and the
//! partial softmax states merged ("flash decoding").

use std::ops::Range;

use rayon::prelude::*;

use super::flash::{AccumulateFn, KvRows, QueryRows, RowState};
use super::{AttentionMask, AttentionShape, KvElem, Strides4};

/// Rows (query positions × group heads) a tile aims for.
const TILE_ROWS: usize = 32;
/// A key split below this many keys costs more in merging than it gains.
const MIN_KEYS_PER_SPLIT: usize = 256;

/// Inputs of one call, validated by `attention_with`.
pub(super) struct Problem<'a, K> {
    pub shape: &'a AttentionShape,
    pub mask: &'a AttentionMask<'a>,
    pub q: &'a [f32],
    pub q_strides: Strides4,
    pub k: &'a [K],
    pub k_strides: Strides4,
    pub v: &'a [K],
    pub v_strides: Strides4,
}

/// One tile: its place in the problem and its output rows (per group head,
/// `n_queries × d` contiguous floats).
struct Tile<'o> {
    batch: usize,
    kv_head: usize,
    queries: Range<usize>,
    out: Vec<&'o mut [f32]>,
}

/// Runs the whole problem with a variant's `accumulate`.
///
/// # Safety
/// `accumulate` must be runnable on this CPU (its ISA passed `Isa::checked`).
pub(super) unsafe fn run<K: KvElem>(p: &Problem<K>, accumulate: AccumulateFn<K>, out: &mut [f32]) {
    let shape = p.shape;
    let d = shape.head_dim;
    let head_len = shape.q_len * d;
    if out.is_empty() || head_len == 0 {
        return;
    }
    let group = shape.group_size();
    let queries_per_tile = (TILE_ROWS / group).clamp(1, shape.q_len);
    let n_query_blocks = shape.q_len.div_ceil(queries_per_tile);

    // The q heads of one (batch, kv head) are adjacent in `out`: carve that chunk into
    // per-head query blocks and hand block `i` of every head to tile `i`.
    let mut tiles = Vec::with_capacity(shape.batch * shape.kv_heads * n_query_blocks);
    for (batch_kv, chunk) in out.chunks_mut(group * head_len).enumerate() {
        let mut heads: Vec<_> = chunk
            .chunks_mut(head_len)
            .map(|h| h.chunks_mut(queries_per_tile * d))
            .collect();
        for block in 0..n_query_blocks {
            let start = block * queries_per_tile;
            tiles.push(Tile {
                batch: batch_kv / shape.kv_heads,
                kv_head: batch_kv % shape.kv_heads,
                queries: start..(start + queries_per_tile).min(shape.q_len),
                out: heads
                    .iter_mut()
                    .map(|h| h.next().expect("one block per query block"))
                    .collect(),
            });
        }
    }

    let threads = rayon::current_num_threads();
    let n_tiles = tiles.len();
    tiles.into_par_iter().for_each(|tile| {
        // SAFETY: forwarded from this function's contract.
        unsafe { run_tile(p, accumulate, tile, n_tiles, threads) }
    });
}

/// # Safety
/// As `run`.
unsafe fn run_tile<K: KvElem>(
    p: &Problem<K>,
    accumulate: AccumulateFn<K>,
    mut tile: Tile,
    n_tiles: usize,
    threads: usize,
) {
    let shape = p.shape;
    let d = shape.head_dim;
    let group = shape.group_size();
    let rows = gather_queries(p, &tile);
    let Some(union) = key_union(&rows.keys) else {
        // No row sees a key.
        tile.out.iter_mut().for_each(|o| o.fill(0.0));
        return;
    };

    let k = KvRows {
        data: p.k,
        first_offset: p.k_strides.offset(tile.batch, tile.kv_head, 0),
        first_key: 0,
        stride: p.k_strides.seq,
        d,
    };
    let v = KvRows {
        data: p.v,
        first_offset: p.v_strides.offset(tile.batch, tile.kv_head, 0),
        first_key: 0,
        stride: p.v_strides.seq,
        d,
    };

    let splits = key_splits(union.len(), n_tiles, threads);
    let state = if splits == 1 {
        let mut state = RowState::new(rows.len(), d);
        // SAFETY: the caller guarantees `accumulate` runs on this CPU.
        unsafe { accumulate(&k, &v, union, &rows, &mut state) };
        state
    } else {
        let split_len = union.len().div_ceil(splits);
        let parts: Vec<RowState> = (0..splits)
            .into_par_iter()
            .map(|s| {
                let start = union.start + s * split_len;
                let keys = start..(start + split_len).min(union.end);
                let mut state = RowState::new(rows.len(), d);
                // SAFETY: the caller guarantees `accumulate` runs on this CPU.
                unsafe { accumulate(&k, &v, keys, &rows, &mut state) };
                state
            })
            .collect();
        merge(&parts, rows.len(), d)
    };

    for (r, acc) in state.acc.chunks_exact(d).enumerate() {
        let (query, head) = (r / group, r % group);
        let o = &mut tile.out[head][query * d..(query + 1) * d];
        let sum = state.sum[r];
        if sum > 0.0 {
            let inv = 1.0 / sum;
            o.iter_mut().zip(acc).for_each(|(o, &a)| *o = a * inv);
        } else {
            // No visible key: zeros (documented in `attention`).
            o.fill(0.0);
        }
    }
}

/// The tile's query rows (query-major, then group head), pre-scaled for base-2
/// softmax, with the keys each one sees.
fn gather_queries<K>(p: &Problem<K>, tile: &Tile) -> QueryRows {
    let shape = p.shape;
    let d = shape.head_dim;
    let group = shape.group_size();
    let q_scale = shape.scale * std::f32::consts::LOG2_E;
    let n_rows = tile.queries.len() * group;
    let mut q = Vec::with_capacity(n_rows * d);
    let mut keys = Vec::with_capacity(n_rows);
    for i in tile.queries.clone() {
        let visible = p.mask.visible_keys(i, shape.kv_len);
        for head in tile.kv_head * group..(tile.kv_head + 1) * group {
            let row = &p.q[p.q_strides.offset(tile.batch, head, i)..][..d];
            q.extend(row.iter().map(|&x| x * q_scale));
            keys.push(visible.clone());
        }
    }
    QueryRows { d, q, keys }
}

/// The smallest key range covering every row's visible keys; `None` when no row
/// sees anything.
fn key_union(keys: &[Range<usize>]) -> Option<Range<usize>> {
    let mut visible = keys.iter().filter(|r| !r.is_empty());
    let first = visible.next()?.clone();
    Some(visible.fold(first, |u, r| u.start.min(r.start)..u.end.max(r.end)))
}

/// How many parallel pieces to cut a tile's keys into: enough for about two tasks
/// per thread overall, never pieces shorter than `MIN_KEYS_PER_SPLIT`.
fn key_splits(n_keys: usize, n_tiles: usize, threads: usize) -> usize {
    if n_tiles >= threads {
        return 1;
    }
    (2 * threads)
        .div_ceil(n_tiles)
        .min(n_keys / MIN_KEYS_PER_SPLIT)
        .max(1)
}

/// Combines the states of disjoint key ranges into one (rescaling each to the
/// common max).
fn merge(parts: &[RowState], rows: usize, d: usize) -> RowState {
    let mut merged = RowState::new(rows, d);
    for r in 0..rows {
        let max = parts
            .iter()
            .map(|s| s.max[r])
            .fold(f32::NEG_INFINITY, f32::max);
        let acc = &mut merged.acc[r * d..(r + 1) * d];
        for part in parts.iter().filter(|s| s.sum[r] > 0.0) {
            let weight = (part.max[r] - max).exp2();
            merged.sum[r] += part.sum[r] * weight;
            let part_acc = &part.acc[r * d..(r + 1) * d];
            acc.iter_mut()
                .zip(part_acc)
                .for_each(|(a, &x)| *a += weight * x);
        }
        merged.max[r] = max;
    }
    merged
}
