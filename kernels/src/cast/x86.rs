//! AVX2 + F16C conversions. bf16 rounding is integer arithmetic on the f32 bits;
//! f16 uses the F16C instructions (which round to nearest even like `half`).
//! The in-register helpers are shared with the norm and rope kernels.

use std::arch::x86_64::*;

use super::{scalar, Rounding};

/// The bf16 bit pattern of each lane, in the low 16 bits of the 32-bit lane:
/// round to nearest even by adding `0x7FFF + lsb`, NaN quieted (as `half`).
///
/// # Safety
/// The CPU must support AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn bf16_bits(v: __m256) -> __m256i {
    let bits = _mm256_castps_si256(v);
    let high = _mm256_srli_epi32::<16>(bits);
    let lsb = _mm256_and_si256(high, _mm256_set1_epi32(1));
    let bias = _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF));
    let rounded = _mm256_srli_epi32::<16>(_mm256_add_epi32(bits, bias));
    let quiet_nan = _mm256_or_si256(high, _mm256_set1_epi32(0x0040));
    let is_nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
    _mm256_blendv_epi8(rounded, quiet_nan, is_nan)
}

/// Each lane rounded to bf16 and widened back to f32.
///
/// # Safety
/// The CPU must support AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn round_bf16(v: __m256) -> __m256 {
    _mm256_castsi256_ps(_mm256_slli_epi32::<16>(bf16_bits(v)))
}

/// Each lane rounded to f16 and widened back to f32.
///
/// # Safety
/// The CPU must support AVX and F16C.
#[inline]
#[target_feature(enable = "avx,f16c")]
pub(crate) unsafe fn round_f16(v: __m256) -> __m256 {
    _mm256_cvtph_ps(_mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v))
}

/// Each lane rounded through `to` (identity for `Rounding::None`).
///
/// # Safety
/// The CPU must support AVX2 and F16C.
#[inline]
#[target_feature(enable = "avx2,f16c")]
pub(crate) unsafe fn round_through(v: __m256, to: Rounding) -> __m256 {
    match to {
        Rounding::None => v,
        Rounding::Bf16 => round_bf16(v),
        Rounding::F16 => round_f16(v),
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn f32_to_bf16(src: &[f32], dst: &mut [u16]) {
    let mut s8 = src.chunks_exact(8);
    let mut d8 = dst.chunks_exact_mut(8);
    for (s, d) in (&mut s8).zip(&mut d8) {
        // SAFETY: `s` and `d` each hold exactly 8 elements (16 bytes for `d`).
        let bits = bf16_bits(_mm256_loadu_ps(s.as_ptr()));
        let low = _mm256_castsi256_si128(bits);
        let high = _mm256_extracti128_si256::<1>(bits);
        // Lanes hold values below 0x10000, so the unsigned saturating pack is exact.
        _mm_storeu_si128(d.as_mut_ptr().cast(), _mm_packus_epi32(low, high));
    }
    scalar::f32_to_bf16(s8.remainder(), d8.into_remainder());
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn bf16_to_f32(src: &[u16], dst: &mut [f32]) {
    let mut s8 = src.chunks_exact(8);
    let mut d8 = dst.chunks_exact_mut(8);
    for (s, d) in (&mut s8).zip(&mut d8) {
        // SAFETY: `s` and `d` each hold exactly 8 elements (16 bytes for `s`).
        let wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(s.as_ptr().cast()));
        let bits = _mm256_slli_epi32::<16>(wide);
        // `half` sets the quiet bit of NaNs on widening; do the same.
        let magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFF_FFFF));
        let is_nan = _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7F80_0000));
        let quiet = _mm256_and_si256(is_nan, _mm256_set1_epi32(0x0040_0000));
        _mm256_storeu_ps(
            d.as_mut_ptr(),
            _mm256_castsi256_ps(_mm256_or_si256(bits, quiet)),
        );
    }
    scalar::bf16_to_f32(s8.remainder(), d8.into_remainder());
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn f32_to_f16(src: &[f32], dst: &mut [u16]) {
    let mut s8 = src.chunks_exact(8);
    let mut d8 = dst.chunks_exact_mut(8);
    for (s, d) in (&mut s8).zip(&mut d8) {
        // SAFETY: `s` and `d` each hold exactly 8 elements (16 bytes for `d`).
        let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_loadu_ps(s.as_ptr()));
        _mm_storeu_si128(d.as_mut_ptr().cast(), h);
    }
    scalar::f32_to_f16(s8.remainder(), d8.into_remainder());
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn f16_to_f32(src: &[u16], dst: &mut [f32]) {
    let mut s8 = src.chunks_exact(8);
    let mut d8 = dst.chunks_exact_mut(8);
    for (s, d) in (&mut s8).zip(&mut d8) {
        // SAFETY: `s` and `d` each hold exactly 8 elements (16 bytes for `s`).
        let f = _mm256_cvtph_ps(_mm_loadu_si128(s.as_ptr().cast()));
        _mm256_storeu_ps(d.as_mut_ptr(), f);
    }
    scalar::f16_to_f32(s8.remainder(), d8.into_remainder());
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn round_f32_through(x: &mut [f32], to: Rounding) {
    let mut x8 = x.chunks_exact_mut(8);
    for c in &mut x8 {
        // SAFETY: `c` holds exactly 8 elements.
        let v = round_through(_mm256_loadu_ps(c.as_ptr()), to);
        _mm256_storeu_ps(c.as_mut_ptr(), v);
    }
    scalar::round_f32_through(x8.into_remainder(), to);
}
