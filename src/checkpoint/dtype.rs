//! Element types as spelled in safetensors headers.

use std::fmt;

/// The element type of a tensor as stored on disk.
///
/// Covers every dtype the safetensors format (crate 0.8) defines. All
/// multi-byte types are little-endian on disk; on a big-endian host the
/// bytes must be swapped before they are read as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiskDType {
    Bool,
    /// MXFP4 (E2M1), two elements per byte.
    F4,
    /// MXFP6 E2M3, four elements per three bytes.
    F6E2M3,
    /// MXFP6 E3M2, four elements per three bytes.
    F6E3M2,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    /// Exponent-only scale type of the OCP microscaling formats.
    F8E8M0,
    F8E4M3Fnuz,
    F8E5M2Fnuz,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    /// Complex number made of two `F32`.
    C64,
    F64,
    I64,
    U64,
}

impl DiskDType {
    /// Every dtype, in the order safetensors declares them.
    pub const ALL: [DiskDType; 22] = [
        DiskDType::Bool,
        DiskDType::F4,
        DiskDType::F6E2M3,
        DiskDType::F6E3M2,
        DiskDType::U8,
        DiskDType::I8,
        DiskDType::F8E5M2,
        DiskDType::F8E4M3,
        DiskDType::F8E8M0,
        DiskDType::F8E4M3Fnuz,
        DiskDType::F8E5M2Fnuz,
        DiskDType::I16,
        DiskDType::U16,
        DiskDType::F16,
        DiskDType::BF16,
        DiskDType::I32,
        DiskDType::U32,
        DiskDType::F32,
        DiskDType::C64,
        DiskDType::F64,
        DiskDType::I64,
        DiskDType::U64,
    ];

    /// Parses the exact spelling used in safetensors headers (`"F32"`, `"BF16"`, `"F8_E4M3"`, ...).
    pub fn from_safetensors_name(name: &str) -> Option<DiskDType> {
        DiskDType::ALL
            .into_iter()
            .find(|dtype| dtype.safetensors_name() == name)
    }

    /// The spelling used in safetensors headers.
    pub fn safetensors_name(self) -> &'static str {
        match self {
            DiskDType::Bool => "BOOL",
            DiskDType::F4 => "F4",
            DiskDType::F6E2M3 => "F6_E2M3",
            DiskDType::F6E3M2 => "F6_E3M2",
            DiskDType::U8 => "U8",
            DiskDType::I8 => "I8",
            DiskDType::F8E5M2 => "F8_E5M2",
            DiskDType::F8E4M3 => "F8_E4M3",
            DiskDType::F8E8M0 => "F8_E8M0",
            DiskDType::F8E4M3Fnuz => "F8_E4M3FNUZ",
            DiskDType::F8E5M2Fnuz => "F8_E5M2FNUZ",
            DiskDType::I16 => "I16",
            DiskDType::U16 => "U16",
            DiskDType::F16 => "F16",
            DiskDType::BF16 => "BF16",
            DiskDType::I32 => "I32",
            DiskDType::U32 => "U32",
            DiskDType::F32 => "F32",
            DiskDType::C64 => "C64",
            DiskDType::F64 => "F64",
            DiskDType::I64 => "I64",
            DiskDType::U64 => "U64",
        }
    }

    /// Bits per element; 4 and 6 for the packed microscaling types.
    pub fn bit_size(self) -> usize {
        match self {
            DiskDType::F4 => 4,
            DiskDType::F6E2M3 | DiskDType::F6E3M2 => 6,
            DiskDType::Bool
            | DiskDType::U8
            | DiskDType::I8
            | DiskDType::F8E5M2
            | DiskDType::F8E4M3
            | DiskDType::F8E8M0
            | DiskDType::F8E4M3Fnuz
            | DiskDType::F8E5M2Fnuz => 8,
            DiskDType::I16 | DiskDType::U16 | DiskDType::F16 | DiskDType::BF16 => 16,
            DiskDType::I32 | DiskDType::U32 | DiskDType::F32 => 32,
            DiskDType::C64 | DiskDType::F64 | DiskDType::I64 | DiskDType::U64 => 64,
        }
    }

    /// Bytes per element, or `None` for the packed types whose elements are
    /// smaller than a byte (`F4`, `F6E2M3`, `F6E3M2`).
    pub fn size_in_bytes(self) -> Option<usize> {
        let bits = self.bit_size();
        (bits % 8 == 0).then_some(bits / 8)
    }

    /// Bytes taken by `numel` elements, or `None` if that overflows `usize`
    /// or does not end on a byte boundary (packed types only).
    pub fn storage_bytes(self, numel: usize) -> Option<usize> {
        let bits = numel.checked_mul(self.bit_size())?;
        (bits % 8 == 0).then_some(bits / 8)
    }
}

impl fmt::Display for DiskDType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.safetensors_name())
    }
}

#[cfg(test)]
mod tests {
    use super::DiskDType;

    #[test]
    fn names_round_trip_and_agree_with_the_safetensors_crate() {
        for dtype in DiskDType::ALL {
            let name = dtype.safetensors_name();
            assert_eq!(DiskDType::from_safetensors_name(name), Some(dtype));
            let theirs: safetensors::Dtype = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(theirs.to_string(), name);
            assert_eq!(theirs.bitsize(), dtype.bit_size(), "{name}");
        }
        assert_eq!(DiskDType::from_safetensors_name("f32"), None);
    }

    #[test]
    fn packed_types_have_no_whole_byte_size() {
        assert_eq!(DiskDType::F4.size_in_bytes(), None);
        assert_eq!(DiskDType::F4.storage_bytes(3), None);
        assert_eq!(DiskDType::F4.storage_bytes(4), Some(2));
        assert_eq!(DiskDType::BF16.size_in_bytes(), Some(2));
        assert_eq!(DiskDType::F64.storage_bytes(usize::MAX), None);
    }
}
