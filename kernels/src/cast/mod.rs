//! Conversions between f32 and the 16-bit float formats (bf16, f16), plus
//! "rounding through" a 16-bit format while staying in f32, which lets f32
//! kernels mirror PyTorch's bf16/f16 numerics step by step.
//!
//! Every variant gives exactly `half`'s results, bit for bit (round to nearest
//! even, NaN kept NaN with its quiet bit set, infinities and signed zeros kept).

use half::{bf16, f16};

use crate::Isa;

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

/// A 16-bit format values are rounded to (and read back from) inside f32 kernels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Keep full f32 precision.
    #[default]
    None,
    /// Round to the nearest bfloat16 value.
    Bf16,
    /// Round to the nearest IEEE binary16 value.
    F16,
}

impl Rounding {
    /// `x` rounded to the format and converted back to f32.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Rounding::None => x,
            Rounding::Bf16 => bf16::from_f32(x).to_f32(),
            Rounding::F16 => f16::from_f32(x).to_f32(),
        }
    }
}

/// `dst[i] = bf16(src[i])`, round to nearest even.
pub fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    f32_to_bf16_with(Isa::best(), src, dst)
}

pub fn f32_to_bf16_with(isa: Isa, src: &[f32], dst: &mut [bf16]) {
    assert_eq!(
        src.len(),
        dst.len(),
        "f32_to_bf16: src and dst lengths differ"
    );
    let dst: &mut [u16] = bytemuck::cast_slice_mut(dst);
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::f32_to_bf16(src, dst) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::f32_to_bf16(src, dst) },
        _ => scalar::f32_to_bf16(src, dst),
    }
}

/// `dst[i] = f32(src[i])` (exact).
pub fn bf16_to_f32(src: &[bf16], dst: &mut [f32]) {
    bf16_to_f32_with(Isa::best(), src, dst)
}

pub fn bf16_to_f32_with(isa: Isa, src: &[bf16], dst: &mut [f32]) {
    assert_eq!(
        src.len(),
        dst.len(),
        "bf16_to_f32: src and dst lengths differ"
    );
    let src: &[u16] = bytemuck::cast_slice(src);
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::bf16_to_f32(src, dst) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::bf16_to_f32(src, dst) },
        _ => scalar::bf16_to_f32(src, dst),
    }
}

/// `dst[i] = f16(src[i])`, round to nearest even (overflow gives ±inf).
pub fn f32_to_f16(src: &[f32], dst: &mut [f16]) {
    f32_to_f16_with(Isa::best(), src, dst)
}

pub fn f32_to_f16_with(isa: Isa, src: &[f32], dst: &mut [f16]) {
    assert_eq!(
        src.len(),
        dst.len(),
        "f32_to_f16: src and dst lengths differ"
    );
    let dst: &mut [u16] = bytemuck::cast_slice_mut(dst);
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::f32_to_f16(src, dst) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::f32_to_f16(src, dst) },
        _ => scalar::f32_to_f16(src, dst),
    }
}

/// `dst[i] = f32(src[i])` (exact).
pub fn f16_to_f32(src: &[f16], dst: &mut [f32]) {
    f16_to_f32_with(Isa::best(), src, dst)
}

pub fn f16_to_f32_with(isa: Isa, src: &[f16], dst: &mut [f32]) {
    assert_eq!(
        src.len(),
        dst.len(),
        "f16_to_f32: src and dst lengths differ"
    );
    let src: &[u16] = bytemuck::cast_slice(src);
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::f16_to_f32(src, dst) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::f16_to_f32(src, dst) },
        _ => scalar::f16_to_f32(src, dst),
    }
}

/// Rounds every value to `to` and back, in place (`Rounding::None` leaves `x` as is).
pub fn round_f32_through(x: &mut [f32], to: Rounding) {
    round_f32_through_with(Isa::best(), x, to)
}

pub fn round_f32_through_with(isa: Isa, x: &mut [f32], to: Rounding) {
    if to == Rounding::None {
        return;
    }
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::round_f32_through(x, to) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::round_f32_through(x, to) },
        _ => scalar::round_f32_through(x, to),
    }
}
