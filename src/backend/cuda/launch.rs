//! Small typed launch helpers: kernel arguments as a closed enum of the C types
//! the kernels take (see `kernels/cuda/ABI.md`), the by-value `Layout6` struct,
//! and the usual grid shapes.

use cudarc::driver::{CudaFunction, CudaStream, DeviceRepr, LaunchConfig, PushKernelArg};

use crate::error::{Error, Result};
use crate::tensor::Layout;

/// `struct Layout6` of `kernels/cuda/common.cuh`, passed by value (104 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Layout6 {
    pub dims: [i64; 6],
    pub strides: [i64; 6],
    pub rank: i32,
    pub pad: i32,
}

// The C definition (common.cuh, ABI.md "Layout6"): 104 bytes, align 8.
const _: () = assert!(std::mem::size_of::<Layout6>() == 104);
const _: () = assert!(std::mem::align_of::<Layout6>() == 8);
const _: () = assert!(std::mem::offset_of!(Layout6, strides) == 48);
const _: () = assert!(std::mem::offset_of!(Layout6, rank) == 96);

// SAFETY: `Layout6` is `#[repr(C)]` plain old data with the field order, types,
// size and alignment of the CUDA struct (checked by the asserts above).
unsafe impl DeviceRepr for Layout6 {}

/// Most dims a `Layout6` holds.
pub(crate) const MAX_RANK: usize = 6;

impl Layout6 {
    /// `dims` with element `strides` (0 for broadcast dims); rank <= 6.
    pub(crate) fn new(dims: &[usize], strides: &[usize]) -> Result<Layout6> {
        if dims.len() > MAX_RANK || strides.len() != dims.len() {
            return Err(Error::Unsupported(format!(
                "cuda: rank {} layouts (more than {MAX_RANK} dims) have no kernel",
                dims.len()
            )));
        }
        let mut l = Layout6 {
            rank: dims.len() as i32,
            ..Default::default()
        };
        for (i, (&d, &s)) in dims.iter().zip(strides).enumerate() {
            l.dims[i] = i64::try_from(d).map_err(|_| Error::overflow("cuda layout dim"))?;
            l.strides[i] = i64::try_from(s).map_err(|_| Error::overflow("cuda layout stride"))?;
        }
        Ok(l)
    }

    /// A tensor layout (its offset is applied to the base pointer instead).
    /// Size-1 dims are dropped and dims contiguous with their inner neighbour
    /// merged first (ABI.md: the host merges), so views of any rank whose
    /// strides collapse to at most 6 dims have a kernel layout.
    pub(crate) fn of(layout: &Layout) -> Result<Layout6> {
        let (dims, strides) = merge_dims(layout.dims(), layout.strides());
        Layout6::new(&dims, &strides)
    }
}

/// `dims`/`strides` with size-1 dims removed and each dim merged into its inner
/// neighbour when `stride[i] == stride[i+1] * dims[i+1]` (same elements visited
/// in the same row-major order). An empty tensor keeps its dims.
pub(crate) fn merge_dims(dims: &[usize], strides: &[usize]) -> (Vec<usize>, Vec<usize>) {
    if dims.contains(&0) {
        return (dims.to_vec(), strides.to_vec());
    }
    let mut md: Vec<usize> = Vec::with_capacity(dims.len());
    let mut ms: Vec<usize> = Vec::with_capacity(dims.len());
    for (&d, &s) in dims.iter().zip(strides) {
        if d == 1 {
            continue;
        }
        let last = md.len().wrapping_sub(1);
        if !md.is_empty() && ms[last] == s * d {
            md[last] *= d;
            ms[last] = s;
        } else {
            md.push(d);
            ms.push(s);
        }
    }
    (md, ms)
}

/// One kernel argument, in the C type the kernel declares.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Arg {
    /// A device pointer (`const T*` / `T*`).
    Ptr(u64),
    /// `long long`.
    I64(i64),
    /// `int`.
    I32(i32),
    /// `float`.
    F32(f32),
    /// `Layout6` by value.
    Layout(Layout6),
}

/// The C type class of a kernel parameter (ABI.md's argument lists, one per
/// parameter): what [`Arg`] carries, without the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// Any pointer (`const T*`, `T*`, `void*`).
    Ptr,
    /// `long long`.
    I64,
    /// `int`.
    I32,
    /// `float`.
    F32,
    /// `Layout6` by value.
    Layout,
}

impl Arg {
    pub(crate) fn kind(&self) -> ArgKind {
        match self {
            Arg::Ptr(_) => ArgKind::Ptr,
            Arg::I64(_) => ArgKind::I64,
            Arg::I32(_) => ArgKind::I32,
            Arg::F32(_) => ArgKind::F32,
            Arg::Layout(_) => ArgKind::Layout,
        }
    }
}

/// `n` as a `long long` kernel argument.
pub(crate) fn i64_arg(n: usize) -> Result<Arg> {
    i64::try_from(n)
        .map(Arg::I64)
        .map_err(|_| Error::overflow("cuda kernel argument"))
}

/// Grid-stride elementwise launch: 256 threads, enough blocks for `n` (capped;
/// the kernels loop).
pub(crate) fn elementwise(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(256).clamp(1, 65_535 * 4) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// One block of `threads` per row, `rows` rows in grid x.
pub(crate) fn per_row(rows: usize, threads: u32) -> Result<LaunchConfig> {
    let rows = u32::try_from(rows.max(1)).map_err(|_| Error::overflow("cuda grid"))?;
    Ok(LaunchConfig {
        grid_dim: (rows, 1, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes: 0,
    })
}

/// Launches `func` on `stream` with `args`.
///
/// # Safety
/// The caller guarantees that `args` match the kernel's C signature in count,
/// order and type (ABI.md), that every pointer is a live allocation of this
/// device large enough for what the kernel reads or writes with this launch
/// shape, and that `cfg` is the shape ABI.md asks for.
pub(crate) unsafe fn launch(
    stream: &CudaStream,
    func: &CudaFunction,
    cfg: LaunchConfig,
    args: &[Arg],
) -> std::result::Result<(), cudarc::driver::DriverError> {
    let mut builder = stream.launch_builder(func);
    for arg in args {
        match arg {
            Arg::Ptr(p) => builder.arg(p),
            Arg::I64(v) => builder.arg(v),
            Arg::I32(v) => builder.arg(v),
            Arg::F32(v) => builder.arg(v),
            Arg::Layout(l) => builder.arg(l),
        };
    }
    builder.launch(cfg).map(|_| ())
}
