//! A bounded key/value cache: per layer, `k` and `v` of shape
//! `[1, kv_heads, capacity, head_dim]`, filled in place. Attention reads
//! `narrow(2, 0, len)` views, so no copy happens per step.

use crate::backend::Device;
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

pub struct KvCache {
    layers: Vec<(Tensor, Tensor)>,
    len: usize,
    capacity: usize,
    /// Rotary position of the next token minus `len` (M-RoPE `rope_delta`):
    /// 0 for text, set by a multimodal prefill whose 3-D positions do not
    /// advance one per token.
    rope_delta: f32,
    /// States a later stage needs (the talker reads the thinker's input
    /// embeddings and one layer's hidden states), recorded while the
    /// request runs.
    capture: Option<HiddenCapture>,
}

/// Per-position states recorded by the model for the request that owns the
/// cache: the decoder's input embeddings and the hidden states of `layer`
/// (HF `hidden_states[layer]` indexing: 0 = the embeddings, k = after
/// decoder layer k - 1, the number of layers = the final normed states).
pub struct HiddenCapture {
    pub layer: usize,
    /// `[n, hidden]` pieces, one per forward, in position order.
    pub embeds: Vec<Tensor>,
    pub hidden: Vec<Tensor>,
}

impl HiddenCapture {
    pub fn new(layer: usize) -> HiddenCapture {
        HiddenCapture {
            layer,
            embeds: Vec::new(),
            hidden: Vec::new(),
        }
    }

    /// All recorded positions: `(embeds [n, hidden], hidden [n, hidden])`.
    pub fn concat(&self) -> Result<(Tensor, Tensor)> {
        let cat = |v: &[Tensor]| {
            if v.is_empty() {
                return Err(Error::invalid("no states were captured"));
            }
            Tensor::cat(&v.iter().collect::<Vec<_>>(), 0)
        };
        Ok((cat(&self.embeds)?, cat(&self.hidden)?))
    }
}

impl KvCache {
    /// Allocates the whole budget up front, so running out of memory is an error
    /// here, not midway through a request.
    pub fn new(
        layers: usize,
        kv_heads: usize,
        head_dim: usize,
        capacity: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<KvCache> {
        let mut v = Vec::with_capacity(layers);
        for _ in 0..layers {
            v.push((
                Tensor::zeros([1, kv_heads, capacity, head_dim], dtype, device)?,
                Tensor::zeros([1, kv_heads, capacity, head_dim], dtype, device)?,
            ));
        }
        Ok(KvCache {
            layers: v,
            len: 0,
            capacity,
            rope_delta: 0.0,
            capture: None,
        })
    }

    /// Bytes one cache of this shape needs (for admission control).
    pub fn bytes_needed(
        layers: usize,
        kv_heads: usize,
        head_dim: usize,
        capacity: usize,
        dtype: DType,
    ) -> Result<usize> {
        [layers, 2, kv_heads, capacity, head_dim]
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|n| dtype.storage_bytes(n).ok())
            .ok_or_else(|| Error::overflow("KV cache size"))
    }

    /// Positions stored.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Append `k`, `v` `[1, kv_heads, n, head_dim]` for `layer` at the current
    /// length and return views of everything stored for that layer (including
    /// the new positions). Call `advance(n)` once all layers have appended.
    pub fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let n = k.dim(2)?;
        let end = self
            .len
            .checked_add(n)
            .filter(|&e| e <= self.capacity)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "KV cache full: {} positions stored, {n} more do not fit in {}",
                    self.len, self.capacity
                ))
            })?;
        let len = self.len;
        let (kc, vc) = self
            .layers
            .get_mut(layer)
            .ok_or_else(|| Error::invalid(format!("KV cache has no layer {layer}")))?;
        let k = k.to_dtype(kc.dtype())?;
        let v = v.to_dtype(vc.dtype())?;
        kc.write_slice(2, len, &k)?;
        vc.write_slice(2, len, &v)?;
        Ok((kc.narrow(2, 0, end)?, vc.narrow(2, 0, end)?))
    }

    /// Mark `n` appended positions as stored.
    pub fn advance(&mut self, n: usize) -> Result<()> {
        self.len = self
            .len
            .checked_add(n)
            .filter(|&e| e <= self.capacity)
            .ok_or_else(|| Error::invalid("KV cache advanced past its capacity"))?;
        Ok(())
    }

    /// Position offset of the tokens after the stored ones (see the field).
    pub fn rope_delta(&self) -> f32 {
        self.rope_delta
    }

    /// Set by the model after a prefill whose positions are not `0..len`.
    pub fn set_rope_delta(&mut self, delta: f32) {
        self.rope_delta = delta;
    }

    /// Start recording states into the cache (see [`HiddenCapture`]).
    pub fn start_capture(&mut self, layer: usize) {
        self.capture = Some(HiddenCapture::new(layer));
    }

    /// The recording, for the model to append to.
    pub fn capture_mut(&mut self) -> Option<&mut HiddenCapture> {
        self.capture.as_mut()
    }

    /// Ends the recording and hands it over.
    pub fn take_capture(&mut self) -> Option<HiddenCapture> {
        self.capture.take()
    }

    /// Forget everything (keeps the memory).
    pub fn clear(&mut self) {
        self.len = 0;
        self.rope_delta = 0.0;
        self.capture = None;
    }
}
