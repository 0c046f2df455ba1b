//! Element types a KV cache may be stored in. All math happens in f32; keys and
//! values are widened as they are loaded.

use half::{bf16, f16};

#[cfg(target_arch = "aarch64")]
use std::arch::aarch64::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for half::f16 {}
    impl Sealed for half::bf16 {}
}

/// A KV-cache element: `f32`, `half::f16` or `half::bf16`.
///
/// Sealed: the SIMD kernels rely on each implementor's exact bit layout.
pub trait KvElem: sealed::Sealed + Copy + Send + Sync + 'static {
    /// True for `f32` itself: kernels then read keys in place instead of widening
    /// a block into scratch first.
    const IS_F32: bool;

    fn to_f32(self) -> f32;

    /// Loads 8 consecutive elements as f32 (the shape the AVX2 kernels consume).
    ///
    /// # Safety
    /// `src..src+8` must be readable and the CPU must have AVX2 and F16C; call only
    /// from (code inlined into) a function compiled with those features.
    #[cfg(target_arch = "x86_64")]
    #[doc(hidden)]
    unsafe fn load8_avx2(src: *const Self) -> __m256;

    /// Loads 8 consecutive elements as two f32x4 halves (the NEON kernels' shape).
    ///
    /// # Safety
    /// `src..src+8` must be readable.
    #[cfg(target_arch = "aarch64")]
    #[doc(hidden)]
    unsafe fn load8_neon(src: *const Self) -> float32x4x2_t;
}

impl KvElem for f32 {
    const IS_F32: bool = true;

    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8_avx2(src: *const f32) -> __m256 {
        // SAFETY: the caller guarantees 8 readable elements and AVX.
        unsafe { _mm256_loadu_ps(src) }
    }

    #[cfg(target_arch = "aarch64")]
    #[inline(always)]
    unsafe fn load8_neon(src: *const f32) -> float32x4x2_t {
        // SAFETY: the caller guarantees 8 readable elements.
        unsafe { vld1q_f32_x2(src) }
    }
}

impl KvElem for f16 {
    const IS_F32: bool = false;

    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8_avx2(src: *const f16) -> __m256 {
        // SAFETY: f16 is a transparent u16, so 8 of them are 16 readable bytes
        // (caller's guarantee); F16C is the caller's guarantee too.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(src.cast::<__m128i>())) }
    }

    #[cfg(target_arch = "aarch64")]
    #[inline(always)]
    unsafe fn load8_neon(src: *const f16) -> float32x4x2_t {
        // SAFETY: f16 is a transparent u16; the caller guarantees 8 readable elements.
        let bits = unsafe { vld1q_u16(src.cast::<u16>()) };
        let lo: float32x4_t;
        let hi: float32x4_t;
        // FCVTL/FCVTL2 are base AdvSIMD (no FEAT_FP16 needed); Rust's vcvt_f32_f16
        // is still unstable because it needs the `f16` type.
        // SAFETY: register-only conversion; `out` keeps `lo` from aliasing `bits`,
        // which the second instruction still reads.
        unsafe {
            std::arch::asm!(
                "fcvtl {lo:v}.4s, {bits:v}.4h",
                "fcvtl2 {hi:v}.4s, {bits:v}.8h",
                bits = in(vreg) bits,
                lo = out(vreg) lo,
                hi = out(vreg) hi,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        float32x4x2_t(lo, hi)
    }
}

impl KvElem for bf16 {
    const IS_F32: bool = false;

    #[inline(always)]
    fn to_f32(self) -> f32 {
        bf16::to_f32(self)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8_avx2(src: *const bf16) -> __m256 {
        // SAFETY: bf16 is a transparent u16; the caller guarantees 16 readable bytes
        // and AVX2. A bf16 is the upper half of an f32, so widen and shift.
        unsafe {
            let bits = _mm256_cvtepu16_epi32(_mm_loadu_si128(src.cast::<__m128i>()));
            _mm256_castsi256_ps(_mm256_slli_epi32::<16>(bits))
        }
    }

    #[cfg(target_arch = "aarch64")]
    #[inline(always)]
    unsafe fn load8_neon(src: *const bf16) -> float32x4x2_t {
        // SAFETY: bf16 is a transparent u16; the caller guarantees 8 readable
        // elements. A bf16 is the upper half of an f32, so widen with a shift by 16.
        unsafe {
            let bits = vld1q_u16(src.cast::<u16>());
            let lo = vshll_n_u16::<16>(vget_low_u16(bits));
            let hi = vshll_high_n_u16::<16>(bits);
            float32x4x2_t(vreinterpretq_f32_u32(lo), vreinterpretq_f32_u32(hi))
        }
    }
}
