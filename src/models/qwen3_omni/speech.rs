//! Speech output: the talker turns a finished thinker run into codec frames,
//! code2wav turns frames into 24 kHz audio, chunk by chunk, while the talker
//! is still generating (qwen3-omni.md §8-9).
//!
//! ```text
//! thinker run (ids, input embeddings, hidden states at accept_hidden_layer)
//!   --Talker::build_prompt--> TalkerPrompt --Talker::start--> TalkerSession (one frame per step)
//!   --Code2WavStream::push--> audio chunk every `chunk` frames, the rest at the end
//! ```

use std::path::Path;
use std::sync::Arc;

use super::code2wav::{Code2Wav, Code2WavStream};
use super::multimodal::MediaSizes;
use super::talker::{Talker, TalkerInput, TalkerOptions, TalkerSession};
use super::{Qwen3OmniConfig, Thinker};
use crate::backend::Device;
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::models::HiddenCapture;
use crate::tensor::DType;

/// What a speech request asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct SpeechOptions {
    /// A name from `talker_config.speaker_id` (case-insensitive).
    pub speaker: String,
    /// Talker and code-predictor sampling, and the frame cap (12.5 frames/s).
    pub talker: TalkerOptions,
    /// Code2wav frames per streamed chunk and left context (the reference's
    /// `chunked_decode` uses 300 and 25; smaller chunks give earlier audio).
    pub chunk_frames: usize,
    pub left_context: usize,
}

impl SpeechOptions {
    /// The reference's defaults with `speaker`.
    pub fn new(speaker: impl Into<String>) -> SpeechOptions {
        SpeechOptions {
            speaker: speaker.into(),
            talker: TalkerOptions::default(),
            chunk_frames: 300,
            left_context: 25,
        }
    }
}

/// The talker and code2wav of a checkpoint.
pub struct SpeechModel {
    talker: Arc<Talker>,
    code2wav: Arc<Code2Wav>,
    /// `talker_config.accept_hidden_layer`: which thinker hidden states the talker reads.
    accept_hidden_layer: usize,
}

impl SpeechModel {
    /// Loads `talker.*` and `code2wav.*`; an error names what is missing.
    pub fn load(dir: &Path, device: &Device, dtype: DType) -> Result<SpeechModel> {
        let config = Qwen3OmniConfig::from_file(&dir.join("config.json"))?;
        let ckpt = Checkpoint::open(dir)?;
        let talker = Talker::load(&ckpt, &config, device, dtype)?;
        let code2wav = Code2Wav::load(&ckpt, &config, device, dtype)?;
        SpeechModel::new(&config, talker, code2wav)
    }

    /// Random weights (the demo).
    pub fn random(
        config: &Qwen3OmniConfig,
        seed: u64,
        device: &Device,
        dtype: DType,
    ) -> Result<SpeechModel> {
        let talker = Talker::random(config, seed ^ 0x7a1c, device, dtype)?;
        let code2wav = Code2Wav::random(config, seed ^ 0xc2a0, device, dtype)?;
        SpeechModel::new(config, talker, code2wav)
    }

    fn new(config: &Qwen3OmniConfig, talker: Talker, code2wav: Code2Wav) -> Result<SpeechModel> {
        if talker.num_code_groups() != code2wav.num_quantizers() {
            return Err(Error::InvalidArgument(format!(
                "talker makes {} codes per frame but code2wav reads {}; check config.json",
                talker.num_code_groups(),
                code2wav.num_quantizers()
            )));
        }
        Ok(SpeechModel {
            talker: Arc::new(talker),
            code2wav: Arc::new(code2wav),
            accept_hidden_layer: accept_hidden_layer(config)?,
        })
    }

    pub fn speakers(&self) -> Vec<String> {
        self.talker.speakers()
    }
    pub fn sample_rate(&self) -> u32 {
        self.code2wav.sample_rate()
    }
    pub fn accept_hidden_layer(&self) -> usize {
        self.accept_hidden_layer
    }
    pub fn samples_per_frame(&self) -> usize {
        self.code2wav.samples_per_frame()
    }

    /// Checks options up front (speaker name, chunking), before any compute.
    pub fn check(&self, opts: &SpeechOptions) -> Result<()> {
        let speakers = self.speakers();
        if !speakers
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&opts.speaker))
        {
            return Err(Error::InvalidArgument(format!(
                "unknown speaker {:?}; this checkpoint has: {}",
                opts.speaker,
                speakers.join(", ")
            )));
        }
        if opts.chunk_frames == 0 || opts.talker.max_frames == 0 {
            return Err(Error::invalid(
                "speech: chunk_frames and max_frames must be at least 1",
            ));
        }
        Ok(())
    }

    /// Starts speaking a finished thinker run: `ids` are the thinker's ids
    /// (expanded prompt + generated tokens except the last), `capture` the
    /// states recorded while they ran.
    pub fn start(
        &self,
        thinker: &Thinker,
        ids: &[u32],
        capture: &HiddenCapture,
        media: &MediaSizes,
        opts: &SpeechOptions,
    ) -> Result<SpeechRun> {
        self.check(opts)?;
        let (embeds, hidden) = capture.concat()?;
        let speaker = self
            .speakers()
            .into_iter()
            .find(|s| s.eq_ignore_ascii_case(&opts.speaker))
            .unwrap_or_else(|| opts.speaker.clone());
        let input = TalkerInput {
            ids,
            embeds: &embeds,
            hidden: &hidden,
            media,
            speaker: &speaker,
        };
        let prompt = self.talker.build_prompt(thinker, &input)?;
        let session = Talker::start(&self.talker, prompt, &opts.talker)?;
        let stream = Code2Wav::stream(&self.code2wav, opts.chunk_frames, opts.left_context);
        Ok(SpeechRun {
            session,
            stream,
            frames: 0,
            done: false,
        })
    }
}

/// `talker_config.accept_hidden_layer` (24 released).
fn accept_hidden_layer(config: &Qwen3OmniConfig) -> Result<usize> {
    let value = config
        .talker_config
        .as_ref()
        .and_then(|t| t.get("accept_hidden_layer"));
    match value {
        None => Ok(24),
        Some(v) => v.as_u64().map(|n| n as usize).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "config.json: talker_config.accept_hidden_layer must be an unsigned integer, got {v}"
            ))
        }),
    }
}

/// One request's speech, pulled chunk by chunk.
pub struct SpeechRun {
    session: TalkerSession,
    stream: Code2WavStream,
    frames: usize,
    done: bool,
}

impl SpeechRun {
    /// Runs talker steps until code2wav has a chunk of audio (or the talker
    /// is done and the rest is flushed); None when everything was returned.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<f32>>> {
        while !self.done {
            match self.session.next_frame()? {
                Some(frame) => {
                    self.frames += 1;
                    if let Some(audio) = self.stream.push(&frame)? {
                        return Ok(Some(audio));
                    }
                }
                None => {
                    self.done = true;
                    return self.stream.finish();
                }
            }
        }
        Ok(None)
    }

    /// Codec frames generated so far.
    pub fn frames(&self) -> usize {
        self.frames
    }
}
