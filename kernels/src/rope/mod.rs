//! Rotary position embeddings applied to rows of one position: the caller
//! passes the cos/sin tables of that position and every head's row of it.
//!
//! All variants give bit-identical results: products and sums are plain f32
//! operations (no FMA), optionally rounded after each step like PyTorch's
//! bf16/f16 arithmetic.

use crate::cast::Rounding;
use crate::Isa;

#[cfg(target_arch = "aarch64")]
mod aarch64;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

fn check(what: &str, x: &[f32], out: &[f32], head_dim: usize, rotary_dim: usize) {
    assert_eq!(x.len(), out.len(), "{what}: x and out lengths differ");
    assert!(
        rotary_dim % 2 == 0,
        "{what}: rotary_dim = {rotary_dim} is odd"
    );
    assert!(
        rotary_dim <= head_dim,
        "{what}: rotary_dim = {rotary_dim} exceeds head_dim = {head_dim}"
    );
    if head_dim == 0 {
        assert!(x.is_empty(), "{what}: head_dim = 0 with a non-empty x");
    } else {
        assert_eq!(
            x.len() % head_dim,
            0,
            "{what}: x is not whole rows of head_dim = {head_dim}"
        );
    }
}

/// "rotate half" RoPE (Llama/Qwen layout) on each row of `x` (rows of
/// `head_dim`): with `h = rotary_dim / 2`, for `i < h`
///
/// ```text
/// out[i]     = x[i]·cos[i]         − x[i + h]·sin[i]
/// out[i + h] = x[i + h]·cos[i + h] + x[i]·sin[i + h]
/// ```
///
/// i.e. `x·cos + rotate_half(x)·sin` over the first `rotary_dim` dims;
/// `out[rotary_dim..]` copies `x`. `cos` and `sin` hold one row of `rotary_dim`
/// values in the `cat(freqs, freqs)` form. With `Rounding::Bf16` (or `F16`)
/// each product and the sum are rounded, mirroring PyTorch on bf16 tensors:
/// `round(round(x·cos) + round(rot·sin))` (x, cos, sin should already be
/// representable in that format).
pub fn rope_half_rows(
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    head_dim: usize,
    rotary_dim: usize,
    rounding: Rounding,
    out: &mut [f32],
) {
    rope_half_rows_with(
        Isa::best(),
        x,
        cos,
        sin,
        head_dim,
        rotary_dim,
        rounding,
        out,
    )
}

#[allow(clippy::too_many_arguments)]
pub fn rope_half_rows_with(
    isa: Isa,
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    head_dim: usize,
    rotary_dim: usize,
    rounding: Rounding,
    out: &mut [f32],
) {
    check("rope_half_rows", x, out, head_dim, rotary_dim);
    assert!(
        cos.len() == rotary_dim && sin.len() == rotary_dim,
        "rope_half_rows: cos and sin must hold rotary_dim = {rotary_dim} values"
    );
    if head_dim == 0 {
        return;
    }
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe {
            x86::rope_half_rows(x, cos, sin, head_dim, rotary_dim, rounding, out)
        },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe {
            aarch64::rope_half_rows(x, cos, sin, head_dim, rotary_dim, rounding, out)
        },
        _ => scalar::rope_half_rows(x, cos, sin, head_dim, rotary_dim, rounding, out),
    }
}

/// Interleaved (GPT-J) RoPE on each row of `x`: pairs `(2p, 2p + 1)` for
/// `p < rotary_dim / 2` rotate by angle p,
///
/// ```text
/// out[2p]     = x[2p]·cos[p]     − x[2p + 1]·sin[p]
/// out[2p + 1] = x[2p + 1]·cos[p] + x[2p]·sin[p]
/// ```
///
/// with `cos`/`sin` holding one value per pair (`rotary_dim / 2` each);
/// `out[rotary_dim..]` copies `x`. Rounding as in [`rope_half_rows`].
pub fn rope_interleaved_rows(
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    head_dim: usize,
    rotary_dim: usize,
    rounding: Rounding,
    out: &mut [f32],
) {
    rope_interleaved_rows_with(
        Isa::best(),
        x,
        cos,
        sin,
        head_dim,
        rotary_dim,
        rounding,
        out,
    )
}

#[allow(clippy::too_many_arguments)]
pub fn rope_interleaved_rows_with(
    isa: Isa,
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    head_dim: usize,
    rotary_dim: usize,
    rounding: Rounding,
    out: &mut [f32],
) {
    check("rope_interleaved_rows", x, out, head_dim, rotary_dim);
    assert!(
        cos.len() == rotary_dim / 2 && sin.len() == rotary_dim / 2,
        "rope_interleaved_rows: cos and sin must hold rotary_dim / 2 = {} values",
        rotary_dim / 2
    );
    if head_dim == 0 {
        return;
    }
    // Scalar for every ISA: not on Qwen3-Omni's hot path.
    let _ = isa;
    scalar::rope_interleaved_rows(x, cos, sin, head_dim, rotary_dim, rounding, out)
}
