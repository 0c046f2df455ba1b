//! The talker (MoE codec decoder) and the code predictor against transformers
//! 5.24 (`models/fixtures/talker`, scripts/fixtures/make_talker_fixtures.py):
//! the talker prefill built from a recorded thinker run (embeddings, ids,
//! positions, trailing text), the codec logits of every step, the code
//! predictor's logits of every frame (all within 1e-4, f32) and the greedy codes
//! (exact), for a text prompt and an audio prompt; plus codec sampling and
//! bad-input errors.

use std::path::PathBuf;

use omnirt::checkpoint::Checkpoint;
use omnirt::models::qwen3_omni::multimodal::{GridThw, MediaSizes};
use omnirt::models::qwen3_omni::talker::{CodecSampler, CodecSampling};
use omnirt::models::qwen3_omni::{
    LoadOptions, Qwen3OmniConfig, Talker, TalkerInput, TalkerOptions, Thinker,
};
use omnirt::{DType, Device, Error, Tensor};

const TOL: f32 = 1e-4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir() -> PathBuf {
    root().join("models/tiny-qwen3-omni")
}

struct Fixture(Checkpoint);

impl Fixture {
    fn open(case: &str) -> Fixture {
        let path = root().join(format!("models/fixtures/talker/{case}.safetensors"));
        Fixture(Checkpoint::open(&path).expect("fixture file"))
    }
    fn tensor(&self, name: &str) -> Tensor {
        Tensor::load(&self.0, name, &Device::cpu()).expect(name)
    }
    fn ints(&self, name: &str) -> Vec<i64> {
        self.tensor(name).to_vec::<i64>().unwrap()
    }
    fn ids(&self, name: &str) -> Vec<u32> {
        self.ints(name).iter().map(|&x| x as u32).collect()
    }
    fn floats(&self, name: &str) -> Vec<f32> {
        self.tensor(name).to_f32_vec().unwrap()
    }
    fn dims(&self, name: &str) -> Vec<usize> {
        self.tensor(name).dims().to_vec()
    }
}

fn max_diff(got: &[f32], want: &[f32], what: &str) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max)
}

fn check(got: &[f32], want: &[f32], tol: f32, what: &str) -> f32 {
    let d = max_diff(got, want, what);
    assert!(d <= tol, "{what}: max |diff| {d} > {tol}");
    d
}

fn load() -> (Thinker, std::sync::Arc<Talker>) {
    let thinker = Thinker::load(&model_dir(), &LoadOptions::default()).unwrap();
    let talker =
        std::sync::Arc::new(Talker::load_dir(&model_dir(), &Device::cpu(), DType::F32).unwrap());
    (thinker, talker)
}

fn speaker_of(case: &str) -> &'static str {
    match case {
        "text" => "Ethan",
        "image" => "aiden",
        _ => "chelsie",
    }
}

fn run_case(case: &str) {
    let (thinker, talker) = load();
    let f = Fixture::open(case);
    let ids = f.ids("ids");
    let embeds = f.tensor("embeds");
    let hidden = f.tensor("hidden");
    let images = if f.0.info("image_grid_thw").is_ok() {
        let g = f.ints("image_grid_thw");
        g.chunks(3)
            .map(|c| GridThw::new(c[0] as usize, c[1] as usize, c[2] as usize))
            .collect()
    } else {
        Vec::new()
    };
    let media = MediaSizes {
        audios: f.ints("audio_tokens").iter().map(|&x| x as usize).collect(),
        images,
        ..MediaSizes::default()
    };
    if case == "text" {
        // The recorded layer-0 embeddings of a text run are the token embeddings.
        let e = thinker.embed(&ids).unwrap().to_f32_vec().unwrap();
        check(&e, &f.floats("embeds"), 0.0, "thinker embeds");
    }
    let input = TalkerInput {
        ids: &ids,
        embeds: &embeds,
        hidden: &hidden,
        media: &media,
        speaker: speaker_of(case),
    };
    let prompt = talker.build_prompt(&thinker, &input).unwrap();

    // (1) prefill embeddings, ids, positions, trailing text.
    assert_eq!(prompt.ids, f.ids("talker_ids"), "{case}: talker ids");
    assert_eq!(prompt.embeds.dims(), f.dims("prefill_embeds").as_slice());
    let d_pre = check(
        &prompt.embeds.to_f32_vec().unwrap(),
        &f.floats("prefill_embeds"),
        1e-5,
        "prefill embeds",
    );
    let want_pos = f.floats("prefill_positions");
    let m = prompt.ids.len();
    for r in 0..3 {
        assert_eq!(
            prompt.positions[r],
            want_pos[r * m..(r + 1) * m],
            "{case}: position row {r}"
        );
    }
    assert_eq!(
        prompt.trailing_text.dims(),
        f.dims("trailing_text").as_slice()
    );
    let d_tr = check(
        &prompt.trailing_text.to_f32_vec().unwrap(),
        &f.floats("trailing_text"),
        1e-5,
        "trailing text",
    );
    check(
        &prompt.tts_pad_embed.to_f32_vec().unwrap(),
        &f.floats("tts_pad_embed"),
        1e-5,
        "tts_pad embed",
    );

    // (2)(3) the greedy loop, step by step.
    let codes = f.ints("codes");
    let groups = talker.num_code_groups();
    let frames = codes.len() / groups;
    let c0_seq = f.ids("c0_sequence");
    let ended_with_eos = *c0_seq.last().unwrap() == talker.codec_eos_id();
    let vocab = f.dims("codec_logits")[1];
    let pvocab = f.dims("predictor_logits")[2];
    let want_logits = f.floats("codec_logits");
    let want_inputs = f.floats("decode_embeds");
    let want_dpos = f.floats("decode_positions");
    let want_pp = f.floats("predictor_prefill");
    let want_pl = f.floats("predictor_logits");
    let hsz = talker.hidden_size();

    // Without a codec EOS the reference stopped at talker_max_new_tokens: its
    // last c0 never became a frame. With one, run past it to see the EOS step.
    let opts = TalkerOptions {
        max_frames: if ended_with_eos { frames + 5 } else { frames },
        ..TalkerOptions::greedy()
    };
    let rope_delta = prompt.rope_delta;
    let mut session = talker.start(prompt, &opts).unwrap();
    let (mut d_logits, mut d_pred, mut d_in) = (0f32, 0f32, 0f32);
    let mut got_frames = Vec::new();
    let mut step = 0;
    while let Some(s) = session.step_traced().unwrap() {
        d_logits = d_logits.max(check(
            &s.codec_logits,
            &want_logits[step * vocab..(step + 1) * vocab],
            TOL,
            &format!("{case}: codec logits step {step}"),
        ));
        if step > 0 {
            let x = s.talker_input.as_ref().unwrap().to_f32_vec().unwrap();
            d_in = d_in.max(check(
                &x,
                &want_inputs[(step - 1) * hsz..step * hsz],
                1e-5,
                &format!("{case}: talker input step {step}"),
            ));
            // Decode position = cache_len + rope_delta, on all three rows.
            let p = &want_dpos[(step - 1) * 3..step * 3];
            let got = (m + step - 1) as f32 + rope_delta;
            assert_eq!(p, &[got; 3], "{case}: decode position {step}");
        }
        assert_eq!(s.c0, c0_seq[step], "{case}: c0 at step {step}");
        match &s.codes {
            Some(c) => {
                let pp = s.predictor_prefill.as_ref().unwrap().to_f32_vec().unwrap();
                check(
                    &pp,
                    &want_pp[step * 2 * hsz..(step + 1) * 2 * hsz],
                    1e-5,
                    &format!("{case}: predictor prefill frame {step}"),
                );
                assert_eq!(s.predictor_logits.len(), groups - 1);
                for (g, l) in s.predictor_logits.iter().enumerate() {
                    let base = (step * (groups - 1) + g) * pvocab;
                    d_pred = d_pred.max(check(
                        l,
                        &want_pl[base..base + pvocab],
                        TOL,
                        &format!("{case}: predictor logits frame {step} group {}", g + 1),
                    ));
                }
                got_frames.push(c.clone());
            }
            None => assert!(ended_with_eos && step == frames, "{case}: unexpected EOS"),
        }
        step += 1;
    }
    let want_frames: Vec<Vec<u32>> = codes
        .chunks(groups)
        .map(|c| c.iter().map(|&x| x as u32).collect())
        .collect();
    assert_eq!(got_frames, want_frames, "{case}: greedy codes");
    let want_c0 = if ended_with_eos {
        &c0_seq[..]
    } else {
        &c0_seq[..frames]
    };
    assert_eq!(session.c0_history(), want_c0, "{case}: c0 sequence");
    assert_eq!(step, if ended_with_eos { frames + 1 } else { frames });
    assert_eq!(session.next_frame().unwrap(), None, "{case}: finished");
    eprintln!(
        "{case}: {frames} frames (eos {ended_with_eos}); max diff prefill {d_pre:.2e}, trailing {d_tr:.2e}, \
         talker inputs {d_in:.2e}, codec logits {d_logits:.2e}, predictor logits {d_pred:.2e}"
    );
}

#[test]
fn text_prompt_matches_reference() {
    run_case("text");
}

#[test]
fn audio_prompt_matches_reference() {
    run_case("audio");
}

/// 3-D talker positions (rope_delta -3: decode positions restart below the prompt length).
#[test]
fn image_prompt_matches_reference() {
    run_case("image");
}

/// next_frame gives the same frames as the traced loop and stops at max_frames.
#[test]
fn next_frame_and_max_frames() {
    let (thinker, talker) = load();
    let f = Fixture::open("audio");
    let (ids, embeds, hidden) = (f.ids("ids"), f.tensor("embeds"), f.tensor("hidden"));
    let media = MediaSizes {
        audios: vec![31],
        ..MediaSizes::default()
    };
    let input = TalkerInput {
        ids: &ids,
        embeds: &embeds,
        hidden: &hidden,
        media: &media,
        speaker: "CHELSIE",
    };
    let prompt = talker.build_prompt(&thinker, &input).unwrap();
    let opts = TalkerOptions {
        max_frames: 3,
        ..TalkerOptions::greedy()
    };
    let mut s = talker.start(prompt, &opts).unwrap();
    let mut got = Vec::new();
    while let Some(frame) = s.next_frame().unwrap() {
        got.push(frame);
    }
    let codes = f.ints("codes");
    let want: Vec<Vec<u32>> = codes
        .chunks(4)
        .take(3)
        .map(|c| c.iter().map(|&x| x as u32).collect())
        .collect();
    assert_eq!(got, want);
    assert_eq!(s.frames(), 3);
}

fn sampled_frames(talker: &std::sync::Arc<Talker>, thinker: &Thinker, seed: u64) -> Vec<Vec<u32>> {
    let f = Fixture::open("text");
    let (ids, embeds, hidden) = (f.ids("ids"), f.tensor("embeds"), f.tensor("hidden"));
    let media = MediaSizes::default();
    let input = TalkerInput {
        ids: &ids,
        embeds: &embeds,
        hidden: &hidden,
        media: &media,
        speaker: "aiden",
    };
    let prompt = talker.build_prompt(thinker, &input).unwrap();
    let mut opts = TalkerOptions {
        max_frames: 12,
        ..TalkerOptions::default()
    };
    opts.talker.seed = seed;
    opts.predictor.seed = seed + 1;
    let mut s = talker.start(prompt, &opts).unwrap();
    let mut out = Vec::new();
    while let Some(frame) = s.next_frame().unwrap() {
        out.push(frame);
    }
    out
}

/// (4) Seeded sampling is deterministic and respects suppression.
#[test]
fn seeded_sampling_is_deterministic() {
    let (thinker, talker) = load();
    let a = sampled_frames(&talker, &thinker, 7);
    let b = sampled_frames(&talker, &thinker, 7);
    assert_eq!(a, b, "same seed, same frames");
    let pvocab = talker.code_predictor.config.vocab_size as u32;
    let mut all_same = true;
    for seed in [8u64, 9, 10] {
        let c = sampled_frames(&talker, &thinker, seed);
        all_same &= c == a;
        for frame in &c {
            assert_eq!(frame.len(), 4);
            // c0 is a codebook code: [vocab-1024, vocab) is suppressed, EOS ends the run.
            assert!(frame[0] < 64, "c0 {} not suppressed", frame[0]);
            assert!(frame[1..].iter().all(|&x| x < pvocab));
        }
    }
    assert!(!all_same, "different seeds should give different frames");
}

#[test]
fn codec_sampler_suppress_and_penalty() {
    // Suppressed ids are never picked, even when they have the largest logit.
    let greedy = CodecSampling::talker_default().greedy();
    let mut s = CodecSampler::talker(&greedy, 1088, 166).unwrap();
    let mut logits = vec![0.0f32; 1088];
    logits[500] = 10.0; // suppressed
    logits[166] = 5.0; // eos: allowed
    logits[3] = 4.0;
    assert_eq!(s.pick(&logits).unwrap(), 166);
    // Real vocab: [2048, 3072) \ {2150} suppressed.
    let mut s = CodecSampler::talker(&greedy, 3072, 2150).unwrap();
    let mut logits = vec![0.0f32; 3072];
    logits[2149] = 9.0;
    logits[2047] = 1.0;
    assert_eq!(s.pick(&logits).unwrap(), 2047);

    // Repetition penalty over this sampler's own picks: 2.05 -> 2.05/1.05 < 2.0.
    let mut s = CodecSampler::new(&greedy, 4, &[]).unwrap();
    let logits = [2.0f32, 2.05, -1.0, -1.02];
    assert_eq!(s.pick(&logits).unwrap(), 1);
    assert_eq!(s.pick(&logits).unwrap(), 0);
    // Negative logits are multiplied by the penalty.
    let mut s = CodecSampler::new(&greedy, 2, &[]).unwrap();
    assert_eq!(s.pick(&[-1.0, -1.04]).unwrap(), 0);
    assert_eq!(
        s.pick(&[-1.0, -1.04]).unwrap(),
        1,
        "-1.0·1.05 = -1.05 < -1.04"
    );
    assert_eq!(s.history(), &[0, 1]);

    // Seeded sampling: same seed, same draws; top_k = 1 is argmax.
    let mut opts = CodecSampling::predictor_default();
    opts.seed = 3;
    let logits: Vec<f32> = (0..64).map(|i| ((i * 37) % 11) as f32 * 0.3).collect();
    let draw = |o: &CodecSampling| {
        let mut s = CodecSampler::new(o, 64, &[]).unwrap();
        (0..20)
            .map(|_| s.pick(&logits).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(&opts), draw(&opts));
    opts.top_k = 1;
    let best = draw(&opts);
    assert!(best.iter().all(|&x| logits[x as usize] == 3.0));

    // Everything suppressed / wrong logits length: errors, not panics.
    assert!(CodecSampler::new(&greedy, 2, &[0, 1]).is_err());
    let mut s = CodecSampler::new(&greedy, 4, &[]).unwrap();
    assert!(matches!(s.pick(&[0.0; 3]), Err(Error::InvalidArgument(_))));
}

/// (5) Bad input -> typed errors.
#[test]
fn bad_inputs_are_errors() {
    let (thinker, talker) = load();
    assert_eq!(talker.speakers(), vec!["aiden", "chelsie", "ethan"]);
    let f = Fixture::open("text");
    let (ids, embeds, hidden) = (f.ids("ids"), f.tensor("embeds"), f.tensor("hidden"));
    let media = MediaSizes::default();

    // Unknown speaker lists the known ones.
    let input = TalkerInput {
        ids: &ids,
        embeds: &embeds,
        hidden: &hidden,
        media: &media,
        speaker: "nobody",
    };
    match talker.build_prompt(&thinker, &input) {
        Err(Error::InvalidArgument(m)) => {
            assert!(
                m.contains("nobody") && m.contains("chelsie") && m.contains("ethan"),
                "{m}"
            )
        }
        other => panic!("expected unknown speaker, got {:?}", other.map(|_| ())),
    }

    // ids / embeds length mismatch.
    let short = &ids[..ids.len() - 1];
    let input = TalkerInput {
        ids: short,
        embeds: &embeds,
        hidden: &hidden,
        media: &media,
        speaker: "ethan",
    };
    assert!(matches!(
        talker.build_prompt(&thinker, &input),
        Err(Error::Shape { .. })
    ));

    // Wrong hidden width.
    let narrow = hidden.narrow(1, 0, 10).unwrap();
    let input = TalkerInput {
        ids: &ids,
        embeds: &embeds,
        hidden: &narrow,
        media: &media,
        speaker: "ethan",
    };
    assert!(matches!(
        talker.build_prompt(&thinker, &input),
        Err(Error::Shape { .. })
    ));

    // No assistant segment.
    let cfg = talker.config();
    let no_asst: Vec<u32> = ids
        .iter()
        .map(|&x| {
            if x == cfg.assistant_token_id {
                cfg.user_token_id
            } else {
                x
            }
        })
        .collect();
    let input = TalkerInput {
        ids: &no_asst,
        embeds: &embeds,
        hidden: &hidden,
        media: &media,
        speaker: "ethan",
    };
    match talker.build_prompt(&thinker, &input) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("assistant"), "{m}"),
        other => panic!("expected no-assistant error, got {:?}", other.map(|_| ())),
    }

    // Assistant segment without a generated token (prompt only).
    let n_prompt = 16; // text case: the prompt has 16 ids
    let prompt_ids = &ids[..n_prompt];
    let e = embeds.narrow(0, 0, n_prompt).unwrap();
    let h = hidden.narrow(0, 0, n_prompt).unwrap();
    let input = TalkerInput {
        ids: prompt_ids,
        embeds: &e,
        hidden: &h,
        media: &media,
        speaker: "ethan",
    };
    match talker.build_prompt(&thinker, &input) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("generated"), "{m}"),
        other => panic!("expected too-short error, got {:?}", other.map(|_| ())),
    }
    // With exactly one generated token it works: trailing text = [tts_eos].
    let e = embeds.narrow(0, 0, n_prompt + 1).unwrap();
    let h = hidden.narrow(0, 0, n_prompt + 1).unwrap();
    let input = TalkerInput {
        ids: &ids[..n_prompt + 1],
        embeds: &e,
        hidden: &h,
        media: &media,
        speaker: "ethan",
    };
    let p = talker.build_prompt(&thinker, &input).unwrap();
    assert_eq!(p.trailing_text.dims(), &[1, talker.hidden_size()]);

    // Media that the talker ids do not contain -> rope_index error.
    let bad_media = MediaSizes {
        audios: vec![5],
        ..MediaSizes::default()
    };
    let input = TalkerInput {
        ids: &ids,
        embeds: &embeds,
        hidden: &hidden,
        media: &bad_media,
        speaker: "ethan",
    };
    assert!(matches!(
        talker.build_prompt(&thinker, &input),
        Err(Error::InvalidArgument(_))
    ));

    // Invalid sampling settings.
    let input = TalkerInput {
        ids: &ids,
        embeds: &embeds,
        hidden: &hidden,
        media: &media,
        speaker: "ethan",
    };
    let prompt = talker.build_prompt(&thinker, &input).unwrap();
    let mut opts = TalkerOptions::default();
    opts.talker.top_p = 0.0;
    assert!(matches!(
        talker.start(prompt, &opts),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn config_errors_and_random() {
    let text = std::fs::read_to_string(model_dir().join("config.json")).unwrap();
    let config = Qwen3OmniConfig::from_json_str(&text).unwrap();
    let t = Talker::random(&config, 5, &Device::cpu(), DType::F32).unwrap();
    assert_eq!(t.num_code_groups(), 4);
    assert_eq!(t.speaker_id("Ethan").unwrap(), 318);
    assert!(Talker::random(&config, 5, &Device::cpu(), DType::I64).is_err());

    // No talker_config -> a typed error, not a panic.
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v.as_object_mut().unwrap().remove("talker_config");
    let no_talker = Qwen3OmniConfig::from_json_str(&v.to_string()).unwrap();
    match Talker::random(&no_talker, 5, &Device::cpu(), DType::F32) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("talker_config"), "{m}"),
        other => panic!("expected error, got {:?}", other.map(|_| ())),
    }
    // A bad codec id is named.
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["talker_config"]["codec_bos_id"] = serde_json::json!(99999);
    let bad = Qwen3OmniConfig::from_json_str(&v.to_string()).unwrap();
    match Talker::random(&bad, 5, &Device::cpu(), DType::F32) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("codec_bos_id"), "{m}"),
        other => panic!("expected error, got {:?}", other.map(|_| ())),
    }
}

/// bf16 activations run end to end (no reference: a smoke test) and stay
/// close to the f32 codec logits of the prefill.
#[test]
fn bf16_smoke() {
    let thinker = Thinker::load(&model_dir(), &LoadOptions::default()).unwrap();
    let talker =
        std::sync::Arc::new(Talker::load_dir(&model_dir(), &Device::cpu(), DType::BF16).unwrap());
    let f = Fixture::open("text");
    let (ids, embeds, hidden) = (f.ids("ids"), f.tensor("embeds"), f.tensor("hidden"));
    let media = MediaSizes::default();
    let input = TalkerInput {
        ids: &ids,
        embeds: &embeds,
        hidden: &hidden,
        media: &media,
        speaker: "ethan",
    };
    let prompt = talker.build_prompt(&thinker, &input).unwrap();
    assert_eq!(prompt.embeds.dtype(), DType::BF16);
    let opts = TalkerOptions {
        max_frames: 4,
        ..TalkerOptions::greedy()
    };
    let mut s = talker.start(prompt, &opts).unwrap();
    let first = s.step_traced().unwrap().unwrap();
    let want = f.floats("codec_logits");
    let d = max_diff(
        &first.codec_logits,
        &want[..first.codec_logits.len()],
        "bf16 logits",
    );
    assert!(d < 0.25, "bf16 prefill logits differ from f32 by {d}");
    while let Some(frame) = s.next_frame().unwrap() {
        assert_eq!(frame.len(), 4);
        assert!(frame[0] < 64 && frame[1..].iter().all(|&x| x < 64));
    }
}
