//! Multimodal prompt layout of the thinker (qwen3-omni.md §3, §5): placeholder
//! expansion as `Qwen3OmniMoeProcessor` does it, and the 3-D M-RoPE position ids
//! of `get_rope_index` (prefill) plus the decode positions after such a prompt.
//!
//! Pure functions on token ids and per-item sizes; no weights. Special ids are
//! always read from the config ([`MultimodalSpec::from_thinker`]): the tiny test
//! checkpoint uses shifted ids.
//!
//! ```text
//! chat template ids (one placeholder per item)
//!   --expand_placeholders(ids, media, spec)--> processor ids
//!   --rope_index(ids, media, spec)--> [3, seq] positions + rope_delta
//!   --decode_positions(cache_len, rope_delta, n)--> positions of the next tokens
//! ```
//!
//! Scope: one unpadded row (no batch / left padding).

pub mod expand;
pub mod media;
pub mod merge;
pub mod rope_index;

pub use expand::{expand_placeholders, interleave_audio_in_video, MediaToken};
pub use media::{GridThw, MediaSizes, MultimodalSpec, MultimodalTokens, VideoItem};
pub use merge::{merge_embeddings, Deepstack, MultimodalEmbeds, PadPositions, MERGE_OP};
pub use rope_index::{decode_positions, rope_index, RopeIndex};
