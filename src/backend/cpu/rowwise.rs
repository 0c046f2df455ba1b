//! Ops that work row by row over the last dimension: RMSNorm, LayerNorm,
//! softmax, RoPE. Rows are split across the pool when there are enough.

use omnirt_kernels::norm;
use rayon::prelude::*;

use super::access::{f32_values, with_f32_output};
use super::input;
use super::kernels::KernelSet;
use crate::backend::{OutputSlot, Rounding};
use crate::error::Result;
use crate::tensor::Tensor;

/// Below this many elements a row op runs on one thread.
const PARALLEL_MIN_ELEMS: usize = 1 << 15;

/// Apply `f(x_rows, out_rows)` to groups of whole rows of length `row`, in parallel
/// when the tensor is large.
pub(super) fn for_row_groups(
    x: &[f32],
    out: &mut [f32],
    row: usize,
    f: impl Fn(&[f32], &mut [f32]) + Sync,
) {
    if row == 0 || x.is_empty() {
        return;
    }
    if x.len() < PARALLEL_MIN_ELEMS {
        f(x, out);
        return;
    }
    let rows_per_task = (PARALLEL_MIN_ELEMS / 4 / row).max(1);
    let chunk = rows_per_task * row;
    x.par_chunks(chunk)
        .zip(out.par_chunks_mut(chunk))
        .for_each(|(xs, os)| f(xs, os));
}

pub(super) fn rms_norm(
    kernels: &KernelSet,
    inputs: &[&Tensor],
    eps: f32,
    rounding: Rounding,
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = input(inputs, 0, "rms_norm")?;
    let dim = x.shape().last();
    let xv = f32_values(x)?;
    let w = inputs.get(1).map(|w| f32_values(w)).transpose()?;
    with_f32_output(out, |o| {
        for_row_groups(&xv, o, dim, |xs, os| {
            kernels.rms_norm_rows(xs, w.as_deref(), dim, eps, rounding, os)
        });
        Ok(())
    })
}

pub(super) fn layer_norm(inputs: &[&Tensor], eps: f32, out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "layer_norm")?;
    let dim = x.shape().last();
    let xv = f32_values(x)?;
    let w = inputs.get(1).map(|w| f32_values(w)).transpose()?;
    let b = inputs.get(2).map(|b| f32_values(b)).transpose()?;
    with_f32_output(out, |o| {
        for_row_groups(&xv, o, dim, |xs, os| {
            norm::layer_norm_rows(xs, w.as_deref(), b.as_deref(), dim, eps, os)
        });
        Ok(())
    })
}

pub(super) fn softmax(
    kernels: &KernelSet,
    inputs: &[&Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = input(inputs, 0, "softmax")?;
    let dim = x.shape().last();
    let xv = f32_values(x)?;
    with_f32_output(out, |o| {
        for_row_groups(&xv, o, dim, |xs, os| kernels.softmax_rows(xs, dim, os));
        Ok(())
    })
}

/// `x [b, s, h, d]` with f32 tables `cos`/`sin` `[b, s, r]`.
pub(super) fn rope(
    kernels: &KernelSet,
    inputs: &[&Tensor],
    rounding: Rounding,
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = input(inputs, 0, "rope")?;
    let cos = f32_values(input(inputs, 1, "rope")?)?;
    let sin = f32_values(input(inputs, 2, "rope")?)?;
    let (h, d) = (x.dims()[2], x.dims()[3]);
    let r = input(inputs, 1, "rope")?.shape().last();
    let xv = f32_values(x)?;
    let per_pos = h * d;
    with_f32_output(out, |o| {
        if per_pos == 0 {
            return Ok(());
        }
        xv.par_chunks(per_pos)
            .zip(o.par_chunks_mut(per_pos))
            .enumerate()
            .with_min_len(16)
            .for_each(|(p, (xs, os))| {
                let (c, s) = (&cos[p * r..(p + 1) * r], &sin[p * r..(p + 1) * r]);
                kernels.rope_half_rows(xs, c, s, d, r, rounding, os);
            });
        Ok(())
    })
}
