//! Data movement: cast, strided copy, gather (embedding lookup), concat.

use std::borrow::Cow;

use super::access::{
    contiguous_as, f32_values, i64_values, out_as, out_bytes, quantized_rows_bytes, storage_bytes,
    store_f32,
};
use super::input;
use crate::backend::OutputSlot;
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

/// The elements of a plain (non-quantized) tensor as contiguous raw bytes.
fn contiguous_bytes(t: &Tensor) -> Result<Cow<'_, [u8]>> {
    Ok(match t.dtype().block_bytes() {
        1 => contiguous_as::<u8>(t)?,
        2 => match contiguous_as::<u16>(t)? {
            Cow::Borrowed(s) => Cow::Borrowed(bytemuck::cast_slice(s)),
            Cow::Owned(v) => Cow::Owned(bytemuck::cast_slice(&v).to_vec()),
        },
        4 => match contiguous_as::<u32>(t)? {
            Cow::Borrowed(s) => Cow::Borrowed(bytemuck::cast_slice(s)),
            Cow::Owned(v) => Cow::Owned(bytemuck::cast_slice(&v).to_vec()),
        },
        8 => match contiguous_as::<u64>(t)? {
            Cow::Borrowed(s) => Cow::Borrowed(bytemuck::cast_slice(s)),
            Cow::Owned(v) => Cow::Owned(bytemuck::cast_slice(&v).to_vec()),
        },
        _ => return quantized_rows_bytes(t).map(Cow::Owned),
    })
}

pub(super) fn cast(inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "cast")?;
    if x.dtype() == out.dtype {
        return copy(inputs, out);
    }
    if x.dtype().is_int() && out.dtype.is_int() {
        // Through i64 so large integers survive (f32 would round them).
        let v = i64_values(x)?;
        match out.dtype {
            DType::I32 => fill(out_as::<i32>(out)?, &v, |x| x as i32),
            DType::U32 => fill(out_as::<u32>(out)?, &v, |x| x as u32),
            DType::I64 => out_as::<i64>(out)?.copy_from_slice(&v),
            DType::U8 => fill(out_as::<u8>(out)?, &v, |x| x as u8),
            d => return Err(Error::dtype("cast", d, "integer target expected")),
        }
        return Ok(());
    }
    let v = f32_values(x)?;
    store_f32(out, &v)
}

fn fill<T>(out: &mut [T], v: &[i64], f: impl Fn(i64) -> T) {
    for (o, &x) in out.iter_mut().zip(v) {
        *o = f(x);
    }
}

pub(super) fn copy(inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "copy")?;
    let bytes = contiguous_bytes(x)?;
    out_bytes(out)?.copy_from_slice(&bytes);
    Ok(())
}

/// `table [v, d]` rows picked by `ids`.
pub(super) fn gather(inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let table = input(inputs, 0, "gather")?;
    let ids = i64_values(input(inputs, 1, "gather")?)?;
    let (rows, d) = (table.dims()[0], table.dims()[1]);
    if let Some(&bad) = ids.iter().find(|&&i| i < 0 || i as u64 >= rows as u64) {
        return Err(Error::invalid(format!(
            "gather: id {bad} is out of range for a table of {rows} rows"
        )));
    }
    if table.dtype().is_quantized() {
        // Dequantize only the rows asked for.
        let mut values = Vec::with_capacity(ids.len() * d);
        for &id in &ids {
            let row = table.narrow(0, id as usize, 1)?;
            values.extend_from_slice(&f32_values(&row)?);
        }
        return store_f32(out, &values);
    }
    let es = table.dtype().block_bytes();
    let all = storage_bytes(table)?;
    let (s0, s1) = (table.layout().strides()[0], table.layout().strides()[1]);
    let off = table.layout().offset();
    let row_bytes = d * es;
    let dst = out_bytes(out)?;
    for (i, &id) in ids.iter().enumerate() {
        let o = &mut dst[i * row_bytes..(i + 1) * row_bytes];
        let start = off + id as usize * s0;
        if s1 == 1 || d <= 1 {
            o.copy_from_slice(&all[start * es..start * es + row_bytes]);
        } else {
            for j in 0..d {
                let s = (start + j * s1) * es;
                o[j * es..(j + 1) * es].copy_from_slice(&all[s..s + es]);
            }
        }
    }
    Ok(())
}

pub(super) fn concat(inputs: &[&Tensor], dim: usize, out: &mut OutputSlot<'_>) -> Result<()> {
    let dims = out.layout.dims().to_vec();
    let es = out.dtype.block_bytes();
    let outer: usize = dims[..dim].iter().product();
    let inner: usize = dims[dim + 1..].iter().product();
    let out_run = dims[dim] * inner * es;
    let dst = out_bytes(out)?;
    let mut at = 0usize;
    for t in inputs {
        let src = contiguous_bytes(t)?;
        let run = t.dims()[dim] * inner * es;
        for o in 0..outer {
            dst[o * out_run + at..o * out_run + at + run]
                .copy_from_slice(&src[o * run..(o + 1) * run]);
        }
        at += run;
    }
    Ok(())
}
