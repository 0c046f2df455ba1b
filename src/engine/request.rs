//! What a caller sends (`GenerateRequest`) and what a stream yields (`Event`).

use crate::models::qwen3_omni::SpeechOptions;
use crate::preprocess::{Media, MediaOptions, Message};

use super::SamplingParams;

/// The prompt of a request: chat messages (templated and tokenized by the
/// engine's tokenizer) or ready token ids.
#[derive(Clone, Debug, PartialEq)]
pub enum Prompt {
    Chat(Vec<Message>),
    Ids(Vec<u32>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct GenerateRequest {
    pub prompt: Prompt,
    /// New tokens at most (the stop token, if one comes, counts).
    pub max_new_tokens: usize,
    pub sampling: SamplingParams,
    /// Stop ids in addition to the model's (`<|im_end|>`, `<|endoftext|>`).
    pub stop_ids: Vec<u32>,
    /// Images, audio clips and videos, matched in order to the placeholders
    /// of their kind. A chat prompt without any placeholder gets them inserted
    /// at the start of its last user message, in this order.
    pub media: Vec<Media>,
    pub media_options: MediaOptions,
    /// Also answer in speech (an engine built `with_speech`): after the text,
    /// `Audio` events stream the reply as 24 kHz samples.
    pub speech: Option<SpeechOptions>,
}

impl GenerateRequest {
    /// A user message (no system prompt), greedy, 128 new tokens at most.
    pub fn text(user: impl Into<String>) -> GenerateRequest {
        GenerateRequest::chat(vec![Message::user(user)])
    }

    pub fn chat(messages: Vec<Message>) -> GenerateRequest {
        GenerateRequest {
            prompt: Prompt::Chat(messages),
            max_new_tokens: 128,
            sampling: SamplingParams::greedy(),
            stop_ids: Vec::new(),
            media: Vec::new(),
            media_options: MediaOptions::default(),
            speech: None,
        }
    }

    /// Raw prompt ids (no template applied).
    pub fn ids(ids: Vec<u32>) -> GenerateRequest {
        GenerateRequest {
            prompt: Prompt::Ids(ids),
            ..GenerateRequest::chat(Vec::new())
        }
    }

    pub fn max_new_tokens(mut self, n: usize) -> GenerateRequest {
        self.max_new_tokens = n;
        self
    }

    pub fn sampling(mut self, sampling: SamplingParams) -> GenerateRequest {
        self.sampling = sampling;
        self
    }

    pub fn stop_ids(mut self, ids: Vec<u32>) -> GenerateRequest {
        self.stop_ids = ids;
        self
    }

    /// Adds one media item (see [`GenerateRequest::media`]).
    pub fn with_media(mut self, media: Media) -> GenerateRequest {
        self.media.push(media);
        self
    }

    pub fn media_options(mut self, options: MediaOptions) -> GenerateRequest {
        self.media_options = options;
        self
    }

    /// Answer in speech too.
    pub fn speak(mut self, options: SpeechOptions) -> GenerateRequest {
        self.speech = Some(options);
        self
    }
}

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// A stop id was generated.
    Stop,
    /// `max_new_tokens` were generated.
    Length,
    /// The caller cancelled.
    Cancelled,
}

/// One item of a `GenerationStream`. Per new token: `Token`, then `TextDelta`
/// when the token completes some text; after the text: a last `TextDelta` (if
/// text was held back) and `Usage`; with speech, `Audio` chunks while the talker
/// runs and `SpeechUsage`; last, `Finished`.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `logprob` is the model's own log-probability of `id` (log-softmax of the
    /// raw logits, before penalty/temperature/top-k/top-p).
    Token {
        id: u32,
        logprob: f32,
    },
    TextDelta(String),
    Usage {
        prompt_tokens: usize,
        completion_tokens: usize,
        prefill_seconds: f64,
        decode_seconds: f64,
    },
    /// A chunk of the spoken reply: mono samples in [-1, 1] at `sample_rate`.
    Audio {
        samples: Vec<f32>,
        sample_rate: u32,
    },
    SpeechUsage {
        /// Codec frames generated (12.5 per second of audio).
        frames: usize,
        audio_seconds: f64,
        /// Talker + code2wav compute time.
        seconds: f64,
        /// From the start of speaking to the first audio chunk.
        first_chunk_seconds: Option<f64>,
    },
    Finished(FinishReason),
}
