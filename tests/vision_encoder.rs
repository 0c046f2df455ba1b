//! The Qwen3-Omni vision encoder against the transformers 5.24 fixtures in
//! `models/fixtures/vision_encoder` (scripts/fixtures/make_vision_fixtures.py):
//! two non-square images in one call and one 2-temporal-patch video, every
//! recorded stage within `F32_TOL` (f32 compute). Plus the typed input errors.

use std::path::PathBuf;

use omnirt::checkpoint::Checkpoint;
use omnirt::models::qwen3_omni::vision::{
    grid::VisionGrid, pos_embed::interpolation_taps, VisionConfig, VisionEncoder, VisionTrace,
};
use omnirt::models::qwen3_omni::Qwen3OmniConfig;
use omnirt::{DType, Device, Error, Tensor};

const F32_TOL: f32 = 1e-4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir() -> PathBuf {
    root().join("models/tiny-qwen3-omni")
}

fn encoder() -> VisionEncoder {
    VisionEncoder::load_dir(&model_dir(), &Device::cpu(), DType::F32).expect("load vision encoder")
}

struct Fixture(Checkpoint);

impl Fixture {
    fn open(case: &str) -> Fixture {
        let path = root().join(format!("models/fixtures/vision_encoder/{case}.safetensors"));
        Fixture(Checkpoint::open(&path).expect("fixture file"))
    }
    fn tensor(&self, name: &str) -> Tensor {
        Tensor::load(&self.0, name, &Device::cpu()).expect(name)
    }
    fn f32(&self, name: &str) -> Vec<f32> {
        self.tensor(name).to_f32_vec().expect(name)
    }
    fn i64(&self, name: &str) -> Vec<i64> {
        self.tensor(name).to_vec::<i64>().expect(name)
    }
    fn grid(&self) -> Vec<[usize; 3]> {
        self.i64("grid_thw")
            .chunks(3)
            .map(|c| [c[0] as usize, c[1] as usize, c[2] as usize])
            .collect()
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn check(case: &str, stage: &str, got: &Tensor, want: &[f32], worst: &mut f32) {
    let got = got.to_f32_vec().unwrap();
    let err = max_abs_diff(&got, want);
    println!("{case:>6} {stage:<14} max abs err {err:.3e}");
    assert!(err <= F32_TOL, "{case}: {stage}: max abs err {err}");
    *worst = worst.max(err);
}

fn run_case(case: &str) {
    let fx = Fixture::open(case);
    let enc = encoder();
    let grid = fx.grid();
    let pixels = fx.tensor("pixel_values");

    // Host-side geometry: segments, taps and weights as the reference builds them.
    let g = VisionGrid::new(&grid, enc.config().spatial_merge_size).unwrap();
    let cu: Vec<i64> = g.cu_seqlens().iter().map(|&v| v as i64).collect();
    assert_eq!(cu, fx.i64("cu_seqlens"), "{case}: cu_seqlens");
    let pos_ids: Vec<i64> = g
        .patch_positions()
        .iter()
        .flat_map(|&(r, c, _, _)| [r as i64, c as i64])
        .collect();
    assert_eq!(pos_ids, fx.i64("position_ids"), "{case}: position ids");
    let (idx, w) = interpolation_taps(&g, enc.config().pos_grid_side());
    let idx: Vec<i64> = idx.into_iter().map(i64::from).collect();
    assert_eq!(idx, fx.i64("interp_indices"), "{case}: interpolation taps");
    let werr = max_abs_diff(&w, &fx.f32("interp_weights"));
    assert!(werr <= 1e-6, "{case}: interpolation weights {werr}");

    let mut trace = VisionTrace::default();
    let out = enc
        .forward_traced(&pixels, &grid, Some(&mut trace))
        .unwrap();
    let mut worst = 0f32;
    let w = &mut worst;
    check(
        case,
        "patch_embed",
        trace.patch_embed.as_ref().unwrap(),
        &fx.f32("patch_embed"),
        w,
    );
    check(
        case,
        "pos_embed",
        trace.pos_embed.as_ref().unwrap(),
        &fx.f32("pos_embed"),
        w,
    );
    let rope = trace.rotary.as_ref().unwrap();
    check(case, "rotary_cos", &rope.cos, &fx.f32("rotary_cos"), w);
    check(case, "rotary_sin", &rope.sin, &fx.f32("rotary_sin"), w);
    assert_eq!(trace.blocks.len(), enc.config().depth);
    for (i, b) in trace.blocks.iter().enumerate() {
        check(
            case,
            &format!("block_{i}"),
            b,
            &fx.f32(&format!("block_{i}")),
            w,
        );
    }
    let n_merged = g.num_merged();
    assert_eq!(out.embeds.dims(), [n_merged, enc.config().out_hidden_size]);
    check(case, "merger", &out.embeds, &fx.f32("merger"), w);
    assert_eq!(
        out.deepstack.len(),
        enc.config().deepstack_visual_indexes.len()
    );
    for (k, d) in out.deepstack.iter().enumerate() {
        assert_eq!(d.dims(), out.embeds.dims());
        check(
            case,
            &format!("deepstack_{k}"),
            d,
            &fx.f32(&format!("deepstack_{k}")),
            w,
        );
    }
    println!("{case}: worst stage error {worst:.3e}");

    // Without a trace the outputs are the same.
    let plain = enc.forward(&pixels, &grid).unwrap();
    assert_eq!(
        plain.embeds.to_f32_vec().unwrap(),
        out.embeds.to_f32_vec().unwrap()
    );
}

#[test]
fn two_images_match_reference() {
    run_case("images");
}

#[test]
fn video_matches_reference() {
    run_case("video");
}

#[test]
fn deepstack_goes_after_the_first_decoder_layers() {
    let enc = encoder();
    assert_eq!(enc.deepstack_decoder_layers(), vec![0, 1]);
}

#[test]
fn bf16_compute_stays_close() {
    let fx = Fixture::open("images");
    let enc = VisionEncoder::load_dir(&model_dir(), &Device::cpu(), DType::BF16).unwrap();
    let out = enc.forward(&fx.tensor("pixel_values"), &fx.grid()).unwrap();
    assert_eq!(out.embeds.dtype(), DType::BF16);
    let want = fx.f32("merger");
    let got = out.embeds.to_f32_vec().unwrap();
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let err = max_abs_diff(&got, &want);
    println!("bf16 merger max abs err {err:.3e} (max |ref| {scale:.3})");
    assert!(err <= 0.05 * scale.max(1.0), "bf16 merger error {err}");
}

fn pixels(rows: usize, width: usize) -> Tensor {
    let v: Vec<f32> = (0..rows * width).map(|i| (i % 7) as f32 * 0.1).collect();
    Tensor::from_slice(&v, [rows, width], &Device::cpu()).unwrap()
}

#[test]
fn rows_not_matching_grid_is_a_shape_error() {
    let enc = encoder();
    let err = enc.forward(&pixels(20, 1536), &[[1, 4, 6]]).err().unwrap();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("20 rows") && msg.contains("24 patches"),
        "{msg}"
    );
}

#[test]
fn wrong_patch_width_is_a_shape_error() {
    let enc = encoder();
    let err = enc.forward(&pixels(24, 768), &[[1, 4, 6]]).err().unwrap();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    assert!(err.to_string().contains("1536"), "{err}");
    let err = enc
        .forward(
            &pixels(24, 1536).reshape([24, 1536, 1]).unwrap(),
            &[[1, 4, 6]],
        )
        .err()
        .unwrap();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
}

#[test]
fn grid_not_multiple_of_merge_is_invalid() {
    let enc = encoder();
    let err = enc.forward(&pixels(15, 1536), &[[1, 3, 5]]).err().unwrap();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(err.to_string().contains("spatial_merge_size 2"), "{err}");
    for grid in [vec![], vec![[0, 4, 4]]] {
        let err = enc.forward(&pixels(16, 1536), &grid).err().unwrap();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    }
}

#[test]
fn integer_pixels_are_a_dtype_error() {
    let enc = encoder();
    let v = vec![0u32; 16 * 1536];
    let t = Tensor::from_slice(&v, [16, 1536], &Device::cpu()).unwrap();
    let err = enc.forward(&t, &[[1, 4, 4]]).err().unwrap();
    assert!(matches!(err, Error::DType { .. }), "{err:?}");
}

#[test]
fn config_parses_and_validates() {
    let cfg = Qwen3OmniConfig::from_file(&model_dir().join("config.json")).unwrap();
    let v = VisionConfig::from_thinker(&cfg.thinker_config).unwrap();
    assert_eq!(
        (
            v.depth,
            v.hidden_size,
            v.num_heads,
            v.head_dim(),
            v.pos_grid_side()
        ),
        (3, 16, 2, 8, 8)
    );
    assert_eq!(v.patch_dim(), 1536);
    assert_eq!(v.rope_theta(), 10_000.0);
    // Released defaults when absent.
    let d = VisionConfig::default();
    assert_eq!(
        (d.depth, d.hidden_size, d.out_hidden_size),
        (27, 1152, 2048)
    );
    assert_eq!(d.deepstack_visual_indexes, vec![8, 16, 24]);
    d.validate().unwrap();
    let bad = VisionConfig {
        deepstack_visual_indexes: vec![0, 5],
        ..v.clone()
    };
    let err = bad.validate().unwrap_err();
    assert!(
        err.to_string().contains("deepstack_visual_indexes"),
        "{err}"
    );
    let bad = VisionConfig {
        num_position_embeddings: 60,
        ..v
    };
    assert!(matches!(bad.validate(), Err(Error::InvalidArgument(_))));
    let err = VisionConfig::from_value(&serde_json::json!({"depth": "three"})).unwrap_err();
    assert!(err.to_string().contains("vision_config.depth"), "{err}");
}
