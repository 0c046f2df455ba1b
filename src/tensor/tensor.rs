//! `Tensor`: storage on a device (shared, immutable once built), a strided
//! layout over it and a dtype. Views share storage; ops allocate new storage.

use std::sync::Arc;

use super::{DType, Element, Layout, Shape};
use crate::backend::{Device, DeviceBuffer, Op};
use crate::checkpoint::MappedBytes;
use crate::error::{Error, Result};

#[derive(Clone)]
pub struct Tensor {
    storage: Arc<dyn DeviceBuffer>,
    layout: Layout,
    dtype: DType,
    device: Device,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tensor({} {:?} on {}{})",
            self.dtype,
            self.shape(),
            self.device.name(),
            if self.is_contiguous() {
                ""
            } else {
                ", strided"
            }
        )
    }
}

impl Tensor {
    pub(crate) fn from_parts(
        storage: Arc<dyn DeviceBuffer>,
        layout: Layout,
        dtype: DType,
        device: Device,
    ) -> Tensor {
        Tensor {
            storage,
            layout,
            dtype,
            device,
        }
    }

    /// A tensor holding a copy of `data`.
    pub fn from_slice<T: Element>(
        data: &[T],
        shape: impl Into<Shape>,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let n = shape.numel()?;
        if n != data.len() {
            return Err(Error::shape(
                "from_slice",
                format!(
                    "{} values do not fill shape {shape:?} ({n} elements)",
                    data.len()
                ),
            ));
        }
        Tensor::from_bytes(bytemuck::cast_slice(data), T::DTYPE, shape, device)
    }

    /// A tensor from raw little-endian bytes of `dtype` (quantized types: whole blocks).
    pub fn from_bytes(
        bytes: &[u8],
        dtype: DType,
        shape: impl Into<Shape>,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        check_quantized_shape(dtype, &shape)?;
        let want = dtype.storage_bytes(shape.numel()?)?;
        if want != bytes.len() {
            return Err(Error::shape(
                "from_bytes",
                format!(
                    "{} bytes given, shape {shape:?} of {dtype} needs {want}",
                    bytes.len()
                ),
            ));
        }
        let storage = device.upload(bytes)?;
        Ok(Tensor::from_parts(
            storage,
            Layout::contiguous(shape),
            dtype,
            device.clone(),
        ))
    }

    /// A tensor over memory-mapped checkpoint bytes: zero-copy on host-memory
    /// backends, uploaded elsewhere.
    pub fn from_mapped(
        bytes: MappedBytes,
        dtype: DType,
        shape: impl Into<Shape>,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        check_quantized_shape(dtype, &shape)?;
        let want = dtype.storage_bytes(shape.numel()?)?;
        let got = bytes.as_ref().len();
        if want != got {
            return Err(Error::shape(
                "from_mapped",
                format!("{got} bytes given, shape {shape:?} of {dtype} needs {want}"),
            ));
        }
        let storage: Arc<dyn DeviceBuffer> = Arc::from(device.backend().adopt_host(bytes)?);
        Ok(Tensor::from_parts(
            storage,
            Layout::contiguous(shape),
            dtype,
            device.clone(),
        ))
    }

    pub fn zeros(shape: impl Into<Shape>, dtype: DType, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        check_quantized_shape(dtype, &shape)?;
        let storage = device.alloc_zeroed(dtype.storage_bytes(shape.numel()?)?)?;
        Ok(Tensor::from_parts(
            storage,
            Layout::contiguous(shape),
            dtype,
            device.clone(),
        ))
    }

    /// A tensor with every element equal to `value`.
    pub fn full<T: Element>(value: T, shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        let n = shape.numel()?;
        let mut data = Vec::new();
        data.try_reserve_exact(n)
            .map_err(|_| Error::overflow(format!("cannot allocate {n} elements")))?;
        data.resize(n, value);
        Tensor::from_slice(&data, shape, device)
    }

    /// `[0, 1, ..., n-1]` as u32.
    pub fn arange_u32(n: u32, device: &Device) -> Result<Tensor> {
        let v: Vec<u32> = (0..n).collect();
        Tensor::from_slice(&v, v.len(), device)
    }

    /// A 0-d tensor.
    pub fn scalar<T: Element>(value: T, device: &Device) -> Result<Tensor> {
        Tensor::from_slice(&[value], (), device)
    }

    // ---- accessors -------------------------------------------------------

    pub fn shape(&self) -> &Shape {
        self.layout.shape()
    }
    pub fn dims(&self) -> &[usize] {
        self.layout.dims()
    }
    pub fn rank(&self) -> usize {
        self.layout.dims().len()
    }
    pub fn dim(&self, d: usize) -> Result<usize> {
        self.shape().dim(d)
    }
    pub fn elem_count(&self) -> usize {
        self.shape().elem_count()
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
    pub fn is_contiguous(&self) -> bool {
        self.layout.is_contiguous()
    }
    /// Bytes of the underlying storage when it lives in host memory (backends use it).
    pub fn storage_host_bytes(&self) -> Option<&[u8]> {
        self.storage.host()
    }
    /// The underlying storage (backends downcast their own buffer type).
    pub fn storage(&self) -> &dyn DeviceBuffer {
        self.storage.as_ref()
    }
    /// Whether two tensors share storage.
    pub fn shares_storage_with(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    // ---- host round trip -------------------------------------------------

    /// The elements in row-major order. The dtype must match `T`
    /// (use `to_dtype` first, or `to_f32_vec`).
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if T::DTYPE != self.dtype {
            return Err(Error::dtype(
                "to_vec",
                self.dtype,
                format!(
                    "asked for {}; convert with .to_dtype(DType::{:?}) first",
                    T::DTYPE,
                    T::DTYPE
                ),
            ));
        }
        let bytes = self.to_bytes()?;
        let mut out = vec![T::zeroed(); self.elem_count()];
        bytemuck::cast_slice_mut::<T, u8>(&mut out).copy_from_slice(&bytes);
        Ok(out)
    }

    /// Any float tensor (or quantized one) as f32 values.
    pub fn to_f32_vec(&self) -> Result<Vec<f32>> {
        if self.dtype == DType::F32 {
            self.to_vec()
        } else {
            self.to_dtype(DType::F32)?.to_vec()
        }
    }

    /// The first element of a one-element tensor.
    pub fn to_scalar<T: Element>(&self) -> Result<T> {
        if self.elem_count() != 1 {
            return Err(Error::shape(
                "to_scalar",
                format!(
                    "shape {:?} has {} elements",
                    self.shape(),
                    self.elem_count()
                ),
            ));
        }
        Ok(self.to_vec::<T>()?[0])
    }

    /// Raw bytes of the elements in row-major order (quantized: blocks).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let t = self.contiguous()?;
        let start = t.storage_byte_offset()?;
        let len = t.dtype.storage_bytes(t.elem_count())?;
        let mut out = vec![0u8; len];
        if len > 0 {
            t.device
                .backend()
                .read(t.storage.as_ref(), start, &mut out)?;
        }
        Ok(out)
    }

    /// Byte offset of the first element in storage.
    pub(crate) fn storage_byte_offset(&self) -> Result<usize> {
        let off = self.layout.offset();
        (off / self.dtype.block_len())
            .checked_mul(self.dtype.block_bytes())
            .ok_or_else(|| Error::overflow("storage offset"))
    }

    /// A copy on another device (the same tensor when already there).
    pub fn to_device(&self, device: &Device) -> Result<Tensor> {
        if &self.device == device {
            return Ok(self.clone());
        }
        let bytes = self.to_bytes()?;
        Tensor::from_bytes(&bytes, self.dtype, self.shape().clone(), device)
    }

    /// The same storage seen as a tensor of another host-memory device (the
    /// dispatcher's zero-copy CPU fallback; see `Backend::shares_host_memory`).
    pub(crate) fn relabelled(&self, device: &Device) -> Tensor {
        Tensor {
            storage: self.storage.clone(),
            layout: self.layout.clone(),
            dtype: self.dtype,
            device: device.clone(),
        }
    }

    // ---- views -------------------------------------------------------------

    fn with_layout(&self, layout: Layout) -> Tensor {
        Tensor {
            storage: self.storage.clone(),
            layout,
            dtype: self.dtype,
            device: self.device.clone(),
        }
    }

    /// Quantized tensors keep whole blocks in the last dimension: they allow
    /// views only on the outer dimensions.
    fn check_view_on_quantized(&self, op: &'static str, touches_last_dim: bool) -> Result<()> {
        if self.dtype.is_quantized() && touches_last_dim {
            return Err(Error::dtype(op, self.dtype, "quantized tensors only allow views of outer dimensions; dequantize with to_dtype(F32) first"));
        }
        Ok(())
    }

    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Result<Tensor> {
        self.check_view_on_quantized("narrow", dim + 1 == self.rank())?;
        Ok(self.with_layout(self.layout.narrow(dim, start, len)?))
    }

    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let moves_last = perm.last().is_some_and(|&p| p + 1 != self.rank());
        self.check_view_on_quantized("permute", moves_last)?;
        Ok(self.with_layout(self.layout.permute(perm)?))
    }

    pub fn transpose(&self, a: usize, b: usize) -> Result<Tensor> {
        let last = self.rank().saturating_sub(1);
        self.check_view_on_quantized("transpose", a != b && (a == last || b == last))?;
        Ok(self.with_layout(self.layout.transpose(a, b)?))
    }

    /// Swap the last two dimensions.
    pub fn t(&self) -> Result<Tensor> {
        let r = self.rank();
        if r < 2 {
            return Err(Error::shape(
                "t",
                format!("needs rank >= 2, got {:?}", self.shape()),
            ));
        }
        self.transpose(r - 2, r - 1)
    }

    pub fn broadcast_as(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        self.check_view_on_quantized("broadcast_as", true)?;
        Ok(self.with_layout(self.layout.broadcast_as(&shape)?))
    }

    /// Same elements, another shape; copies first when the tensor is strided.
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if self.dtype.is_quantized() && shape.last() != self.shape().last() {
            return Err(Error::dtype(
                "reshape",
                self.dtype,
                "the last dimension of a quantized tensor cannot change",
            ));
        }
        if self.is_contiguous() {
            Ok(self.with_layout(self.layout.reshape(shape)?))
        } else {
            let c = self.contiguous()?;
            Ok(c.with_layout(c.layout.reshape(shape)?))
        }
    }

    /// Insert a size-1 dimension at `dim`.
    pub fn unsqueeze(&self, dim: usize) -> Result<Tensor> {
        if dim > self.rank() {
            return Err(Error::shape(
                "unsqueeze",
                format!("dimension {dim} out of range for {:?}", self.shape()),
            ));
        }
        let mut dims = self.dims().to_vec();
        let mut strides = self.layout.strides().to_vec();
        let stride = if dim < self.rank() {
            strides[dim] * dims[dim]
        } else {
            1
        };
        dims.insert(dim, 1);
        strides.insert(dim, stride);
        Ok(self.with_layout(Layout::new(
            Shape::new(dims),
            strides,
            self.layout.offset(),
        )?))
    }

    /// Remove a size-1 dimension.
    pub fn squeeze(&self, dim: usize) -> Result<Tensor> {
        if self.dims().get(dim) != Some(&1) {
            return Err(Error::shape(
                "squeeze",
                format!("dimension {dim} of {:?} is not 1", self.shape()),
            ));
        }
        let mut dims = self.dims().to_vec();
        let mut strides = self.layout.strides().to_vec();
        dims.remove(dim);
        strides.remove(dim);
        Ok(self.with_layout(Layout::new(
            Shape::new(dims),
            strides,
            self.layout.offset(),
        )?))
    }

    /// A contiguous tensor with the same elements (the same tensor if already contiguous).
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        self.unary_shape_op(Op::Copy, self.dtype)
    }

    /// Convert to another dtype (quantizes to Q8_0/Q4_0, dequantizes from them).
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype {
            return Ok(self.clone());
        }
        check_quantized_shape(dtype, self.shape())?;
        self.unary_shape_op(Op::Cast, dtype)
    }

    /// Run a one-input op whose output has this tensor's shape.
    pub(crate) fn unary_shape_op(&self, op: Op, out_dtype: DType) -> Result<Tensor> {
        let mut out = self
            .device
            .execute(&op, &[self], &[(self.shape().clone(), out_dtype)])?;
        Ok(out.remove(0))
    }

    // ---- in-place writes (KV caches) ---------------------------------------

    /// Copy `src` into this tensor at `start` along `dim`, in place. The tensor
    /// must be contiguous and own its storage alone (no live views), which is
    /// how a KV cache appends without reallocating.
    pub fn write_slice(&mut self, dim: usize, start: usize, src: &Tensor) -> Result<()> {
        if src.dtype != self.dtype {
            return Err(Error::dtype(
                "write_slice",
                src.dtype,
                format!("destination is {}", self.dtype),
            ));
        }
        if !self.is_contiguous() {
            return Err(Error::invalid("write_slice needs a contiguous destination"));
        }
        if src.device() != &self.device {
            return Err(Error::DeviceMismatch {
                op: "write_slice",
                a: self.device.name().into(),
                b: src.device().name().into(),
            });
        }
        let len = src.dim(dim)?;
        let target = self.layout.narrow(dim, start, len)?;
        if target.dims() != src.dims() {
            return Err(Error::shape(
                "write_slice",
                format!(
                    "source {:?} does not fit {:?} at {start} along dim {dim}",
                    src.shape(),
                    self.shape()
                ),
            ));
        }
        if self.dtype.is_quantized() {
            return Err(Error::dtype(
                "write_slice",
                self.dtype,
                "quantized destinations are not writable",
            ));
        }
        let esize = self.dtype.block_bytes();
        let bytes = src.to_bytes()?;
        // Rows of the narrowed target: outer dims before `dim` iterate, the rest is one run.
        let outer: usize = self.dims()[..dim].iter().product();
        let run = bytes.len() / outer.max(1);
        let outer_stride = if dim == 0 {
            0
        } else {
            self.layout.strides()[dim - 1] * esize
        };
        let base = target.offset() * esize;
        let device = self.device.clone();
        let storage = Arc::get_mut(&mut self.storage).ok_or_else(|| {
            Error::invalid("write_slice: the tensor's storage is shared with a live view or clone; drop them first")
        })?;
        for o in 0..outer {
            if run > 0 {
                device.backend().write(
                    storage,
                    base + o * outer_stride,
                    &bytes[o * run..(o + 1) * run],
                )?;
            }
        }
        Ok(())
    }
}

/// Quantized dtypes need the last dimension to be a whole number of blocks.
fn check_quantized_shape(dtype: DType, shape: &Shape) -> Result<()> {
    if dtype.is_quantized() && (shape.rank() == 0 || shape.last() % dtype.block_len() != 0) {
        return Err(Error::dtype(
            "quantize",
            dtype,
            format!(
                "the last dimension of {shape:?} must be a multiple of {}",
                dtype.block_len()
            ),
        ));
    }
    Ok(())
}
