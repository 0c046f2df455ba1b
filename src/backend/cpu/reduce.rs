//! Reductions over the last dimension, argmax and top-k.

use omnirt_kernels::reduce as red;

use super::access::{f32_values, out_as, store_f32, with_f32_output};
use super::input;
use crate::backend::{OutputSlot, ReduceOp};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

pub(super) fn reduce(op: ReduceOp, inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "reduce")?;
    let dim = x.shape().last();
    let xv = f32_values(x)?;
    with_f32_output(out, |o| {
        if dim == 0 {
            o.fill(0.0);
        } else {
            red::reduce_rows(op, &xv, dim, o);
        }
        Ok(())
    })
}

pub(super) fn argmax(inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "argmax")?;
    let dim = x.shape().last();
    let xv = f32_values(x)?;
    red::argmax_rows(&xv, dim, out_as::<u32>(out)?);
    Ok(())
}

pub(super) fn topk(k: usize, inputs: &[&Tensor], outputs: &mut [OutputSlot<'_>]) -> Result<()> {
    let x = input(inputs, 0, "topk")?;
    let dim = x.shape().last();
    let xv = f32_values(x)?;
    let rows = x.shape().rows();
    let [values, indices] = outputs else {
        return Err(Error::invalid("topk needs two output slots"));
    };
    let mut vals = vec![0f32; rows * k];
    red::topk_rows(&xv, dim, k, &mut vals, out_as::<u32>(indices)?);
    store_f32(values, &vals)
}
