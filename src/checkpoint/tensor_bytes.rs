//! A borrowed view of one tensor's bytes.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use memmap2::Mmap;

use super::dtype::DiskDType;
use super::mapped::MappedBytes;
use super::tensor_info::TensorInfo;

/// A tensor's bytes, borrowed from the mapped file, with what is needed to
/// interpret them. The bytes are little-endian and not necessarily aligned.
#[derive(Clone)]
pub struct TensorBytes<'a> {
    pub name: &'a str,
    pub dtype: DiskDType,
    pub shape: &'a [usize],
    pub bytes: &'a [u8],
    map: &'a Arc<Mmap>,
    range: Range<usize>,
}

impl<'a> TensorBytes<'a> {
    /// `info` must come from the validated header of the file `map` maps.
    pub(crate) fn new(info: &'a TensorInfo, map: &'a Arc<Mmap>) -> TensorBytes<'a> {
        TensorBytes {
            name: &info.name,
            dtype: info.dtype,
            shape: &info.shape,
            bytes: &map[info.byte_range.clone()],
            map,
            range: info.byte_range.clone(),
        }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// An owned handle on the same bytes that keeps the mapping alive (no copy).
    pub fn to_mapped(&self) -> MappedBytes {
        MappedBytes::new(Arc::clone(self.map), self.range.clone())
    }
}

impl fmt::Debug for TensorBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TensorBytes")
            .field("name", &self.name)
            .field("dtype", &self.dtype)
            .field("shape", &self.shape)
            .field("len", &self.bytes.len())
            .finish()
    }
}
