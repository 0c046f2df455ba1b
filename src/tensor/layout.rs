//! Strided layouts: how a tensor's logical elements map onto its storage.
//! Views (narrow, transpose, permute, broadcast, contiguous reshape) only change
//! the layout, never the data.

use super::shape::Shape;
use crate::error::{Error, Result};

/// Shape, strides (in elements) and start offset (in elements) into storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    shape: Shape,
    strides: Vec<usize>,
    offset: usize,
}

impl Layout {
    pub fn contiguous(shape: impl Into<Shape>) -> Layout {
        let shape = shape.into();
        let strides = shape.contiguous_strides();
        Layout {
            shape,
            strides,
            offset: 0,
        }
    }

    pub fn new(shape: Shape, strides: Vec<usize>, offset: usize) -> Result<Layout> {
        if strides.len() != shape.rank() {
            return Err(Error::invalid(format!(
                "layout of shape {shape:?} needs {} strides, got {}",
                shape.rank(),
                strides.len()
            )));
        }
        Ok(Layout {
            shape,
            strides,
            offset,
        })
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Row-major contiguous, starting anywhere.
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1usize;
        for (&d, &s) in self.dims().iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected = expected.saturating_mul(d);
        }
        true
    }

    /// Last dimension has unit stride (rows may be spaced out): what most row kernels need.
    pub fn has_unit_inner_stride(&self) -> bool {
        match (self.dims().last(), self.strides.last()) {
            (Some(&d), Some(&s)) => d <= 1 || s == 1,
            _ => true,
        }
    }

    /// One past the largest storage element index this layout touches (0 if empty).
    pub fn storage_span(&self) -> Result<usize> {
        if self.dims().contains(&0) {
            return Ok(0);
        }
        let mut last = self.offset;
        for (&d, &s) in self.dims().iter().zip(&self.strides) {
            let step = (d - 1)
                .checked_mul(s)
                .ok_or_else(|| Error::overflow("layout span"))?;
            last = last
                .checked_add(step)
                .ok_or_else(|| Error::overflow("layout span"))?;
        }
        last.checked_add(1)
            .ok_or_else(|| Error::overflow("layout span"))
    }

    fn check_dim(&self, op: &'static str, dim: usize) -> Result<()> {
        if dim >= self.shape.rank() {
            return Err(Error::shape(
                op,
                format!("dimension {dim} out of range for shape {:?}", self.shape),
            ));
        }
        Ok(())
    }

    /// Elements `start..start+len` of dimension `dim`.
    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Result<Layout> {
        self.check_dim("narrow", dim)?;
        let size = self.dims()[dim];
        let end = start.checked_add(len);
        if end.is_none_or(|e| e > size) {
            return Err(Error::shape(
                "narrow",
                format!(
                    "range {start}..{start}+{len} out of bounds for dimension {dim} of size {size}"
                ),
            ));
        }
        let mut dims = self.dims().to_vec();
        dims[dim] = len;
        let offset = if len == 0 {
            self.offset
        } else {
            self.offset + start * self.strides[dim]
        };
        Ok(Layout {
            shape: Shape::new(dims),
            strides: self.strides.clone(),
            offset,
        })
    }

    /// Reorder dimensions: output dim i is input dim `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Layout> {
        let rank = self.shape.rank();
        let mut seen = vec![false; rank];
        if perm.len() != rank
            || perm
                .iter()
                .any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
        {
            return Err(Error::shape(
                "permute",
                format!("{perm:?} is not a permutation of {rank} dimensions"),
            ));
        }
        Ok(Layout {
            shape: Shape::new(perm.iter().map(|&p| self.dims()[p]).collect::<Vec<_>>()),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
            offset: self.offset,
        })
    }

    pub fn transpose(&self, a: usize, b: usize) -> Result<Layout> {
        self.check_dim("transpose", a)?;
        self.check_dim("transpose", b)?;
        let mut perm: Vec<usize> = (0..self.shape.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// Broadcast to `shape` (NumPy rules): size-1 and new leading dims get stride 0.
    pub fn broadcast_as(&self, shape: &Shape) -> Result<Layout> {
        let rank = shape.rank();
        if rank < self.shape.rank() {
            return Err(Error::shape(
                "broadcast_as",
                format!("cannot broadcast {:?} to lower-rank {shape:?}", self.shape),
            ));
        }
        let lead = rank - self.shape.rank();
        let mut strides = vec![0; rank];
        for (i, stride) in strides.iter_mut().enumerate().skip(lead) {
            let (src, target) = (self.dims()[i - lead], shape.dims()[i]);
            *stride = if src == target {
                self.strides[i - lead]
            } else if src == 1 {
                0
            } else {
                return Err(Error::shape(
                    "broadcast_as",
                    format!("cannot broadcast {:?} to {shape:?}", self.shape),
                ));
            };
        }
        Ok(Layout {
            shape: shape.clone(),
            strides,
            offset: self.offset,
        })
    }

    /// Reinterpret a contiguous layout with another shape of the same element count.
    pub fn reshape(&self, shape: Shape) -> Result<Layout> {
        let n = shape.numel()?;
        if n != self.shape.elem_count() {
            return Err(Error::shape(
                "reshape",
                format!(
                    "cannot reshape {:?} ({} elements) to {shape:?} ({n} elements)",
                    self.shape,
                    self.shape.elem_count()
                ),
            ));
        }
        if !self.is_contiguous() {
            return Err(Error::shape(
                "reshape",
                "the tensor is not contiguous; call .contiguous() first",
            ));
        }
        let strides = shape.contiguous_strides();
        Ok(Layout {
            shape,
            strides,
            offset: self.offset,
        })
    }
}
