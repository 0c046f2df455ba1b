//! Data movement: strided copy (`Op::Copy`, and making inputs contiguous),
//! cast (including Q8_0/Q4_0 quantize/dequantize), gather, concat:
//! `kernels/cuda/copy.cu` and `kernels/cuda/cast.cu`.

use super::super::launch::{self, i64_arg, Arg, Layout6};
use super::{check_out, input, CudaBackend};
use crate::backend::{Backend, OutputSlot};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

use super::super::CudaBuffer;

pub(super) const COPY: [&str; 4] = [
    "omnirt_copy_strided_b1",
    "omnirt_copy_strided_b2",
    "omnirt_copy_strided_b4",
    "omnirt_copy_strided_b8",
];
pub(super) const CAST: [&str; 1] = ["omnirt_cast_any"];
pub(super) const QUANT: [&str; 4] = [
    "omnirt_quantize_q8_0_f32",
    "omnirt_quantize_q4_0_f32",
    "omnirt_dequantize_q8_0_f32",
    "omnirt_dequantize_q4_0_f32",
];
pub(super) const GATHER: [&str; 3] = [
    "omnirt_gather_rows_i32",
    "omnirt_gather_rows_u32",
    "omnirt_gather_rows_i64",
];
pub(super) const CONCAT: [&str; 1] = ["omnirt_concat_rows"];

/// A tensor's elements in row-major order on the device: the tensor itself when
/// already contiguous, else a temporary copy.
pub(crate) enum Contig {
    Borrowed(u64),
    /// A temporary copy, kept alive (and freed, stream-ordered) with the value.
    Owned {
        _copy: CudaBuffer,
        ptr: u64,
    },
}

impl Contig {
    pub(crate) fn ptr(&self) -> u64 {
        match self {
            Contig::Borrowed(ptr) | Contig::Owned { ptr, .. } => *ptr,
        }
    }
}

fn copy_kernel(elem_bytes: usize) -> Option<&'static str> {
    match elem_bytes {
        1 => Some(COPY[0]),
        2 => Some(COPY[1]),
        4 => Some(COPY[2]),
        8 => Some(COPY[3]),
        _ => None,
    }
}

/// The `omnirt_cast_any` code of a plain dtype.
fn cast_code(d: DType) -> Option<i32> {
    Some(match d {
        DType::F32 => 0,
        DType::F16 => 1,
        DType::BF16 => 2,
        DType::I32 => 3,
        DType::U32 => 4,
        DType::I64 => 5,
        DType::U8 => 6,
        DType::Q8_0 | DType::Q4_0 => return None,
    })
}

pub(super) fn supports_copy(dtypes: &[DType]) -> bool {
    matches!(dtypes, [d] if !d.is_quantized())
}

pub(super) fn supports_cast(dtypes: &[DType]) -> bool {
    // The output dtype is not visible here: every pair is handled (plain pairs
    // by omnirt_cast_any, quantized ones through f32).
    dtypes.len() == 1
}

pub(super) fn supports_gather(dtypes: &[DType]) -> bool {
    matches!(dtypes, [_, DType::I32 | DType::U32 | DType::I64])
}

impl CudaBackend {
    /// `t` as contiguous row-major elements on the device (the strided copy
    /// kernel when it is a view).
    pub(crate) fn contiguous(&self, t: &Tensor) -> Result<Contig> {
        if t.is_contiguous() {
            return Ok(Contig::Borrowed(self.tensor_ptr(t)?));
        }
        let esize = t.dtype().block_bytes();
        let name = copy_kernel(esize)
            .filter(|_| !t.dtype().is_quantized())
            .ok_or_else(|| {
                Error::dtype(
                    "copy",
                    t.dtype(),
                    "strided views of quantized tensors are copied on the CPU",
                )
            })?;
        let n = t.elem_count();
        let mut buf = self.temp(n * esize)?;
        let dst = buf.ptr_mut(&self.stream);
        if n > 0 {
            let src =
                self.ours(t.storage())?.ptr(&self.stream) + (t.layout().offset() * esize) as u64;
            let args = [
                Arg::Ptr(src),
                Arg::Layout(Layout6::of(t.layout())?),
                Arg::Ptr(dst),
                i64_arg(n)?,
            ];
            // SAFETY: omnirt_copy_strided_bE(const E* src, Layout6 l, E* dst, long long n):
            // src is the view's first element, `l` its dims and strides (elements of
            // E = esize bytes), so every read stays inside the view's storage span;
            // dst is a fresh buffer of n·esize bytes, fully written.
            unsafe { self.launch(name, launch::elementwise(n), &args)? };
        }
        Ok(Contig::Owned {
            _copy: buf,
            ptr: dst,
        })
    }

    /// `n` elements at `src` (dtype `from`, contiguous) converted into `dst`
    /// (dtype `to`, contiguous).
    pub(crate) fn cast_into(
        &self,
        src: u64,
        from: DType,
        dst: u64,
        to: DType,
        n: usize,
    ) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let bad = |d: DType| Error::dtype("cast", d, "quantized casts go through f32");
        let (cf, ct) = (
            cast_code(from).ok_or_else(|| bad(from))?,
            cast_code(to).ok_or_else(|| bad(to))?,
        );
        let args = [
            Arg::Ptr(src),
            Arg::I32(cf),
            Arg::Ptr(dst),
            Arg::I32(ct),
            i64_arg(n)?,
        ];
        // SAFETY: omnirt_cast_any(const void* src, int src_dtype, void* dst, int
        // dst_dtype, long long n): src holds n contiguous elements of `from`, dst
        // room for n elements of `to` (callers size both), codes from cast.cu.
        unsafe { self.launch(CAST[0], launch::elementwise(n), &args) }
    }

    /// `nblocks` Q8_0/Q4_0 blocks at `src` -> `nblocks·32` f32 at `dst`.
    pub(crate) fn dequantize_into(
        &self,
        src: u64,
        dtype: DType,
        dst: u64,
        nblocks: usize,
    ) -> Result<()> {
        let name = match dtype {
            DType::Q8_0 => QUANT[2],
            DType::Q4_0 => QUANT[3],
            d => return Err(Error::dtype("dequantize", d, "not a quantized dtype")),
        };
        if nblocks == 0 {
            return Ok(());
        }
        let args = [Arg::Ptr(src), Arg::Ptr(dst), i64_arg(nblocks)?];
        // SAFETY: omnirt_dequantize_qX_f32(const unsigned char* blocks, float* y,
        // long long nblocks): src holds nblocks blocks, dst nblocks·32 f32; one
        // warp per block, 8 per CUDA block.
        unsafe { self.launch(name, quant_blocks_cfg(nblocks)?, &args) }
    }

    /// `nblocks·32` f32 at `src` -> Q8_0/Q4_0 blocks at `dst`.
    pub(crate) fn quantize_into(
        &self,
        src: u64,
        dtype: DType,
        dst: u64,
        nblocks: usize,
    ) -> Result<()> {
        let name = match dtype {
            DType::Q8_0 => QUANT[0],
            DType::Q4_0 => QUANT[1],
            d => return Err(Error::dtype("quantize", d, "not a quantized dtype")),
        };
        if nblocks == 0 {
            return Ok(());
        }
        let args = [Arg::Ptr(src), Arg::Ptr(dst), i64_arg(nblocks)?];
        // SAFETY: omnirt_quantize_qX_f32(const float* x, unsigned char* out, long
        // long nblocks): src holds nblocks·32 f32, dst room for nblocks blocks.
        unsafe { self.launch(name, quant_blocks_cfg(nblocks)?, &args) }
    }
}

/// One warp per 32-value block, 8 blocks per 256-thread CUDA block.
pub(crate) fn quant_blocks_cfg(nblocks: usize) -> Result<cudarc::driver::LaunchConfig> {
    let grid = u32::try_from(nblocks.div_ceil(8)).map_err(|_| Error::overflow("cuda grid"))?;
    Ok(cudarc::driver::LaunchConfig {
        grid_dim: (grid.max(1), 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    })
}

pub(super) fn copy(b: &CudaBackend, inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "copy")?;
    let n = x.elem_count();
    check_out(out, x.dtype(), n, "copy")?;
    if n == 0 {
        return Ok(());
    }
    let bytes = x.dtype().storage_bytes(n)?;
    let c = b.contiguous(x)?;
    let dst = b.out_ptr(out)?;
    b.copy_dtod(c.ptr(), dst, bytes)
}

pub(super) fn cast(b: &CudaBackend, inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let x = input(inputs, 0, "cast")?;
    let (from, to) = (x.dtype(), out.dtype);
    let n = x.elem_count();
    check_out(out, to, n, "cast")?;
    if n == 0 {
        return Ok(());
    }
    let xc = b.contiguous(x)?;
    let dst = b.out_ptr(out)?;
    match (from.is_quantized(), to.is_quantized()) {
        // ABI.md (omnirt_cast_any): "For identical dtypes use a copy instead"
        // (the f32 path would quiet signalling NaNs and round i64 > 2^24).
        (false, false) if from == to => b.copy_dtod(xc.ptr(), dst, from.storage_bytes(n)?),
        (false, false) => b.cast_into(xc.ptr(), from, dst, to, n),
        (true, false) => {
            let nblocks = n / 32;
            if to == DType::F32 {
                return b.dequantize_into(xc.ptr(), from, dst, nblocks);
            }
            let mut tmp = b.temp(n * 4)?;
            let t = tmp.ptr_mut(&b.stream);
            b.dequantize_into(xc.ptr(), from, t, nblocks)?;
            b.cast_into(t, DType::F32, dst, to, n)
        }
        (false, true) => {
            let nblocks = n / 32;
            if from == DType::F32 {
                return b.quantize_into(xc.ptr(), to, dst, nblocks);
            }
            let mut tmp = b.temp(n * 4)?;
            let t = tmp.ptr_mut(&b.stream);
            b.cast_into(xc.ptr(), from, t, DType::F32, n)?;
            b.quantize_into(t, to, dst, nblocks)
        }
        (true, true) if from == to => b.copy_dtod(xc.ptr(), dst, from.storage_bytes(n)?),
        (true, true) => {
            let nblocks = n / 32;
            let mut tmp = b.temp(n * 4)?;
            let t = tmp.ptr_mut(&b.stream);
            b.dequantize_into(xc.ptr(), from, t, nblocks)?;
            b.quantize_into(t, to, dst, nblocks)
        }
    }
}

/// `table [v, d]` rows picked by `ids [..]` -> `[.., d]`; out-of-range ids are an
/// error. A Q8_0/Q4_0 table gives f32 rows (as the front end and the CPU
/// backend): the rows of blocks are gathered, then dequantized.
pub(super) fn gather(b: &CudaBackend, inputs: &[&Tensor], out: &mut OutputSlot<'_>) -> Result<()> {
    let table = input(inputs, 0, "gather")?;
    let ids = input(inputs, 1, "gather")?;
    if table.rank() != 2 {
        return Err(Error::shape(
            "gather",
            format!("table must be [v, d], got {:?}", table.dims()),
        ));
    }
    let (rows, d) = (table.dims()[0], table.dims()[1]);
    let quantized = table.dtype().is_quantized();
    let out_dtype = if quantized { DType::F32 } else { table.dtype() };
    let row_bytes = table.dtype().storage_bytes(d)?;
    let n_ids = ids.elem_count();
    check_out(out, out_dtype, n_ids * d, "gather")?;
    if n_ids == 0 || row_bytes == 0 {
        return Ok(());
    }
    let name = match ids.dtype() {
        DType::I32 => GATHER[0],
        DType::U32 => GATHER[1],
        DType::I64 => GATHER[2],
        dt => return Err(Error::dtype("gather", dt, "ids must be i32, u32 or i64")),
    };
    let tc = b.contiguous(table)?;
    let ic = b.contiguous(ids)?;
    let dst = b.out_ptr(out)?;
    // Quantized rows land in a temporary of blocks first (fully written below).
    let mut blocks = if quantized {
        Some(b.temp(n_ids * row_bytes)?)
    } else {
        None
    };
    let gathered = match blocks.as_mut() {
        Some(tmp) => tmp.ptr_mut(&b.stream),
        None => dst,
    };
    // ABI.md gather error flag: a device int zeroed before the launch, read after.
    let err = b
        .stream
        .alloc_zeros::<u8>(4)
        .map_err(|e| b.err("allocating the gather error flag", e))?;
    let err_buf = CudaBuffer::new(err, 4);
    let err_ptr = err_buf.ptr(&b.stream);
    let args = [
        Arg::Ptr(tc.ptr()),
        i64_arg(rows)?,
        i64_arg(row_bytes)?,
        Arg::Ptr(ic.ptr()),
        i64_arg(n_ids)?,
        Arg::Ptr(gathered),
        Arg::Ptr(err_ptr),
    ];
    // SAFETY: ABI.md copy.cu `omnirt_gather_rows_{i32,u32,i64}`(const unsigned
    // char* table, long long table_rows, long long row_bytes, const ID* ids, long
    // long n_ids, unsigned char* out, int* err): table is rows·row_bytes
    // contiguous bytes, ids n_ids contiguous elements of ID, the destination
    // n_ids·row_bytes bytes (the checked output, or the temporary of blocks),
    // err a zeroed 4-byte int; the kernel bounds-checks every id; grid-stride,
    // block 256.
    unsafe { b.launch(name, launch::elementwise(n_ids * row_bytes / 4 + 1), &args)? };
    let mut flag = [0u8; 4];
    b.read(&err_buf, 0, &mut flag)?;
    if i32::from_ne_bytes(flag) != 0 {
        return Err(Error::invalid(format!(
            "gather: an id is out of range for a table of {rows} rows"
        )));
    }
    if quantized {
        // n_ids·d/32 blocks -> n_ids·d f32 in the output.
        b.dequantize_into(gathered, table.dtype(), dst, n_ids * d / 32)?;
    }
    drop(blocks);
    Ok(())
}

pub(super) fn concat(
    b: &CudaBackend,
    inputs: &[&Tensor],
    dim: usize,
    out: &mut OutputSlot<'_>,
) -> Result<()> {
    let first = input(inputs, 0, "concat")?;
    let dtype = first.dtype();
    let out_dims = out.layout.dims().to_vec();
    if dim >= out_dims.len() {
        return Err(Error::shape(
            "concat",
            format!("dim {dim} out of range for {out_dims:?}"),
        ));
    }
    check_out(out, dtype, out_dims.iter().product(), "concat")?;
    let outer: usize = out_dims[..dim].iter().product();
    let inner: usize = out_dims[dim + 1..].iter().product();
    let esize_of = |len: usize| dtype.storage_bytes(len);
    let dst_row_bytes = esize_of(out_dims[dim] * inner)?;
    let dst = b.out_ptr(out)?;
    let mut at = 0usize;
    for t in inputs {
        if t.dtype() != dtype || t.rank() != out_dims.len() {
            return Err(Error::shape("concat", "inputs must share dtype and rank"));
        }
        let len = t.dims()[dim];
        let src_row_bytes = esize_of(len * inner)?;
        let offset = esize_of(at * inner)?;
        at += len;
        if src_row_bytes == 0 || outer == 0 {
            continue;
        }
        let c = b.contiguous(t)?;
        let args = [
            Arg::Ptr(c.ptr()),
            i64_arg(outer)?,
            i64_arg(src_row_bytes)?,
            Arg::Ptr(dst),
            i64_arg(dst_row_bytes)?,
            i64_arg(offset)?,
        ];
        // SAFETY: omnirt_concat_rows(const unsigned char* src, long long outer,
        // long long src_row_bytes, unsigned char* dst, long long dst_row_bytes,
        // long long dst_offset_bytes): src is outer·src_row_bytes contiguous
        // bytes, dst outer·dst_row_bytes (checked), and offset + src_row_bytes
        // <= dst_row_bytes because the inputs' dims[dim] sum to the output's.
        unsafe {
            b.launch(
                CONCAT[0],
                launch::elementwise(outer * src_row_bytes / 4 + 1),
                &args,
            )?
        };
    }
    if at != out_dims[dim] {
        return Err(Error::shape("concat", "inputs do not add up to the output"));
    }
    Ok(())
}
