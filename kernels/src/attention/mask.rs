//! Which keys a query row may attend to.
//!
//! Every mask the model needs leaves each query row a *contiguous* run of visible
//! keys, so the fast kernels work on key ranges and never evaluate a per-element
//! mask; `is_visible` is the per-element definition the reference kernel uses.

use std::ops::Range;

/// The attention pattern. Query row `i` and key `j` are indices into the `q_len`
/// queries and `kv_len` keys of one (batch, head).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttentionMask<'a> {
    /// Full bidirectional attention.
    None,
    /// Query `i` sits at absolute position `q_offset + i` and sees keys
    /// `j <= q_offset + i` (decode with a KV cache: `q_offset = kv_len - q_len`).
    Causal { q_offset: usize },
    /// Causal, limited to the last `window` positions: query `i` sees keys `j` with
    /// `q_offset + i - window < j <= q_offset + i`. `window == 0` sees nothing.
    SlidingWindow { q_offset: usize, window: usize },
    /// Bidirectional attention inside segments (images, audio windows) of a packed
    /// sequence: needs `q_len == kv_len`; segment `s` is
    /// `cu_seqlens[s]..cu_seqlens[s + 1]`. `cu_seqlens` starts with 0, ends with the
    /// sequence length and never decreases (empty segments are allowed).
    Segments { cu_seqlens: &'a [usize] },
}

impl AttentionMask<'_> {
    /// Whether query row `i` may attend to key `j` (ignoring `kv_len`).
    pub fn is_visible(&self, i: usize, j: usize) -> bool {
        match *self {
            AttentionMask::None => true,
            AttentionMask::Causal { q_offset } => j <= q_offset.saturating_add(i),
            AttentionMask::SlidingWindow { q_offset, window } => {
                let pos = q_offset.saturating_add(i);
                j <= pos && j.saturating_add(window) > pos
            }
            AttentionMask::Segments { cu_seqlens } => {
                segment_of(cu_seqlens, i) == segment_of(cu_seqlens, j)
            }
        }
    }

    /// The keys query row `i` sees, clipped to `0..kv_len` (possibly empty).
    pub fn visible_keys(&self, i: usize, kv_len: usize) -> Range<usize> {
        let range = match *self {
            AttentionMask::None => 0..kv_len,
            AttentionMask::Causal { q_offset } => 0..q_offset.saturating_add(i).saturating_add(1),
            AttentionMask::SlidingWindow { q_offset, window } => {
                let end = q_offset.saturating_add(i).saturating_add(1);
                end.saturating_sub(window)..end
            }
            AttentionMask::Segments { cu_seqlens } => {
                let s = segment_of(cu_seqlens, i);
                match (cu_seqlens.get(s), cu_seqlens.get(s + 1)) {
                    (Some(&start), Some(&end)) => start..end,
                    _ => 0..0,
                }
            }
        };
        range.start.min(kv_len)..range.end.min(kv_len)
    }

    /// Panics unless the mask fits a problem with these lengths.
    pub(crate) fn validate(&self, q_len: usize, kv_len: usize) {
        if let AttentionMask::Segments { cu_seqlens } = *self {
            assert_eq!(q_len, kv_len, "Segments mask needs q_len == kv_len");
            assert_eq!(cu_seqlens.first(), Some(&0), "cu_seqlens must start with 0");
            assert_eq!(
                cu_seqlens.last(),
                Some(&q_len),
                "cu_seqlens must end with the sequence length"
            );
            assert!(
                cu_seqlens.windows(2).all(|w| w[0] <= w[1]),
                "cu_seqlens must not decrease"
            );
        }
    }
}

/// Index `s` of the last boundary `cu_seqlens[s] <= i`: the (non-empty) segment
/// holding position `i`.
fn segment_of(cu_seqlens: &[usize], i: usize) -> usize {
    cu_seqlens.partition_point(|&c| c <= i).saturating_sub(1)
}
