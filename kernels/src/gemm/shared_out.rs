//! The output matrix C shared by parallel tasks that each write their own
//! disjoint block of it (column ranges and/or row ranges), which a `&mut [f32]`
//! cannot express for strided blocks.

/// A raw view of C. Bounds are checked when an element pointer is formed; the
/// disjointness of concurrent writes is the drivers' responsibility.
#[derive(Clone, Copy)]
pub(crate) struct SharedOut {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: a SharedOut is only a pointer plus length; the drivers hand each task a
// disjoint set of elements, so no element is written by two threads, and the
// caller's `&mut [f32]` borrow outlives every task (rayon joins before returning).
unsafe impl Send for SharedOut {}
// SAFETY: as above; tasks never read elements that other tasks write.
unsafe impl Sync for SharedOut {}

impl SharedOut {
    pub(crate) fn new(c: &mut [f32]) -> SharedOut {
        SharedOut {
            ptr: c.as_mut_ptr(),
            len: c.len(),
        }
    }

    /// Pointer to element `offset` of C (one past the end is allowed).
    pub(crate) fn at(self, offset: usize) -> *mut f32 {
        assert!(offset <= self.len, "C offset {offset} out of {}", self.len);
        self.ptr.wrapping_add(offset)
    }

    /// Whether a `rows × cols` block with row stride `ld` starting at `offset` lies
    /// inside C.
    pub(crate) fn holds(self, offset: usize, rows: usize, cols: usize, ld: usize) -> bool {
        rows == 0 || cols == 0 || offset + (rows - 1) * ld + cols <= self.len
    }
}
