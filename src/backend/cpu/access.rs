//! Getting typed host slices in and out of tensors for the CPU kernels:
//! float inputs of any dtype and layout become contiguous f32 (borrowed when
//! they already are), and f32 results are stored in the output's dtype.

use std::borrow::Cow;

use half::{bf16, f16};
use omnirt_kernels::{cast, quant};

use super::strided;
use crate::backend::OutputSlot;
use crate::error::{Error, Result};
use crate::tensor::{DType, Layout, Shape, Tensor};

/// The whole storage of a host tensor.
pub(crate) fn storage_bytes(t: &Tensor) -> Result<&[u8]> {
    t.storage_host_bytes().ok_or_else(|| Error::Backend {
        device: "cpu".into(),
        detail: format!("tensor on {} is not in host memory", t.device().name()),
    })
}

/// The storage viewed as elements of `T` (alignment is guaranteed by host buffers).
pub(crate) fn storage_as<T: bytemuck::Pod>(t: &Tensor) -> Result<&[T]> {
    let bytes = storage_bytes(t)?;
    let usable = bytes.len() / std::mem::size_of::<T>() * std::mem::size_of::<T>();
    bytemuck::try_cast_slice(&bytes[..usable]).map_err(|e| Error::Backend {
        device: "cpu".into(),
        detail: format!("misaligned storage: {e}"),
    })
}

/// The elements of `t` in row-major order as a contiguous slice of `T`
/// (borrowed when the layout is already contiguous).
pub(crate) fn contiguous_as<T: bytemuck::Pod>(t: &Tensor) -> Result<Cow<'_, [T]>> {
    let all = storage_as::<T>(t)?;
    let n = t.elem_count();
    if t.is_contiguous() {
        let start = t.layout().offset();
        return Ok(Cow::Borrowed(&all[start..start + n]));
    }
    let mut out = vec![T::zeroed(); n];
    strided::gather(all, t.layout(), &mut out);
    Ok(Cow::Owned(out))
}

/// Whole rows of blocks of a quantized tensor as raw bytes, in row order.
/// Views of quantized tensors only touch outer dimensions, so rows stay whole;
/// the outer layout may be strided (a 0-d outer layout is the single row of a
/// 1-D tensor).
pub(crate) fn quantized_rows_bytes(t: &Tensor) -> Result<Vec<u8>> {
    let (bl, bb) = (t.dtype().block_len(), t.dtype().block_bytes());
    let row_bytes = t.shape().last() / bl * bb;
    let all = storage_bytes(t)?;
    let rank = t.rank();
    let outer = Layout::new(
        Shape::new(&t.dims()[..rank - 1]),
        t.layout().strides()[..rank - 1].to_vec(),
        t.layout().offset(),
    )?;
    let mut out = Vec::with_capacity(t.shape().rows() * row_bytes);
    strided::for_each_run(&outer, |start, len, stride| {
        for i in 0..len {
            let b = (start + i * stride) / bl * bb;
            out.extend_from_slice(&all[b..b + row_bytes]);
        }
    });
    Ok(out)
}

/// Rows of a quantized tensor as blocks.
fn quant_blocks<B: bytemuck::Pod>(t: &Tensor) -> Result<Vec<B>> {
    let bytes = quantized_rows_bytes(t)?;
    let mut blocks = vec![B::zeroed(); bytes.len() / std::mem::size_of::<B>()];
    bytemuck::cast_slice_mut::<B, u8>(&mut blocks).copy_from_slice(&bytes);
    Ok(blocks)
}

/// Any numeric tensor as contiguous f32 values.
pub(crate) fn f32_values(t: &Tensor) -> Result<Cow<'_, [f32]>> {
    let n = t.elem_count();
    Ok(match t.dtype() {
        DType::F32 => contiguous_as::<f32>(t)?,
        DType::BF16 => {
            let src = contiguous_as::<bf16>(t)?;
            let mut out = vec![0f32; n];
            cast::bf16_to_f32(&src, &mut out);
            Cow::Owned(out)
        }
        DType::F16 => {
            let src = contiguous_as::<f16>(t)?;
            let mut out = vec![0f32; n];
            cast::f16_to_f32(&src, &mut out);
            Cow::Owned(out)
        }
        DType::Q8_0 => {
            let blocks = quant_blocks::<quant::BlockQ8_0>(t)?;
            let mut out = vec![0f32; n];
            quant::dequantize_row_q8_0(&blocks, &mut out);
            Cow::Owned(out)
        }
        DType::Q4_0 => {
            let blocks = quant_blocks::<quant::BlockQ4_0>(t)?;
            let mut out = vec![0f32; n];
            quant::dequantize_row_q4_0(&blocks, &mut out);
            Cow::Owned(out)
        }
        DType::I32 => Cow::Owned(contiguous_as::<i32>(t)?.iter().map(|&v| v as f32).collect()),
        DType::U32 => Cow::Owned(contiguous_as::<u32>(t)?.iter().map(|&v| v as f32).collect()),
        DType::I64 => Cow::Owned(contiguous_as::<i64>(t)?.iter().map(|&v| v as f32).collect()),
        DType::U8 => Cow::Owned(contiguous_as::<u8>(t)?.iter().map(|&v| v as f32).collect()),
    })
}

/// Integer tensor values as i64 (for ids).
pub(crate) fn i64_values(t: &Tensor) -> Result<Vec<i64>> {
    Ok(match t.dtype() {
        DType::U32 => contiguous_as::<u32>(t)?.iter().map(|&v| v as i64).collect(),
        DType::I32 => contiguous_as::<i32>(t)?.iter().map(|&v| v as i64).collect(),
        DType::I64 => contiguous_as::<i64>(t)?.into_owned(),
        DType::U8 => contiguous_as::<u8>(t)?.iter().map(|&v| v as i64).collect(),
        d => return Err(Error::dtype("ids", d, "expected an integer tensor")),
    })
}

/// The output buffer as writable bytes.
pub(crate) fn out_bytes<'a>(slot: &'a mut OutputSlot<'_>) -> Result<&'a mut [u8]> {
    slot.buffer.host_mut().ok_or_else(|| Error::Backend {
        device: "cpu".into(),
        detail: "output buffer is not writable host memory".into(),
    })
}

/// The output as `&mut [T]` (the slot's dtype must be `T`'s).
pub(crate) fn out_as<'a, T: bytemuck::Pod>(slot: &'a mut OutputSlot<'_>) -> Result<&'a mut [T]> {
    let bytes = out_bytes(slot)?;
    bytemuck::try_cast_slice_mut(bytes).map_err(|e| Error::Backend {
        device: "cpu".into(),
        detail: format!("misaligned output: {e}"),
    })
}

/// Store f32 results in the slot, converting to its dtype.
pub(crate) fn store_f32(slot: &mut OutputSlot<'_>, values: &[f32]) -> Result<()> {
    match slot.dtype {
        DType::F32 => out_as::<f32>(slot)?.copy_from_slice(values),
        DType::BF16 => cast::f32_to_bf16(values, out_as::<bf16>(slot)?),
        DType::F16 => cast::f32_to_f16(values, out_as::<f16>(slot)?),
        DType::Q8_0 => quant::quantize_row_q8_0(values, out_as::<quant::BlockQ8_0>(slot)?),
        DType::Q4_0 => quant::quantize_row_q4_0(values, out_as::<quant::BlockQ4_0>(slot)?),
        DType::I32 => store_cast(out_as::<i32>(slot)?, values, |v| v as i32),
        DType::U32 => store_cast(out_as::<u32>(slot)?, values, |v| v as u32),
        DType::I64 => store_cast(out_as::<i64>(slot)?, values, |v| v as i64),
        DType::U8 => store_cast(out_as::<u8>(slot)?, values, |v| v as u8),
    }
    Ok(())
}

fn store_cast<T>(out: &mut [T], values: &[f32], f: impl Fn(f32) -> T) {
    for (o, &v) in out.iter_mut().zip(values) {
        *o = f(v);
    }
}

/// Run `compute` into an f32 buffer and store it in the slot: writes in place
/// when the output is already f32, converts otherwise.
pub(crate) fn with_f32_output(
    slot: &mut OutputSlot<'_>,
    compute: impl FnOnce(&mut [f32]) -> Result<()>,
) -> Result<()> {
    if slot.dtype == DType::F32 {
        return compute(out_as::<f32>(slot)?);
    }
    let n = slot.layout.shape().elem_count();
    let mut tmp = vec![0f32; n];
    compute(&mut tmp)?;
    store_f32(slot, &tmp)
}
