//! Numerically stable softmax and log-softmax over rows of length `dim`:
//! `softmax(x)_i = e^(x_i − m) / Σ_j e^(x_j − m)` with `m` the row maximum, so
//! no exponential overflows however large the logits.
//!
//! Like PyTorch, a row holding NaN or +inf, or only −inf, gives NaN
//! everywhere; −inf entries elsewhere give exactly 0 (log-softmax: −inf).
//! The reference sums in f64; the SIMD variants in f32 over 4 vector
//! accumulators and multiply by the reciprocal of the sum (as PyTorch's CPU
//! kernel does).

use crate::Isa;

#[cfg(target_arch = "aarch64")]
mod aarch64;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

fn check_rows(what: &str, len: usize, out_len: usize, dim: usize) {
    assert_eq!(len, out_len, "{what}: x and out lengths differ");
    if dim == 0 {
        assert_eq!(len, 0, "{what}: dim = 0 with a non-empty x");
    } else {
        assert_eq!(len % dim, 0, "{what}: x is not whole rows of dim = {dim}");
    }
}

/// Softmax of each row of `x` into `out`.
pub fn softmax_rows(x: &[f32], dim: usize, out: &mut [f32]) {
    softmax_rows_with(Isa::best(), x, dim, out)
}

pub fn softmax_rows_with(isa: Isa, x: &[f32], dim: usize, out: &mut [f32]) {
    check_rows("softmax_rows", x.len(), out.len(), dim);
    if dim == 0 {
        return;
    }
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::softmax_rows(x, dim, out) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::softmax_rows(x, dim, out) },
        _ => scalar::softmax_rows(x, dim, out),
    }
}

/// Softmax of each row of `x`, in place.
pub fn softmax_rows_inplace(x: &mut [f32], dim: usize) {
    softmax_rows_inplace_with(Isa::best(), x, dim)
}

pub fn softmax_rows_inplace_with(isa: Isa, x: &mut [f32], dim: usize) {
    check_rows("softmax_rows_inplace", x.len(), x.len(), dim);
    if dim == 0 {
        return;
    }
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::softmax_rows_inplace(x, dim) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::softmax_rows_inplace(x, dim) },
        _ => scalar::softmax_rows_inplace(x, dim),
    }
}

/// `log(softmax(x))` of each row, computed as `x_i − m − log Σ_j e^(x_j − m)`
/// (accurate also for tiny probabilities).
pub fn log_softmax_rows(x: &[f32], dim: usize, out: &mut [f32]) {
    log_softmax_rows_with(Isa::best(), x, dim, out)
}

pub fn log_softmax_rows_with(isa: Isa, x: &[f32], dim: usize, out: &mut [f32]) {
    check_rows("log_softmax_rows", x.len(), out.len(), dim);
    if dim == 0 {
        return;
    }
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::log_softmax_rows(x, dim, out) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::log_softmax_rows(x, dim, out) },
        _ => scalar::log_softmax_rows(x, dim, out),
    }
}
