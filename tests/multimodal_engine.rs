//! Media through the `Engine`: placeholder insertion, streaming after a media
//! prefill (decode at rope-delta-shifted positions), scoring, and a clear error
//! for every kind of bad media input, with the engine left healthy after each.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use omnirt::engine::{Engine, EngineConfig, Event, GenerateRequest, Prompt, ScoreOptions};
use omnirt::models::qwen3_omni::multimodal::decode_positions;
use omnirt::models::qwen3_omni::{LoadOptions, MultimodalThinker};
use omnirt::models::{CausalLm, LogitsFor};
use omnirt::preprocess::audio::DecodedAudio;
use omnirt::preprocess::image::Rgb8Image;
use omnirt::preprocess::{
    chatml, AudioSource, ImageSource, Media, MediaOptions, Message, TextTokenizer,
};
use omnirt::Error;

fn model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/tiny-qwen3-omni")
}

fn engine() -> Engine {
    let model = MultimodalThinker::load(&model_dir(), &LoadOptions::default()).unwrap();
    let tok = TextTokenizer::from_dir(model_dir()).unwrap();
    Engine::multimodal(Arc::new(model), Some(tok), EngineConfig::default()).unwrap()
}

fn gradient(w: usize, h: usize) -> Rgb8Image {
    let mut d = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            d.extend_from_slice(&[
                (x * 7 % 256) as u8,
                (y * 5 % 256) as u8,
                ((x + y) % 256) as u8,
            ]);
        }
    }
    Rgb8Image::from_raw(w, h, d).unwrap()
}

fn tone(seconds: f64, rate: u32) -> DecodedAudio {
    let n = (seconds * rate as f64) as usize;
    DecodedAudio {
        samples: (0..n)
            .map(|i| (0.25 * (i as f64 * 0.0625).sin()) as f32)
            .collect(),
        sample_rate: rate,
        channels: 1,
    }
}

fn image() -> Media {
    Media::Image(ImageSource::Decoded(gradient(80, 56)))
}

fn audio() -> Media {
    Media::Audio(AudioSource::Decoded(tone(1.5, 16_000)))
}

/// Tokens and whether text came out, consuming the stream.
fn run(engine: &Engine, req: GenerateRequest) -> omnirt::Result<(Vec<u32>, String)> {
    let mut ids = Vec::new();
    let mut text = String::new();
    for ev in engine.generate(req)? {
        match ev? {
            Event::Token { id, .. } => ids.push(id),
            Event::TextDelta(t) => text.push_str(&t),
            _ => {}
        }
    }
    Ok((ids, text))
}

#[test]
fn placeholders_go_before_the_user_text_in_order() {
    let e = engine();
    let tok = e.tokenizer().unwrap();
    let prompt = Prompt::Chat(vec![Message::user("w5 w6")]);
    let media = [image(), audio(), image()];
    let ids = e.encode_with_media(&prompt, &media).unwrap();
    let want = tok
        .encode(&chatml(&[Message::user(
            "<|vision_start|><|image_pad|><|vision_end|><|audio_start|><|audio_pad|><|audio_end|>\
             <|vision_start|><|image_pad|><|vision_end|>w5 w6",
        )]))
        .unwrap();
    assert_eq!(ids, want);
    // A prompt that writes its own placeholders is left alone.
    let own = Prompt::Chat(vec![Message::user(
        "w1 <|vision_start|><|image_pad|><|vision_end|> w2",
    )]);
    let ids = e.encode_with_media(&own, &[image()]).unwrap();
    let want = tok
        .encode(&chatml(&[Message::user(
            "w1 <|vision_start|><|image_pad|><|vision_end|> w2",
        )]))
        .unwrap();
    assert_eq!(ids, want);
}

/// The engine's stream equals prepare + prefill + decode at
/// `decode_positions(len, rope_delta)` done by hand on the model.
#[test]
fn stream_after_media_prefill_matches_the_model() {
    let e = engine();
    let req = GenerateRequest::text("w5 w6")
        .max_new_tokens(4)
        .stop_ids(Vec::new())
        .with_media(image())
        .with_media(audio());
    let (got, _) = run(&e, req.clone()).unwrap();
    assert_eq!(got.len(), 4);

    let m = e.media_model().unwrap();
    let ids = e.encode_with_media(&req.prompt, &req.media).unwrap();
    let p = m
        .prepare(&ids, &req.media, &MediaOptions::default())
        .unwrap();
    assert!(p.rope.rope_delta < 0.0, "an image compresses positions");
    let t = m.thinker();
    let mut cache = t.new_cache(p.ids.len() + 4).unwrap();
    let mut logits = m.prefill(&p, &mut cache, LogitsFor::Last, 7).unwrap();
    let mut want = Vec::new();
    for _ in 0..4 {
        let v = logits.to_f32_vec().unwrap();
        let tok = (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b }) as u32;
        want.push(tok);
        let pos = decode_positions(cache.len(), p.rope.rope_delta, 1);
        let x = t.embed(&[tok]).unwrap();
        logits = t
            .forward_embeds(&x, &pos, &mut cache, LogitsFor::Last, None)
            .unwrap();
    }
    assert_eq!(got, want);
    assert_eq!(e.kv_bytes_in_use(), 0);
}

#[test]
fn chunked_media_prefill_equals_one_pass() {
    let e = engine();
    let m = e.media_model().unwrap();
    let media = [image(), audio()];
    let ids = e
        .encode_with_media(&Prompt::Chat(vec![Message::user("w9")]), &media)
        .unwrap();
    let p = m.prepare(&ids, &media, &MediaOptions::default()).unwrap();
    let t = m.thinker();
    let run = |chunk: usize| {
        let mut cache = t.new_cache(p.ids.len()).unwrap();
        m.prefill(&p, &mut cache, LogitsFor::All, chunk)
            .unwrap()
            .to_f32_vec()
            .unwrap()
    };
    let one = run(usize::MAX);
    for chunk in [1, 5, 16] {
        let got = run(chunk);
        let d = one
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(d < 1e-4, "chunk {chunk}: logits differ by {d}");
    }
}

#[test]
fn score_with_media_covers_the_expanded_prompt() {
    let e = engine();
    let prompt = Prompt::Chat(vec![Message::user("w5 w6")]);
    let media = [audio()];
    let r = e
        .score_prompt(
            &prompt,
            &media,
            &MediaOptions::default(),
            &ScoreOptions::default(),
        )
        .unwrap();
    let n_audio = r
        .ids
        .iter()
        .filter(|&&id| id == e.media_model().unwrap().spec().tokens.audio_pad)
        .count();
    assert_eq!(
        n_audio, 20,
        "1.5 s of audio = 150 mel frames = 13 + 7 tokens"
    );
    assert_eq!(r.token_logprobs.len(), r.ids.len() - 1);
    assert!(r.perplexity.is_finite() && r.perplexity > 1.0);
}

fn expect_err(e: &Engine, media: Vec<Media>, opts: MediaOptions, what: &str) -> Error {
    let mut req = GenerateRequest::text("w1").max_new_tokens(2);
    req.media = media;
    req.media_options = opts;
    let err = match e.generate(req) {
        Err(err) => err,
        Ok(_) => panic!("{what}: expected an error"),
    };
    eprintln!("{what}: {err}");
    // The engine stays healthy: nothing reserved, and a good request works.
    assert_eq!(e.kv_bytes_in_use(), 0, "{what}");
    err
}

fn tmp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    (d, p)
}

#[test]
fn bad_media_inputs_give_clear_errors() {
    let e = engine();
    let none = MediaOptions::default;

    // Corrupt image: PNG signature, then garbage.
    let (_d, corrupt) = tmp_file("bad.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRgarbage");
    let err = expect_err(
        &e,
        vec![Media::image_file(&corrupt)],
        none(),
        "corrupt image",
    );
    assert!(err.to_string().contains("media input 1 (image)"), "{err}");

    // Unsupported image format (GIF).
    let (_d2, gif) = tmp_file("x.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    let err = expect_err(&e, vec![Media::image_file(&gif)], none(), "gif");
    assert!(matches!(err, Error::Unsupported(_)), "{err}");

    // Missing file.
    let err = expect_err(
        &e,
        vec![Media::image_file(Path::new("/nonexistent/x.png"))],
        none(),
        "missing image",
    );
    assert!(err.to_string().contains("/nonexistent/x.png"), "{err}");

    // Zero-sized decoded image.
    let zero = Rgb8Image {
        width: 0,
        height: 0,
        data: Vec::new(),
    };
    expect_err(
        &e,
        vec![Media::Image(ImageSource::Decoded(zero))],
        none(),
        "empty image",
    );

    // Beyond the decode limits.
    let mut small_limits = none();
    small_limits.image_limits.max_pixels = 1000;
    expect_err(
        &e,
        vec![image()],
        small_limits,
        "image over the pixel limit",
    );

    // Extreme aspect ratio (smart_resize refuses > 200:1).
    expect_err(
        &e,
        vec![Media::Image(ImageSource::Decoded(gradient(2000, 4)))],
        none(),
        "extreme aspect ratio",
    );

    // Bad pixel budget.
    let mut budget = none();
    budget.image_min_pixels = Some(10_000);
    budget.image_max_pixels = Some(100);
    expect_err(&e, vec![image()], budget, "min > max pixels");

    // Empty audio, too-short audio, a non-finite sample, too long, corrupt bytes.
    let empty = DecodedAudio {
        samples: Vec::new(),
        sample_rate: 16_000,
        channels: 1,
    };
    expect_err(
        &e,
        vec![Media::Audio(AudioSource::Decoded(empty))],
        none(),
        "empty audio",
    );
    expect_err(
        &e,
        vec![Media::Audio(AudioSource::Decoded(tone(0.005, 16_000)))],
        none(),
        "too-short audio",
    );
    let mut nan = tone(0.5, 16_000);
    nan.samples[100] = f32::NAN;
    expect_err(
        &e,
        vec![Media::Audio(AudioSource::Decoded(nan))],
        none(),
        "NaN audio",
    );
    expect_err(
        &e,
        vec![Media::Audio(AudioSource::Decoded(tone(301.0, 8_000)))],
        none(),
        "audio over 300 s",
    );
    expect_err(
        &e,
        vec![Media::Audio(AudioSource::Bytes(
            b"RIFF\x10\0\0\0WAVEfmt ".to_vec(),
        ))],
        none(),
        "corrupt wav",
    );

    // Placeholder count that does not match the media.
    let mut req = GenerateRequest::chat(vec![Message::user(
        "<|vision_start|><|image_pad|><|vision_end|><|vision_start|><|image_pad|><|vision_end|>w1",
    )]);
    req.media = vec![image()];
    let err = e.generate(req).err().expect("placeholder mismatch");
    assert!(
        err.to_string().contains("2 image placeholder(s) but 1"),
        "{err}"
    );

    // Placeholders but no media at all.
    let req = GenerateRequest::chat(vec![Message::user(
        "<|audio_start|><|audio_pad|><|audio_end|>w1",
    )]);
    let err = e.generate(req).err().expect("pads without media");
    assert!(err.to_string().contains("no media were given"), "{err}");

    // After all that, a good request still runs.
    let (ids, _) = run(
        &e,
        GenerateRequest::text("w1")
            .max_new_tokens(2)
            .with_media(image()),
    )
    .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(e.kv_bytes_in_use(), 0);
}

#[test]
fn silent_audio_is_accepted() {
    let e = engine();
    let silent = DecodedAudio {
        samples: vec![0.0; 16_000],
        sample_rate: 16_000,
        channels: 1,
    };
    let (ids, _) = run(
        &e,
        GenerateRequest::text("w1")
            .max_new_tokens(2)
            .with_media(Media::Audio(AudioSource::Decoded(silent))),
    )
    .unwrap();
    assert_eq!(ids.len(), 2);
}

#[test]
fn text_only_engine_refuses_media_with_a_typed_error() {
    let t =
        omnirt::models::qwen3_omni::Thinker::load(&model_dir(), &LoadOptions::default()).unwrap();
    let kv = omnirt::engine::KvSpec::for_thinker(&t);
    let special = omnirt::preprocess::SpecialTokens::from_config(t.config());
    let tok = TextTokenizer::from_dir(model_dir()).unwrap();
    let e = Engine::new(Arc::new(t), kv, special, Some(tok), EngineConfig::default()).unwrap();
    let err = e
        .generate(GenerateRequest::text("w1").with_media(image()))
        .err()
        .expect("no encoders");
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("Engine::multimodal"), "{err}");
}

#[test]
fn prompt_longer_than_the_context_is_refused_before_compute() {
    let e = engine();
    let ctx = e.model().max_context();
    // An upscaling budget makes one small image need more positions than the
    // context; this fails before the image is resized.
    let big = Media::Image(ImageSource::Decoded(gradient(100, 100)));
    let opts = MediaOptions {
        image_min_pixels: Some(ctx * 1024 + 4096),
        image_max_pixels: Some(ctx * 4096),
        ..MediaOptions::default()
    };
    let err = expect_err(&e, vec![big], opts, "prompt over the context");
    assert!(err.to_string().contains(&ctx.to_string()), "{err}");
}

/// The states a KV cache records for the talker equal the thinker's trace
/// (HF `hidden_states` indexing), across a prefill and a decode step.
#[test]
fn hidden_capture_matches_the_trace() {
    let t =
        omnirt::models::qwen3_omni::Thinker::load(&model_dir(), &LoadOptions::default()).unwrap();
    let ids = [961u32, 872, 198, 5, 17, 42];
    let layers = t.text_config().num_hidden_layers;
    for layer in [0, 2, layers] {
        let mut traced = t.new_cache(8).unwrap();
        let (_, trace) = t
            .forward_with_trace(&ids, &mut traced, LogitsFor::Last)
            .unwrap();
        let mut cache = t.new_cache(8).unwrap();
        cache.start_capture(layer);
        t.forward(&ids[..4], &mut cache, LogitsFor::Last).unwrap();
        t.forward(&ids[4..], &mut cache, LogitsFor::Last).unwrap();
        let (embeds, hidden) = cache.take_capture().unwrap().concat().unwrap();
        let want_h = trace.hidden_states[layer].to_f32_vec().unwrap();
        let want_e = trace.embeds.as_ref().unwrap().to_f32_vec().unwrap();
        let d = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max)
        };
        assert_eq!(hidden.dims(), &[ids.len(), t.text_config().hidden_size]);
        assert!(d(&embeds.to_f32_vec().unwrap(), &want_e) < 1e-6, "embeds");
        let dh = d(&hidden.to_f32_vec().unwrap(), &want_h);
        assert!(dh < 1e-4, "layer {layer}: hidden differs by {dh}");
    }
}
