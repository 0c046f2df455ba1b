//! Unary and binary elementwise ops (binary with NumPy broadcasting), SwiGLU
//! and SnakeBeta.

use omnirt_kernels::act;
use rayon::prelude::*;

use super::access::{f32_values, with_f32_output};
use super::input;
use super::kernels::KernelSet;
use crate::backend::{BinaryOp, OutputSlot, UnaryOp};
use crate::error::Result;
use crate::tensor::{Layout, Tensor};

/// Elements per parallel task for streaming ops.
const CHUNK: usize = 1 << 14;

fn par_map2(
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    f: impl Fn(&[f32], &[f32], &mut [f32]) -> Result<()> + Sync,
) -> Result<()> {
    if a.len() <= CHUNK {
        f(a, b, out)
    } else {
        a.par_chunks(CHUNK)
            .zip(b.par_chunks(CHUNK))
            .zip(out.par_chunks_mut(CHUNK))
            .try_for_each(|((a, b), o)| f(a, b, o))
    }
}

pub(super) fn unary(
    kernels: &KernelSet,
    op: UnaryOp,
    inputs: &[&Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let x = f32_values(input(inputs, 0, "unary")?)?;
    with_f32_output(out, |o| {
        par_map2(&x, &x, o, |x, _, o| kernels.unary(op, x, o))
    })
}

pub(super) fn swiglu(
    kernels: &KernelSet,
    inputs: &[&Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let g = f32_values(input(inputs, 0, "swiglu")?)?;
    let u = f32_values(input(inputs, 1, "swiglu")?)?;
    with_f32_output(out, |o| {
        par_map2(&g, &u, o, |g, u, o| {
            kernels.swiglu(g, u, o);
            Ok(())
        })
    })
}

/// `x [b, c, t]`, alpha/beta `[c]` (f32).
pub(super) fn snake(inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "snake")?;
    let (c, t) = (x.dims()[1], x.dims()[2]);
    let xv = f32_values(x)?;
    let alpha = f32_values(input(inputs, 1, "snake")?)?;
    let beta = f32_values(input(inputs, 2, "snake")?)?;
    with_f32_output(out, |o| {
        let item = c * t;
        if item == 0 {
            return Ok(());
        }
        xv.par_chunks(item)
            .zip(o.par_chunks_mut(item))
            .for_each(|(xs, os)| act::snake_beta(xs, c, t, &alpha, &beta, os));
        Ok(())
    })
}

/// How the right operand broadcasts over the output.
enum Pattern {
    /// Same shape: plain elementwise.
    Same,
    /// One value for everything.
    Scalar,
    /// `b` is one row repeated over the leading dims.
    Row(usize),
}

fn pattern(out: &Layout, b: &Tensor) -> Option<Pattern> {
    if b.shape() == out.shape() {
        return Some(Pattern::Same);
    }
    if b.elem_count() == 1 {
        return Some(Pattern::Scalar);
    }
    let last = out.shape().last();
    let b_last = b.shape().last();
    let leading_ones = b.dims()[..b.rank().saturating_sub(1)]
        .iter()
        .all(|&d| d == 1);
    (b.rank() >= 1 && b_last == last && leading_ones).then_some(Pattern::Row(last))
}

/// Broadcast a tensor to `layout`'s shape and read it as contiguous f32.
fn expanded(t: &Tensor, out: &Layout) -> Result<Vec<f32>> {
    let view = t.broadcast_as(out.shape().clone())?;
    Ok(f32_values(&view)?.into_owned())
}

pub(super) fn binary(
    kernels: &KernelSet,
    op: BinaryOp,
    inputs: &[&Tensor],
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let a = input(inputs, 0, "binary")?;
    let b = input(inputs, 1, "binary")?;
    let layout = out.layout.clone();
    let av = if a.shape() == layout.shape() {
        f32_values(a)?
    } else {
        expanded(a, &layout)?.into()
    };
    match pattern(&layout, b) {
        Some(Pattern::Same) => {
            let bv = f32_values(b)?;
            with_f32_output(out, |o| {
                par_map2(&av, &bv, o, |a, b, o| kernels.binary(op, a, b, o))
            })
        }
        Some(Pattern::Scalar) => {
            let s = f32_values(b)?[0];
            with_f32_output(out, |o| {
                par_map2(&av, &av, o, |a, _, o| kernels.binary_scalar(op, a, s, o))
            })
        }
        Some(Pattern::Row(dim)) => {
            let bv = f32_values(b)?;
            with_f32_output(out, |o| {
                if dim == 0 {
                    return Ok(());
                }
                let rows = (CHUNK / dim).max(1) * dim;
                av.par_chunks(rows)
                    .zip(o.par_chunks_mut(rows))
                    .try_for_each(|(a, o)| kernels.binary_row_broadcast(op, a, &bv, dim, o))
            })
        }
        None => {
            let bv = expanded(b, &layout)?;
            with_f32_output(out, |o| {
                par_map2(&av, &bv, o, |a, b, o| kernels.binary(op, a, b, o))
            })
        }
    }
}
