//! The AuT audio encoder against the transformers 5.24 fixtures in
//! `models/fixtures/audio_encoder` (scripts/fixtures/make_audio_encoder_fixtures.py).
//!
//! f32: every recorded stage within 1e-4 max abs; chunk / window / token
//! layout exactly equal. Error cases are typed.

use std::path::PathBuf;

use omnirt::checkpoint::Checkpoint;
use omnirt::models::qwen3_omni::audio_encoder::{
    audio_token_count, AudioConfig, AudioEncoder, AudioTrace, ChunkPlan,
};
use omnirt::models::qwen3_omni::Qwen3OmniConfig;
use omnirt::{DType, Device, Error, Tensor};

const F32_TOL: f32 = 1e-4;
const BF16_TOL: f32 = 0.05; // measured 0.022 (embeddings, clip_237)

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir() -> PathBuf {
    root().join("models/tiny-qwen3-omni")
}

struct Fixture(Checkpoint);

impl Fixture {
    fn open(name: &str) -> Fixture {
        let path = root().join(format!("models/fixtures/audio_encoder/{name}.safetensors"));
        Fixture(Checkpoint::open(&path).expect("fixture file"))
    }
    fn tensor(&self, name: &str) -> Tensor {
        Tensor::load(&self.0, name, &Device::cpu()).expect(name)
    }
    fn f32(&self, name: &str) -> Vec<f32> {
        self.tensor(name).to_f32_vec().expect(name)
    }
    fn usizes(&self, name: &str) -> Vec<usize> {
        let t = self.tensor(name);
        t.to_vec::<i64>()
            .unwrap()
            .into_iter()
            .map(|v| v as usize)
            .collect()
    }
}

fn encoder(dtype: DType) -> AudioEncoder {
    AudioEncoder::load_dir(&model_dir(), &Device::cpu(), dtype).expect("load audio encoder")
}

fn features(lens: &[usize]) -> Tensor {
    let inputs = Fixture::open("inputs");
    let parts: Vec<Tensor> = lens
        .iter()
        .map(|t| inputs.tensor(&format!("features_{t}")))
        .collect();
    let refs: Vec<&Tensor> = parts.iter().collect();
    Tensor::cat(&refs, 1).unwrap()
}

fn max_abs_diff(got: &Tensor, want: &[f32], want_dims: &[usize], what: &str) -> f32 {
    assert_eq!(got.dims(), want_dims, "{what}: shape");
    let got = got.to_f32_vec().unwrap();
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

fn check_stage(case: &str, what: &str, got: &Tensor, fx: &Fixture, key: &str) -> f32 {
    let t = fx.tensor(key);
    let d = max_abs_diff(got, &fx.f32(key), t.dims(), &format!("{case}/{what}"));
    eprintln!("{case:>15} {what:<14} max|Δ| = {d:.3e}");
    assert!(d <= F32_TOL, "{case}/{what}: max abs diff {d} > {F32_TOL}");
    d
}

fn run_case(enc: &AudioEncoder, case: &str) -> AudioTrace {
    let fx = Fixture::open(case);
    let lens = fx.usizes("feature_lens");
    let trace = enc
        .forward_traced(&features(&lens), &lens)
        .expect("forward");

    // layout, exactly
    let plan = &trace.plan;
    assert_eq!(
        plan.chunk_frames,
        fx.usizes("chunk_lengths"),
        "{case}: chunk lengths"
    );
    assert_eq!(
        vec![plan.padded_frames],
        fx.usizes("padded_chunk_len"),
        "{case}: padding"
    );
    assert_eq!(plan.cu_seqlens, fx.usizes("cu_seqlens"), "{case}: windows");
    assert_eq!(
        plan.clip_tokens,
        fx.usizes("token_counts"),
        "{case}: token counts"
    );
    let valid: Vec<usize> = plan
        .valid_indices()
        .into_iter()
        .map(|v| v as usize)
        .collect();
    assert_eq!(valid, fx.usizes("valid_indices"), "{case}: valid rows");
    for (&t, &n) in lens.iter().zip(&plan.clip_tokens) {
        assert_eq!(audio_token_count(t), n, "{case}: formula for {t} frames");
        assert_eq!(enc.token_count(t), n);
    }

    // every stage within 1e-4
    check_stage(case, "conv3_gelu", &trace.conv3_gelu, &fx, "conv3_gelu");
    check_stage(case, "conv_out", &trace.conv_out, &fx, "conv_out");
    check_stage(case, "positions", &trace.positions, &fx, "positions");
    check_stage(case, "layer_input", &trace.layer_input, &fx, "layer_input");
    let layers = fx.tensor("layer_outputs");
    let per = layers.dims()[1] * layers.dims()[2];
    let want = fx.f32("layer_outputs");
    assert_eq!(
        trace.layer_outputs.len(),
        layers.dims()[0],
        "{case}: layer count"
    );
    for (i, got) in trace.layer_outputs.iter().enumerate() {
        let d = max_abs_diff(
            got,
            &want[i * per..(i + 1) * per],
            &layers.dims()[1..],
            &format!("{case}/layer {i}"),
        );
        eprintln!("{case:>15} layer {i:<8} max|Δ| = {d:.3e}");
        assert!(d <= F32_TOL, "{case}/layer {i}: max abs diff {d}");
    }
    check_stage(case, "ln_post", &trace.ln_post, &fx, "ln_post");
    check_stage(case, "embeddings", &trace.embeddings, &fx, "embeddings");
    trace
}

#[test]
fn single_clip_not_a_chunk_multiple() {
    run_case(&encoder(DType::F32), "clip_237");
}

#[test]
fn single_clip_full_chunks_several_windows() {
    run_case(&encoder(DType::F32), "clip_1000");
}

#[test]
fn two_clips_batched() {
    let enc = encoder(DType::F32);
    let trace = run_case(&enc, "batch_237_1000");
    // the batch equals the clips run alone (the padded width is 100 in both)
    let a = enc.forward(&features(&[237])).unwrap();
    let b = enc.forward(&features(&[1000])).unwrap();
    let both = Tensor::cat(&[&a, &b], 0).unwrap();
    let d = max_abs_diff(
        &both,
        &trace.embeddings.to_f32_vec().unwrap(),
        trace.embeddings.dims(),
        "batched vs single",
    );
    assert!(d <= 1e-5, "batched vs single clips: {d}");
}

#[test]
fn short_clips_pad_to_the_longest_chunk() {
    let enc = encoder(DType::F32);
    run_case(&enc, "clip_73");
    run_case(&enc, "batch_73_41");
}

#[test]
fn single_clip_forward_matches_fixture() {
    let enc = encoder(DType::F32);
    let fx = Fixture::open("clip_237");
    let out = enc.forward(&features(&[237])).unwrap();
    let d = max_abs_diff(&out, &fx.f32("embeddings"), &[31, 64], "forward");
    assert!(d <= F32_TOL, "forward: {d}");
}

#[test]
fn token_count_formula_matches_reference() {
    let table = Fixture::open("inputs").usizes("token_counts");
    assert_eq!(table.len(), 3001);
    for (t, &n) in table.iter().enumerate() {
        assert_eq!(audio_token_count(t), n, "T_mel = {t}");
    }
}

#[test]
fn bf16_is_close_to_the_f32_reference() {
    let enc = encoder(DType::BF16);
    let fx = Fixture::open("clip_237");
    let out = enc.forward(&features(&[237])).unwrap();
    assert_eq!(out.dtype(), DType::BF16);
    let d = max_abs_diff(&out, &fx.f32("embeddings"), &[31, 64], "bf16");
    eprintln!("bf16 embeddings vs f32 reference: max|Δ| = {d:.3e}");
    assert!(d <= BF16_TOL, "bf16: {d}");
}

#[test]
fn bad_inputs_are_typed_errors() {
    let mut enc = encoder(DType::F32);
    let cpu = Device::cpu();
    let shape_err = |r: omnirt::Result<Tensor>, what: &str| match r {
        Err(Error::Shape { op, .. }) => assert_eq!(op, "audio_encoder", "{what}"),
        Err(e) => panic!("{what}: expected a shape error, got {e}"),
        Ok(_) => panic!("{what}: expected an error"),
    };
    let invalid = |r: omnirt::Result<Tensor>, what: &str| match r {
        Err(Error::InvalidArgument(msg)) => eprintln!("{what}: {msg}"),
        Err(e) => panic!("{what}: expected an invalid-argument error, got {e}"),
        Ok(_) => panic!("{what}: expected an error"),
    };

    // mel bins != 128 (also the transposed layout [T, 128])
    shape_err(
        enc.forward(&Tensor::zeros([80, 300], DType::F32, &cpu).unwrap()),
        "80 bins",
    );
    shape_err(
        enc.forward(&Tensor::zeros([300, 128], DType::F32, &cpu).unwrap()),
        "transposed",
    );
    shape_err(
        enc.forward(&Tensor::zeros([1, 128, 300], DType::F32, &cpu).unwrap()),
        "rank 3",
    );
    // zero frames
    invalid(
        enc.forward(&Tensor::zeros([128, 0], DType::F32, &cpu).unwrap()),
        "zero frames",
    );
    let x = features(&[237]);
    invalid(enc.forward_clips(&x, &[237, 0]), "empty clip");
    invalid(enc.forward_clips(&x, &[]), "no clips");
    // lengths that do not add up
    shape_err(enc.forward_clips(&x, &[200, 30]), "lengths sum");
    // too long: the default limit (300 s) and a lowered one
    let long = Tensor::zeros([128, 30_001], DType::F32, &cpu).unwrap();
    invalid(enc.forward(&long), "30001 frames");
    enc.set_max_frames(200);
    invalid(enc.forward(&x), "over a lowered limit");
    // integer features
    match enc.forward(&Tensor::zeros([128, 10], DType::U32, &cpu).unwrap()) {
        Err(Error::DType { .. }) => {}
        other => panic!("u32 features: {:?}", other.map(|t| t.dims().to_vec())),
    }
}

#[test]
fn config_and_checkpoint_mismatch_are_reported() {
    let config = Qwen3OmniConfig::from_file(&model_dir().join("config.json")).unwrap();
    let audio = AudioConfig::from_config(&config).unwrap();
    assert_eq!(audio.d_model, 32);
    assert_eq!(audio.n_window_infer, 200);
    assert_eq!(audio.conv_out_in(), 8 * 16);
    // released defaults when the section is absent
    let released = AudioConfig::default();
    assert_eq!(
        (
            released.d_model,
            released.encoder_layers,
            released.conv_out_in()
        ),
        (1280, 32, 7680)
    );
    released.validate().unwrap();

    let ckpt = Checkpoint::open(model_dir()).unwrap();
    let mut wrong = audio.clone();
    wrong.d_model = 48;
    wrong.encoder_attention_heads = 4;
    match AudioEncoder::load(&ckpt, &wrong, &Device::cpu(), DType::F32) {
        Err(Error::Shape { detail, .. }) => {
            assert!(detail.contains("thinker.audio_tower"), "{detail}")
        }
        Err(e) => panic!("expected a shape error, got {e}"),
        Ok(_) => panic!("loaded with a wrong d_model"),
    }
    let mut bad = audio.clone();
    bad.encoder_attention_heads = 5;
    assert!(matches!(bad.validate(), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        AudioEncoder::load(&ckpt, &audio, &Device::cpu(), DType::F16),
        Err(Error::DType { .. })
    ));
}

#[test]
fn chunk_plan_without_a_model() {
    assert_eq!(audio_token_count(0), 0);
    assert_eq!(audio_token_count(100), 13);
    assert_eq!(audio_token_count(237), 2 * 13 + 5);
    assert_eq!(audio_token_count(1000), 130);
    let p = ChunkPlan::new(&[237, 1000], 50, 200).unwrap();
    assert_eq!(p.chunk_frames[..3], [100, 100, 37]);
    assert_eq!(
        (p.padded_frames, p.padded_tokens, p.window_tokens),
        (100, 13, 26)
    );
    assert_eq!(p.clip_tokens, vec![31, 130]);
    assert_eq!(p.cu_seqlens, vec![0, 26, 31, 57, 83, 109, 135, 161]);
    // the released model: 104-token windows (8 s)
    let real = ChunkPlan::new(&[1500], 50, 800).unwrap();
    assert_eq!(real.window_tokens, 104);
    assert_eq!(real.cu_seqlens, vec![0, 104, 195]);
    // only short clips: padded to the longest chunk, one window per clip
    let short = ChunkPlan::new(&[73, 41], 50, 200).unwrap();
    assert_eq!(short.padded_frames, 73);
    assert_eq!(short.cu_seqlens, vec![0, 10, 16]);
    assert!(matches!(
        ChunkPlan::new(&[10, 0], 50, 200),
        Err(Error::InvalidArgument(_))
    ));
}
