//! `Op::Attention`: `kernels/cuda/attention.cu` (online softmax, K/V read in
//! place with their strides, GQA, every mask; split-K + combine for decode).
//!
//! q may be any float dtype and any layout: a q that is not f32 with a unit last
//! stride is made contiguous and widened to f32 first (the CPU backend widens
//! too); the output is computed in f32 and cast to q's dtype when that differs
//! (the CPU rounds once at the end the same way). K/V (f32, f16, bf16, same
//! dtype) are read in place when their last stride is 1 (a KV-cache view),
//! else copied contiguous, as the CPU backend does.

use super::super::launch::{i64_arg, Arg};
use super::{by_float, check_out, input, CudaBackend};
use crate::backend::{MaskKind, OutputSlot};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

pub(super) const ATTENTION: [&str; 3] = [
    "omnirt_attention_f32",
    "omnirt_attention_f16",
    "omnirt_attention_bf16",
];
pub(super) const COMBINE: [&str; 1] = ["omnirt_attention_combine_f32"];

/// ABI.md: `d <= 256`.
const MAX_HEAD_DIM: usize = 256;
/// ABI.md: grid.y = `batch * hq` <= 65535.
const MAX_GRID_Y: usize = 65_535;
/// Query rows per 128-thread block (one warp each).
const ROWS_PER_BLOCK: usize = 4;
/// Below this many blocks a launch leaves most SMs idle: split the keys.
const SPLIT_BELOW_BLOCKS: usize = 256;

/// q: any float; k, v: the same float dtype.
pub(super) fn supports(dtypes: &[DType]) -> bool {
    matches!(dtypes, [q, k, v] if q.is_float() && k == v && by_float(&ATTENTION, *k).is_some())
}

/// Number of key splits for `blocks` blocks of query rows over `skv` keys
/// (ABI.md: `clamp(ceil(skv / 512), 1, 64)` for decode-shaped launches).
fn num_splits(blocks: usize, skv: usize) -> usize {
    if blocks >= SPLIT_BELOW_BLOCKS {
        1
    } else {
        skv.div_ceil(512).clamp(1, 64)
    }
}

/// Strides (batch, head, seq) of a rank-4 view whose last stride is 1 (or whose
/// last dim is at most 1), or `None`.
fn strides3(t: &Tensor) -> Option<[usize; 3]> {
    let s = t.layout().strides();
    (s[3] == 1 || t.dims()[3] <= 1).then(|| [s[0], s[1], s[2]])
}

fn i64s(s: [usize; 3]) -> Result<[Arg; 3]> {
    Ok([i64_arg(s[0])?, i64_arg(s[1])?, i64_arg(s[2])?])
}

pub(super) fn attention(
    b: &CudaBackend,
    inputs: &[&Tensor],
    scale: f32,
    mask: &MaskKind,
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    const OP: &str = "attention";
    let q = input(inputs, 0, OP)?;
    let k = input(inputs, 1, OP)?;
    let v = input(inputs, 2, OP)?;
    if q.rank() != 4 || k.rank() != 4 || k.dims() != v.dims() || k.dtype() != v.dtype() {
        return Err(Error::shape(OP, "q [b, hq, sq, d], k/v [b, hkv, skv, d]"));
    }
    let name = by_float(&ATTENTION, k.dtype())
        .ok_or_else(|| Error::dtype(OP, k.dtype(), "K/V must be f32, f16 or bf16"))?;
    let (batch, hq, sq, d) = (q.dims()[0], q.dims()[1], q.dims()[2], q.dims()[3]);
    let (hkv, skv) = (k.dims()[1], k.dims()[2]);
    if k.dims()[0] != batch || k.dims()[3] != d || hkv == 0 || hq % hkv != 0 {
        return Err(Error::shape(OP, "k/v do not match q (or hq % hkv != 0)"));
    }
    let n = q.elem_count();
    check_out(out, q.dtype(), n, OP)?;
    if n == 0 {
        return Ok(());
    }
    if d > MAX_HEAD_DIM || hq > MAX_GRID_Y {
        return Err(Error::Unsupported(format!(
            "attention: the cuda kernel takes head_dim <= {MAX_HEAD_DIM} and <= {MAX_GRID_Y} \
             query heads (got d = {d}, hq = {hq})"
        )));
    }

    // Mask -> (kind, q_offset, window, cu_seqlens on the device).
    let (kind, q_offset, window, cu) = match mask {
        MaskKind::None => (0, 0, 0, None),
        MaskKind::Causal { q_offset } => (1, *q_offset, 0, None),
        MaskKind::SlidingWindow { q_offset, window } => (2, *q_offset, *window, None),
        MaskKind::Segments { cu_seqlens } => {
            let ok = sq == skv
                && cu_seqlens.first() == Some(&0)
                && cu_seqlens.last() == Some(&sq)
                && cu_seqlens.windows(2).all(|w| w[0] <= w[1]);
            if !ok {
                return Err(Error::shape(
                    OP,
                    format!("segments {cu_seqlens:?} must rise from 0 to {sq} (and sq == skv)"),
                ));
            }
            let host = cu_seqlens
                .iter()
                .map(|&c| i64::try_from(c).map_err(|_| Error::overflow("cu_seqlens")))
                .collect::<Result<Vec<i64>>>()?;
            let dev = b
                .stream
                .clone_htod(&host)
                .map_err(|e| b.err("uploading cu_seqlens", e))?;
            (3, 0, 0, Some((dev, host.len())))
        }
    };
    let cu_ptr = match &cu {
        Some((dev, _)) => {
            use cudarc::driver::DevicePtr;
            let (p, _guard) = dev.device_ptr(&b.stream);
            p
        }
        None => 0,
    };
    let n_cu = cu.as_ref().map_or(0, |(_, len)| *len);

    // q as f32 with a unit last stride.
    let (q_ptr, q_strides, _q_keep) = match (q.dtype(), strides3(q)) {
        (DType::F32, Some(s)) => (b.tensor_ptr(q)?, s, None),
        (dt, _) => {
            let qc = b.contiguous(q)?;
            let (ptr, keep) = if dt == DType::F32 {
                (qc.ptr(), None)
            } else {
                let mut tmp = b.temp(n * 4)?;
                let t = tmp.ptr_mut(&b.stream);
                b.cast_into(qc.ptr(), dt, t, DType::F32, n)?;
                (t, Some(tmp))
            };
            (ptr, [hq * sq * d, sq * d, d], Some((qc, keep)))
        }
    };
    // K/V in place when both have a unit last stride, else contiguous copies.
    let (k_ptr, k_strides, v_ptr, v_strides, _kv_keep) = match (strides3(k), strides3(v)) {
        (Some(ks), Some(vs)) => (b.tensor_ptr(k)?, ks, b.tensor_ptr(v)?, vs, None),
        _ => {
            let (kc, vc) = (b.contiguous(k)?, b.contiguous(v)?);
            let s = [hkv * skv * d, skv * d, d];
            (kc.ptr(), s, vc.ptr(), s, Some((kc, vc)))
        }
    };
    // f32 output: the slot itself, or a temporary cast to q's dtype at the end.
    let out_ptr = b.out_ptr(out)?;
    let mut out_tmp = if out.dtype == DType::F32 {
        None
    } else {
        Some(b.temp(n * 4)?)
    };
    let o32 = match out_tmp.as_mut() {
        Some(t) => t.ptr_mut(&b.stream),
        None => out_ptr,
    };

    let esize = k.dtype().block_bytes() as u64;
    let (qs, ks, vs) = (i64s(q_strides)?, i64s(k_strides)?, i64s(v_strides)?);
    // Batches per launch so that grid.y = batches·hq <= 65535.
    let per_launch = (MAX_GRID_Y / hq).max(1);
    let row_blocks = sq.div_ceil(ROWS_PER_BLOCK);
    let grid_x = u32::try_from(row_blocks).map_err(|_| Error::overflow("cuda grid"))?;
    let mut b0 = 0;
    while b0 < batch {
        let nb = per_launch.min(batch - b0);
        let splits = num_splits(row_blocks * nb * hq, skv);
        let rows = nb * hq * sq;
        let (mut acc_buf, mut ml_buf) = if splits > 1 {
            (
                Some(b.temp(rows * splits * d * 4)?),
                Some(b.temp(rows * splits * 2 * 4)?),
            )
        } else {
            (None, None)
        };
        let part_acc = acc_buf.as_mut().map_or(0, |t| t.ptr_mut(&b.stream));
        let part_ml = ml_buf.as_mut().map_or(0, |t| t.ptr_mut(&b.stream));
        let o_chunk = o32 + (b0 * hq * sq * d * 4) as u64;
        let args = [
            Arg::Ptr(q_ptr + (b0 * q_strides[0] * 4) as u64),
            qs[0],
            qs[1],
            qs[2],
            Arg::Ptr(k_ptr + b0 as u64 * k_strides[0] as u64 * esize),
            ks[0],
            ks[1],
            ks[2],
            Arg::Ptr(v_ptr + b0 as u64 * v_strides[0] as u64 * esize),
            vs[0],
            vs[1],
            vs[2],
            Arg::Ptr(if splits == 1 { o_chunk } else { 0 }),
            Arg::Ptr(part_acc),
            Arg::Ptr(part_ml),
            i64_arg(nb)?,
            i64_arg(hq)?,
            i64_arg(hkv)?,
            i64_arg(sq)?,
            i64_arg(skv)?,
            i64_arg(d)?,
            Arg::F32(scale),
            Arg::I32(kind),
            i64_arg(q_offset)?,
            i64_arg(window)?,
            Arg::Ptr(cu_ptr),
            i64_arg(n_cu)?,
            Arg::I32(splits as i32),
        ];
        let cfg = cudarc::driver::LaunchConfig {
            grid_dim: (grid_x, (nb * hq) as u32, splits as u32),
            block_dim: (128, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: ABI.md attention.cu `omnirt_attention_<kv>` argument list, in
        // order: q f32 with (b, h, s) element strides and unit last stride,
        // offset to batch b0; k/v of the kernel's KV dtype with their own strides
        // (in place: a view reaches only elements inside its storage) offset to
        // b0; out f32 contiguous [nb, hq, sq, d] when num_splits == 1 (else
        // null); part_acc [rows, splits, d] and part_ml [rows, splits, 2] f32
        // when splits > 1 (else null); d <= 256, hq % hkv == 0; cu_seqlens an
        // i64 device array of n_cu entries (0 .. sq, checked) or null; launch
        // block 128, grid (ceil(sq/4), nb·hq <= 65535, splits <= 64), no smem.
        unsafe { b.launch(name, cfg, &args)? };
        if splits > 1 {
            let cargs = [
                Arg::Ptr(part_acc),
                Arg::Ptr(part_ml),
                Arg::Ptr(o_chunk),
                i64_arg(rows)?,
                i64_arg(d)?,
                Arg::I32(splits as i32),
            ];
            let cfg = cudarc::driver::LaunchConfig {
                grid_dim: (
                    u32::try_from(rows.div_ceil(4)).map_err(|_| Error::overflow("cuda grid"))?,
                    1,
                    1,
                ),
                block_dim: (128, 1, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: ABI.md attention.cu `omnirt_attention_combine_f32(const
            // float* part_acc, const float* part_ml, float* out, long long rows,
            // long long d, int num_splits)`: the workspaces written by the launch
            // above (rows·splits·d and rows·splits·2 f32), out the f32 rows·d
            // chunk of the output; block 128 (a warp per row), grid ceil(rows/4).
            unsafe { b.launch(COMBINE[0], cfg, &cargs)? };
        }
        drop((acc_buf, ml_buf));
        b0 += nb;
    }
    if out.dtype != DType::F32 {
        b.cast_into(o32, DType::F32, out_ptr, out.dtype, n)?;
    }
    drop(out_tmp);
    drop(cu);
    Ok(())
}
