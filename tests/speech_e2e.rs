//! Speech through the `Engine` and the CLI against transformers'
//! `generate(return_audio=True)` on the tiny checkpoint
//! (`models/fixtures/talker`, scripts/fixtures/make_talker_fixtures.py): the
//! same greedy text, then audio that equals code2wav's chunked decode of the
//! reference codes and the reference waveform; audio streams in chunks before
//! the talker is done; bad speech requests fail cleanly.

use std::path::PathBuf;
use std::sync::Arc;

use omnirt::checkpoint::Checkpoint;
use omnirt::engine::{Engine, EngineConfig, Event, GenerateRequest};
use omnirt::models::qwen3_omni::{
    Code2Wav, LoadOptions, MultimodalThinker, SpeechModel, SpeechOptions, TalkerOptions,
};
use omnirt::preprocess::TextTokenizer;
use omnirt::{DType, Device, Error, Tensor};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
fn model_dir() -> PathBuf {
    root().join("models/tiny-qwen3-omni")
}

struct Case {
    prompt: Vec<u32>,
    generated: Vec<u32>,
    codes: Vec<u32>,
    frames: usize,
    waveform: Vec<f32>,
}

fn case(name: &str) -> Case {
    let ck = Checkpoint::open(root().join(format!("models/fixtures/talker/{name}.safetensors")))
        .unwrap();
    let ints = |n: &str| {
        Tensor::load(&ck, n, &Device::cpu())
            .unwrap()
            .to_vec::<i64>()
            .unwrap()
    };
    let seq: Vec<u32> = ints("sequences").into_iter().map(|v| v as u32).collect();
    let prompt_len = ints("prompt_len")[0] as usize;
    let codes: Vec<u32> = ints("codes").into_iter().map(|v| v as u32).collect();
    let waveform = Tensor::load(&ck, "waveform", &Device::cpu())
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    Case {
        prompt: seq[..prompt_len].to_vec(),
        generated: seq[prompt_len..].to_vec(),
        frames: codes.len() / 4,
        codes,
        waveform,
    }
}

fn engine() -> Engine {
    let model = MultimodalThinker::load(&model_dir(), &LoadOptions::default()).unwrap();
    let tok = TextTokenizer::from_dir(model_dir()).unwrap();
    let speech = SpeechModel::load(&model_dir(), &Device::cpu(), DType::F32).unwrap();
    Engine::multimodal(Arc::new(model), Some(tok), EngineConfig::default())
        .unwrap()
        .with_speech(Arc::new(speech))
        .unwrap()
}

/// Greedy text and speech as the fixture ran them (talker_max_new_tokens 9 = 8 frames).
fn request(c: &Case, chunk_frames: usize) -> GenerateRequest {
    let mut talker = TalkerOptions::greedy();
    talker.max_frames = 8;
    GenerateRequest::ids(c.prompt.clone())
        .max_new_tokens(c.generated.len())
        .speak(SpeechOptions {
            speaker: "Ethan".into(),
            talker,
            chunk_frames,
            left_context: 25,
        })
}

struct Run {
    tokens: Vec<u32>,
    chunks: Vec<Vec<f32>>,
    /// Event kinds in order: 't' token, 'a' audio, 'u' usage, 's' speech usage, 'f' finished.
    order: String,
    frames: usize,
}

fn run(e: &Engine, req: GenerateRequest) -> omnirt::Result<Run> {
    let mut r = Run {
        tokens: Vec::new(),
        chunks: Vec::new(),
        order: String::new(),
        frames: 0,
    };
    for ev in e.generate(req)? {
        match ev? {
            Event::Token { id, .. } => {
                r.tokens.push(id);
                r.order.push('t');
            }
            Event::Audio {
                samples,
                sample_rate,
            } => {
                assert_eq!(sample_rate, 24_000);
                r.chunks.push(samples);
                r.order.push('a');
            }
            Event::Usage { .. } => r.order.push('u'),
            Event::SpeechUsage { frames, .. } => {
                r.frames = frames;
                r.order.push('s');
            }
            Event::Finished(_) => r.order.push('f'),
            Event::TextDelta(_) => {}
        }
    }
    Ok(r)
}

fn code2wav() -> Arc<Code2Wav> {
    Arc::new(Code2Wav::load_dir(&model_dir(), &Device::cpu(), DType::F32).unwrap())
}

#[test]
fn spoken_reply_matches_the_reference_codes_and_waveform() {
    let c = case("text");
    let e = engine();
    let r = run(&e, request(&c, 300)).unwrap();
    assert_eq!(r.tokens, c.generated, "greedy thinker tokens");
    assert_eq!(
        r.frames, c.frames,
        "codec frames (the reference stopped at codec EOS)"
    );
    let audio: Vec<f32> = r.chunks.concat();
    // Exactly code2wav's chunked decode of the reference codes: same codes.
    let want = code2wav()
        .chunked_decode(&c.codes, c.frames, 300, 25)
        .unwrap();
    assert_eq!(audio, want, "audio = chunked_decode(reference codes)");
    // And the reference waveform, within what the tiny random decoder's f32
    // rounding allows (tests/code2wav.rs bounds each stage).
    assert_eq!(audio.len(), c.waveform.len());
    let diffs: Vec<f32> = audio
        .iter()
        .zip(&c.waveform)
        .map(|(a, b)| (a - b).abs())
        .collect();
    let max = diffs.iter().fold(0.0f32, |m, &d| m.max(d));
    let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
    eprintln!("waveform vs transformers: max {max:e}, mean {mean:e}");
    assert!(max < 2e-2 && mean < 1e-4, "max {max}, mean {mean}");
    assert_eq!(r.order.trim_start_matches('t'), "uasf");
}

#[test]
fn audio_streams_in_chunks_while_the_talker_runs() {
    let c = case("text");
    let e = engine();
    let r = run(&e, request(&c, 2)).unwrap();
    // 7 frames in chunks of 2: 4 chunks, each delivered when its frames exist.
    assert_eq!(r.chunks.len(), c.frames.div_ceil(2), "{}", r.order);
    let want = code2wav()
        .chunked_decode(&c.codes, c.frames, 2, 25)
        .unwrap();
    assert_eq!(r.chunks.concat(), want);
    assert_eq!(r.order.trim_start_matches('t'), "uaaaasf");
    assert_eq!(e.kv_bytes_in_use(), 0);
}

#[test]
fn bad_speech_requests_fail_before_compute() {
    let c = case("text");
    let e = engine();
    let mut req = request(&c, 300);
    req.speech.as_mut().unwrap().speaker = "nobody".into();
    let err = e.generate(req).err().expect("unknown speaker");
    assert!(err.to_string().contains("ethan"), "{err}");
    let mut req = request(&c, 300);
    req.speech.as_mut().unwrap().chunk_frames = 0;
    assert!(e.generate(req).is_err());
    assert_eq!(e.kv_bytes_in_use(), 0);

    // An engine without a talker says how to get one.
    let model = MultimodalThinker::load(&model_dir(), &LoadOptions::default()).unwrap();
    let plain = Engine::multimodal(Arc::new(model), None, EngineConfig::default()).unwrap();
    let err = plain.generate(request(&c, 300)).err().expect("no talker");
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("with_speech"), "{err}");
}

#[test]
fn cancelling_during_speech_ends_the_stream() {
    let c = case("text");
    let e = engine();
    let mut stream = e.generate(request(&c, 1)).unwrap();
    let handle = stream.cancel_handle();
    let mut last = None;
    let mut audio = 0;
    for ev in stream.by_ref() {
        let ev = ev.unwrap();
        if let Event::Audio { .. } = ev {
            audio += 1;
            handle.cancel();
        }
        last = Some(ev);
    }
    assert_eq!(audio, 1, "no audio after the cancel");
    assert_eq!(
        last,
        Some(Event::Finished(omnirt::engine::FinishReason::Cancelled))
    );
    assert_eq!(e.kv_bytes_in_use(), 0);
}

#[test]
fn cli_writes_the_spoken_reply_as_wav() {
    let c = case("text");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reply.wav");
    let ids: Vec<String> = c.prompt.iter().map(|x| x.to_string()).collect();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_omnirt"))
        .args(["run", "--model"])
        .arg(model_dir())
        .args(["--ids", &ids.join(","), "--greedy", "--max-tokens"])
        .arg(c.generated.len().to_string())
        .args(["--speaker", "Ethan", "--max-audio-frames", "8", "--speak"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("real-time factor"), "{err}");
    let mut r = hound::WavReader::open(&out).unwrap();
    assert_eq!(r.spec().sample_rate, 24_000);
    assert_eq!(r.spec().channels, 1);
    let got: Vec<f32> = r
        .samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32767.0)
        .collect();
    assert_eq!(got.len(), c.waveform.len());
    let mean = got
        .iter()
        .zip(&c.waveform)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / got.len() as f32;
    assert!(mean < 2e-3, "mean abs diff {mean}");

    // Unknown speaker / unwritable path: clean errors.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_omnirt"))
        .args(["run", "--model"])
        .arg(model_dir())
        .args(["--prompt", "w1", "--speaker", "nobody", "--speak"])
        .arg(&out)
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && e.contains("unknown speaker") && !e.contains("panicked"),
        "{e}"
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_omnirt"))
        .args(["run", "--model"])
        .arg(model_dir())
        .args([
            "--prompt",
            "w1",
            "--max-tokens",
            "2",
            "--max-audio-frames",
            "3",
            "--speak",
            "/nonexistent/dir/x.wav",
        ])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && e.contains("cannot write") && !e.contains("panicked"),
        "{e}"
    );
}
