//! Reference softmax: shifts `x − m` in f32 (as every variant and PyTorch do),
//! exponentials and sums in f64.

use crate::reduce::scalar::reduce_row;
use crate::reduce::ReduceOp;

pub fn softmax_rows_inplace(x: &mut [f32], dim: usize) {
    for row in x.chunks_exact_mut(dim) {
        let m = reduce_row(ReduceOp::Max, row);
        let mut sum = 0.0f64;
        for v in row.iter_mut() {
            let e = f64::from(*v - m).exp();
            sum += e;
            *v = e as f32;
        }
        let inv = 1.0 / sum;
        for v in row.iter_mut() {
            *v = (f64::from(*v) * inv) as f32;
        }
    }
}

pub fn softmax_rows(x: &[f32], dim: usize, out: &mut [f32]) {
    out.copy_from_slice(x);
    softmax_rows_inplace(out, dim);
}

pub fn log_softmax_rows(x: &[f32], dim: usize, out: &mut [f32]) {
    for (row, out_row) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let m = reduce_row(ReduceOp::Max, row);
        let log_sum = row
            .iter()
            .map(|&v| f64::from(v - m).exp())
            .sum::<f64>()
            .ln();
        for (o, &v) in out_row.iter_mut().zip(row) {
            *o = (f64::from(v - m) - log_sum) as f32;
        }
    }
}
