//! Attention on the CPU: the fused online-softmax kernel reading K/V in place
//! (f32, f16 or bf16, any strides with a unit last stride, e.g. a KV-cache view).

use half::{bf16, f16};
use omnirt_kernels::attention::{self as attn, AttentionMask, AttentionShape, KvElem, Strides4};

use super::access::{f32_values, storage_as, with_f32_output};
use super::input;
use crate::backend::{MaskKind, OutputSlot};
use crate::error::Result;
use crate::tensor::{DType, Tensor};

fn strides4(t: &Tensor) -> Strides4 {
    let s = t.layout().strides();
    Strides4 {
        batch: s[0],
        head: s[1],
        seq: s[2],
    }
}

pub(super) fn attention(
    inputs: &[&Tensor],
    scale: f32,
    mask: &MaskKind,
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let q = input(inputs, 0, "attention")?;
    let k = input(inputs, 1, "attention")?;
    let v = input(inputs, 2, "attention")?;
    let (b, hq, sq, d) = (q.dims()[0], q.dims()[1], q.dims()[2], q.dims()[3]);
    let shape = AttentionShape {
        batch: b,
        q_heads: hq,
        kv_heads: k.dims()[1],
        q_len: sq,
        kv_len: k.dims()[2],
        head_dim: d,
        scale,
    };
    let mask = match mask {
        MaskKind::None => AttentionMask::None,
        MaskKind::Causal { q_offset } => AttentionMask::Causal {
            q_offset: *q_offset,
        },
        MaskKind::SlidingWindow { q_offset, window } => AttentionMask::SlidingWindow {
            q_offset: *q_offset,
            window: *window,
        },
        MaskKind::Segments { cu_seqlens } => AttentionMask::Segments { cu_seqlens },
    };
    // q as contiguous f32 [b, hq, sq, d].
    let qv = f32_values(q)?;
    let q_strides = Strides4 {
        batch: hq * sq * d,
        head: sq * d,
        seq: d,
    };
    // K/V in place when their last stride is 1, else contiguous copies.
    let (k, v) = if k.layout().has_unit_inner_stride() && v.layout().has_unit_inner_stride() {
        (k.clone(), v.clone())
    } else {
        (k.contiguous()?, v.contiguous()?)
    };
    with_f32_output(out, |o| match k.dtype() {
        DType::F32 => run::<f32>(&shape, &mask, &qv, q_strides, &k, &v, o),
        DType::F16 => run::<f16>(&shape, &mask, &qv, q_strides, &k, &v, o),
        DType::BF16 => run::<bf16>(&shape, &mask, &qv, q_strides, &k, &v, o),
        d => Err(crate::error::Error::dtype(
            "attention",
            d,
            "K/V must be f32, f16 or bf16",
        )),
    })
}

fn run<T: KvElem + bytemuck::Pod>(
    shape: &AttentionShape,
    mask: &AttentionMask<'_>,
    q: &[f32],
    q_strides: Strides4,
    k: &Tensor,
    v: &Tensor,
    out: &mut [f32],
) -> Result<()> {
    let ks = &storage_as::<T>(k)?[k.layout().offset()..];
    let vs = &storage_as::<T>(v)?[v.layout().offset()..];
    attn::attention(
        shape,
        mask,
        q,
        q_strides,
        ks,
        strides4(k),
        vs,
        strides4(v),
        out,
    );
    Ok(())
}
