//! The Qwen3-Omni thinker's text decoder (Qwen3-MoE): token embedding, N
//! decoder layers, final RMSNorm, untied lm_head.
//!
//! Weights stay in the checkpoint dtype (bf16) unless quantized at load; the
//! activations use `LoadOptions::dtype` (f32 matmuls read the bf16 weights
//! directly).

use std::path::Path;

use super::attention::Attention;
use super::layer::{load_layer_norms, DecoderLayer, FeedForward};
use super::moe::SparseMoe;
use super::multimodal::decode_positions;
use super::multimodal::{
    merge_embeddings, Deepstack, MultimodalEmbeds, MultimodalTokens, MERGE_OP,
};
use super::positions::{rope_for, Positions};
use super::weights::{Init, Weights};
use super::{Qwen3OmniConfig, TextConfig};
use crate::backend::Device;
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::models::{CausalLm, KvCache, LogitsFor};
use crate::nn::{Linear, RmsNorm};
use crate::tensor::{DType, Tensor};

/// How to load (or build) a thinker.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub device: Device,
    /// Activation / compute dtype: F32 or BF16.
    pub dtype: DType,
    /// Quantize Linear weights at load (Q8_0 or Q4_0); None keeps them as stored.
    pub quant: Option<DType>,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            device: Device::cpu(),
            dtype: DType::F32,
            quant: None,
        }
    }
}

impl LoadOptions {
    fn validate(&self) -> Result<()> {
        if !matches!(self.dtype, DType::F32 | DType::BF16) {
            return Err(Error::InvalidArgument(format!(
                "thinker compute dtype {} is not supported (use f32 or bf16)",
                self.dtype
            )));
        }
        if let Some(q) = self.quant {
            if !q.is_quantized() {
                return Err(Error::InvalidArgument(format!(
                    "quant {q} is not a quantized dtype (use q8_0 or q4_0)"
                )));
            }
        }
        Ok(())
    }
}

/// Everything a forward pass computed, for tests against the reference and
/// for the talker (which reads hidden states).
#[derive(Default)]
pub struct ThinkerTrace {
    /// Decoder input `[n, hidden]`.
    pub embeds: Option<Tensor>,
    /// As the reference's `output_hidden_states`: `[0]` the embeddings, `[k]`
    /// the output of layer k-1, and the last entry the final-norm output.
    pub hidden_states: Vec<Tensor>,
    /// Raw output of the last layer (before `model.norm`).
    pub last_layer_output: Option<Tensor>,
    /// Per layer: attention output after o_proj, before the residual add.
    pub attn_outputs: Vec<Tensor>,
    /// Per layer: MoE (or dense MLP) output, before the residual add.
    pub moe_outputs: Vec<Tensor>,
    /// Per layer: router logits `[n, experts]` (None for dense layers).
    pub router_logits: Vec<Option<Tensor>>,
}

pub struct Thinker {
    config: Qwen3OmniConfig,
    text: TextConfig,
    device: Device,
    dtype: DType,
    /// `thinker.model.embed_tokens.weight [vocab, hidden]`, as stored.
    embed_tokens: Tensor,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    lm_head: Linear,
}

impl Thinker {
    /// Load from a checkpoint directory (`config.json` + safetensors, single
    /// file or sharded).
    pub fn load(dir: &Path, opts: &LoadOptions) -> Result<Thinker> {
        let config = Qwen3OmniConfig::from_file(&dir.join("config.json"))?;
        let ckpt = Checkpoint::open(dir)?;
        Thinker::from_checkpoint(&ckpt, config, opts)
    }

    /// Load from an opened checkpoint with its parsed `config.json`.
    pub fn from_checkpoint(
        ckpt: &Checkpoint,
        config: Qwen3OmniConfig,
        opts: &LoadOptions,
    ) -> Result<Thinker> {
        opts.validate()?;
        let mut weights =
            Weights::from_checkpoint(ckpt, opts.device.clone(), opts.dtype, opts.quant);
        Thinker::build(config, &mut weights, opts)
    }

    /// A deterministic random thinker (fan-in scaled weights, bf16), f32
    /// activations: the CLI demo and tests that need no files.
    pub fn random(config: &Qwen3OmniConfig, seed: u64, device: &Device) -> Result<Thinker> {
        let opts = LoadOptions {
            device: device.clone(),
            ..LoadOptions::default()
        };
        Thinker::random_with(config, seed, &opts)
    }

    pub fn random_with(config: &Qwen3OmniConfig, seed: u64, opts: &LoadOptions) -> Result<Thinker> {
        opts.validate()?;
        config.validate()?;
        let mut weights = Weights::random(seed, opts.device.clone(), opts.dtype, opts.quant);
        Thinker::build(config.clone(), &mut weights, opts)
    }

    fn build(config: Qwen3OmniConfig, w: &mut Weights, opts: &LoadOptions) -> Result<Thinker> {
        let t = config.thinker_text()?.clone();
        let (hidden, vocab, eps) = (t.hidden_size, t.vocab_size, t.rms_norm_eps);
        let (heads, kv_heads, head_dim) =
            (t.num_attention_heads, t.num_key_value_heads, t.head_dim());
        let p = "thinker.model";

        let embed_tokens = w.tensor(
            &format!("{p}.embed_tokens.weight"),
            &[vocab, hidden],
            Init::Embedding,
            "[vocab_size, hidden_size]",
        )?;
        let mut layers = Vec::with_capacity(t.num_hidden_layers);
        for n in 0..t.num_hidden_layers {
            let l = format!("{p}.layers.{n}");
            let self_attn = Attention::load(w, &l, hidden, heads, kv_heads, head_dim, eps)?;
            let mlp = if t.is_moe_layer(n) {
                let inter = t.moe_intermediate_size;
                let gate = w.linear(
                    &format!("{l}.mlp.gate"),
                    t.num_experts,
                    hidden,
                    "[num_experts, hidden_size]",
                )?;
                let experts = (0..t.num_experts)
                    .map(|e| {
                        w.swiglu(
                            &format!("{l}.mlp.experts.{e}"),
                            hidden,
                            inter,
                            "moe_intermediate_size × hidden_size",
                        )
                    })
                    .collect::<Result<Vec<_>>>()?;
                FeedForward::Moe(Box::new(SparseMoe {
                    gate,
                    experts,
                    top_k: t.num_experts_per_tok,
                    norm_topk_prob: t.norm_topk_prob,
                }))
            } else {
                FeedForward::Dense(Box::new(w.swiglu(
                    &format!("{l}.mlp"),
                    hidden,
                    t.intermediate_size,
                    "intermediate_size × hidden_size",
                )?))
            };
            let (input_layernorm, post_attention_layernorm) = load_layer_norms(w, &l, hidden, eps)?;
            layers.push(DecoderLayer {
                input_layernorm,
                self_attn,
                post_attention_layernorm,
                mlp,
            });
        }
        let norm = w.rms_norm(&format!("{p}.norm.weight"), hidden, eps, "[hidden_size]")?;
        let lm_head = if t.tie_word_embeddings {
            let mut head = Linear::new(embed_tokens.clone(), None)?;
            if let Some(q) = opts.quant {
                head.quantize(q)?;
            }
            head
        } else {
            w.linear(
                "thinker.lm_head",
                vocab,
                hidden,
                "[vocab_size, hidden_size]",
            )?
        };
        Ok(Thinker {
            config,
            text: t,
            device: opts.device.clone(),
            dtype: w.compute_dtype(),
            embed_tokens,
            layers,
            norm,
            lm_head,
        })
    }

    pub fn config(&self) -> &Qwen3OmniConfig {
        &self.config
    }
    pub fn text_config(&self) -> &TextConfig {
        &self.text
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
    /// Activation dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Token embeddings `[n, hidden]` in the activation dtype. Ids must be
    /// below the vocabulary size.
    pub fn embed(&self, ids: &[u32]) -> Result<Tensor> {
        if ids.is_empty() {
            return Err(Error::InvalidArgument(
                "thinker: no token ids given (empty prompt)".into(),
            ));
        }
        let vocab = self.text.vocab_size;
        if let Some((i, id)) = ids.iter().enumerate().find(|(_, &id)| id as usize >= vocab) {
            return Err(Error::InvalidArgument(format!(
                "thinker: token id {id} (at index {i}) is outside the vocabulary of {vocab} ids; \
                 was the prompt tokenized with this model's tokenizer?"
            )));
        }
        let ids = Tensor::from_slice(ids, [ids.len()], &self.device)?;
        self.embed_tokens.gather_rows(&ids)?.to_dtype(self.dtype)
    }

    /// Run token ids (the positions after what `cache` holds) and record
    /// every intermediate the reference exposes.
    pub fn forward_with_trace(
        &self,
        ids: &[u32],
        cache: &mut KvCache,
        want: LogitsFor,
    ) -> Result<(Tensor, ThinkerTrace)> {
        let mut trace = ThinkerTrace::default();
        let x = self.embed(ids)?;
        let positions = next_positions(cache, ids.len());
        let logits = self.forward_embeds(&x, &positions, cache, want, Some(&mut trace))?;
        Ok((logits, trace))
    }

    /// The decoder on input embeddings `x [n, hidden]` (text, or text merged
    /// with audio/vision features) at the given rotary positions. Appends to
    /// `cache` and returns f32 logits `[n or 1, vocab]`.
    pub fn forward_embeds(
        &self,
        x: &Tensor,
        positions: &Positions,
        cache: &mut KvCache,
        want: LogitsFor,
        trace: Option<&mut ThinkerTrace>,
    ) -> Result<Tensor> {
        self.forward_embeds_deepstack(x, positions, None, cache, want, trace)
    }

    /// A multimodal prompt (qwen3-omni.md §5.1): embeds the processor-expanded
    /// `ids`, puts the image / video / audio embeddings at their pad positions
    /// (per modality in sequence order), runs the decoder at `positions` (from
    /// [`rope_index`](super::multimodal::rope_index)) and adds the DeepStack
    /// level `k` at the visual positions after decoder layer `k`. A pad count
    /// that differs from the embedding rows is `Error::Shape { op:
    /// multimodal::MERGE_OP, .. }`. Later (text) tokens go through
    /// [`forward_embeds`](Self::forward_embeds) at
    /// [`decode_positions`](super::multimodal::decode_positions).
    pub fn forward_multimodal(
        &self,
        ids: &[u32],
        media: &MultimodalEmbeds,
        positions: &Positions,
        cache: &mut KvCache,
        want: LogitsFor,
        trace: Option<&mut ThinkerTrace>,
    ) -> Result<Tensor> {
        self.device().scoped(|| {
            let (x, deepstack) = self.merge_media(ids, media)?;
            self.forward_embeds_deepstack(&x, positions, deepstack.as_ref(), cache, want, trace)
        })
    }

    /// [`forward_multimodal`](Self::forward_multimodal) in pieces of at most
    /// `chunk` positions (bounds activation memory on long media prompts; the
    /// result equals one pass). `LogitsFor::All` concatenates every chunk's rows.
    pub fn prefill_multimodal(
        &self,
        ids: &[u32],
        media: &MultimodalEmbeds,
        positions: &Positions,
        cache: &mut KvCache,
        want: LogitsFor,
        chunk: usize,
    ) -> Result<Tensor> {
        if chunk == 0 {
            return Err(Error::invalid("thinker: prefill chunk must be at least 1"));
        }
        let n = ids.len();
        if positions.iter().any(|r| r.len() != n) {
            return Err(Error::shape(
                "thinker",
                format!("{n} ids but {} positions", positions[0].len()),
            ));
        }
        self.device().scoped(|| {
            let (x, deepstack) = self.merge_media(ids, media)?;
            let mut all = Vec::new();
            let mut last = None;
            let mut start = 0;
            while start < n {
                let len = chunk.min(n - start);
                let part = x.narrow(0, start, len)?;
                let pos: Positions =
                    std::array::from_fn(|r| positions[r][start..start + len].to_vec());
                let ds = match &deepstack {
                    Some(d) => Some(Deepstack {
                        levels: d
                            .levels
                            .iter()
                            .map(|l| l.narrow(0, start, len))
                            .collect::<Result<_>>()?,
                    }),
                    None => None,
                };
                let logits =
                    self.forward_embeds_deepstack(&part, &pos, ds.as_ref(), cache, want, None)?;
                if want == LogitsFor::All {
                    all.push(logits);
                } else {
                    last = Some(logits);
                }
                start += len;
            }
            match want {
                LogitsFor::All => Tensor::cat(&all.iter().collect::<Vec<_>>(), 0),
                LogitsFor::Last => last.ok_or_else(|| Error::invalid("thinker: no tokens to run")),
            }
        })
    }

    /// Text embeddings of `ids` with the media rows scattered in, plus DeepStack.
    fn merge_media(
        &self,
        ids: &[u32],
        media: &MultimodalEmbeds,
    ) -> Result<(Tensor, Option<Deepstack>)> {
        let tokens = MultimodalTokens::from_thinker(&self.config.thinker_config);
        let text = self.embed(ids)?;
        let (x, deepstack) = merge_embeddings(&text, ids, &tokens, media)?;
        if let Some(d) = &deepstack {
            if d.levels.len() > self.layers.len() {
                return Err(Error::shape(
                    MERGE_OP,
                    format!(
                        "{} DeepStack levels but only {} decoder layers",
                        d.levels.len(),
                        self.layers.len()
                    ),
                ));
            }
        }
        Ok((x, deepstack))
    }

    fn forward_embeds_deepstack(
        &self,
        x: &Tensor,
        positions: &Positions,
        deepstack: Option<&Deepstack>,
        cache: &mut KvCache,
        want: LogitsFor,
        mut trace: Option<&mut ThinkerTrace>,
    ) -> Result<Tensor> {
        let n = x.dim(0)?;
        self.check_room(n, cache)?;
        if x.dims() != [n, self.text.hidden_size] || positions.iter().any(|r| r.len() != n) {
            return Err(Error::shape(
                "thinker",
                format!(
                    "embeddings {:?} and {} positions do not fit hidden size {}",
                    x.shape(),
                    positions[0].len(),
                    self.text.hidden_size
                ),
            ));
        }
        let x = x.to_dtype(self.dtype)?;
        let rope = rope_for(positions, &self.text, self.dtype, &self.device)?;

        if let Some(t) = trace.as_deref_mut() {
            t.embeds = Some(x.clone());
            t.hidden_states.push(x.clone());
        }
        if let Some(c) = cache.capture_mut() {
            c.embeds.push(x.clone());
            if c.layer == 0 {
                c.hidden.push(x.clone());
            }
        }
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            let (out, lt) = layer.forward(&h, &rope, i, cache)?;
            h = out;
            if let Some(add) = deepstack.and_then(|d| d.levels.get(i)) {
                h = h.add(add)?;
            }
            if let Some(c) = cache.capture_mut() {
                if c.layer == i + 1 && c.layer < self.layers.len() {
                    c.hidden.push(h.clone());
                }
            }
            if let Some(t) = trace.as_deref_mut() {
                t.hidden_states.push(h.clone());
                t.attn_outputs.push(lt.attn_output);
                t.moe_outputs.push(lt.mlp_output);
                t.router_logits.push(lt.router_logits);
            }
        }
        cache.advance(n)?;

        let normed = self.norm.forward(&h)?;
        if let Some(c) = cache.capture_mut() {
            if c.layer == self.layers.len() {
                c.hidden.push(normed.clone());
            }
        }
        if let Some(t) = trace {
            // The reference's last hidden state is the normed one.
            t.last_layer_output = t.hidden_states.pop();
            t.hidden_states.push(normed.clone());
        }
        let rows = match want {
            LogitsFor::All => normed,
            LogitsFor::Last => normed.narrow(0, n - 1, 1)?,
        };
        self.lm_head.forward(&rows)?.to_dtype(DType::F32)
    }

    /// `n` new positions must fit the cache and the model's context.
    fn check_room(&self, n: usize, cache: &KvCache) -> Result<()> {
        if n == 0 {
            return Err(Error::InvalidArgument("thinker: no tokens to run".into()));
        }
        if cache.num_layers() != self.layers.len() {
            return Err(Error::InvalidArgument(format!(
                "thinker: KV cache has {} layers, the model {}; make it with Thinker::new_cache",
                cache.num_layers(),
                self.layers.len()
            )));
        }
        let end = cache.len() + n;
        let max = self.text.max_position_embeddings;
        if end > max {
            return Err(Error::InvalidArgument(format!(
                "thinker: {} stored + {n} new positions exceed max_position_embeddings = {max}",
                cache.len()
            )));
        }
        if end > cache.capacity() {
            return Err(Error::InvalidArgument(format!(
                "thinker: {} stored + {n} new positions exceed the KV cache capacity of {}",
                cache.len(),
                cache.capacity()
            )));
        }
        Ok(())
    }
}

impl CausalLm for Thinker {
    fn vocab_size(&self) -> usize {
        self.text.vocab_size
    }

    fn max_context(&self) -> usize {
        self.text.max_position_embeddings
    }

    fn new_cache(&self, capacity: usize) -> Result<KvCache> {
        if capacity > self.max_context() {
            return Err(Error::InvalidArgument(format!(
                "thinker: cache capacity {capacity} exceeds max_position_embeddings = {}",
                self.max_context()
            )));
        }
        KvCache::new(
            self.layers.len(),
            self.text.num_key_value_heads,
            self.text.head_dim(),
            capacity,
            self.dtype,
            &self.device,
        )
    }

    fn forward(&self, ids: &[u32], cache: &mut KvCache, want: LogitsFor) -> Result<Tensor> {
        // One hand-off to the device's pool per pass, not one per op.
        self.device().scoped(|| {
            let x = self.embed(ids)?;
            let positions = next_positions(cache, ids.len());
            self.forward_embeds(&x, &positions, cache, want, None)
        })
    }
}

/// Positions of `n` tokens after what `cache` holds (text: `len..len + n`;
/// after a multimodal prompt shifted by its rope delta).
fn next_positions(cache: &KvCache, n: usize) -> Positions {
    decode_positions(cache.len(), cache.rope_delta(), n)
}
