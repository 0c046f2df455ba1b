//! An owned, cheaply clonable view of bytes inside a memory-mapped file.

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

use memmap2::Mmap;

/// A byte range of a mapped checkpoint file that keeps the mapping alive,
/// so tensors can stay zero-copy on the page cache after the
/// [`Checkpoint`](super::Checkpoint) that produced them is dropped.
///
/// The bytes are little-endian, as safetensors stores them, and carry no
/// alignment promise beyond what the file layout gives: check
/// [`MappedBytes::is_aligned_to`] before reinterpreting them as wider types.
#[derive(Clone)]
pub struct MappedBytes {
    map: Arc<Mmap>,
    range: Range<usize>,
}

impl MappedBytes {
    /// `range` must lie inside `map`; callers take it from a validated header.
    pub(crate) fn new(map: Arc<Mmap>, range: Range<usize>) -> MappedBytes {
        assert!(
            range.start <= range.end && range.end <= map.len(),
            "range {range:?} outside a {}-byte mapping",
            map.len()
        );
        MappedBytes { map, range }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.map[self.range.clone()]
    }

    pub fn len(&self) -> usize {
        self.range.len()
    }

    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// Offset of the first byte inside its file.
    pub fn file_offset(&self) -> usize {
        self.range.start
    }

    /// Whether the first byte sits at an address that is a multiple of `align`
    /// (a power of two), e.g. `align_of::<f32>()` before a zero-copy cast.
    pub fn is_aligned_to(&self, align: usize) -> bool {
        assert!(
            align.is_power_of_two(),
            "alignment {align} is not a power of two"
        );
        (self.as_bytes().as_ptr() as usize) % align == 0
    }
}

impl Deref for MappedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for MappedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for MappedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MappedBytes")
            .field("file_offset", &self.range.start)
            .field("len", &self.range.len())
            .finish()
    }
}
