//! Media files to greedy tokens through the `Engine`, against transformers'
//! `Qwen3OmniMoeProcessor` + thinker on the same files
//! (`models/fixtures/e2e`, scripts/fixtures/make_e2e_fixtures.py): the chat
//! template's ids, the processor's expanded ids and 3-D positions, pixel values,
//! mel features, the logits of three greedy steps and the tokens.

use std::path::PathBuf;
use std::sync::Arc;

use omnirt::checkpoint::Checkpoint;
use omnirt::engine::{Engine, EngineConfig, Event, GenerateRequest, Prompt};
use omnirt::models::qwen3_omni::multimodal::decode_positions;
use omnirt::models::qwen3_omni::{LoadOptions, MultimodalThinker};
use omnirt::models::LogitsFor;
use omnirt::preprocess::audio::AudioPreprocessor;
use omnirt::preprocess::image::{load_image, DecodeLimits, ImagePreprocessor, VideoOptions};
use omnirt::preprocess::video::{load_video, VideoLoadOptions, VideoSource};
use omnirt::preprocess::{Media, MediaOptions, Message, TextTokenizer};
use omnirt::{Device, Tensor};

const LOGIT_TOL: f32 = 1e-4;
const MEL_TOL: f32 = 1e-4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
fn media(name: &str) -> PathBuf {
    root().join("models/fixtures/e2e/media").join(name)
}
fn model_dir() -> PathBuf {
    root().join("models/tiny-qwen3-omni")
}

struct Fixture(Checkpoint, &'static str);

impl Fixture {
    fn open(file: &'static str) -> Fixture {
        Fixture(Checkpoint::open(root().join(file)).expect("fixture"), file)
    }
    fn f32s(&self, name: &str) -> Vec<f32> {
        let t = Tensor::load(&self.0, name, &Device::cpu()).expect(name);
        t.to_dtype(omnirt::DType::F32)
            .unwrap()
            .to_vec::<f32>()
            .unwrap()
    }
    fn ints(&self, name: &str) -> Vec<i64> {
        Tensor::load(&self.0, name, &Device::cpu())
            .expect(name)
            .to_vec::<i64>()
            .unwrap()
    }
    /// F64 tensors (the tensor API has no f64), read from the file directly.
    fn f64s(&self, name: &str) -> Vec<f64> {
        let file = std::fs::read(root().join(self.1)).unwrap();
        let st = safetensors::SafeTensors::deserialize(&file).unwrap();
        let t = st.tensor(name).expect(name);
        assert_eq!(t.dtype(), safetensors::Dtype::F64, "{name}");
        t.data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }
    fn ids(&self, name: &str) -> Vec<u32> {
        self.ints(name).into_iter().map(|v| v as u32).collect()
    }
}

fn engine() -> Engine {
    let model = MultimodalThinker::load(&model_dir(), &LoadOptions::default()).unwrap();
    let tok = TextTokenizer::from_dir(model_dir()).unwrap();
    Engine::multimodal(Arc::new(model), Some(tok), EngineConfig::default()).unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn argmax(v: &[f32]) -> u32 {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b }) as u32
}

/// Template ids, expanded ids, positions, logits of 3 greedy steps, and the
/// engine's own streamed tokens, for one request.
fn check_request(fx: &Fixture, template: &str, text: &str, media: Vec<Media>) {
    let e = engine();
    let tok = e.tokenizer().unwrap();
    let prompt = Prompt::Chat(vec![Message::user(text)]);
    let ids = e.encode_with_media(&prompt, &media).unwrap();
    assert_eq!(ids, tok.encode(template).unwrap(), "chat template ids");

    let m = e.media_model().unwrap();
    let p = m.prepare(&ids, &media, &MediaOptions::default()).unwrap();
    assert_eq!(p.ids, fx.ids("input_ids"), "processor-expanded ids");
    let want_pos = fx.f32s("position_ids");
    let n = p.ids.len();
    for r in 0..3 {
        assert_eq!(
            p.rope.positions[r],
            want_pos[r * n..(r + 1) * n],
            "position row {r}"
        );
    }
    assert_eq!(p.rope.rope_delta, fx.f32s("rope_delta")[0], "rope delta");

    let want_logits = fx.f32s("logits");
    let want_tokens = fx.ids("tokens");
    let vocab = want_logits.len() / want_tokens.len();
    let t = m.thinker();
    let mut cache = omnirt::models::CausalLm::new_cache(t.as_ref(), n + 3).unwrap();
    let mut logits = m
        .prefill(&p, &mut cache, LogitsFor::Last, 512)
        .unwrap()
        .to_f32_vec()
        .unwrap();
    let mut got = Vec::new();
    for step in 0..want_tokens.len() {
        let d = max_diff(&logits, &want_logits[step * vocab..(step + 1) * vocab]);
        eprintln!("step {step}: max abs logit diff {d:e}");
        assert!(d <= LOGIT_TOL, "step {step}: logits differ by {d}");
        let next = argmax(&logits);
        got.push(next);
        let pos = decode_positions(cache.len(), p.rope.rope_delta, 1);
        let x = t.embed(&[next]).unwrap();
        logits = t
            .forward_embeds(&x, &pos, &mut cache, LogitsFor::Last, None)
            .unwrap()
            .to_f32_vec()
            .unwrap();
    }
    assert_eq!(got, want_tokens, "greedy tokens (model)");

    // The engine's stream gives the same tokens.
    let mut req = GenerateRequest::chat(vec![Message::user(text)])
        .max_new_tokens(want_tokens.len())
        .stop_ids(Vec::new());
    req.media = media;
    let streamed: Vec<u32> = e
        .generate(req)
        .unwrap()
        .filter_map(|ev| match ev.unwrap() {
            Event::Token { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, want_tokens, "greedy tokens (engine stream)");
}

#[test]
fn image_and_audio_files_match_the_processor_and_thinker() {
    let fx = Fixture::open("models/fixtures/e2e/image_audio.safetensors");
    // Stage checks: the resized image, pixel values and mel features.
    let pre = ImagePreprocessor::from_file(model_dir().join("processor_config.json")).unwrap();
    let img = load_image(media("image.png"), &DecodeLimits::default()).unwrap();
    let resized = pre.resize_image(&img).unwrap();
    let want_resized: Vec<u8> = Tensor::load(&fx.0, "image_resized", &Device::cpu())
        .unwrap()
        .to_vec::<u8>()
        .unwrap();
    assert_eq!(resized.data, want_resized, "resized image, bit for bit");
    let pv = pre.preprocess_image(&img).unwrap();
    assert_eq!(pv.grid_thw.to_vec(), [1, 4, 4]);
    assert_eq!(
        max_diff(&pv.data, &fx.f32s("pixel_values")),
        0.0,
        "pixel values"
    );
    let mel = AudioPreprocessor::default()
        .from_path(media("speech.wav"))
        .unwrap();
    let d = max_diff(&mel.data, &fx.f32s("input_features"));
    // The processor's feature extractor takes its torch STFT path here (f32
    // FFT rounding, ~2e-5); tests/audio_preproc.rs holds the tighter numpy-path check.
    assert!(d < MEL_TOL, "mel features differ by {d}");

    check_request(
        &fx,
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|><|audio_start|>\
         <|audio_pad|><|audio_end|>w5 w6<|im_end|>\n<|im_start|>assistant\n",
        "w5 w6",
        vec![
            Media::image_file(media("image.png")),
            Media::audio_file(media("speech.wav")),
        ],
    );
}

#[test]
fn frame_directory_with_its_audio_matches_the_processor_and_thinker() {
    let fx = Fixture::open("models/fixtures/e2e/video_audio_in_video.safetensors");
    let opts = VideoLoadOptions {
        with_audio: true,
        ..VideoLoadOptions::default()
    };
    let v = load_video(&VideoSource::FrameDir(media("clip")), &opts).unwrap();
    assert_eq!((v.frames.len(), v.fps), (4, 2.0));
    let pre = ImagePreprocessor::from_file(model_dir().join("processor_config.json")).unwrap();
    let vp = pre
        .preprocess_video(
            &v.frames,
            &VideoOptions {
                fps: Some(v.fps),
                ..VideoOptions::default()
            },
        )
        .unwrap();
    assert_eq!(vp.second_per_grid, 1.0);
    let grid = fx.ints("video_grid_thw");
    assert_eq!(
        vp.pixel_values.grid_thw.map(|x| x as i64).to_vec(),
        grid,
        "video grid"
    );
    // Rows recorded in full, and every row's sum (the full tensor is 6.9 MB).
    let cols = vp.pixel_values.cols;
    let rows = fx.ints("pixel_values_videos_row_index");
    let want_rows = fx.f32s("pixel_values_videos_rows");
    for (k, &r) in rows.iter().enumerate() {
        let r = r as usize;
        assert_eq!(
            vp.pixel_values.data[r * cols..(r + 1) * cols],
            want_rows[k * cols..(k + 1) * cols],
            "video pixel row {r}"
        );
    }
    let sums = fx.f64s("pixel_values_videos_row_sums");
    for (r, want) in sums.iter().enumerate() {
        let got: f64 = vp.pixel_values.data[r * cols..(r + 1) * cols]
            .iter()
            .map(|&x| x as f64)
            .sum();
        assert!((got - want).abs() < 1e-3, "row {r} sum {got} vs {want}");
    }
    let a = v.audio.as_ref().expect("clip/audio.wav");
    let mel = AudioPreprocessor::default()
        .features(&a.samples, a.sample_rate)
        .unwrap();
    let d = max_diff(&mel.data, &fx.f32s("input_features"));
    // The processor's feature extractor takes its torch STFT path here (f32
    // FFT rounding, ~2e-5); tests/audio_preproc.rs holds the tighter numpy-path check.
    assert!(d < MEL_TOL, "mel features differ by {d}");

    check_request(
        &fx,
        "<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>w7<|im_end|>\n\
         <|im_start|>assistant\n",
        "w7",
        vec![Media::video_path(media("clip"), true)],
    );
}
