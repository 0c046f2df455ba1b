//! Models, written against the tensor API only (they run on any device).

pub mod kv_cache;
pub mod qwen3_omni;

pub use kv_cache::{HiddenCapture, KvCache};

use crate::error::Result;
use crate::tensor::Tensor;

/// Which logits a forward pass returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogitsFor {
    /// Only the last new position (generation).
    Last,
    /// Every new position (scoring, teacher forcing).
    All,
}

/// A decoder-only language model the generation loop can drive.
pub trait CausalLm: Send + Sync {
    fn vocab_size(&self) -> usize;
    /// Longest sequence (prompt + generated) the model accepts.
    fn max_context(&self) -> usize;
    /// An empty KV cache for up to `capacity` positions.
    fn new_cache(&self, capacity: usize) -> Result<KvCache>;
    /// Run `ids` (the next positions after what `cache` holds), append them to
    /// the cache, and return f32 logits `[n, vocab]` (or `[1, vocab]` for `Last`).
    fn forward(&self, ids: &[u32], cache: &mut KvCache, want: LogitsFor) -> Result<Tensor>;
}
