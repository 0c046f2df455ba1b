//! The vocabulary of inference primitives every backend speaks, at the
//! granularity where fusion pays, with a cost model (FLOPs and bytes moved) so
//! benchmarks can report achieved throughput against a chip's roofline.

use crate::tensor::{DType, Shape};

pub use omnirt_kernels::act::UnaryOp;
pub use omnirt_kernels::binary::BinaryOp;
pub use omnirt_kernels::cast::Rounding;
pub use omnirt_kernels::reduce::ReduceOp;

/// Masks understood by `Op::Attention`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MaskKind {
    /// Every query sees every key.
    None,
    /// Query i sits at absolute position `q_offset + i` and sees keys `j <= q_offset + i`.
    Causal { q_offset: usize },
    /// Causal, limited to the last `window` keys (`q_offset + i - window < j`).
    SlidingWindow { q_offset: usize, window: usize },
    /// Bidirectional inside segments that start at the given positions
    /// (`cu_seqlens`: starts with 0, ends with the sequence length).
    Segments { cu_seqlens: Vec<usize> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConvParams {
    pub stride: Vec<usize>,
    /// Zero padding per side: for conv1d `[left, right]`, for conv2d `[h, w]` (symmetric).
    pub padding: Vec<usize>,
    pub dilation: Vec<usize>,
    pub groups: usize,
}

/// One primitive. Inputs and outputs are tensors passed next to it; the op
/// carries only the parameters. Shapes are validated by the tensor front end
/// before a backend sees the op.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `a [.., m, k] · b` with b `[.., k, n]`, or `[.., n, k]` when `transpose_b`
    /// (Linear weights). Batch dims broadcast. A quantized b must be 2-D and transposed.
    MatMul {
        transpose_b: bool,
    },
    /// `q [b, hq, sq, d]`, `k`/`v` `[b, hkv, skv, d]` (any strides with unit last
    /// stride) -> `[b, hq, sq, d]`.
    Attention {
        scale: f32,
        mask: MaskKind,
    },
    /// `x [.., d]`, optional weight `[d]`; `rounding` mirrors reference casts.
    RmsNorm {
        eps: f32,
        rounding: Rounding,
    },
    /// `x [.., d]`, optional weight and bias `[d]`.
    LayerNorm {
        eps: f32,
    },
    /// Half-rotation RoPE: `x [b, s, h, d]` with `cos`/`sin` `[b, s, r]` (r <= d,
    /// already in `cat(freqs, freqs)` form). Covers 1-D, interleaved M-RoPE and 2-D
    /// vision RoPE, which differ only in how the tables are built.
    Rope {
        rounding: Rounding,
    },
    /// Softmax over the last dimension.
    Softmax,
    Unary(UnaryOp),
    /// Elementwise with NumPy broadcasting.
    Binary(BinaryOp),
    /// `silu(gate) * up` over two same-shape tensors.
    SwiGlu,
    /// SnakeBeta over `x [b, c, t]` with per-channel log-scale `alpha`, `beta` `[c]`.
    Snake,
    /// Convert to the output dtype (quantizes or dequantizes for Q8_0/Q4_0).
    Cast,
    /// Strided view -> contiguous tensor.
    Copy,
    /// Rows of a table `[v, d]` picked by integer ids `[..]` -> `[.., d]`.
    Gather,
    /// Concatenate inputs along `dim`.
    Concat {
        dim: usize,
    },
    /// `x [b, c_in, l]`, `w [c_out, c_in/g, k]`, optional bias `[c_out]`.
    Conv1d(ConvParams),
    /// `x [b, c_in, h, w]`, `w [c_out, c_in/g, kh, kw]`, optional bias.
    Conv2d(ConvParams),
    /// `x [b, c_in, l]`, `w [c_in, c_out/g, k]`, optional bias; `padding[0]` is
    /// PyTorch's symmetric padding, `padding[1]` the output padding.
    ConvTranspose1d(ConvParams),
    /// Reduce the last dimension.
    Reduce(ReduceOp),
    /// Index of the largest value along the last dimension (u32).
    ArgMax,
    /// The k largest values along the last dimension, sorted descending: two
    /// outputs, values (input dtype) and indices (u32).
    TopK {
        k: usize,
    },
}

/// Work an op does: floating-point operations and bytes moved to/from memory.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cost {
    pub flops: f64,
    pub bytes: f64,
}

impl Cost {
    /// FLOPs per byte.
    pub fn intensity(&self) -> f64 {
        if self.bytes > 0.0 {
            self.flops / self.bytes
        } else {
            0.0
        }
    }
}

impl Op {
    /// A short stable name, used in statistics and fallback counts.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MatMul { .. } => "matmul",
            Op::Attention { .. } => "attention",
            Op::RmsNorm { .. } => "rms_norm",
            Op::LayerNorm { .. } => "layer_norm",
            Op::Rope { .. } => "rope",
            Op::Softmax => "softmax",
            Op::Unary(_) => "unary",
            Op::Binary(_) => "binary",
            Op::SwiGlu => "swiglu",
            Op::Snake => "snake",
            Op::Cast => "cast",
            Op::Copy => "copy",
            Op::Gather => "gather",
            Op::Concat { .. } => "concat",
            Op::Conv1d(_) => "conv1d",
            Op::Conv2d(_) => "conv2d",
            Op::ConvTranspose1d(_) => "conv_transpose1d",
            Op::Reduce(_) => "reduce",
            Op::ArgMax => "argmax",
            Op::TopK { .. } => "topk",
        }
    }

    /// Estimated cost for inputs and outputs of the given shapes and dtypes.
    pub fn cost(&self, inputs: &[(&Shape, DType)], outputs: &[(&Shape, DType)]) -> Cost {
        let bytes_of =
            |s: &Shape, d: DType| (s.elem_count() / d.block_len()) as f64 * d.block_bytes() as f64;
        let bytes: f64 = inputs
            .iter()
            .chain(outputs)
            .map(|&(s, d)| bytes_of(s, d))
            .sum();
        let out_elems = outputs
            .first()
            .map(|(s, _)| s.elem_count() as f64)
            .unwrap_or(0.0);
        let in_elems = inputs
            .first()
            .map(|(s, _)| s.elem_count() as f64)
            .unwrap_or(0.0);
        let flops = match self {
            Op::MatMul { transpose_b } => {
                // 2·m·n·k per batch = 2 · out_elems · k
                let a = inputs.first().map(|(s, _)| s.last()).unwrap_or(0);
                let _ = transpose_b;
                2.0 * out_elems * a as f64
            }
            Op::Attention { .. } => {
                // QKᵀ and PV: 4 · b · hq · sq · skv · d (upper bound, masks ignored)
                let (q, k) = (inputs.first(), inputs.get(1));
                match (q, k) {
                    (Some((qs, _)), Some((ks, _))) if qs.rank() == 4 && ks.rank() == 4 => {
                        4.0 * qs.elem_count() as f64 * ks.dims()[2] as f64
                    }
                    _ => 0.0,
                }
            }
            Op::Conv1d(_) | Op::Conv2d(_) => {
                let w = inputs
                    .get(1)
                    .map(|(s, _)| s.elem_count() as f64)
                    .unwrap_or(0.0);
                let c_out = inputs
                    .get(1)
                    .and_then(|(s, _)| s.dims().first().copied())
                    .unwrap_or(1)
                    .max(1);
                2.0 * out_elems * w / c_out as f64
            }
            Op::ConvTranspose1d(_) => {
                let w = inputs
                    .get(1)
                    .map(|(s, _)| s.elem_count() as f64)
                    .unwrap_or(0.0);
                let l_in = inputs.first().map(|(s, _)| s.last()).unwrap_or(0);
                let batch = inputs
                    .first()
                    .and_then(|(s, _)| s.dims().first().copied())
                    .unwrap_or(1);
                2.0 * (batch * l_in) as f64 * w
            }
            Op::RmsNorm { .. } | Op::LayerNorm { .. } | Op::Softmax => 5.0 * in_elems,
            Op::Rope { .. } => 3.0 * in_elems,
            Op::Unary(_) | Op::Snake | Op::SwiGlu => 4.0 * out_elems,
            Op::Binary(_) | Op::Reduce(_) | Op::ArgMax | Op::TopK { .. } => in_elems.max(out_elems),
            Op::Cast | Op::Copy | Op::Gather | Op::Concat { .. } => 0.0,
        };
        Cost { flops, bytes }
    }
}
