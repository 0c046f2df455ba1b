//! Block-quantized weights in ggml's Q8_0 and Q4_0 formats (byte-compatible, so GGUF
//! tensors can be cast to blocks), and the integer dot products and GEMM that use them.
//!
//! A block holds [`QK`] = 32 consecutive values of a row with one f16 scale `d`:
//! - [`BlockQ8_0`]: value `i` is `qs[i] · d` (34 bytes, 8.5 bits per value);
//! - [`BlockQ4_0`]: value `j` (0..16) is the low nibble of `qs[j]`, value `j + 16` its
//!   high nibble, each `(nibble − 8) · d` (18 bytes, 4.5 bits per value).
//!
//! Quantizing rounds exactly as ggml's `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref`
//! for finite inputs (non-finite inputs give unspecified, but memory-safe, blocks), and
//! every SIMD variant matches the scalar reference bit for bit. Dot products quantize
//! activations to Q8_0 and multiply-add integers; m = 1 GEMM (decode) reads 1.06 (Q8_0)
//! or 0.56 (Q4_0) bytes of weight per multiply-add, and the AVX2 kernels are fast enough
//! to be bound by DRAM bandwidth on both (see `x86.rs`).

mod activations;
mod gemm;

pub(crate) use gemm::check_and_trivial;
mod scalar;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::Isa;
use half::f16;

/// Values per quantization block.
pub const QK: usize = 32;

/// 32 values as signed bytes with one f16 scale (ggml `block_q8_0`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BlockQ8_0 {
    pub d: f16,
    pub qs: [i8; QK],
}

/// 32 values as offset-8 nibbles with one f16 scale (ggml `block_q4_0`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BlockQ4_0 {
    pub d: f16,
    pub qs: [u8; QK / 2],
}

// The GGUF byte layout: no padding, 2-byte alignment.
const _: () = assert!(std::mem::size_of::<BlockQ8_0>() == 34);
const _: () = assert!(std::mem::size_of::<BlockQ4_0>() == 18);
const _: () = assert!(std::mem::align_of::<BlockQ8_0>() == 2);
const _: () = assert!(std::mem::align_of::<BlockQ4_0>() == 2);

/// Quantizes `x` (a multiple of 32 values) into `out.len()` Q8_0 blocks.
pub fn quantize_row_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    quantize_row_q8_0_with(Isa::best(), x, out)
}

pub fn quantize_row_q8_0_with(isa: Isa, x: &[f32], out: &mut [BlockQ8_0]) {
    assert_eq!(
        x.len(),
        out.len() * QK,
        "quantize_row_q8_0: x.len() must be 32 × out.len()"
    );
    match isa.checked() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        Isa::Avx2 => unsafe { x86::quantize_row_q8_0(x, out) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: `checked()` returned Neon, so this CPU has Advanced SIMD.
        Isa::Neon => unsafe { aarch64::quantize_row_q8_0(x, out) },
        _ => scalar::quantize_row_q8_0(x, out),
    }
}

/// Quantizes `x` (a multiple of 32 values) into `out.len()` Q4_0 blocks.
pub fn quantize_row_q4_0(x: &[f32], out: &mut [BlockQ4_0]) {
    quantize_row_q4_0_with(Isa::best(), x, out)
}

pub fn quantize_row_q4_0_with(isa: Isa, x: &[f32], out: &mut [BlockQ4_0]) {
    assert_eq!(
        x.len(),
        out.len() * QK,
        "quantize_row_q4_0: x.len() must be 32 × out.len()"
    );
    match isa.checked() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        Isa::Avx2 => unsafe { x86::quantize_row_q4_0(x, out) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: `checked()` returned Neon, so this CPU has Advanced SIMD.
        Isa::Neon => unsafe { aarch64::quantize_row_q4_0(x, out) },
        _ => scalar::quantize_row_q4_0(x, out),
    }
}

/// Expands Q8_0 blocks to `out` (32 values per block).
pub fn dequantize_row_q8_0(b: &[BlockQ8_0], out: &mut [f32]) {
    dequantize_row_q8_0_with(Isa::best(), b, out)
}

pub fn dequantize_row_q8_0_with(isa: Isa, b: &[BlockQ8_0], out: &mut [f32]) {
    assert_eq!(
        out.len(),
        b.len() * QK,
        "dequantize_row_q8_0: out.len() must be 32 × b.len()"
    );
    match isa.checked() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        Isa::Avx2 => unsafe { x86::dequantize_row_q8_0(b, out) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: `checked()` returned Neon, so this CPU has Advanced SIMD.
        Isa::Neon => unsafe { aarch64::dequantize_row_q8_0(b, out) },
        _ => scalar::dequantize_row_q8_0(b, out),
    }
}

/// Expands Q4_0 blocks to `out` (32 values per block).
pub fn dequantize_row_q4_0(b: &[BlockQ4_0], out: &mut [f32]) {
    dequantize_row_q4_0_with(Isa::best(), b, out)
}

pub fn dequantize_row_q4_0_with(isa: Isa, b: &[BlockQ4_0], out: &mut [f32]) {
    assert_eq!(
        out.len(),
        b.len() * QK,
        "dequantize_row_q4_0: out.len() must be 32 × b.len()"
    );
    match isa.checked() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        Isa::Avx2 => unsafe { x86::dequantize_row_q4_0(b, out) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: `checked()` returned Neon, so this CPU has Advanced SIMD.
        Isa::Neon => unsafe { aarch64::dequantize_row_q4_0(b, out) },
        _ => scalar::dequantize_row_q4_0(b, out),
    }
}

/// `Σ a·b` over two Q8_0 rows: `a` the weights, `b` quantized activations.
///
/// On x86 the product uses `|a| · sign(b, a)`, so a −128 in `b` (never produced by
/// [`quantize_row_q8_0`]) facing a negative `a` is counted as −128 · |a| rather than 128 · |a|.
pub fn vec_dot_q8_0_q8_0(a: &[BlockQ8_0], b: &[BlockQ8_0]) -> f32 {
    vec_dot_q8_0_q8_0_with(Isa::best(), a, b)
}

pub fn vec_dot_q8_0_q8_0_with(isa: Isa, a: &[BlockQ8_0], b: &[BlockQ8_0]) -> f32 {
    assert_eq!(a.len(), b.len(), "vec_dot_q8_0_q8_0: rows differ in length");
    match isa.checked() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        Isa::Avx2 => unsafe { x86::vec_dot_q8_0_q8_0(a, b) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: `checked()` returned Neon, so this CPU has Advanced SIMD.
        Isa::Neon => unsafe { aarch64::vec_dot_q8_0_q8_0(a, b) },
        _ => scalar::vec_dot_q8_0_q8_0(a, b),
    }
}

/// `Σ w·x` over a Q4_0 weight row and a Q8_0 activation row.
pub fn vec_dot_q4_0_q8_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    vec_dot_q4_0_q8_0_with(Isa::best(), w, x)
}

pub fn vec_dot_q4_0_q8_0_with(isa: Isa, w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    assert_eq!(w.len(), x.len(), "vec_dot_q4_0_q8_0: rows differ in length");
    match isa.checked() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        Isa::Avx2 => unsafe { x86::vec_dot_q4_0_q8_0(w, x) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: `checked()` returned Neon, so this CPU has Advanced SIMD.
        Isa::Neon => unsafe { aarch64::vec_dot_q4_0_q8_0(w, x) },
        _ => scalar::vec_dot_q4_0_q8_0(w, x),
    }
}

/// `C[m×n] = A[m×k] · Wᵀ` with W in Q8_0: `n` rows of `k/32` blocks (a Linear weight).
///
/// A is f32 row-major with row stride `lda`, C has row stride `ldc` (only the first `n`
/// values of each C row are written). Each A row is quantized to Q8_0 first, so the
/// result carries that rounding (relative error around 1/254 per activation block).
/// Splits the rows of W across the current rayon pool in contiguous runs; each weight
/// row is read from memory once per tile of A rows (a few dozen, depending on k; all of
/// them for small m).
#[allow(clippy::too_many_arguments)]
pub fn gemm_q8_0(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    w: &[BlockQ8_0],
    c: &mut [f32],
    ldc: usize,
) {
    gemm_q8_0_with(Isa::best(), m, n, k, a, lda, w, c, ldc)
}

#[allow(clippy::too_many_arguments)]
pub fn gemm_q8_0_with(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    w: &[BlockQ8_0],
    c: &mut [f32],
    ldc: usize,
) {
    gemm::gemm(isa.checked(), m, n, k, a, lda, w, c, ldc)
}

/// `C[m×n] = A[m×k] · Wᵀ` with W in Q4_0; otherwise as [`gemm_q8_0`].
#[allow(clippy::too_many_arguments)]
pub fn gemm_q4_0(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    w: &[BlockQ4_0],
    c: &mut [f32],
    ldc: usize,
) {
    gemm_q4_0_with(Isa::best(), m, n, k, a, lda, w, c, ldc)
}

#[allow(clippy::too_many_arguments)]
pub fn gemm_q4_0_with(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    w: &[BlockQ4_0],
    c: &mut [f32],
    ldc: usize,
) {
    gemm::gemm(isa.checked(), m, n, k, a, lda, w, c, ldc)
}
