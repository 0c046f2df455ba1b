//! `GenerationStream`: one request's prefill + decode loop, driven by the
//! caller pulling events (`Iterator`). Pull-driven means no thread per request
//! and no unbounded buffering; dropping the stream frees its cache and budget.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::models::qwen3_omni::multimodal::MediaSizes;
use crate::models::qwen3_omni::{PreparedPrompt, SpeechOptions, SpeechRun};
use crate::models::{KvCache, LogitsFor};
use crate::preprocess::StreamDecoder;

use super::admission::Reservation;
use super::request::{Event, FinishReason};
use super::sampling::{log_prob, Sampler};
use super::serving::Inner;

/// Cancels a stream from anywhere (another thread, a signal handler).
/// The stream ends with `Finished(Cancelled)` at its next step.
#[derive(Clone, Debug, Default)]
pub struct CancelHandle(Arc<AtomicBool>);

impl CancelHandle {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

pub struct GenerationStream {
    engine: Arc<Inner>,
    /// Prompt followed by the generated ids (the repetition penalty reads all).
    ids: Vec<u32>,
    /// Media inputs of the prompt, consumed by the prefill.
    prepared: Option<PreparedPrompt>,
    /// Speech still to produce after the text (options, the prompt's media sizes).
    speech_plan: Option<(SpeechOptions, MediaSizes)>,
    /// Set once the text is done: why it ended, reported by the last event.
    text_reason: Option<FinishReason>,
    /// The text ended and speech should start at the next step.
    begin_speech: bool,
    speaking: Option<SpeechRun>,
    speech_seconds: f64,
    first_chunk_seconds: Option<f64>,
    audio_samples: usize,
    prompt_len: usize,
    max_new: usize,
    stop: Vec<u32>,
    sampler: Sampler,
    /// `None` once the stream has ended: cache and budget are given back then.
    cache: Option<KvCache>,
    reservation: Option<Reservation>,
    detok: StreamDecoder,
    pending: VecDeque<Event>,
    cancel: CancelHandle,
    prefill_seconds: f64,
    decode_seconds: f64,
    done: bool,
}

impl GenerationStream {
    // One call site (Engine::generate); a parameter struct would only rename these.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        engine: Arc<Inner>,
        prompt: Vec<u32>,
        prepared: Option<PreparedPrompt>,
        speech: Option<(SpeechOptions, MediaSizes)>,
        max_new: usize,
        stop: Vec<u32>,
        sampler: Sampler,
        cache: KvCache,
        reservation: Reservation,
    ) -> GenerationStream {
        GenerationStream {
            engine,
            prompt_len: prompt.len(),
            ids: prompt,
            prepared,
            speech_plan: speech,
            text_reason: None,
            begin_speech: false,
            speaking: None,
            speech_seconds: 0.0,
            first_chunk_seconds: None,
            audio_samples: 0,
            max_new,
            stop,
            sampler,
            cache: Some(cache),
            reservation: Some(reservation),
            detok: StreamDecoder::new(),
            pending: VecDeque::new(),
            cancel: CancelHandle::default(),
            prefill_seconds: 0.0,
            decode_seconds: 0.0,
            done: false,
        }
    }

    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    pub fn prompt_ids(&self) -> &[u32] {
        &self.ids[..self.prompt_len]
    }

    /// Ids generated so far.
    pub fn generated_ids(&self) -> &[u32] {
        &self.ids[self.prompt_len..]
    }

    fn generated(&self) -> usize {
        self.ids.len() - self.prompt_len
    }

    /// One model step: the whole (chunked) prefill, or one decode token.
    fn step(&mut self) -> Result<()> {
        let start = Instant::now();
        let prefill = self.generated() == 0;
        let logits = {
            let Some(cache) = self.cache.as_mut() else {
                return Err(Error::invalid("stream already ended"));
            };
            let model = &self.engine.model;
            if let Some(prompt) = self.prepared.take() {
                let media = self.engine.media.as_ref().ok_or_else(|| {
                    Error::invalid("a media prompt reached an engine without encoders")
                })?;
                let chunk = self.engine.config.prefill_chunk;
                Some(media.prefill(&prompt, cache, LogitsFor::Last, chunk)?)
            } else if prefill {
                let mut last = None;
                for part in self.ids.chunks(self.engine.config.prefill_chunk) {
                    // Long prompts: a cancel between chunks takes effect early.
                    if self.cancel.is_cancelled() {
                        last = None;
                        break;
                    }
                    last = Some(model.forward(part, cache, LogitsFor::Last)?);
                }
                last
            } else {
                let id = self.ids[self.ids.len() - 1];
                Some(model.forward(&[id], cache, LogitsFor::Last)?)
            }
        };
        let Some(logits) = logits else {
            self.prefill_seconds += start.elapsed().as_secs_f64();
            self.finish(FinishReason::Cancelled);
            return Ok(());
        };
        let logits = logits.to_f32_vec()?;
        let id = self.sampler.next(&logits, &self.ids)?;
        let logprob = log_prob(&logits, id);
        if prefill {
            self.prefill_seconds += start.elapsed().as_secs_f64();
        } else {
            self.decode_seconds += start.elapsed().as_secs_f64();
        }
        self.ids.push(id);
        self.pending.push_back(Event::Token { id, logprob });
        if self.stop.contains(&id) {
            self.finish(FinishReason::Stop);
            return Ok(());
        }
        if let Some(tok) = self.engine.tokenizer.as_ref() {
            if let Some(text) = self.detok.push(tok, id)? {
                self.pending.push_back(Event::TextDelta(text));
            }
        }
        if self.generated() >= self.max_new {
            self.finish(FinishReason::Length);
        }
        Ok(())
    }

    /// Queues the closing events of the text and, unless speech follows,
    /// of the whole request (then the cache and budget are given back).
    fn finish(&mut self, reason: FinishReason) {
        if self.text_reason.is_none() {
            if let Some(tok) = self.engine.tokenizer.as_ref() {
                if let Ok(Some(text)) = self.detok.finish(tok) {
                    self.pending.push_back(Event::TextDelta(text));
                }
            }
            self.pending.push_back(Event::Usage {
                prompt_tokens: self.prompt_len,
                completion_tokens: self.generated(),
                prefill_seconds: self.prefill_seconds,
                decode_seconds: self.decode_seconds,
            });
            self.text_reason = Some(reason);
            if reason != FinishReason::Cancelled && self.speech_plan.is_some() {
                self.begin_speech = true;
                return;
            }
        }
        if self.speaking.is_some() || self.first_chunk_seconds.is_some() {
            let rate = self
                .engine
                .speech
                .as_ref()
                .map_or(24_000, |s| s.sample_rate());
            self.pending.push_back(Event::SpeechUsage {
                frames: self.speaking.as_ref().map_or(0, SpeechRun::frames),
                audio_seconds: self.audio_samples as f64 / rate as f64,
                seconds: self.speech_seconds,
                first_chunk_seconds: self.first_chunk_seconds,
            });
        }
        // A cancel during speech is reported as such; otherwise why the text ended.
        let last = match (reason, self.text_reason) {
            (FinishReason::Cancelled, _) | (_, None) => reason,
            (_, Some(text)) => text,
        };
        self.pending.push_back(Event::Finished(last));
        self.release();
    }

    /// Hands the finished thinker run to the talker.
    fn start_speech(&mut self) -> Result<()> {
        self.begin_speech = false;
        let start = Instant::now();
        let (opts, sizes) = self
            .speech_plan
            .take()
            .ok_or_else(|| Error::invalid("speech already started"))?;
        let (Some(speech), Some(media)) = (&self.engine.speech, &self.engine.media) else {
            return Err(Error::invalid(
                "a speech request reached an engine without a talker",
            ));
        };
        let capture = self
            .cache
            .as_mut()
            .and_then(|c| c.take_capture())
            .ok_or_else(|| Error::invalid("speech: the thinker's states were not recorded"))?;
        // The thinker's cache is no longer needed; the talker has its own.
        self.cache = None;
        // The last generated token was never fed back, so it has no states.
        let fed = &self.ids[..self.ids.len() - 1];
        let run = speech.start(media.thinker(), fed, &capture, &sizes, &opts)?;
        self.speaking = Some(run);
        self.speech_seconds += start.elapsed().as_secs_f64();
        Ok(())
    }

    /// One chunk of audio (talker steps + code2wav), or the end of the speech.
    fn speak_step(&mut self) -> Result<()> {
        let start = Instant::now();
        let chunk = match self.speaking.as_mut() {
            Some(run) => run.next_chunk()?,
            None => None,
        };
        self.speech_seconds += start.elapsed().as_secs_f64();
        match chunk {
            Some(samples) => {
                if self.first_chunk_seconds.is_none() {
                    self.first_chunk_seconds = Some(self.speech_seconds);
                }
                self.audio_samples += samples.len();
                let sample_rate = self
                    .engine
                    .speech
                    .as_ref()
                    .map_or(24_000, |s| s.sample_rate());
                self.pending.push_back(Event::Audio {
                    samples,
                    sample_rate,
                });
            }
            None => {
                let reason = self.text_reason.unwrap_or(FinishReason::Stop);
                self.finish(reason);
            }
        }
        Ok(())
    }

    fn release(&mut self) {
        self.cache = None;
        self.speaking = None;
        self.reservation = None;
        self.done = true;
    }
}

impl Iterator for GenerationStream {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(Ok(e));
            }
            if self.done {
                return None;
            }
            if self.cancel.is_cancelled() {
                self.finish(FinishReason::Cancelled);
                continue;
            }
            let result = if self.begin_speech {
                self.start_speech()
            } else if self.speaking.is_some() {
                self.speak_step()
            } else {
                self.step()
            };
            if let Err(e) = result {
                // A failed step ends only this stream.
                self.release();
                self.pending.clear();
                return Some(Err(e));
            }
        }
    }
}
