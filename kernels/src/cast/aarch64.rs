//! NEON conversions. bf16 rounding is integer arithmetic on the f32 bits; f16
//! uses FCVTN/FCVTL through inline assembly, because Rust's f16 vector intrinsics
//! are still unstable. Both instructions are base ARMv8.0 Advanced SIMD and round
//! to nearest even under the default FPCR, matching `half`. The in-register
//! helpers are shared with the norm and rope kernels.

use std::arch::aarch64::*;
use std::arch::asm;

use super::{scalar, Rounding};

/// The bf16 bit pattern of each lane, in the low 16 bits of the 32-bit lane:
/// round to nearest even by adding `0x7FFF + lsb`, NaN quieted (as `half`).
///
/// # Safety
/// The CPU must support NEON.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn bf16_bits(v: float32x4_t) -> uint32x4_t {
    let bits = vreinterpretq_u32_f32(v);
    let high = vshrq_n_u32::<16>(bits);
    let lsb = vandq_u32(high, vdupq_n_u32(1));
    let bias = vaddq_u32(lsb, vdupq_n_u32(0x7FFF));
    let rounded = vshrq_n_u32::<16>(vaddq_u32(bits, bias));
    let quiet_nan = vorrq_u32(high, vdupq_n_u32(0x0040));
    let is_number = vceqq_f32(v, v);
    vbslq_u32(is_number, rounded, quiet_nan)
}

/// Each lane rounded to bf16 and widened back to f32.
///
/// # Safety
/// The CPU must support NEON.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn round_bf16(v: float32x4_t) -> float32x4_t {
    vreinterpretq_f32_u32(vshlq_n_u32::<16>(bf16_bits(v)))
}

/// Four f32 lanes narrowed to f16 bit patterns.
///
/// # Safety
/// The CPU must support NEON.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn narrow_f16(v: float32x4_t) -> uint16x4_t {
    let h: uint16x4_t;
    // SAFETY: FCVTN only reads and writes the named vector registers.
    asm!("fcvtn {0:v}.4h, {1:v}.4s", out(vreg) h, in(vreg) v,
         options(pure, nomem, nostack, preserves_flags));
    h
}

/// Four f16 bit patterns widened to f32 (exact).
///
/// # Safety
/// The CPU must support NEON.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn widen_f16(h: uint16x4_t) -> float32x4_t {
    let v: float32x4_t;
    // SAFETY: FCVTL only reads and writes the named vector registers.
    asm!("fcvtl {0:v}.4s, {1:v}.4h", out(vreg) v, in(vreg) h,
         options(pure, nomem, nostack, preserves_flags));
    v
}

/// Each lane rounded to f16 and widened back to f32.
///
/// # Safety
/// The CPU must support NEON.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn round_f16(v: float32x4_t) -> float32x4_t {
    widen_f16(narrow_f16(v))
}

/// Each lane rounded through `to` (identity for `Rounding::None`).
///
/// # Safety
/// The CPU must support NEON.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn round_through(v: float32x4_t, to: Rounding) -> float32x4_t {
    match to {
        Rounding::None => v,
        Rounding::Bf16 => round_bf16(v),
        Rounding::F16 => round_f16(v),
    }
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn f32_to_bf16(src: &[f32], dst: &mut [u16]) {
    let mut s4 = src.chunks_exact(4);
    let mut d4 = dst.chunks_exact_mut(4);
    for (s, d) in (&mut s4).zip(&mut d4) {
        // SAFETY: `s` and `d` each hold exactly 4 elements.
        let bits = bf16_bits(vld1q_f32(s.as_ptr()));
        vst1_u16(d.as_mut_ptr(), vmovn_u32(bits));
    }
    scalar::f32_to_bf16(s4.remainder(), d4.into_remainder());
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn bf16_to_f32(src: &[u16], dst: &mut [f32]) {
    let mut s4 = src.chunks_exact(4);
    let mut d4 = dst.chunks_exact_mut(4);
    for (s, d) in (&mut s4).zip(&mut d4) {
        // SAFETY: `s` and `d` each hold exactly 4 elements.
        let bits = vshlq_n_u32::<16>(vmovl_u16(vld1_u16(s.as_ptr())));
        // `half` sets the quiet bit of NaNs on widening; do the same.
        let magnitude = vandq_u32(bits, vdupq_n_u32(0x7FFF_FFFF));
        let is_nan = vcgtq_u32(magnitude, vdupq_n_u32(0x7F80_0000));
        let quiet = vandq_u32(is_nan, vdupq_n_u32(0x0040_0000));
        vst1q_f32(
            d.as_mut_ptr(),
            vreinterpretq_f32_u32(vorrq_u32(bits, quiet)),
        );
    }
    scalar::bf16_to_f32(s4.remainder(), d4.into_remainder());
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn f32_to_f16(src: &[f32], dst: &mut [u16]) {
    let mut s4 = src.chunks_exact(4);
    let mut d4 = dst.chunks_exact_mut(4);
    for (s, d) in (&mut s4).zip(&mut d4) {
        // SAFETY: `s` and `d` each hold exactly 4 elements.
        vst1_u16(d.as_mut_ptr(), narrow_f16(vld1q_f32(s.as_ptr())));
    }
    scalar::f32_to_f16(s4.remainder(), d4.into_remainder());
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn f16_to_f32(src: &[u16], dst: &mut [f32]) {
    let mut s4 = src.chunks_exact(4);
    let mut d4 = dst.chunks_exact_mut(4);
    for (s, d) in (&mut s4).zip(&mut d4) {
        // SAFETY: `s` and `d` each hold exactly 4 elements.
        vst1q_f32(d.as_mut_ptr(), widen_f16(vld1_u16(s.as_ptr())));
    }
    scalar::f16_to_f32(s4.remainder(), d4.into_remainder());
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn round_f32_through(x: &mut [f32], to: Rounding) {
    let mut x4 = x.chunks_exact_mut(4);
    for c in &mut x4 {
        // SAFETY: `c` holds exactly 4 elements.
        let v = round_through(vld1q_f32(c.as_ptr()), to);
        vst1q_f32(c.as_mut_ptr(), v);
    }
    scalar::round_f32_through(x4.into_remainder(), to);
}
