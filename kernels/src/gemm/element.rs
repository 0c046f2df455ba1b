//! The storage types GEMM accepts for its B operand (the weights): f32, bf16, f16.
//! Everything is widened to f32 before it is multiplied.

use half::{bf16, f16};

/// How a weight type is stored, so SIMD loads can pick their widening sequence
/// at compile time (each generic kernel is monomorphised per type).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Storage {
    F32,
    Bf16,
    F16,
}

/// A B-operand element type. Sealed: the kernels know exactly these three, and
/// SIMD code relies on `STORAGE` naming the real type.
pub(crate) trait WeightElem: Copy + Send + Sync + 'static + sealed::Sealed {
    const STORAGE: Storage;
    /// Exact widening to f32.
    fn to_f32(self) -> f32;
}

impl WeightElem for f32 {
    const STORAGE: Storage = Storage::F32;

    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
}

impl WeightElem for bf16 {
    const STORAGE: Storage = Storage::Bf16;

    /// bf16 is the top half of an f32, so widening is a shift (NaN payloads kept,
    /// unlike `half`'s version, so scalar and SIMD paths agree bit for bit).
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from_bits((self.to_bits() as u32) << 16)
    }
}

impl WeightElem for f16 {
    const STORAGE: Storage = Storage::F16;

    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for half::bf16 {}
    impl Sealed for half::f16 {}
}
