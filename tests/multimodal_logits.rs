//! The full thinker on multimodal prompts (encoder outputs merged at the pad
//! positions, DeepStack, 3-D positions) against transformers 5.24
//! (`models/fixtures/multimodal`, scripts/fixtures/make_multimodal_fixtures.py):
//! last-position logits of the prompt and of two greedy decode steps within
//! 1e-4 (f32), greedy tokens exactly.

use std::path::PathBuf;

use omnirt::checkpoint::Checkpoint;
use omnirt::models::qwen3_omni::multimodal::{
    decode_positions, rope_index, GridThw, MediaSizes, MultimodalEmbeds, MultimodalSpec, VideoItem,
    MERGE_OP,
};
use omnirt::models::qwen3_omni::vision::VisionEncoder;
use omnirt::models::qwen3_omni::{AudioEncoder, LoadOptions, Thinker};
use omnirt::models::{CausalLm, LogitsFor};
use omnirt::{DType, Device, Error, Tensor};

const F32_TOL: f32 = 1e-4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir() -> PathBuf {
    root().join("models/tiny-qwen3-omni")
}

struct Fixture(Checkpoint);

impl Fixture {
    fn open(case: &str) -> Fixture {
        let path = root().join(format!("models/fixtures/multimodal/{case}.safetensors"));
        Fixture(Checkpoint::open(&path).expect("fixture file"))
    }
    fn tensor(&self, name: &str) -> Tensor {
        Tensor::load(&self.0, name, &Device::cpu()).expect(name)
    }
    fn ints(&self, name: &str) -> Vec<i64> {
        self.tensor(name).to_vec::<i64>().unwrap()
    }
    fn ids(&self, name: &str) -> Vec<u32> {
        self.ints(name).into_iter().map(|v| v as u32).collect()
    }
    /// A `[n, 3]` grid tensor as rows.
    fn grids(&self, name: &str) -> Vec<[usize; 3]> {
        self.ints(name)
            .chunks(3)
            .map(|c| [c[0] as usize, c[1] as usize, c[2] as usize])
            .collect()
    }
    fn scalar_f64(&self, name: &str) -> Vec<f64> {
        self.tensor(name)
            .to_f32_vec()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect()
    }
}

fn vision_encoder() -> VisionEncoder {
    VisionEncoder::load_dir(&model_dir(), &Device::cpu(), DType::F32).unwrap()
}

fn audio_encoder() -> AudioEncoder {
    AudioEncoder::load_dir(&model_dir(), &Device::cpu(), DType::F32).unwrap()
}

fn grid(g: [usize; 3]) -> GridThw {
    GridThw::new(g[0], g[1], g[2])
}

fn thinker() -> Thinker {
    Thinker::load(&model_dir(), &LoadOptions::default()).expect("load thinker")
}

fn spec(t: &Thinker) -> MultimodalSpec {
    MultimodalSpec::from_thinker(&t.config().thinker_config).unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

/// Prefill with the media, then greedy text steps; compare every step.
fn check_greedy(fx: &Fixture, t: &Thinker, media: &MultimodalEmbeds, sizes: &MediaSizes) {
    let ids = fx.ids("input_ids");
    let want_tokens = fx.ids("tokens");
    let want_logits = fx.tensor("logits").to_f32_vec().unwrap();
    let vocab = t.vocab_size();
    let steps = want_tokens.len();
    assert_eq!(want_logits.len(), steps * vocab);

    let ri = rope_index(&ids, sizes, &spec(t)).unwrap();
    let mut cache = t.new_cache(ids.len() + steps).unwrap();
    let mut logits = t
        .forward_multimodal(
            &ids,
            media,
            &ri.positions,
            &mut cache,
            LogitsFor::Last,
            None,
        )
        .unwrap()
        .to_f32_vec()
        .unwrap();
    let mut got = Vec::new();
    for step in 0..steps {
        let want = &want_logits[step * vocab..(step + 1) * vocab];
        let d = max_abs_diff(&logits, want);
        eprintln!("step {step}: max abs logit diff {d:e}");
        assert!(d <= F32_TOL, "step {step}: logits differ by {d}");
        let tok = argmax(&logits);
        got.push(tok);
        if step + 1 < steps {
            let pos = decode_positions(cache.len(), ri.rope_delta, 1);
            let x = t.embed(&[tok]).unwrap();
            logits = t
                .forward_embeds(&x, &pos, &mut cache, LogitsFor::Last, None)
                .unwrap()
                .to_f32_vec()
                .unwrap();
        }
    }
    assert_eq!(got, want_tokens, "greedy tokens");
}

fn image_case() -> (
    Fixture,
    Thinker,
    omnirt::models::qwen3_omni::vision::VisionOutput,
) {
    let fx = Fixture::open("image");
    let t = thinker();
    let enc = VisionEncoder::load_dir(&model_dir(), &Device::cpu(), DType::F32).unwrap();
    let grid = fx.ints("grid_thw");
    assert_eq!(grid, [1, 4, 6]);
    let out = enc
        .forward(&fx.tensor("pixel_values"), &[[1, 4, 6]])
        .unwrap();
    assert!(
        !out.deepstack.is_empty(),
        "the tiny model has DeepStack levels"
    );
    (fx, t, out)
}

#[test]
fn image_prompt_matches_reference() {
    let (fx, t, vision) = image_case();
    let media = MultimodalEmbeds {
        image: Some(&vision),
        ..Default::default()
    };
    let sizes = MediaSizes {
        images: vec![GridThw::new(1, 4, 6)],
        ..Default::default()
    };
    check_greedy(&fx, &t, &media, &sizes);
}

#[test]
fn deepstack_changes_the_logits() {
    // Guards against the DeepStack hook silently not running: dropping the
    // levels must move the logits well beyond the tolerance.
    let (fx, t, vision) = image_case();
    let ids = fx.ids("input_ids");
    let sizes = MediaSizes {
        images: vec![GridThw::new(1, 4, 6)],
        ..Default::default()
    };
    let ri = rope_index(&ids, &sizes, &spec(&t)).unwrap();
    let stripped = omnirt::models::qwen3_omni::vision::VisionOutput {
        embeds: vision.embeds.clone(),
        deepstack: Vec::new(),
    };
    let media = MultimodalEmbeds {
        image: Some(&stripped),
        ..Default::default()
    };
    let mut cache = t.new_cache(ids.len()).unwrap();
    let logits = t
        .forward_multimodal(
            &ids,
            &media,
            &ri.positions,
            &mut cache,
            LogitsFor::Last,
            None,
        )
        .unwrap()
        .to_f32_vec()
        .unwrap();
    let vocab = t.vocab_size();
    let want = fx.tensor("logits").to_f32_vec().unwrap();
    assert!(max_abs_diff(&logits, &want[..vocab]) > 1e-2);
}

#[test]
fn audio_prompt_matches_reference() {
    let fx = Fixture::open("audio");
    let t = thinker();
    let enc = AudioEncoder::load_dir(&model_dir(), &Device::cpu(), DType::F32).unwrap();
    let features = fx.tensor("input_features");
    let frames = features.dims()[1];
    assert_eq!(frames, 237);
    let audio = enc.forward(&features).unwrap();
    let media = MultimodalEmbeds {
        audio: Some(&audio),
        ..Default::default()
    };
    let sizes = MediaSizes {
        audios: vec![enc.token_count(frames)],
        ..Default::default()
    };
    check_greedy(&fx, &t, &media, &sizes);
}

#[test]
fn pad_count_mismatch_is_a_shape_error() {
    let (fx, t, vision) = image_case();
    let mut ids = fx.ids("input_ids");
    let sp = spec(&t);
    let positions = |n: usize| -> [Vec<f32>; 3] {
        let row: Vec<f32> = (0..n).map(|i| i as f32).collect();
        [row.clone(), row.clone(), row]
    };
    let media = MultimodalEmbeds {
        image: Some(&vision),
        ..Default::default()
    };
    // One image pad too few.
    let first = ids.iter().position(|&x| x == sp.tokens.image_pad).unwrap();
    ids.remove(first);
    let mut cache = t.new_cache(ids.len()).unwrap();
    let err = t
        .forward_multimodal(
            &ids,
            &media,
            &positions(ids.len()),
            &mut cache,
            LogitsFor::Last,
            None,
        )
        .err()
        .unwrap();
    match err {
        Error::Shape { op, detail } => {
            assert_eq!(op, MERGE_OP);
            assert!(
                detail.contains("5 image pad tokens") && detail.contains("6 image"),
                "{detail}"
            );
        }
        e => panic!("expected a shape error, got {e}"),
    }
    assert_eq!(cache.len(), 0, "a failed merge leaves the cache untouched");

    // Audio pads in the prompt but no audio embeddings given.
    let afx = Fixture::open("audio");
    let aids = afx.ids("input_ids");
    let mut cache = t.new_cache(aids.len()).unwrap();
    let err = t
        .forward_multimodal(
            &aids,
            &MultimodalEmbeds::default(),
            &positions(aids.len()),
            &mut cache,
            LogitsFor::Last,
            None,
        )
        .err()
        .unwrap();
    assert!(
        matches!(&err, Error::Shape { op, detail } if *op == MERGE_OP && detail.contains("31 audio pad tokens in the prompt but 0 audio")),
        "{err}"
    );
}

#[test]
fn video_prompt_matches_reference() {
    let fx = Fixture::open("video");
    let t = thinker();
    let grids = fx.grids("video_grid_thw");
    assert_eq!(grids, [[2, 4, 4]]);
    let spg = fx.scalar_f64("video_second_per_grid");
    assert_eq!(spg, [2.0]);
    let video = vision_encoder()
        .forward(&fx.tensor("pixel_values_videos"), &grids)
        .unwrap();
    let media = MultimodalEmbeds {
        video: Some(&video),
        ..Default::default()
    };
    let sizes = MediaSizes {
        videos: vec![VideoItem {
            grid: grid(grids[0]),
            second_per_grid: spg[0],
            audio_tokens: None,
        }],
        ..Default::default()
    };
    check_greedy(&fx, &t, &media, &sizes);
}

#[test]
fn audio_in_video_prompt_matches_reference() {
    let fx = Fixture::open("audio_in_video");
    let t = thinker();
    let grids = fx.grids("video_grid_thw");
    assert_eq!(grids, [[2, 4, 4]]);
    let spg = fx.scalar_f64("video_second_per_grid");
    assert_eq!(spg, [2.0]);
    let video = vision_encoder()
        .forward(&fx.tensor("pixel_values_videos"), &grids)
        .unwrap();
    let enc = audio_encoder();
    let features = fx.tensor("input_features");
    let frames = features.dims()[1];
    assert_eq!(frames, 300);
    assert_eq!(enc.token_count(frames), 39);
    let audio = enc.forward(&features).unwrap();
    let media = MultimodalEmbeds {
        video: Some(&video),
        audio: Some(&audio),
        ..Default::default()
    };
    let sizes = MediaSizes {
        videos: vec![VideoItem {
            grid: grid(grids[0]),
            second_per_grid: spg[0],
            audio_tokens: Some(enc.token_count(frames)),
        }],
        ..Default::default()
    };
    check_greedy(&fx, &t, &media, &sizes);
}

#[test]
fn mixed_audio_video_image_prompt_matches_reference() {
    // Standalone clip, video with its own audio, image: the two clips run as one
    // audio-encoder batch (sequence order), image and video DeepStack interleave.
    let fx = Fixture::open("mixed_all");
    let t = thinker();
    let venc = vision_encoder();
    let image_grids = fx.grids("image_grid_thw");
    assert_eq!(image_grids, [[1, 2, 4]]);
    let video_grids = fx.grids("video_grid_thw");
    assert_eq!(video_grids, [[3, 2, 2]]);
    let spg = fx.scalar_f64("video_second_per_grid");
    assert_eq!(spg, [1.0]);
    let image = venc
        .forward(&fx.tensor("pixel_values"), &image_grids)
        .unwrap();
    let video = venc
        .forward(&fx.tensor("pixel_values_videos"), &video_grids)
        .unwrap();
    let enc = audio_encoder();
    let clips: Vec<usize> = fx.ints("clip_frames").iter().map(|&f| f as usize).collect();
    assert_eq!(clips, [57, 410]);
    let audio = enc
        .forward_clips(&fx.tensor("input_features"), &clips)
        .unwrap();
    let media = MultimodalEmbeds {
        image: Some(&image),
        video: Some(&video),
        audio: Some(&audio),
    };
    let sizes = MediaSizes {
        images: vec![grid(image_grids[0])],
        videos: vec![VideoItem {
            grid: grid(video_grids[0]),
            second_per_grid: spg[0],
            audio_tokens: Some(enc.token_count(clips[1])),
        }],
        audios: vec![enc.token_count(clips[0])],
    };
    check_greedy(&fx, &t, &media, &sizes);
}
