//! Online-softmax ("flash") accumulation of a tile of query rows over a range of
//! keys, generic over a variant's SIMD primitives.
//!
//! Per row the state is a running max `m`, a running sum `l` and an unnormalised
//! accumulator `acc`; each key block updates them as
//! `m' = max(m, max s)`, `l' = l·2^(m-m') + Σ 2^(s-m')`, `acc' = acc·2^(m-m') + Σ 2^(s-m')·v`.
//! Scores are in base 2: queries arrive pre-scaled by `scale·log2(e)`, so the
//! exponentials are cheap `exp2`s. Keys go block by block so one block of K/V stays
//! in cache while every row of the tile (the query heads sharing a kv head, times a
//! few query positions) consumes it; rows skip the keys they cannot see.

use std::marker::PhantomData;
use std::ops::Range;

use super::KvElem;

/// The vector primitives of one ISA. Implementations are `#[inline(always)]` so
/// that `accumulate` compiles into the variant's `#[target_feature]` entry point.
/// The `2` forms work on two query rows at once, sharing every K/V load.
///
/// # Safety
/// Every method may only run on a CPU with the variant's features. Slice lengths
/// are checked by the methods themselves; `RowBlock` rows are in bounds by
/// construction.
pub(super) trait AttnSimd {
    /// `s[j] = q · k.row(j)`.
    unsafe fn scores<K: KvElem>(q: &[f32], k: &RowBlock<K>, s: &mut [f32]);
    /// `s[r][j] = q[r] · k.row(j)` for two rows.
    unsafe fn scores2<K: KvElem>(q: [&[f32]; 2], k: &RowBlock<K>, s: [&mut [f32]; 2]);
    /// Largest element (`-inf` when empty).
    unsafe fn max(x: &[f32]) -> f32;
    /// `x[i] = 2^(x[i] - shift)` for `x[i] <= shift`; returns the sum of the results.
    unsafe fn exp2_shifted_sum(x: &mut [f32], shift: f32) -> f32;
    /// `acc += Σ_j p[j] · v.row(j)`.
    unsafe fn weighted_sum<K: KvElem>(p: &[f32], v: &RowBlock<K>, acc: &mut [f32]);
    /// `acc[r] += Σ_j p[r][j] · v.row(j)` for two rows.
    unsafe fn weighted_sum2<K: KvElem>(p: [&[f32]; 2], v: &RowBlock<K>, acc: [&mut [f32]; 2]);
    /// `x *= c`.
    unsafe fn scale(x: &mut [f32], c: f32);
    /// `dst = src as f32`.
    unsafe fn widen<K: KvElem>(src: &[K], dst: &mut [f32]);
}

/// The K (or V) rows of one (batch, kv head): key `j` is
/// `data[first_offset + (j - first_key) * stride..][..d]`.
#[derive(Clone, Copy)]
pub(super) struct KvRows<'a, E> {
    pub data: &'a [E],
    pub first_offset: usize,
    pub first_key: usize,
    pub stride: usize,
    pub d: usize,
}

impl<'a, E> KvRows<'a, E> {
    #[inline(always)]
    fn row(&self, j: usize) -> &'a [E] {
        let offset = self.first_offset + (j - self.first_key) * self.stride;
        &self.data[offset..offset + self.d]
    }
}

/// Consecutive rows of a `KvRows`, bounds-checked once at construction so the
/// kernels can walk them by pointer.
pub(super) struct RowBlock<'a, E> {
    first: *const E,
    stride: usize,
    len: usize,
    d: usize,
    _rows: PhantomData<&'a [E]>,
}

impl<'a, E> RowBlock<'a, E> {
    /// Rows `keys` of `rows`; panics if any of them lies outside `rows.data`.
    fn new(rows: &KvRows<'a, E>, keys: Range<usize>) -> RowBlock<'a, E> {
        assert!(rows.first_key <= keys.start && keys.start <= keys.end);
        let first = rows.first_offset + (keys.start - rows.first_key) * rows.stride;
        if !keys.is_empty() {
            let end = (keys.len() - 1)
                .checked_mul(rows.stride)
                .and_then(|x| x.checked_add(first)?.checked_add(rows.d));
            assert!(
                end.is_some_and(|end| end <= rows.data.len()),
                "key rows out of bounds"
            );
        }
        RowBlock {
            first: rows.data.as_ptr().wrapping_add(first),
            stride: rows.stride,
            len: keys.len(),
            d: rows.d,
            _rows: PhantomData,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Elements per row.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// Start of row `j`; for `j < len()` the `dim()` elements there are readable
    /// (row offsets grow with `j` and the last one was checked in `new`).
    #[inline(always)]
    pub fn row(&self, j: usize) -> *const E {
        debug_assert!(j < self.len);
        self.first.wrapping_add(j * self.stride)
    }
}

/// The query rows of a tile; shared (read-only) by the key splits of the tile.
pub(super) struct QueryRows {
    pub d: usize,
    /// `rows × d`, multiplied by `scale·log2(e)`.
    pub q: Vec<f32>,
    /// The keys each row sees.
    pub keys: Vec<Range<usize>>,
}

impl QueryRows {
    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Running softmax state of every row of a tile, plus scratch buffers.
pub(super) struct RowState {
    /// Running max of the (base-2) scores; `-inf` before any key.
    pub max: Vec<f32>,
    /// Running sum of `2^(s - max)`; 0 before any key.
    pub sum: Vec<f32>,
    /// `rows × d` unnormalised outputs.
    pub acc: Vec<f32>,
    scores: Vec<f32>,
    k_block: Vec<f32>,
    v_block: Vec<f32>,
}

impl RowState {
    pub fn new(rows: usize, d: usize) -> RowState {
        RowState {
            max: vec![f32::NEG_INFINITY; rows],
            sum: vec![0.0; rows],
            acc: vec![0.0; rows * d],
            scores: Vec::new(),
            k_block: Vec::new(),
            v_block: Vec::new(),
        }
    }
}

/// A variant's compiled `accumulate` (a `#[target_feature]` function).
pub(super) type AccumulateFn<K> =
    unsafe fn(&KvRows<K>, &KvRows<K>, Range<usize>, &QueryRows, &mut RowState);

/// Keys per block: K and V of one block take about 32 KiB.
fn key_block_len(d: usize, elem_bytes: usize) -> usize {
    let per_key = 2 * d.max(1) * elem_bytes;
    ((32 << 10) / per_key).clamp(16, 256) / 4 * 4
}

/// Folds keys `keys` into the state of every row of `rows` (each row only uses the
/// part of `keys` it sees).
///
/// # Safety
/// The CPU must have `S`'s features.
#[inline(always)]
pub(super) unsafe fn accumulate<S: AttnSimd, K: KvElem>(
    k: &KvRows<K>,
    v: &KvRows<K>,
    keys: Range<usize>,
    rows: &QueryRows,
    state: &mut RowState,
) {
    let d = rows.d;
    // Several rows read each block: widen a 16-bit block to f32 once, not per row.
    let widen_blocks = !K::IS_F32 && rows.len() > 1;
    let block_len = key_block_len(
        d,
        if widen_blocks {
            4
        } else {
            std::mem::size_of::<K>()
        },
    );
    let RowState {
        max,
        sum,
        acc,
        scores,
        k_block,
        v_block,
    } = state;
    scores.resize(2 * block_len, 0.0);
    if widen_blocks {
        k_block.resize(block_len * d, 0.0);
        v_block.resize(block_len * d, 0.0);
    }

    let mut start = keys.start;
    while start < keys.end {
        let end = (start + block_len).min(keys.end);
        if widen_blocks {
            for j in start..end {
                let dst = (j - start) * d..(j - start + 1) * d;
                // SAFETY: the caller guarantees S's features.
                unsafe {
                    S::widen(k.row(j), &mut k_block[dst.clone()]);
                    S::widen(v.row(j), &mut v_block[dst]);
                }
            }
            let k_wide = KvRows {
                data: &k_block[..],
                first_offset: 0,
                first_key: start,
                stride: d,
                d,
            };
            let v_wide = KvRows {
                data: &v_block[..],
                first_offset: 0,
                first_key: start,
                stride: d,
                d,
            };
            // SAFETY: the caller guarantees S's features.
            unsafe {
                update_rows::<S, f32>(&k_wide, &v_wide, start..end, rows, max, sum, acc, scores)
            };
        } else {
            // SAFETY: the caller guarantees S's features.
            unsafe { update_rows::<S, K>(k, v, start..end, rows, max, sum, acc, scores) };
        }
        start = end;
    }
}

/// One key block against every row of the tile, two rows at a time where both
/// see part of the block (they then share every K/V load).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn update_rows<S: AttnSimd, E: KvElem>(
    k: &KvRows<E>,
    v: &KvRows<E>,
    block: Range<usize>,
    rows: &QueryRows,
    max: &mut [f32],
    sum: &mut [f32],
    acc: &mut [f32],
    scores: &mut [f32],
) {
    let d = rows.d;
    let in_block = |r: usize| {
        let keys = &rows.keys[r];
        keys.start.max(block.start)..keys.end.min(block.end)
    };
    let (scores0, scores1) = scores.split_at_mut(scores.len() / 2);
    let mut r = 0;
    while r < rows.len() {
        let (keys0, keys1) = (
            in_block(r),
            if r + 1 < rows.len() {
                in_block(r + 1)
            } else {
                0..0
            },
        );
        if keys0.is_empty() || keys1.is_empty() {
            // At most one row of the pair has work here: do it alone.
            for (row, keys) in [(r, keys0), (r + 1, keys1)] {
                if keys.is_empty() {
                    continue;
                }
                let s = &mut scores0[..keys.len()];
                let row_acc = &mut acc[row * d..(row + 1) * d];
                let q = &rows.q[row * d..(row + 1) * d];
                // SAFETY: the caller guarantees S's features.
                unsafe {
                    S::scores(q, &RowBlock::new(k, keys.clone()), s);
                    fold_scores::<S>(s, 0..s.len(), &mut max[row], &mut sum[row], row_acc);
                    S::weighted_sum(s, &RowBlock::new(v, keys), row_acc);
                }
            }
        } else {
            // Scores over the union of both rows' keys; each row masks the rest.
            let union = keys0.start.min(keys1.start)..keys0.end.max(keys1.end);
            let n = union.len();
            let (s0, s1) = (&mut scores0[..n], &mut scores1[..n]);
            let (acc0, acc1) = acc[r * d..(r + 2) * d].split_at_mut(d);
            let (q0, q1) = rows.q[r * d..(r + 2) * d].split_at(d);
            let own = |keys: &Range<usize>| keys.start - union.start..keys.end - union.start;
            // SAFETY: the caller guarantees S's features.
            unsafe {
                S::scores2(
                    [q0, q1],
                    &RowBlock::new(k, union.clone()),
                    [&mut *s0, &mut *s1],
                );
                fold_scores::<S>(s0, own(&keys0), &mut max[r], &mut sum[r], acc0);
                fold_scores::<S>(s1, own(&keys1), &mut max[r + 1], &mut sum[r + 1], acc1);
                S::weighted_sum2([s0, s1], &RowBlock::new(v, union), [acc0, acc1]);
            }
        }
        r += 2;
    }
}

/// Folds a row's block scores into its running max and sum: rescales the row's
/// accumulator to the new max and turns `s` into the weights `2^(s - max)`, zero
/// outside `visible`.
///
/// # Safety
/// The CPU must have `S`'s features.
#[inline(always)]
unsafe fn fold_scores<S: AttnSimd>(
    s: &mut [f32],
    visible: Range<usize>,
    max: &mut f32,
    sum: &mut f32,
    acc: &mut [f32],
) {
    s[..visible.start].fill(f32::NEG_INFINITY);
    s[visible.end..].fill(f32::NEG_INFINITY);
    // SAFETY: the caller guarantees S's features.
    let new_max = max.max(unsafe { S::max(&s[visible]) });
    if new_max > *max && *sum > 0.0 {
        let rescale = (*max - new_max).exp2();
        *sum *= rescale;
        // SAFETY: the caller guarantees S's features.
        unsafe { S::scale(acc, rescale) };
    }
    // SAFETY: the caller guarantees S's features.
    *sum += unsafe { S::exp2_shifted_sum(s, new_max) };
    *max = new_max;
}
