//! Row normalisation: RMSNorm (Qwen3 text, q/k norms) and LayerNorm (audio and
//! vision encoders), over rows of length `dim`.
//!
//! Statistics: the reference accumulates in f64; the SIMD variants in f32 over
//! 4 vector accumulators (32 lanes on AVX2, 16 on NEON). Everything after the
//! statistics uses the same f32 operations in every variant.

use crate::cast::Rounding;
use crate::Isa;

#[cfg(target_arch = "aarch64")]
mod aarch64;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Checks the shared shape contract and returns nothing; panics on caller bugs.
fn check_rows(what: &str, x: &[f32], out: &[f32], dim: usize, params: &[(&str, Option<&[f32]>)]) {
    assert_eq!(x.len(), out.len(), "{what}: x and out lengths differ");
    if dim == 0 {
        assert!(x.is_empty(), "{what}: dim = 0 with a non-empty x");
    } else {
        assert_eq!(
            x.len() % dim,
            0,
            "{what}: x is not whole rows of dim = {dim}"
        );
    }
    for (name, p) in params {
        if let Some(p) = p {
            assert_eq!(p.len(), dim, "{what}: {name} must hold dim = {dim} values");
        }
    }
}

/// RMSNorm of each row: `y = w ⊙ round(x · 1/sqrt(mean(x²) + eps))`, where
/// `round` is `rounding` (PyTorch's Qwen3 RMSNorm casts the normalised f32 row
/// to the activation dtype before multiplying by the weight). The product with
/// `w` is not rounded: it is exact-then-rounded-once when the caller stores the
/// row in that dtype, as PyTorch's bf16 multiply is. `weight = None` means all
/// ones.
pub fn rms_norm_rows(
    x: &[f32],
    weight: Option<&[f32]>,
    dim: usize,
    eps: f32,
    rounding: Rounding,
    out: &mut [f32],
) {
    rms_norm_rows_with(Isa::best(), x, weight, dim, eps, rounding, out)
}

pub fn rms_norm_rows_with(
    isa: Isa,
    x: &[f32],
    weight: Option<&[f32]>,
    dim: usize,
    eps: f32,
    rounding: Rounding,
    out: &mut [f32],
) {
    check_rows("rms_norm_rows", x, out, dim, &[("weight", weight)]);
    if dim == 0 {
        return;
    }
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::rms_norm_rows(x, weight, dim, eps, rounding, out) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::rms_norm_rows(x, weight, dim, eps, rounding, out) },
        _ => scalar::rms_norm_rows(x, weight, dim, eps, rounding, out),
    }
}

/// LayerNorm of each row: `y = (x − mean) · 1/sqrt(var + eps) · w + b`, with the
/// biased variance computed in a second pass over `x − mean`. `None` means
/// weight 1 / bias 0.
pub fn layer_norm_rows(
    x: &[f32],
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    dim: usize,
    eps: f32,
    out: &mut [f32],
) {
    layer_norm_rows_with(Isa::best(), x, weight, bias, dim, eps, out)
}

pub fn layer_norm_rows_with(
    isa: Isa,
    x: &[f32],
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    dim: usize,
    eps: f32,
    out: &mut [f32],
) {
    check_rows(
        "layer_norm_rows",
        x,
        out,
        dim,
        &[("weight", weight), ("bias", bias)],
    );
    if dim == 0 {
        return;
    }
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::layer_norm_rows(x, weight, bias, dim, eps, out) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::layer_norm_rows(x, weight, bias, dim, eps, out) },
        _ => scalar::layer_norm_rows(x, weight, bias, dim, eps, out),
    }
}
