//! `Engine`: one loaded model shared by many concurrent requests. Requests
//! are admitted against a KV-cache byte budget; each one owns its cache, so a
//! failing request never touches another's state.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::models::qwen3_omni::{MultimodalThinker, PreparedPrompt, SpeechModel, Thinker};
use crate::models::{CausalLm, KvCache};
use crate::preprocess::{chatml, Media, MediaOptions, Message, SpecialTokens, TextTokenizer};
use crate::tensor::DType;

use super::admission::Admission;
use super::request::{GenerateRequest, Prompt};
use super::sampling::Sampler;
use super::stream::GenerationStream;

/// Engine-wide limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Total bytes of KV cache all live requests may hold together.
    pub kv_budget_bytes: usize,
    /// Live requests at most (streams not yet finished or dropped).
    pub max_concurrent: usize,
    /// Prompt positions per prefill forward (bounds activation memory).
    pub prefill_chunk: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            kv_budget_bytes: 1 << 30,
            max_concurrent: 16,
            prefill_chunk: 512,
        }
    }
}

/// Shape of the model's KV cache, for admission (`KvCache::bytes_needed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvSpec {
    pub layers: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub dtype: DType,
}

impl KvSpec {
    /// The cache `Thinker::new_cache` allocates (its compute dtype).
    pub fn for_thinker(thinker: &Thinker) -> KvSpec {
        let text = thinker.text_config();
        KvSpec {
            layers: text.num_hidden_layers,
            kv_heads: text.num_key_value_heads,
            head_dim: text.head_dim(),
            dtype: thinker.dtype(),
        }
    }

    pub fn bytes(&self, positions: usize) -> Result<usize> {
        KvCache::bytes_needed(
            self.layers,
            self.kv_heads,
            self.head_dim,
            positions,
            self.dtype,
        )
    }
}

pub(crate) struct Inner {
    pub(crate) model: Arc<dyn CausalLm>,
    pub(crate) kv: KvSpec,
    pub(crate) special: SpecialTokens,
    pub(crate) tokenizer: Option<TextTokenizer>,
    pub(crate) config: EngineConfig,
    pub(crate) admission: Arc<Admission>,
    /// Encoders and processors for requests with media (None: text only).
    pub(crate) media: Option<Arc<MultimodalThinker>>,
    /// Talker + code2wav for spoken replies (None: text only).
    pub(crate) speech: Option<Arc<SpeechModel>>,
}

/// Cheap to clone; all clones share the model and the budget.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    /// `tokenizer` is needed for chat prompts and text output; without it the
    /// engine serves raw ids only.
    pub fn new(
        model: Arc<dyn CausalLm>,
        kv: KvSpec,
        special: SpecialTokens,
        tokenizer: Option<TextTokenizer>,
        config: EngineConfig,
    ) -> Result<Engine> {
        if config.prefill_chunk == 0 || config.max_concurrent == 0 {
            return Err(Error::invalid(
                "EngineConfig: prefill_chunk and max_concurrent must be at least 1",
            ));
        }
        let special = match &tokenizer {
            Some(t) => special.with_tokenizer(t),
            None => special,
        };
        let admission = Arc::new(Admission::new(
            config.kv_budget_bytes,
            config.max_concurrent,
        ));
        Ok(Engine {
            inner: Arc::new(Inner {
                model,
                kv,
                special,
                tokenizer,
                config,
                admission,
                media: None,
                speech: None,
            }),
        })
    }

    /// An engine over a thinker with its vision and audio encoders: requests
    /// may carry images, audio and video.
    pub fn multimodal(
        model: Arc<MultimodalThinker>,
        tokenizer: Option<TextTokenizer>,
        config: EngineConfig,
    ) -> Result<Engine> {
        let thinker = Arc::clone(model.thinker());
        let kv = KvSpec::for_thinker(&thinker);
        let special = SpecialTokens::from_config(thinker.config());
        let mut engine = Engine::new(thinker, kv, special, tokenizer, config)?;
        let inner = Arc::get_mut(&mut engine.inner).ok_or_else(|| {
            Error::invalid("engine: freshly built engine is shared (internal error)")
        })?;
        inner.media = Some(model);
        Ok(engine)
    }

    /// Adds speech output (talker + code2wav) to a multimodal engine, whose
    /// thinker the talker reads from. Call before the engine is cloned.
    pub fn with_speech(mut self, speech: Arc<SpeechModel>) -> Result<Engine> {
        let layers = match &self.inner.media {
            Some(m) => m.thinker().text_config().num_hidden_layers,
            None => {
                return Err(Error::invalid(
                    "speech needs the thinker: build the engine with Engine::multimodal first",
                ))
            }
        };
        if speech.accept_hidden_layer() > layers {
            return Err(Error::InvalidArgument(format!(
                "talker_config.accept_hidden_layer {} exceeds the thinker's {layers} layers",
                speech.accept_hidden_layer()
            )));
        }
        let inner = Arc::get_mut(&mut self.inner).ok_or_else(|| {
            Error::invalid("Engine::with_speech: call it before the engine is cloned")
        })?;
        inner.speech = Some(speech);
        Ok(self)
    }

    /// The speech model, when the engine has one.
    pub fn speech_model(&self) -> Option<&Arc<SpeechModel>> {
        self.inner.speech.as_ref()
    }

    /// The multimodal model, when the engine has one.
    pub fn media_model(&self) -> Option<&Arc<MultimodalThinker>> {
        self.inner.media.as_ref()
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }
    pub fn model(&self) -> &Arc<dyn CausalLm> {
        &self.inner.model
    }
    pub fn tokenizer(&self) -> Option<&TextTokenizer> {
        self.inner.tokenizer.as_ref()
    }
    pub fn special_tokens(&self) -> SpecialTokens {
        self.inner.special
    }
    pub fn kv_spec(&self) -> KvSpec {
        self.inner.kv
    }
    /// Bytes of KV cache reserved by live requests.
    pub fn kv_bytes_in_use(&self) -> usize {
        self.inner.admission.bytes_in_use()
    }
    pub fn kv_budget_bytes(&self) -> usize {
        self.inner.admission.budget_bytes()
    }
    /// Live requests (streams not finished and not dropped).
    pub fn active_requests(&self) -> usize {
        self.inner.admission.active()
    }

    /// Token ids of a prompt (chat prompts through the ChatML template).
    pub fn encode(&self, prompt: &Prompt) -> Result<Vec<u32>> {
        self.encode_with_media(prompt, &[])
    }

    /// Token ids of a prompt with one placeholder per media item. A chat
    /// prompt that has no placeholder of its own gets them at the start of
    /// its last user message, in the order of `media` (as the Qwen3-Omni chat
    /// template writes a user turn whose content lists the media first).
    pub fn encode_with_media(&self, prompt: &Prompt, media: &[Media]) -> Result<Vec<u32>> {
        match prompt {
            Prompt::Ids(ids) => Ok(ids.clone()),
            Prompt::Chat(messages) => {
                let tok = self.inner.tokenizer.as_ref().ok_or_else(|| {
                    Error::invalid(
                        "this engine has no tokenizer: pass token ids, or load a model \
                         directory that has tokenizer.json",
                    )
                })?;
                if media.is_empty() {
                    return tok.encode(&chatml(messages));
                }
                let marks = self.placeholders(tok)?;
                let has_own = messages
                    .iter()
                    .any(|m| marks.iter().any(|k| m.content.contains(k.pad.as_str())));
                if has_own {
                    return tok.encode(&chatml(messages));
                }
                let user = messages
                    .iter()
                    .rposition(|m| m.role == "user")
                    .ok_or_else(|| Error::invalid("media inputs need a user message to go into"))?;
                let mut prefix = String::new();
                for m in media {
                    if let Some(k) = marks.iter().find(|k| k.kind == m.kind()) {
                        prefix.push_str(&k.text);
                    }
                }
                let mut messages: Vec<Message> = messages.clone();
                messages[user].content = format!("{prefix}{}", messages[user].content);
                tok.encode(&chatml(&messages))
            }
        }
    }

    /// Per media kind: the chat template's text for one item and its pad token.
    fn placeholders(&self, tok: &TextTokenizer) -> Result<Vec<MediaMark>> {
        let media = self.inner.media.as_ref().ok_or_else(no_media)?;
        let t = media.spec().tokens;
        let name = |id: u32| {
            tok.id_to_token(id).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "the tokenizer has no token for special id {id} from config.json; \
                     the tokenizer and the checkpoint do not belong together"
                ))
            })
        };
        let (vs, ve) = (name(t.vision_start)?, name(t.vision_end)?);
        let (a_s, a_e) = (name(t.audio_start)?, name(t.audio_end)?);
        let (img, vid, aud) = (name(t.image_pad)?, name(t.video_pad)?, name(t.audio_pad)?);
        Ok(vec![
            MediaMark {
                kind: "image",
                text: format!("{vs}{img}{ve}"),
                pad: img,
            },
            MediaMark {
                kind: "audio",
                text: format!("{a_s}{aud}{a_e}"),
                pad: aud,
            },
            MediaMark {
                kind: "video",
                text: format!("{vs}{vid}{ve}"),
                pad: vid,
            },
        ])
    }

    /// Checks ids against the vocabulary and `n_total` positions against the context.
    pub(crate) fn check_ids(&self, ids: &[u32], n_total: usize) -> Result<()> {
        let model = &self.inner.model;
        if ids.is_empty() {
            return Err(Error::invalid("the prompt is empty"));
        }
        let vocab = model.vocab_size();
        if let Some((pos, &id)) = ids.iter().enumerate().find(|(_, &id)| id as usize >= vocab) {
            return Err(Error::InvalidArgument(format!(
                "token id {id} at position {pos} is outside the vocabulary (0..{vocab})"
            )));
        }
        if n_total > model.max_context() {
            return Err(Error::InvalidArgument(format!(
                "{} prompt tokens + {} new tokens = {n_total} exceed the model's context of {} \
                 positions; shorten the prompt or lower max_tokens",
                ids.len(),
                n_total - ids.len(),
                model.max_context()
            )));
        }
        Ok(())
    }

    /// Starts a request. Everything that can be checked up front (ids,
    /// context, sampling settings, KV budget) fails here, before any compute.
    pub fn generate(&self, request: GenerateRequest) -> Result<GenerationStream> {
        let (ids, prepared) =
            self.prepare(&request.prompt, &request.media, &request.media_options)?;
        if request.max_new_tokens == 0 {
            return Err(Error::invalid("max_new_tokens must be at least 1"));
        }
        let total = ids
            .len()
            .checked_add(request.max_new_tokens)
            .ok_or_else(|| Error::invalid("max_new_tokens is too large"))?;
        self.check_ids(&ids, total)?;
        let sampler = Sampler::new(request.sampling)?;
        let speech = match request.speech {
            None => None,
            Some(opts) => {
                let model = self.inner.speech.as_ref().ok_or_else(|| {
                    Error::Unsupported(
                        "this engine has no talker/code2wav: build it with Engine::with_speech \
                         (a checkpoint with talker.* and code2wav.* weights) to get speech"
                            .into(),
                    )
                })?;
                model.check(&opts)?;
                let sizes = prepared
                    .as_ref()
                    .map(|p| p.sizes.clone())
                    .unwrap_or_default();
                Some((opts, sizes, model.accept_hidden_layer()))
            }
        };
        let reservation = self.inner.admission.reserve(self.inner.kv.bytes(total)?)?;
        // The reservation drops (and is released) if allocation fails here.
        let mut cache = self.inner.model.new_cache(total)?;
        if let Some((_, _, layer)) = &speech {
            cache.start_capture(*layer);
        }
        let speech = speech.map(|(opts, sizes, _)| (opts, sizes));
        let mut stop = self.inner.special.stop_ids();
        stop.extend(request.stop_ids);
        Ok(GenerationStream::new(
            Arc::clone(&self.inner),
            ids,
            prepared,
            speech,
            request.max_new_tokens,
            stop,
            sampler,
            cache,
            reservation,
        ))
    }

    /// The prompt's ids and, with media, its prepared multimodal inputs
    /// (expanded ids, positions, preprocessed media). All input errors
    /// (unreadable or oversized media, placeholder counts) surface here.
    pub(crate) fn prepare(
        &self,
        prompt: &Prompt,
        media: &[Media],
        options: &MediaOptions,
    ) -> Result<(Vec<u32>, Option<PreparedPrompt>)> {
        if media.is_empty() {
            let ids = self.encode(prompt)?;
            if let Some(model) = &self.inner.media {
                // Pads without media would embed as plain tokens; the reference refuses them.
                let t = model.spec().tokens;
                let pads = ids
                    .iter()
                    .filter(|&&id| [t.image_pad, t.audio_pad, t.video_pad].contains(&id))
                    .count();
                if pads > 0 {
                    return Err(Error::InvalidArgument(format!(
                        "the prompt has {pads} media placeholder token(s) but no media were \
                         given; attach the image/audio/video or remove the placeholders"
                    )));
                }
            }
            return Ok((ids, None));
        }
        let model = self.inner.media.as_ref().ok_or_else(no_media)?;
        let ids = self.encode_with_media(prompt, media)?;
        let prepared = model.prepare(&ids, media, options)?;
        Ok((prepared.ids.clone(), Some(prepared)))
    }
}

/// How the chat template writes one media item.
struct MediaMark {
    kind: &'static str,
    /// `<|vision_start|><|image_pad|><|vision_end|>` and the like.
    text: String,
    /// The pad token's text.
    pad: String,
}

fn no_media() -> Error {
    Error::Unsupported(
        "this engine takes text only: build it with Engine::multimodal (a checkpoint with the \
         vision and audio encoders) to send images, audio or video"
            .into(),
    )
}

// The engine is shared across threads; keep that a compile-time fact.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
};
