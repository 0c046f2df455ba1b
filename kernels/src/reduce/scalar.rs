//! Reference reductions: sums in f64, selections with the total ranking of
//! `select.rs`.

use std::collections::BinaryHeap;

use super::select::{value_order, Ranked};
use super::ReduceOp;

/// One row folded by `op` (the identity for an empty row).
pub fn reduce_row(op: ReduceOp, row: &[f32]) -> f32 {
    match op {
        ReduceOp::Sum => sum_f64(row) as f32,
        ReduceOp::Mean => (sum_f64(row) / row.len() as f64) as f32,
        ReduceOp::Max => extremum(row, f32::NEG_INFINITY, |v, m| v > m),
        ReduceOp::Min => extremum(row, f32::INFINITY, |v, m| v < m),
    }
}

fn sum_f64(row: &[f32]) -> f64 {
    row.iter().map(|&v| f64::from(v)).sum()
}

/// The element no other beats, or the first NaN.
fn extremum(row: &[f32], identity: f32, beats: impl Fn(f32, f32) -> bool) -> f32 {
    let mut best = identity;
    for &v in row {
        if v.is_nan() {
            return v;
        }
        if beats(v, best) {
            best = v;
        }
    }
    best
}

pub fn reduce_rows(op: ReduceOp, x: &[f32], dim: usize, out: &mut [f32]) {
    for (o, row) in out.iter_mut().zip(x.chunks_exact(dim)) {
        *o = reduce_row(op, row);
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum::<f64>() as f32
}

pub fn argmax_rows(x: &[f32], dim: usize, out: &mut [u32]) {
    for (o, row) in out.iter_mut().zip(x.chunks_exact(dim)) {
        let mut best = 0;
        for (i, &v) in row.iter().enumerate().skip(1) {
            // Strictly greater only, so the first of equal values wins.
            if value_order(v, row[best]).is_gt() {
                best = i;
            }
        }
        *o = best as u32;
    }
}

pub fn topk_rows(x: &[f32], dim: usize, k: usize, values: &mut [f32], indices: &mut [u32]) {
    if k == 0 {
        return;
    }
    // The k best so far in a heap with the worst on top: once it is full, most
    // elements cost one comparison; O(dim · log k) at worst.
    let mut heap = BinaryHeap::with_capacity(k);
    let mut sorted = Vec::with_capacity(k);
    let rows = x
        .chunks_exact(dim)
        .zip(values.chunks_exact_mut(k))
        .zip(indices.chunks_exact_mut(k));
    for ((row, vals), idxs) in rows {
        for (i, &value) in row.iter().enumerate() {
            let candidate = Ranked {
                value,
                index: i as u32,
            };
            if heap.len() < k {
                heap.push(candidate);
            } else if let Some(mut worst) = heap.peek_mut() {
                if candidate < *worst {
                    *worst = candidate;
                }
            }
        }
        sorted.clear();
        sorted.extend(heap.drain());
        sorted.sort_unstable();
        for ((v, ix), r) in vals.iter_mut().zip(idxs.iter_mut()).zip(&sorted) {
            *v = r.value;
            *ix = r.index;
        }
    }
}
