//! Shapes: a list of dimension sizes with checked arithmetic.

use crate::error::{Error, Result};

#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(Vec<usize>);

impl Shape {
    pub fn new(dims: impl Into<Vec<usize>>) -> Shape {
        Shape(dims.into())
    }

    pub fn scalar() -> Shape {
        Shape(Vec::new())
    }

    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements, or an error when the product overflows `usize`.
    pub fn numel(&self) -> Result<usize> {
        self.0.iter().try_fold(1usize, |acc, &d| {
            acc.checked_mul(d)
                .ok_or_else(|| Error::overflow(format!("element count of shape {self:?}")))
        })
    }

    /// Number of elements; only for shapes already validated (a tensor's own shape).
    pub(crate) fn elem_count(&self) -> usize {
        self.0.iter().product()
    }

    /// Size of dimension `d`, with a clear error when out of range.
    pub fn dim(&self, d: usize) -> Result<usize> {
        self.0
            .get(d)
            .copied()
            .ok_or_else(|| Error::invalid(format!("dimension {d} out of range for shape {self:?}")))
    }

    /// The last dimension (1 for a scalar).
    pub fn last(&self) -> usize {
        self.0.last().copied().unwrap_or(1)
    }

    /// Product of all dimensions but the last (the number of "rows").
    pub fn rows(&self) -> usize {
        let r = self.rank();
        if r == 0 {
            1
        } else {
            self.0[..r - 1].iter().product()
        }
    }

    /// Contiguous (row-major) strides in elements.
    pub fn contiguous_strides(&self) -> Vec<usize> {
        let mut strides = vec![1usize; self.rank()];
        for i in (0..self.rank().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * self.0[i + 1];
        }
        strides
    }

    /// NumPy broadcasting of two shapes.
    pub fn broadcast(op: &'static str, a: &Shape, b: &Shape) -> Result<Shape> {
        let rank = a.rank().max(b.rank());
        let mut dims = vec![0; rank];
        for (i, out) in dims.iter_mut().enumerate() {
            let da = if i + a.rank() >= rank {
                a.0[i + a.rank() - rank]
            } else {
                1
            };
            let db = if i + b.rank() >= rank {
                b.0[i + b.rank() - rank]
            } else {
                1
            };
            *out = match (da, db) {
                (x, y) if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => {
                    return Err(Error::shape(
                        op,
                        format!("cannot broadcast {a:?} with {b:?}"),
                    ))
                }
            };
        }
        Ok(Shape(dims))
    }
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl From<Vec<usize>> for Shape {
    fn from(v: Vec<usize>) -> Shape {
        Shape(v)
    }
}
impl From<&[usize]> for Shape {
    fn from(v: &[usize]) -> Shape {
        Shape(v.to_vec())
    }
}
impl<const N: usize> From<[usize; N]> for Shape {
    fn from(v: [usize; N]) -> Shape {
        Shape(v.to_vec())
    }
}
impl From<usize> for Shape {
    fn from(v: usize) -> Shape {
        Shape(vec![v])
    }
}
impl From<()> for Shape {
    fn from(_: ()) -> Shape {
        Shape(Vec::new())
    }
}
