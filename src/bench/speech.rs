//! Speech-generation benchmark: the real-time factor (seconds of audio per
//! second of compute) and the time to the first audio chunk, on random
//! weights of a stated shape, with the work's GFLOP/s against the FMA peak
//! measured in the same run.
//!
//! Shapes: `tiny` is the test checkpoint's; `bench` keeps the released talker,
//! code-predictor and code2wav per-layer dimensions (hidden 1024, 16 codebooks
//! of 2048, decoder 1536 → 96 channels, 1920 samples a frame) with fewer layers
//! and experts, so one run fits a small CPU; the notes say exactly what is cut.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::limits::HostLimits;
use super::model::{bench_prompt, bench_shape_config, TINY_SHAPE_CONFIG};
use super::report::{format_seconds, markdown_preamble, to_json_pretty};
use crate::backend::Device;
use crate::engine::{Engine, EngineConfig, Event, GenerateRequest};
use crate::error::{Error, Result};
use crate::models::qwen3_omni::{
    LoadOptions, MultimodalThinker, Qwen3OmniConfig, SpeechModel, SpeechOptions, TalkerOptions,
};
use crate::tensor::DType;

#[derive(Clone, Debug, PartialEq)]
pub struct SpeechBenchOptions {
    /// `bench` or `tiny`.
    pub shape: String,
    /// Codec frames to generate (12.5 per second of audio).
    pub frames: usize,
    /// Code2wav chunk sizes to measure (each a row; 300 is the reference's).
    pub chunk_frames: Vec<usize>,
    /// Thinker tokens before speaking.
    pub text_tokens: usize,
    pub seed: u64,
}

impl Default for SpeechBenchOptions {
    fn default() -> Self {
        SpeechBenchOptions {
            shape: "bench".into(),
            frames: 50,
            chunk_frames: vec![25, 300],
            text_tokens: 8,
            seed: 7,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SpeechRow {
    pub shape: String,
    pub chunk_frames: usize,
    pub frames: usize,
    pub audio_seconds: f64,
    /// Talker + code predictor + code2wav time.
    pub speech_seconds: f64,
    /// Seconds of audio per second of compute (> 1: faster than real time).
    pub real_time_factor: f64,
    /// From the start of speaking to the first audio chunk.
    pub first_chunk_seconds: f64,
    pub gflops: f64,
    /// `gflops` over the FMA peak measured in the same run.
    pub peak_pct: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct SpeechTable {
    pub title: String,
    pub notes: Vec<String>,
    pub rows: Vec<SpeechRow>,
}

impl SpeechTable {
    pub fn to_markdown(&self) -> String {
        let mut s = markdown_preamble(&self.title, &self.notes);
        s.push_str("| shape | chunk | frames | audio | compute | real-time factor | first audio | GFLOP/s | % FMA peak |\n");
        s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {} | {:.2} s | {} | {:.2} | {} | {:.1} | {:.0}% |\n",
                r.shape,
                r.chunk_frames,
                r.frames,
                r.audio_seconds,
                format_seconds(r.speech_seconds),
                r.real_time_factor,
                format_seconds(r.first_chunk_seconds),
                r.gflops,
                r.peak_pct
            ));
        }
        s
    }

    pub fn to_json(&self) -> String {
        to_json_pretty(self)
    }
}

/// The `bench` speech shape: the bench thinker (hidden 1024) feeding a talker
/// and code2wav with the released per-layer sizes and fewer layers/experts.
pub fn speech_bench_config() -> Result<String> {
    let mut v: serde_json::Value = serde_json::from_str(&bench_shape_config())
        .map_err(|e| Error::invalid(format!("bench config: {e}")))?;
    let talker = &mut v["talker_config"];
    talker["num_code_groups"] = serde_json::json!(16);
    talker["accept_hidden_layer"] = serde_json::json!(4);
    let text = &mut talker["text_config"];
    for (k, val) in [
        ("hidden_size", 1024),
        ("num_hidden_layers", 4),
        ("num_attention_heads", 16),
        ("num_key_value_heads", 2),
        ("head_dim", 128),
        ("intermediate_size", 2048),
        ("moe_intermediate_size", 384),
        ("num_experts", 32),
        ("num_experts_per_tok", 6),
        ("shared_expert_intermediate_size", 768),
    ] {
        text[k] = serde_json::json!(val);
    }
    text["rope_scaling"]["mrope_section"] = serde_json::json!([24, 20, 20]);
    let cp = &mut talker["code_predictor_config"];
    for (k, val) in [
        ("hidden_size", 1024),
        ("num_hidden_layers", 2),
        ("num_attention_heads", 16),
        ("num_key_value_heads", 8),
        ("head_dim", 128),
        ("intermediate_size", 3072),
        ("num_code_groups", 16),
    ] {
        cp[k] = serde_json::json!(val);
    }
    let c2w = &mut v["code2wav_config"];
    for (k, val) in [
        ("num_quantizers", 16),
        ("hidden_size", 1024),
        ("num_hidden_layers", 2),
        ("num_attention_heads", 16),
        ("num_key_value_heads", 16),
        ("intermediate_size", 3072),
        ("sliding_window", 72),
        ("decoder_dim", 1536),
    ] {
        c2w[k] = serde_json::json!(val);
    }
    serde_json::to_string_pretty(&v).map_err(|e| Error::invalid(format!("bench config: {e}")))
}

/// A ChatML-shaped id prompt (the talker reads the user and assistant turns):
/// `<|im_start|>user \n` + 28 random ids + `<|im_end|>` `<|im_start|>assistant \n`.
fn chat_prompt(config: &Qwen3OmniConfig, vocab: usize, seed: u64) -> Vec<u32> {
    // "\n" is id 198 in Qwen's vocabulary; any id works for timing.
    let newline = 198.min(vocab as u32 - 1);
    let mut ids = vec![config.im_start_token_id, config.user_token_id, newline];
    ids.extend(bench_prompt(28, vocab, seed));
    ids.extend([
        config.im_end_token_id,
        newline,
        config.im_start_token_id,
        config.assistant_token_id,
        newline,
    ]);
    ids
}

/// Runs the thinker for `text_tokens`, then speaks `frames` codec frames, once
/// per chunk size; one row each.
pub fn speech_bench(
    opts: &SpeechBenchOptions,
    limits: &HostLimits,
    mut progress: impl FnMut(&str),
) -> Result<SpeechTable> {
    let config_text = match opts.shape.as_str() {
        "tiny" => TINY_SHAPE_CONFIG.to_string(),
        "bench" => speech_bench_config()?,
        other => {
            return Err(Error::InvalidArgument(format!(
                "speech bench shape {other:?}: use bench or tiny"
            )))
        }
    };
    if opts.frames == 0 || opts.chunk_frames.is_empty() || opts.chunk_frames.contains(&0) {
        return Err(Error::invalid(
            "speech bench: frames and every chunk size must be at least 1",
        ));
    }
    let config = Qwen3OmniConfig::from_json_str(&config_text)?;
    let device = Device::cpu();
    progress(&format!(
        "building random '{}' thinker, talker and code2wav",
        opts.shape
    ));
    let load = LoadOptions {
        device: device.clone(),
        ..LoadOptions::default()
    };
    let thinker = MultimodalThinker::random(&config, opts.seed, &load)?;
    let speech = SpeechModel::random(&config, opts.seed, &device, DType::F32)?;
    let speaker = speech.speakers().into_iter().next().unwrap_or_default();
    let rate = speech.sample_rate() as f64;
    let engine = Engine::multimodal(Arc::new(thinker), None, EngineConfig::default())?
        .with_speech(Arc::new(speech))?;
    let prompt = chat_prompt(&config, engine.model().vocab_size(), opts.seed);

    let mut rows = Vec::new();
    for &chunk in &opts.chunk_frames {
        progress(&format!(
            "speaking {} frames in chunks of {chunk}",
            opts.frames
        ));
        let talker = TalkerOptions {
            max_frames: opts.frames,
            ..TalkerOptions::default()
        };
        let request = GenerateRequest::ids(prompt.clone())
            .max_new_tokens(opts.text_tokens)
            .stop_ids(Vec::new())
            .speak(SpeechOptions {
                speaker: speaker.clone(),
                talker,
                chunk_frames: chunk,
                left_context: 25,
            });
        let mut flops_at_speech = None;
        let mut usage = None;
        let start = Instant::now();
        for event in engine.generate(request)? {
            match event? {
                // Text is done: what follows is speech.
                Event::Usage { .. } => flops_at_speech = Some(device.stats().total_flops()),
                Event::SpeechUsage {
                    frames,
                    audio_seconds,
                    seconds,
                    first_chunk_seconds,
                } => usage = Some((frames, audio_seconds, seconds, first_chunk_seconds)),
                _ => {}
            }
        }
        let (frames, audio_seconds, seconds, first) = usage
            .ok_or_else(|| Error::invalid("speech bench: the stream ended without speech usage"))?;
        let flops = device.stats().total_flops() - flops_at_speech.unwrap_or(0.0);
        let gflops = if seconds > 0.0 {
            flops / seconds / 1e9
        } else {
            0.0
        };
        progress(&format!(
            "  {frames} frames in {:.2} s (whole request {:.2} s)",
            seconds,
            start.elapsed().as_secs_f64()
        ));
        rows.push(SpeechRow {
            shape: opts.shape.clone(),
            chunk_frames: chunk,
            frames,
            audio_seconds,
            speech_seconds: seconds,
            real_time_factor: if seconds > 0.0 {
                audio_seconds / seconds
            } else {
                0.0
            },
            first_chunk_seconds: first.unwrap_or(seconds),
            gflops,
            peak_pct: 100.0 * gflops / limits.peak_gflops.max(1e-9),
        });
    }
    let mut notes = vec![
        format!(
            "host: {} threads; FMA peak {:.1} GFLOP/s measured in this run",
            limits.threads, limits.peak_gflops
        ),
        format!(
            "random weights ({} shape), f32; {} codec frames requested ({:.2} s at {} samples/frame, {rate} Hz); the talker samples (defaults) and may stop earlier at codec EOS",
            opts.shape,
            opts.frames,
            opts.frames as f64 * 1920.0 / rate,
            1920
        ),
        "real-time factor = seconds of audio / seconds of talker + code-predictor + code2wav compute (> 1 is faster than real time); first audio = from the end of the text to the first code2wav chunk".into(),
    ];
    if opts.shape == "bench" {
        notes.push("bench shape: talker hidden 1024, 4 layers (20 released), 32 experts top-6 (128 released), shared expert 768; code predictor 2 layers (5 released) × 15 groups; code2wav 2 transformer layers (8 released), decoder 1536 → 96 channels as released".into());
    }
    Ok(SpeechTable {
        title: "omnirt speech generation on cpu".into(),
        notes,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_config_is_valid() {
        let c = Qwen3OmniConfig::from_json_str(&speech_bench_config().unwrap()).unwrap();
        let t = c.talker_config.as_ref().unwrap();
        assert_eq!(t["text_config"]["hidden_size"], 1024);
        assert_eq!(c.code2wav_config.as_ref().unwrap()["decoder_dim"], 1536);
    }

    #[test]
    fn tiny_run_reports_one_row_per_chunk_size() {
        let limits = HostLimits {
            threads: 1,
            peak_gflops: 10.0,
            read_gbs: 10.0,
        };
        let opts = SpeechBenchOptions {
            shape: "tiny".into(),
            frames: 3,
            chunk_frames: vec![1, 300],
            text_tokens: 2,
            seed: 1,
        };
        let t = speech_bench(&opts, &limits, |_| {}).unwrap();
        assert_eq!(t.rows.len(), 2);
        for r in &t.rows {
            assert!(r.frames <= 3 && r.real_time_factor >= 0.0, "{r:?}");
        }
        assert!(t.to_markdown().contains("real-time factor"));
        let bad = SpeechBenchOptions {
            chunk_frames: vec![0],
            ..opts
        };
        assert!(speech_bench(&bad, &limits, |_| {}).is_err());
    }
}
