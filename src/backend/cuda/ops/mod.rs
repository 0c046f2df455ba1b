//! Op -> kernel mapping of the CUDA backend, one file per op family. The table
//! [`kernel_table`] lists every kernel name the backend launches; a test checks
//! each is defined in `omnirt_kernels::cuda_sources::SOURCES`.

mod attention;
mod conv;
mod data;
mod elementwise;
mod matmul;
mod rowwise;

pub use super::launch::ArgKind;
use crate::backend::{Op, OutputSlot};
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

use super::CudaBackend;

/// Kernels one op family launches (by dtype where it has variants).
#[derive(Clone, Copy, Debug)]
pub struct KernelUse {
    /// `Op::name()` of the op (or a helper: `copy` is also used to make inputs contiguous).
    pub op: &'static str,
    pub kernels: &'static [&'static str],
}

/// Every kernel the backend may launch, by op.
pub fn kernel_table() -> &'static [KernelUse] {
    &[
        KernelUse {
            op: "matmul",
            kernels: &matmul::GEMV,
        },
        KernelUse {
            op: "matmul",
            kernels: &data::QUANT,
        },
        KernelUse {
            op: "unary",
            kernels: &elementwise::UNARY,
        },
        KernelUse {
            op: "binary",
            kernels: &elementwise::BINARY,
        },
        KernelUse {
            op: "swiglu",
            kernels: &elementwise::SWIGLU,
        },
        KernelUse {
            op: "snake",
            kernels: &elementwise::SNAKE,
        },
        KernelUse {
            op: "rms_norm",
            kernels: &rowwise::RMS_NORM,
        },
        KernelUse {
            op: "layer_norm",
            kernels: &rowwise::LAYER_NORM,
        },
        KernelUse {
            op: "rope",
            kernels: &rowwise::ROPE,
        },
        KernelUse {
            op: "softmax",
            kernels: &rowwise::SOFTMAX,
        },
        KernelUse {
            op: "reduce",
            kernels: &rowwise::REDUCE,
        },
        KernelUse {
            op: "argmax",
            kernels: &rowwise::ARGMAX,
        },
        KernelUse {
            op: "topk",
            kernels: &rowwise::TOPK,
        },
        KernelUse {
            op: "copy",
            kernels: &data::COPY,
        },
        KernelUse {
            op: "cast",
            kernels: &data::CAST,
        },
        KernelUse {
            op: "cast",
            kernels: &data::QUANT,
        },
        KernelUse {
            op: "gather",
            kernels: &data::GATHER,
        },
        KernelUse {
            op: "concat",
            kernels: &data::CONCAT,
        },
        KernelUse {
            op: "attention",
            kernels: &attention::ATTENTION,
        },
        KernelUse {
            op: "attention",
            kernels: &attention::COMBINE,
        },
        KernelUse {
            op: "conv1d",
            kernels: &conv::CONV1D,
        },
        KernelUse {
            op: "conv2d",
            kernels: &conv::CONV2D,
        },
        KernelUse {
            op: "conv_transpose1d",
            kernels: &conv::CONV_TRANSPOSE1D,
        },
    ]
}

/// The parameter kinds of a kernel family, one per C parameter in order.
#[derive(Clone, Copy, Debug)]
pub struct KernelSignature {
    pub kernels: &'static [&'static str],
    pub args: &'static [ArgKind],
}

use ArgKind::{Layout as L, Ptr as P, F32, I32, I64};

/// The C signature (parameter kinds, in order) of every kernel the backend
/// launches, transcribed from ABI.md. `CudaBackend::launch` refuses a launch
/// whose arguments differ from this table, and `tests/cuda.rs` parses ABI.md
/// and compares it with this table, so the table, the launches and the
/// documented ABI cannot drift apart silently.
pub fn kernel_signatures() -> &'static [KernelSignature] {
    const SIGS: &[KernelSignature] = &[
        KernelSignature {
            kernels: &elementwise::UNARY,
            args: &[P, P, I64, I32],
        },
        KernelSignature {
            kernels: &elementwise::BINARY,
            args: &[P, L, P, L, P, I64, I32],
        },
        KernelSignature {
            kernels: &elementwise::SWIGLU,
            args: &[P, P, P, I64],
        },
        KernelSignature {
            kernels: &elementwise::SNAKE,
            args: &[P, P, P, P, I64, I64, I64],
        },
        KernelSignature {
            kernels: &rowwise::RMS_NORM,
            args: &[P, P, P, I64, I64, F32, I32],
        },
        KernelSignature {
            kernels: &rowwise::LAYER_NORM,
            args: &[P, P, P, P, I64, I64, F32],
        },
        KernelSignature {
            kernels: &rowwise::ROPE,
            args: &[P, P, P, P, I64, I64, I64, I64, I64, I32],
        },
        KernelSignature {
            kernels: &rowwise::SOFTMAX,
            args: &[P, P, I64, I64],
        },
        KernelSignature {
            kernels: &rowwise::REDUCE,
            args: &[P, P, I64, I64, I32],
        },
        KernelSignature {
            kernels: &rowwise::ARGMAX,
            args: &[P, P, I64, I64],
        },
        KernelSignature {
            kernels: &rowwise::TOPK,
            args: &[P, P, P, I64, I64, I64],
        },
        KernelSignature {
            kernels: &data::CAST,
            args: &[P, I32, P, I32, I64],
        },
        KernelSignature {
            kernels: &data::QUANT,
            args: &[P, P, I64],
        },
        KernelSignature {
            kernels: &data::COPY,
            args: &[P, L, P, I64],
        },
        KernelSignature {
            kernels: &data::GATHER,
            args: &[P, I64, I64, P, I64, P, P],
        },
        KernelSignature {
            kernels: &data::CONCAT,
            args: &[P, I64, I64, P, I64, I64],
        },
        KernelSignature {
            kernels: &matmul::GEMV,
            args: &[P, P, P, I64, I64, I64],
        },
        KernelSignature {
            kernels: &attention::ATTENTION,
            args: &[
                P, I64, I64, I64, // q
                P, I64, I64, I64, // k
                P, I64, I64, I64, // v
                P, P, P, // out, part_acc, part_ml
                I64, I64, I64, I64, I64, I64, // batch, hq, hkv, sq, skv, d
                F32, I32, I64, I64, // scale, mask_kind, q_offset, window
                P, I64, I32, // cu_seqlens, n_cu, num_splits
            ],
        },
        KernelSignature {
            kernels: &attention::COMBINE,
            args: &[P, P, P, I64, I64, I32],
        },
        KernelSignature {
            kernels: &conv::CONV1D,
            args: &[P, P, P, P, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64],
        },
        KernelSignature {
            kernels: &conv::CONV2D,
            args: &[
                P, P, P, P, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64,
                I64, I64,
            ],
        },
        KernelSignature {
            kernels: &conv::CONV_TRANSPOSE1D,
            args: &[P, P, P, P, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64],
        },
    ];
    SIGS
}

/// The parameter kinds of kernel `name` (from [`kernel_signatures`]).
pub fn kernel_signature(name: &str) -> Option<&'static [ArgKind]> {
    kernel_signatures()
        .iter()
        .find(|s| s.kernels.contains(&name))
        .map(|s| s.args)
}

/// The variant of a kernel family for a float dtype, in `[f32, f16, bf16]` order.
pub(crate) fn by_float(names: &[&'static str; 3], dtype: DType) -> Option<&'static str> {
    match dtype {
        DType::F32 => Some(names[0]),
        DType::F16 => Some(names[1]),
        DType::BF16 => Some(names[2]),
        _ => None,
    }
}

fn all_same_float(dtypes: &[DType]) -> bool {
    dtypes.first().is_some_and(|d| d.is_float()) && dtypes.iter().all(|d| *d == dtypes[0])
}

/// Whether `run` takes this op with inputs of these dtypes.
pub(crate) fn supports(op: &Op, dtypes: &[DType]) -> bool {
    let floats = |n: usize| dtypes.len() == n && all_same_float(dtypes);
    match op {
        Op::MatMul { .. } => matmul::supports(dtypes),
        Op::Unary(_) | Op::Softmax | Op::Reduce(_) | Op::ArgMax | Op::TopK { .. } => floats(1),
        Op::Binary(_) | Op::SwiGlu => floats(2),
        Op::RmsNorm { .. } => floats(1) || floats(2),
        Op::LayerNorm { .. } => floats(1) || floats(2) || floats(3),
        Op::Rope { .. } => {
            matches!(dtypes, [x, DType::F32, DType::F32] if x.is_float())
        }
        Op::Snake => {
            matches!(dtypes, [x, DType::F32, DType::F32] if x.is_float())
        }
        Op::Copy => data::supports_copy(dtypes),
        Op::Cast => data::supports_cast(dtypes),
        Op::Gather => data::supports_gather(dtypes),
        Op::Concat { .. } => dtypes.iter().all(|d| *d == dtypes[0]),
        Op::Attention { .. } => attention::supports(dtypes),
        Op::Conv1d(_) | Op::Conv2d(_) | Op::ConvTranspose1d(_) => conv::supports(dtypes),
    }
}

pub(crate) fn run(
    b: &CudaBackend,
    op: &Op,
    inputs: &[&Tensor],
    outputs: &mut [OutputSlot<'_>],
) -> Result<()> {
    if let Op::TopK { k } = op {
        return rowwise::topk(b, *k, inputs, outputs);
    }
    let [out, ..] = outputs else {
        return Err(Error::invalid(format!("{}: no output slot", op.name())));
    };
    match op {
        Op::MatMul { transpose_b } => matmul::matmul(b, inputs, *transpose_b, out),
        Op::Unary(u) => elementwise::unary(b, *u, inputs, out),
        Op::Binary(o) => elementwise::binary(b, *o, inputs, out),
        Op::SwiGlu => elementwise::swiglu(b, inputs, out),
        Op::Snake => elementwise::snake(b, inputs, out),
        Op::RmsNorm { eps, rounding } => rowwise::rms_norm(b, inputs, *eps, *rounding, out),
        Op::LayerNorm { eps } => rowwise::layer_norm(b, inputs, *eps, out),
        Op::Rope { rounding } => rowwise::rope(b, inputs, *rounding, out),
        Op::Softmax => rowwise::softmax(b, inputs, out),
        Op::Reduce(r) => rowwise::reduce(b, *r, inputs, out),
        Op::ArgMax => rowwise::argmax(b, inputs, out),
        Op::Copy => data::copy(b, inputs, out),
        Op::Cast => data::cast(b, inputs, out),
        Op::Gather => data::gather(b, inputs, out),
        Op::Concat { dim } => data::concat(b, inputs, *dim, out),
        Op::Attention { scale, mask } => attention::attention(b, inputs, *scale, mask, out),
        Op::Conv1d(p) => conv::conv1d(b, p, inputs, out),
        Op::Conv2d(p) => conv::conv2d(b, p, inputs, out),
        Op::ConvTranspose1d(p) => conv::conv_transpose1d(b, p, inputs, out),
        Op::TopK { .. } => Err(Error::Unsupported(format!(
            "{} has no CUDA kernel yet (supports() refuses it; the dispatcher runs it on the CPU)",
            op.name()
        ))),
    }
}

/// The `i`-th input, or a clear error.
pub(crate) fn input<'a>(inputs: &[&'a Tensor], i: usize, op: &str) -> Result<&'a Tensor> {
    inputs
        .get(i)
        .copied()
        .ok_or_else(|| Error::invalid(format!("{op}: missing input {i}")))
}

/// Checks that the output slot holds `dtype` (front end guarantees; keeps a
/// malformed direct call from launching a kernel of the wrong width).
pub(crate) fn check_out(
    out: &OutputSlot<'_>,
    dtype: DType,
    n: usize,
    op: &'static str,
) -> Result<()> {
    if out.dtype != dtype {
        return Err(Error::dtype(
            op,
            out.dtype,
            format!("output must be {dtype}"),
        ));
    }
    let need = dtype.storage_bytes(n)?;
    if out.buffer.len() < need {
        return Err(Error::shape(
            op,
            format!("output buffer of {} bytes, need {need}", out.buffer.len()),
        ));
    }
    Ok(())
}
