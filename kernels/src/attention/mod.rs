//! Scaled dot-product attention, `softmax(q·kᵀ·scale + mask)·v`, for every pattern
//! the model uses: causal GQA against a KV cache (thinker/talker prefill and
//! decode), a causal sliding window (code2wav), and bidirectional attention inside
//! packed segments (vision images, audio windows).
//!
//! The SIMD variants use a flash-attention style online softmax in f32 over key
//! blocks, tiled so the query heads that share a kv head read K/V once, and run in
//! parallel on the caller's rayon pool. `Isa::Scalar` is the plain two-pass
//! reference (the test oracle).
//!
//! A query row that sees no key at all (e.g. `SlidingWindow { window: 0, .. }`, or
//! `kv_len == 0`) gets an all-zero output row.

#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "aarch64")]
mod aarch64;
mod flash;
mod kv_elem;
mod layout;
mod mask;
mod scalar;
mod schedule;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use kv_elem::KvElem;
pub use layout::{AttentionShape, Strides4};
pub use mask::AttentionMask;

use crate::Isa;

/// Attention with the best variant for this host. See [`attention_with`].
#[allow(clippy::too_many_arguments)]
pub fn attention<K: KvElem>(
    shape: &AttentionShape,
    mask: &AttentionMask,
    q: &[f32],
    q_strides: Strides4,
    k: &[K],
    k_strides: Strides4,
    v: &[K],
    v_strides: Strides4,
    out: &mut [f32],
) {
    attention_with(
        Isa::best(),
        shape,
        mask,
        q,
        q_strides,
        k,
        k_strides,
        v,
        v_strides,
        out,
    )
}

/// `out[b, h, i, :] = Σ_j softmax_j(scale · q[b,h,i,:]·k[b,h',j,:]) · v[b,h',j,:]`
/// over the keys `j` that `mask` lets row `i` see, with `h' = h / (q_heads / kv_heads)`.
///
/// - `q` is a `[batch, q_heads, q_len, head_dim]` view with `q_strides`;
/// - `k`, `v` are `[batch, kv_heads, kv_len, head_dim]` views (e.g. the first
///   `kv_len` rows of a larger cache), in f32, f16 or bf16;
/// - `out` is contiguous `[batch, q_heads, q_len, head_dim]`, fully overwritten.
///
/// Panics (caller bug) when `kv_heads` is 0 or does not divide `q_heads`, when a
/// view does not fit its buffer, when `out` has the wrong length, or when a
/// `Segments` mask does not describe the sequence.
#[allow(clippy::too_many_arguments)]
pub fn attention_with<K: KvElem>(
    isa: Isa,
    shape: &AttentionShape,
    mask: &AttentionMask,
    q: &[f32],
    q_strides: Strides4,
    k: &[K],
    k_strides: Strides4,
    v: &[K],
    v_strides: Strides4,
    out: &mut [f32],
) {
    let s = shape;
    assert!(
        s.kv_heads > 0 && s.q_heads % s.kv_heads == 0,
        "q_heads must be a multiple of kv_heads"
    );
    let view_fits = |strides: Strides4, heads, seq, len| {
        strides
            .required_len(s.batch, heads, seq, s.head_dim)
            .is_some_and(|need| need <= len)
    };
    assert!(
        view_fits(q_strides, s.q_heads, s.q_len, q.len()),
        "q view exceeds its buffer"
    );
    assert!(
        view_fits(k_strides, s.kv_heads, s.kv_len, k.len()),
        "k view exceeds its buffer"
    );
    assert!(
        view_fits(v_strides, s.kv_heads, s.kv_len, v.len()),
        "v view exceeds its buffer"
    );
    assert_eq!(
        Some(out.len()),
        s.out_len(),
        "out must be [batch, q_heads, q_len, head_dim]"
    );
    mask.validate(s.q_len, s.kv_len);

    let problem = schedule::Problem {
        shape,
        mask,
        q,
        q_strides,
        k,
        k_strides,
        v,
        v_strides,
    };
    match isa.checked() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `checked` returned Avx2, so the CPU has AVX2, FMA and F16C.
        Isa::Avx2 => unsafe { schedule::run(&problem, x86::accumulate::<K>, out) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: `checked` returned Neon, so the CPU has NEON.
        Isa::Neon => unsafe { schedule::run(&problem, aarch64::accumulate::<K>, out) },
        _ => scalar::attention(shape, mask, q, q_strides, k, k_strides, v, v_strides, out),
    }
}
