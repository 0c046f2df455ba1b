//! Op front ends: validate operands, work out the output shape and dtype, and
//! hand the op to the device's dispatcher. Backends can trust what arrives.

use super::{DType, Shape, Tensor};
use crate::backend::{BinaryOp, ConvParams, MaskKind, Op, ReduceOp, Rounding, UnaryOp};
use crate::error::{Error, Result};

fn require_float(op: &'static str, t: &Tensor) -> Result<()> {
    if !t.dtype().is_float() {
        return Err(Error::dtype(op, t.dtype(), "expected f32, f16 or bf16"));
    }
    Ok(())
}

fn require_same_dtype(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(Error::dtype(
            op,
            b.dtype(),
            format!("the other operand is {}; convert with to_dtype", a.dtype()),
        ));
    }
    Ok(())
}

fn require_rank(op: &'static str, t: &Tensor, rank: usize, what: &str) -> Result<()> {
    if t.rank() != rank {
        return Err(Error::shape(
            op,
            format!("{what} must have rank {rank}, got {:?}", t.shape()),
        ));
    }
    Ok(())
}

fn require_vector(op: &'static str, t: &Tensor, len: usize, what: &str) -> Result<()> {
    if t.dims() != [len] {
        return Err(Error::shape(
            op,
            format!("{what} must have shape [{len}], got {:?}", t.shape()),
        ));
    }
    Ok(())
}

impl Tensor {
    fn run1(&self, op: Op, inputs: &[&Tensor], shape: Shape, dtype: DType) -> Result<Tensor> {
        let mut out = self.device().execute(&op, inputs, &[(shape, dtype)])?;
        Ok(out.remove(0))
    }

    // ---- matmul ------------------------------------------------------------

    /// `self [.., m, k] · rhs [.., k, n]`; batch dimensions broadcast.
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.matmul_impl(rhs, false)
    }

    /// `self [.., m, k] · rhsᵀ` with `rhs [.., n, k]` (a Linear weight, possibly
    /// quantized Q8_0/Q4_0, bf16 or f16).
    pub fn matmul_t(&self, rhs: &Tensor) -> Result<Tensor> {
        self.matmul_impl(rhs, true)
    }

    fn matmul_impl(&self, rhs: &Tensor, transpose_b: bool) -> Result<Tensor> {
        const OP: &str = "matmul";
        require_float(OP, self)?;
        if self.rank() < 2 || rhs.rank() < 2 {
            return Err(Error::shape(
                OP,
                format!(
                    "operands need rank >= 2, got {:?} and {:?}",
                    self.shape(),
                    rhs.shape()
                ),
            ));
        }
        if rhs.dtype().is_quantized() {
            if !transpose_b || rhs.rank() != 2 {
                return Err(Error::dtype(
                    OP,
                    rhs.dtype(),
                    "quantized weights must be 2-D [n, k] and used with matmul_t",
                ));
            }
        } else if !rhs.dtype().is_float() {
            return Err(Error::dtype(
                OP,
                rhs.dtype(),
                "expected a float or quantized right operand",
            ));
        }
        let (ar, br) = (self.rank(), rhs.rank());
        let (m, k) = (self.dims()[ar - 2], self.dims()[ar - 1]);
        let (kb, n) = if transpose_b {
            (rhs.dims()[br - 1], rhs.dims()[br - 2])
        } else {
            (rhs.dims()[br - 2], rhs.dims()[br - 1])
        };
        if k != kb {
            return Err(Error::shape(
                OP,
                format!(
                    "inner dimensions differ: {:?} x {:?}{}",
                    self.shape(),
                    rhs.shape(),
                    if transpose_b { "ᵀ" } else { "" }
                ),
            ));
        }
        let batch = Shape::broadcast(
            OP,
            &Shape::new(&self.dims()[..ar - 2]),
            &Shape::new(&rhs.dims()[..br - 2]),
        )?;
        let mut dims = batch.dims().to_vec();
        dims.extend([m, n]);
        let out_dtype = self.dtype();
        self.run1(
            Op::MatMul { transpose_b },
            &[self, rhs],
            Shape::new(dims),
            out_dtype,
        )
    }

    // ---- attention ---------------------------------------------------------

    /// Scaled dot-product attention. `q [b, hq, sq, d]`, `k`/`v` `[b, hkv, skv, d]`
    /// with `hq % hkv == 0` (grouped-query attention); any strides with a unit
    /// last stride (views into a KV cache are fine). Output `[b, hq, sq, d]`.
    pub fn attention(
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        scale: f32,
        mask: MaskKind,
    ) -> Result<Tensor> {
        const OP: &str = "attention";
        for (t, what) in [(q, "q"), (k, "k"), (v, "v")] {
            require_float(OP, t)?;
            require_rank(OP, t, 4, what)?;
        }
        require_same_dtype(OP, k, v)?;
        let (b, hq, sq, d) = (q.dims()[0], q.dims()[1], q.dims()[2], q.dims()[3]);
        let (hkv, skv) = (k.dims()[1], k.dims()[2]);
        if k.dims() != v.dims() || k.dims()[0] != b || k.dims()[3] != d {
            return Err(Error::shape(
                OP,
                format!(
                    "q {:?}, k {:?}, v {:?} do not match",
                    q.shape(),
                    k.shape(),
                    v.shape()
                ),
            ));
        }
        if hkv == 0 || hq % hkv != 0 {
            return Err(Error::shape(
                OP,
                format!("{hq} query heads are not a multiple of {hkv} kv heads"),
            ));
        }
        match &mask {
            MaskKind::Segments { cu_seqlens } => {
                let ok = sq == skv
                    && cu_seqlens.first() == Some(&0)
                    && cu_seqlens.last() == Some(&sq)
                    && cu_seqlens.windows(2).all(|w| w[0] <= w[1]);
                if !ok {
                    return Err(Error::shape(OP, format!("segments {cu_seqlens:?} must rise from 0 to the sequence length {sq} (and q_len == kv_len)")));
                }
            }
            MaskKind::SlidingWindow { window: 0, .. } => {
                return Err(Error::invalid(
                    "attention: sliding window must be at least 1",
                ));
            }
            _ => {}
        }
        if !scale.is_finite() {
            return Err(Error::invalid(format!(
                "attention: scale {scale} is not finite"
            )));
        }
        let out_dtype = q.dtype();
        q.run1(
            Op::Attention { scale, mask },
            &[q, k, v],
            Shape::new([b, hq, sq, d]),
            out_dtype,
        )
    }

    // ---- normalisation and position ----------------------------------------

    /// RMSNorm over the last dimension, `weight` `[d]` (optional).
    pub fn rms_norm(&self, weight: Option<&Tensor>, eps: f32) -> Result<Tensor> {
        self.rms_norm_with(weight, eps, Rounding::None)
    }

    /// RMSNorm that rounds the normalised value through `rounding` before the
    /// weight multiply (mirrors the reference's cast to bf16).
    pub fn rms_norm_with(
        &self,
        weight: Option<&Tensor>,
        eps: f32,
        rounding: Rounding,
    ) -> Result<Tensor> {
        const OP: &str = "rms_norm";
        require_float(OP, self)?;
        let mut inputs = vec![self];
        if let Some(w) = weight {
            require_float(OP, w)?;
            require_vector(OP, w, self.shape().last(), "weight")?;
            inputs.push(w);
        }
        self.run1(
            Op::RmsNorm { eps, rounding },
            &inputs,
            self.shape().clone(),
            self.dtype(),
        )
    }

    /// LayerNorm over the last dimension with optional weight and bias `[d]`.
    pub fn layer_norm(
        &self,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f32,
    ) -> Result<Tensor> {
        const OP: &str = "layer_norm";
        require_float(OP, self)?;
        if bias.is_some() && weight.is_none() {
            return Err(Error::invalid(
                "layer_norm: a bias needs a weight (pass a ones weight)",
            ));
        }
        let mut inputs = vec![self];
        for (t, what) in [(weight, "weight"), (bias, "bias")] {
            if let Some(t) = t {
                require_float(OP, t)?;
                require_vector(OP, t, self.shape().last(), what)?;
                inputs.push(t);
            }
        }
        self.run1(
            Op::LayerNorm { eps },
            &inputs,
            self.shape().clone(),
            self.dtype(),
        )
    }

    /// Half-rotation RoPE on `self [b, s, h, d]` with `cos`/`sin` `[b, s, r]`
    /// (or `[s, r]`, shared by the batch), r even and <= d.
    pub fn rope(&self, cos: &Tensor, sin: &Tensor, rounding: Rounding) -> Result<Tensor> {
        const OP: &str = "rope";
        require_float(OP, self)?;
        require_rank(OP, self, 4, "x")?;
        let (b, s, _, d) = (
            self.dims()[0],
            self.dims()[1],
            self.dims()[2],
            self.dims()[3],
        );
        if cos.shape() != sin.shape() {
            return Err(Error::shape(
                OP,
                format!("cos {:?} and sin {:?} differ", cos.shape(), sin.shape()),
            ));
        }
        let r = cos.shape().last();
        let fits = match cos.dims() {
            [cs, _] => *cs == s,
            [cb, cs, _] => *cb == b && *cs == s,
            _ => false,
        };
        if !fits || r > d || r % 2 != 0 {
            return Err(Error::shape(
                OP,
                format!(
                    "tables {:?} do not fit x {:?} (need [{b}, {s}, r] or [{s}, r], r even <= {d})",
                    cos.shape(),
                    self.shape()
                ),
            ));
        }
        let (cos, sin) = if cos.rank() == 2 {
            (
                cos.unsqueeze(0)?.broadcast_as([b, s, r])?,
                sin.unsqueeze(0)?.broadcast_as([b, s, r])?,
            )
        } else {
            (cos.clone(), sin.clone())
        };
        let cos = cos.to_dtype(DType::F32)?;
        let sin = sin.to_dtype(DType::F32)?;
        self.run1(
            Op::Rope { rounding },
            &[self, &cos, &sin],
            self.shape().clone(),
            self.dtype(),
        )
    }

    /// Softmax over the last dimension (computed in f32).
    pub fn softmax(&self) -> Result<Tensor> {
        require_float("softmax", self)?;
        self.run1(Op::Softmax, &[self], self.shape().clone(), self.dtype())
    }

    // ---- elementwise ---------------------------------------------------------

    pub fn unary(&self, op: UnaryOp) -> Result<Tensor> {
        require_float("unary", self)?;
        self.run1(Op::Unary(op), &[self], self.shape().clone(), self.dtype())
    }
    pub fn silu(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Silu)
    }
    pub fn gelu_tanh(&self) -> Result<Tensor> {
        self.unary(UnaryOp::GeluTanh)
    }
    pub fn gelu_erf(&self) -> Result<Tensor> {
        self.unary(UnaryOp::GeluErf)
    }
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sigmoid)
    }
    pub fn exp(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Exp)
    }

    /// Elementwise `self op rhs` with broadcasting.
    pub fn binary(&self, op: BinaryOp, rhs: &Tensor) -> Result<Tensor> {
        require_float("binary", self)?;
        require_same_dtype("binary", self, rhs)?;
        let shape = Shape::broadcast("binary", self.shape(), rhs.shape())?;
        self.run1(Op::Binary(op), &[self, rhs], shape, self.dtype())
    }
    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Add, rhs)
    }
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Sub, rhs)
    }
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Mul, rhs)
    }
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Div, rhs)
    }
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Max, rhs)
    }
    pub fn minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Min, rhs)
    }

    /// `self op value` with a scalar of this tensor's dtype.
    pub fn binary_scalar(&self, op: BinaryOp, value: f32) -> Result<Tensor> {
        let s = Tensor::scalar(value, self.device())?.to_dtype(self.dtype())?;
        self.binary(op, &s)
    }

    /// `silu(self) * up`.
    pub fn swiglu(&self, up: &Tensor) -> Result<Tensor> {
        require_float("swiglu", self)?;
        require_same_dtype("swiglu", self, up)?;
        if self.shape() != up.shape() {
            return Err(Error::shape(
                "swiglu",
                format!("gate {:?} and up {:?} differ", self.shape(), up.shape()),
            ));
        }
        self.run1(Op::SwiGlu, &[self, up], self.shape().clone(), self.dtype())
    }

    /// SnakeBeta on `self [b, c, t]` with log-scale `alpha`, `beta` `[c]`.
    pub fn snake(&self, alpha: &Tensor, beta: &Tensor) -> Result<Tensor> {
        const OP: &str = "snake";
        require_float(OP, self)?;
        require_rank(OP, self, 3, "x")?;
        let c = self.dims()[1];
        require_vector(OP, alpha, c, "alpha")?;
        require_vector(OP, beta, c, "beta")?;
        let (alpha, beta) = (alpha.to_dtype(DType::F32)?, beta.to_dtype(DType::F32)?);
        self.run1(
            Op::Snake,
            &[self, &alpha, &beta],
            self.shape().clone(),
            self.dtype(),
        )
    }

    // ---- indexing and data movement -------------------------------------------

    /// Rows of `self [v, d]` picked by integer `ids` (any shape) -> `[ids.., d]`.
    /// Out-of-range ids are an error, not a wrap-around.
    pub fn gather_rows(&self, ids: &Tensor) -> Result<Tensor> {
        const OP: &str = "gather";
        require_rank(OP, self, 2, "table")?;
        if !matches!(ids.dtype(), DType::U32 | DType::I32 | DType::I64) {
            return Err(Error::dtype(OP, ids.dtype(), "ids must be u32, i32 or i64"));
        }
        let mut dims = ids.dims().to_vec();
        dims.push(self.dims()[1]);
        let out_dtype = if self.dtype().is_quantized() {
            DType::F32
        } else {
            self.dtype()
        };
        self.run1(Op::Gather, &[self, ids], Shape::new(dims), out_dtype)
    }

    /// Concatenate along `dim`; all other dimensions must agree.
    pub fn cat(tensors: &[&Tensor], dim: usize) -> Result<Tensor> {
        const OP: &str = "concat";
        let first = tensors
            .first()
            .ok_or_else(|| Error::invalid("concat of zero tensors"))?;
        if dim >= first.rank() {
            return Err(Error::shape(
                OP,
                format!("dimension {dim} out of range for {:?}", first.shape()),
            ));
        }
        let mut total = 0usize;
        for t in tensors {
            require_same_dtype(OP, first, t)?;
            if first.dtype().is_quantized() {
                return Err(Error::dtype(
                    OP,
                    first.dtype(),
                    "dequantize before concatenating",
                ));
            }
            let same_others = t.rank() == first.rank()
                && t.dims()
                    .iter()
                    .zip(first.dims())
                    .enumerate()
                    .all(|(i, (a, b))| i == dim || a == b);
            if !same_others {
                return Err(Error::shape(
                    OP,
                    format!(
                        "{:?} does not match {:?} outside dimension {dim}",
                        t.shape(),
                        first.shape()
                    ),
                ));
            }
            total = total
                .checked_add(t.dims()[dim])
                .ok_or_else(|| Error::overflow("concat length"))?;
        }
        let mut dims = first.dims().to_vec();
        dims[dim] = total;
        first.run1(Op::Concat { dim }, tensors, Shape::new(dims), first.dtype())
    }

    // ---- convolutions ------------------------------------------------------------

    /// 1-D convolution: `self [b, c_in, l]`, `weight [c_out, c_in/groups, k]`.
    /// `padding` is `(left, right)` zeros.
    pub fn conv1d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        padding: (usize, usize),
        dilation: usize,
        groups: usize,
    ) -> Result<Tensor> {
        const OP: &str = "conv1d";
        let (b, c_in, l) = self.conv_input3(OP, weight, bias)?;
        let (c_out, cpg, k) = (weight.dims()[0], weight.dims()[1], weight.dims()[2]);
        check_groups(OP, c_in, c_out, cpg, groups, false)?;
        let kp = omnirt_kernels::conv::Conv1dParams {
            stride,
            padding_left: padding.0,
            padding_right: padding.1,
            dilation,
            groups,
        };
        let l_out = omnirt_kernels::conv::conv1d_out_len(&kp, l, k)
            .ok_or_else(|| Error::shape(OP, format!("input length {l} with kernel {k}, stride {stride}, dilation {dilation}, padding {padding:?} gives no output")))?;
        let params = ConvParams {
            stride: vec![stride],
            padding: vec![padding.0, padding.1],
            dilation: vec![dilation],
            groups,
        };
        self.conv_run(Op::Conv1d(params), weight, bias, vec![b, c_out, l_out])
    }

    /// 2-D convolution: `self [b, c_in, h, w]`, `weight [c_out, c_in/groups, kh, kw]`,
    /// symmetric zero `padding (ph, pw)`.
    pub fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        groups: usize,
    ) -> Result<Tensor> {
        const OP: &str = "conv2d";
        require_float(OP, self)?;
        require_rank(OP, self, 4, "input")?;
        require_rank(OP, weight, 4, "weight")?;
        require_same_dtype(OP, self, weight)?;
        let (b, c_in, h, w) = (
            self.dims()[0],
            self.dims()[1],
            self.dims()[2],
            self.dims()[3],
        );
        let (c_out, cpg, kh, kw) = (
            weight.dims()[0],
            weight.dims()[1],
            weight.dims()[2],
            weight.dims()[3],
        );
        check_groups(OP, c_in, c_out, cpg, groups, false)?;
        check_bias(OP, self, bias, c_out)?;
        let kp = omnirt_kernels::conv::Conv2dParams {
            stride,
            padding,
            dilation,
            groups,
        };
        let Some((oh, ow)) = omnirt_kernels::conv::conv2d_out_dims(&kp, h, w, kh, kw) else {
            return Err(Error::shape(
                OP,
                format!("input {h}x{w} with kernel {kh}x{kw} gives no output"),
            ));
        };
        let params = ConvParams {
            stride: vec![stride.0, stride.1],
            padding: vec![padding.0, padding.1],
            dilation: vec![dilation.0, dilation.1],
            groups,
        };
        self.conv_run(Op::Conv2d(params), weight, bias, vec![b, c_out, oh, ow])
    }

    /// Transposed 1-D convolution (PyTorch semantics): `self [b, c_in, l]`,
    /// `weight [c_in, c_out/groups, k]`.
    #[allow(clippy::too_many_arguments)]
    pub fn conv_transpose1d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        padding: usize,
        output_padding: usize,
        dilation: usize,
        groups: usize,
    ) -> Result<Tensor> {
        const OP: &str = "conv_transpose1d";
        let (b, c_in, l) = self.conv_input3(OP, weight, bias)?;
        let (wc_in, opg, k) = (weight.dims()[0], weight.dims()[1], weight.dims()[2]);
        if wc_in != c_in {
            return Err(Error::shape(
                OP,
                format!(
                    "weight {:?} expects {wc_in} input channels, input has {c_in}",
                    weight.shape()
                ),
            ));
        }
        let c_out = opg
            .checked_mul(groups)
            .ok_or_else(|| Error::overflow("conv channels"))?;
        check_groups(OP, c_in, c_out, opg, groups, true)?;
        if output_padding >= stride.max(dilation) {
            return Err(Error::invalid(format!(
                "{OP}: output_padding {output_padding} must be smaller than stride or dilation"
            )));
        }
        if let Some(bias) = bias {
            require_vector(OP, bias, c_out, "bias")?;
        }
        let kp = omnirt_kernels::conv::ConvTranspose1dParams {
            stride,
            padding,
            output_padding,
            dilation,
            groups,
        };
        let l_out = omnirt_kernels::conv::conv_transpose1d_out_len(&kp, l, k)
            .ok_or_else(|| Error::shape(OP, format!("input length {l} gives no output")))?;
        let params = ConvParams {
            stride: vec![stride],
            padding: vec![padding, output_padding],
            dilation: vec![dilation],
            groups,
        };
        self.conv_run(
            Op::ConvTranspose1d(params),
            weight,
            bias,
            vec![b, c_out, l_out],
        )
    }

    fn conv_input3(
        &self,
        op: &'static str,
        weight: &Tensor,
        bias: Option<&Tensor>,
    ) -> Result<(usize, usize, usize)> {
        require_float(op, self)?;
        require_rank(op, self, 3, "input")?;
        require_rank(op, weight, 3, "weight")?;
        require_same_dtype(op, self, weight)?;
        if op == "conv1d" {
            check_bias(op, self, bias, weight.dims()[0])?;
        } else if let Some(b) = bias {
            require_same_dtype(op, self, b)?;
        }
        Ok((self.dims()[0], self.dims()[1], self.dims()[2]))
    }

    fn conv_run(
        &self,
        op: Op,
        weight: &Tensor,
        bias: Option<&Tensor>,
        out: Vec<usize>,
    ) -> Result<Tensor> {
        let mut inputs = vec![self, weight];
        if let Some(b) = bias {
            inputs.push(b);
        }
        let out = Shape::new(out);
        out.numel()?;
        self.run1(op, &inputs, out, self.dtype())
    }

    // ---- reductions --------------------------------------------------------------

    /// Reduce the last dimension (the output drops it).
    pub fn reduce(&self, op: ReduceOp) -> Result<Tensor> {
        require_float("reduce", self)?;
        if self.rank() == 0 || (self.shape().last() == 0 && !matches!(op, ReduceOp::Sum)) {
            return Err(Error::shape(
                "reduce",
                format!("cannot reduce the last dimension of {:?}", self.shape()),
            ));
        }
        let dims = self.dims()[..self.rank() - 1].to_vec();
        self.run1(Op::Reduce(op), &[self], Shape::new(dims), self.dtype())
    }
    pub fn sum_last(&self) -> Result<Tensor> {
        self.reduce(ReduceOp::Sum)
    }
    pub fn max_last(&self) -> Result<Tensor> {
        self.reduce(ReduceOp::Max)
    }
    pub fn mean_last(&self) -> Result<Tensor> {
        self.reduce(ReduceOp::Mean)
    }

    /// Index of the largest value along the last dimension (u32, first on ties).
    pub fn argmax_last(&self) -> Result<Tensor> {
        require_float("argmax", self)?;
        if self.rank() == 0 || self.shape().last() == 0 {
            return Err(Error::shape(
                "argmax",
                format!("empty last dimension in {:?}", self.shape()),
            ));
        }
        let dims = self.dims()[..self.rank() - 1].to_vec();
        self.run1(Op::ArgMax, &[self], Shape::new(dims), DType::U32)
    }

    /// The `k` largest values along the last dimension, sorted descending, and
    /// their indices (u32).
    pub fn topk_last(&self, k: usize) -> Result<(Tensor, Tensor)> {
        require_float("topk", self)?;
        let d = self.shape().last();
        if self.rank() == 0 || k == 0 || k > d {
            return Err(Error::invalid(format!(
                "topk: k = {k} must be in 1..={d} for {:?}",
                self.shape()
            )));
        }
        let mut dims = self.dims().to_vec();
        dims[self.rank() - 1] = k;
        let shape = Shape::new(dims);
        let out = self.device().execute(
            &Op::TopK { k },
            &[self],
            &[(shape.clone(), self.dtype()), (shape, DType::U32)],
        )?;
        match <[Tensor; 2]>::try_from(out) {
            Ok([values, indices]) => Ok((values, indices)),
            Err(_) => Err(Error::invalid(
                "topk: the backend returned the wrong number of outputs",
            )),
        }
    }
}

fn check_groups(
    op: &'static str,
    c_in: usize,
    c_out: usize,
    per_group: usize,
    groups: usize,
    transposed: bool,
) -> Result<()> {
    let ok = groups > 0
        && c_in % groups == 0
        && c_out % groups == 0
        && if transposed {
            per_group == c_out / groups
        } else {
            per_group == c_in / groups
        };
    if !ok {
        return Err(Error::shape(op, format!("{c_in} input / {c_out} output channels do not fit {groups} groups with {per_group} channels per group in the weight")));
    }
    Ok(())
}

fn check_bias(op: &'static str, x: &Tensor, bias: Option<&Tensor>, c_out: usize) -> Result<()> {
    if let Some(b) = bias {
        require_same_dtype(op, x, b)?;
        require_vector(op, b, c_out, "bias")?;
    }
    Ok(())
}
