//! The thinker text decoder against the transformers 5.24 fixtures in
//! `models/fixtures/thinker_text` (see scripts/fixtures/README.md).
//!
//! Tolerances (logits have std ≈ 1):
//! - f32 compute: every recorded tensor within 1e-4 max abs;
//! - bf16 compute vs the bf16 reference: within `BF16_TOL` (kernels
//!   accumulate in f32 where torch rounds some intermediates to bf16);
//! - Q8_0 weights vs the f32 reference: within `Q8_TOL`.

use std::path::{Path, PathBuf};

use omnirt::checkpoint::Checkpoint;
use omnirt::models::qwen3_omni::{LoadOptions, Qwen3OmniConfig, Thinker};
use omnirt::models::{CausalLm, KvCache, LogitsFor};
use omnirt::{DType, Device, Tensor};

const F32_TOL: f32 = 1e-4; // measured <= 3e-6 on every tensor
const BF16_TOL: f32 = 0.1; // measured 0.055 (logits), 0.047 (hidden), 0.020 (router)
const Q8_TOL: f32 = 0.12; // measured 0.070 (prefill logits)

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir() -> PathBuf {
    root().join("models/tiny-qwen3-omni")
}

struct Fixture(Checkpoint);

impl Fixture {
    fn open(case: &str) -> Fixture {
        let path = root().join(format!("models/fixtures/thinker_text/{case}.safetensors"));
        Fixture(Checkpoint::open(&path).expect("fixture file"))
    }
    fn tensor(&self, name: &str) -> Tensor {
        Tensor::load(&self.0, name, &Device::cpu()).expect(name)
    }
    fn f32(&self, name: &str) -> Vec<f32> {
        self.tensor(name).to_f32_vec().expect(name)
    }
    fn ids(&self, name: &str) -> Vec<u32> {
        let t = self.tensor(name);
        t.to_vec::<i64>()
            .unwrap()
            .into_iter()
            .map(|v| v as u32)
            .collect()
    }
    fn dims(&self, name: &str) -> Vec<usize> {
        self.tensor(name).dims().to_vec()
    }
}

fn load(dir: &Path, dtype: DType, quant: Option<DType>) -> Thinker {
    let opts = LoadOptions {
        device: Device::cpu(),
        dtype,
        quant,
    };
    Thinker::load(dir, &opts).expect("load thinker")
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn vals(t: &Tensor) -> Vec<f32> {
    t.to_f32_vec().unwrap()
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

/// Rows `row` of a `[B, S, ..]` fixture tensor flattened as `[S, ..]`.
fn batch_row(v: &[f32], batch: usize, row: usize) -> Vec<f32> {
    let n = v.len() / batch;
    v[row * n..(row + 1) * n].to_vec()
}

/// Prefill one fixture prompt in f32 and compare every recorded tensor.
fn check_prefill(case: &str, row: usize) {
    let fx = Fixture::open(case);
    let batch = fx.dims("input_ids")[0];
    let all_ids = fx.ids("input_ids");
    let s = all_ids.len() / batch;
    let ids = &all_ids[row * s..(row + 1) * s];
    assert!(
        fx.ids("attention_mask")[row * s..(row + 1) * s]
            .iter()
            .all(|&m| m == 1),
        "single-sequence rows only"
    );

    let model = load(&model_dir(), DType::F32, None);
    let mut cache = model.new_cache(64).unwrap();
    let (logits, trace) = model
        .forward_with_trace(ids, &mut cache, LogitsFor::All)
        .unwrap();
    assert_eq!(cache.len(), s);
    let layers = model.text_config().num_hidden_layers;
    let experts = model.text_config().num_experts;

    let mut report = Vec::new();
    let mut check = |what: String, got: Vec<f32>, want: Vec<f32>| {
        let d = max_abs_diff(&got, &want);
        report.push(format!("{what}: {d:.2e}"));
        assert!(d <= F32_TOL, "{case} row {row}: {what} differs by {d}");
    };
    check(
        "embeds".into(),
        vals(trace.embeds.as_ref().unwrap()),
        batch_row(&fx.f32("embeds"), batch, row),
    );
    let hs = fx.f32("hidden_states");
    let per = hs.len() / (layers + 1);
    assert_eq!(trace.hidden_states.len(), layers + 1);
    for (k, h) in trace.hidden_states.iter().enumerate() {
        let want = batch_row(&hs[k * per..(k + 1) * per], batch, row);
        check(format!("hidden_states[{k}]"), vals(h), want);
    }
    check(
        "last_layer_output".into(),
        vals(trace.last_layer_output.as_ref().unwrap()),
        batch_row(&fx.f32("last_layer_output"), batch, row),
    );
    let (attn, moe, router) = (
        fx.f32("attn_outputs"),
        fx.f32("moe_outputs"),
        fx.f32("router_logits"),
    );
    let per = attn.len() / layers;
    let per_r = router.len() / layers;
    for l in 0..layers {
        check(
            format!("attn_outputs[{l}]"),
            vals(&trace.attn_outputs[l]),
            batch_row(&attn[l * per..(l + 1) * per], batch, row),
        );
        check(
            format!("moe_outputs[{l}]"),
            vals(&trace.moe_outputs[l]),
            batch_row(&moe[l * per..(l + 1) * per], batch, row),
        );
        let r = trace.router_logits[l].as_ref().expect("moe layer");
        assert_eq!(r.dims(), [s, experts]);
        check(
            format!("router_logits[{l}]"),
            vals(r),
            batch_row(&router[l * per_r..(l + 1) * per_r], batch, row),
        );
    }
    check(
        "logits".into(),
        vals(&logits),
        batch_row(&fx.f32("logits"), batch, row),
    );
    eprintln!("{case} row {row} max|Δ|: {}", report.join(", "));
}

#[test]
fn prefill_matches_reference_chat_short() {
    check_prefill("chat_short", 0);
}

#[test]
fn prefill_matches_reference_chat_long() {
    check_prefill("chat_long", 0);
}

#[test]
fn prefill_matches_reference_unpadded_batch_row() {
    check_prefill("batch_left_pad", 1);
}

/// Greedy decoding with the KV cache, one token per step; returns the new ids
/// and each step's logits (step 0 = the prefill's last position).
fn greedy(model: &Thinker, prompt: &[u32], steps: usize) -> (Vec<u32>, Vec<Vec<f32>>) {
    let mut cache = model.new_cache(prompt.len() + steps).unwrap();
    let mut logits = model.forward(prompt, &mut cache, LogitsFor::Last).unwrap();
    let (mut ids, mut all) = (Vec::new(), Vec::new());
    for step in 0..steps {
        let v = vals(&logits);
        assert_eq!(v.len(), model.vocab_size());
        let next = argmax(&v);
        ids.push(next);
        all.push(v);
        if step + 1 < steps {
            logits = model.forward(&[next], &mut cache, LogitsFor::Last).unwrap();
        }
    }
    (ids, all)
}

fn check_greedy_f32(case: &str, row: usize) {
    let fx = Fixture::open(case);
    let batch = fx.dims("input_ids")[0];
    let all_ids = fx.ids("input_ids");
    let s = all_ids.len() / batch;
    let want_ids = fx.ids("gen_ids");
    let n = want_ids.len() / batch;
    let want_ids = &want_ids[row * n..(row + 1) * n];
    let want_logits = fx.f32("gen_logits"); // [N, B, V]
    let vocab = want_logits.len() / (n * batch);

    let model = load(&model_dir(), DType::F32, None);
    let (ids, logits) = greedy(&model, &all_ids[row * s..(row + 1) * s], n);
    assert_eq!(ids, want_ids, "{case} row {row}: greedy tokens");
    let mut worst = 0.0f32;
    for (step, got) in logits.iter().enumerate() {
        let at = (step * batch + row) * vocab;
        let d = max_abs_diff(got, &want_logits[at..at + vocab]);
        worst = worst.max(d);
        assert!(d <= F32_TOL, "{case} step {step}: logits differ by {d}");
    }
    eprintln!("{case} row {row}: greedy ids equal, per-step logits max|Δ| {worst:.2e}");
}

#[test]
fn greedy_generation_matches_reference_chat_short() {
    check_greedy_f32("chat_short", 0);
}

#[test]
fn greedy_generation_matches_reference_chat_long() {
    check_greedy_f32("chat_long", 0);
}

#[test]
fn greedy_generation_matches_reference_unpadded_batch_row() {
    check_greedy_f32("batch_left_pad", 1);
}

#[test]
fn sharded_checkpoint_gives_identical_logits() {
    let fx = Fixture::open("chat_long");
    let ids = fx.ids("input_ids");
    let run = |dir: PathBuf| {
        let model = load(&dir, DType::F32, None);
        let mut cache = model.new_cache(ids.len()).unwrap();
        vals(&model.forward(&ids, &mut cache, LogitsFor::All).unwrap())
    };
    let single = run(model_dir());
    let sharded = run(root().join("models/tiny-qwen3-omni-sharded"));
    assert_eq!(single, sharded);
}

#[test]
fn chunked_prefill_and_last_logits_agree_with_one_pass() {
    let fx = Fixture::open("chat_long");
    let ids = fx.ids("input_ids");
    let model = load(&model_dir(), DType::F32, None);
    let mut cache = model.new_cache(ids.len()).unwrap();
    let all = vals(&model.forward(&ids, &mut cache, LogitsFor::All).unwrap());
    let vocab = model.vocab_size();

    // Same prompt in three chunks through the cache.
    let mut cache = model.new_cache(ids.len()).unwrap();
    let mut parts = Vec::new();
    for chunk in [&ids[..7], &ids[7..8], &ids[8..]] {
        parts.extend(vals(
            &model.forward(chunk, &mut cache, LogitsFor::All).unwrap(),
        ));
    }
    let d = max_abs_diff(&all, &parts);
    assert!(d <= 1e-5, "chunked prefill differs by {d}");

    let mut cache = model.new_cache(ids.len()).unwrap();
    let last = vals(&model.forward(&ids, &mut cache, LogitsFor::Last).unwrap());
    assert_eq!(last.len(), vocab);
    let d = max_abs_diff(&last, &all[all.len() - vocab..]);
    assert!(d <= 1e-5, "last-position logits differ by {d}");
}

#[test]
fn bf16_compute_matches_bf16_reference() {
    let fx = Fixture::open("chat_short_bf16");
    let ids = fx.ids("input_ids");
    let model = load(&model_dir(), DType::BF16, None);
    let layers = model.text_config().num_hidden_layers;
    let mut cache = model.new_cache(32).unwrap();
    let (logits, trace) = model
        .forward_with_trace(&ids, &mut cache, LogitsFor::All)
        .unwrap();
    assert_eq!(trace.hidden_states[0].dtype(), DType::BF16);

    let want = fx.f32("logits");
    let got = vals(&logits);
    let d_logits = max_abs_diff(&got, &want);
    let hs = fx.f32("hidden_states");
    let per = hs.len() / (layers + 1);
    let mut d_hidden = 0.0f32;
    for (k, h) in trace.hidden_states.iter().enumerate() {
        d_hidden = d_hidden.max(max_abs_diff(&vals(h), &hs[k * per..(k + 1) * per]));
    }
    let router = fx.f32("router_logits");
    let per = router.len() / layers;
    let mut d_router = 0.0f32;
    for l in 0..layers {
        let r = vals(trace.router_logits[l].as_ref().unwrap());
        d_router = d_router.max(max_abs_diff(&r, &router[l * per..(l + 1) * per]));
    }
    eprintln!(
        "bf16 vs bf16 reference max|Δ|: logits {d_logits:.3}, hidden {d_hidden:.3}, router {d_router:.3}"
    );
    assert!(d_logits <= BF16_TOL, "logits differ by {d_logits}");
    assert!(d_hidden <= BF16_TOL, "hidden states differ by {d_hidden}");
    assert!(d_router <= BF16_TOL, "router logits differ by {d_router}");

    // Argmax equal wherever the reference's top-2 margin exceeds the tolerance.
    let vocab = model.vocab_size();
    for (pos, (g, w)) in got.chunks(vocab).zip(want.chunks(vocab)).enumerate() {
        let mut sorted = w.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        if sorted[0] - sorted[1] > 2.0 * BF16_TOL {
            assert_eq!(argmax(g), argmax(w), "argmax differs at position {pos}");
        }
    }

    // Greedy: tokens equal where the margin allows; logits within tolerance.
    let want_ids = fx.ids("gen_ids");
    let want_gen = fx.f32("gen_logits");
    let (ids_got, steps) = greedy(&model, &ids, want_ids.len());
    let mut worst = 0.0f32;
    for (step, got) in steps.iter().enumerate() {
        let w = &want_gen[step * vocab..(step + 1) * vocab];
        if ids_got[..step] != want_ids[..step] {
            break; // diverged earlier on a near tie: later steps see other inputs
        }
        worst = worst.max(max_abs_diff(got, w));
        let mut sorted = w.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        if sorted[0] - sorted[1] > 2.0 * BF16_TOL {
            assert_eq!(ids_got[step], want_ids[step], "bf16 greedy step {step}");
        }
    }
    eprintln!(
        "bf16 greedy ids {ids_got:?} (reference {want_ids:?}), step logits max|Δ| {worst:.3}"
    );
    assert!(worst <= BF16_TOL, "bf16 step logits differ by {worst}");
}

#[test]
fn q8_0_weights_stay_close_to_the_f32_reference() {
    let fx = Fixture::open("chat_short");
    let ids = fx.ids("input_ids");
    let model = load(&model_dir(), DType::F32, Some(DType::Q8_0));
    let mut cache = model.new_cache(32).unwrap();
    let logits = vals(&model.forward(&ids, &mut cache, LogitsFor::All).unwrap());
    let d = max_abs_diff(&logits, &fx.f32("logits"));

    let want_ids = fx.ids("gen_ids");
    let (got_ids, _) = greedy(&model, &ids, want_ids.len());
    eprintln!("q8_0: prefill logits max|Δ| {d:.3}; greedy {got_ids:?} (reference {want_ids:?})");
    assert!(d <= Q8_TOL, "q8_0 logits differ by {d}");
    assert_eq!(got_ids, want_ids, "q8_0 greedy tokens");
}

#[test]
fn random_thinker_is_deterministic() {
    let text = std::fs::read_to_string(model_dir().join("config.json")).unwrap();
    let config = Qwen3OmniConfig::from_json_str(&text).unwrap();
    let device = Device::cpu();
    let run = |seed| {
        let model = Thinker::random(&config, seed, &device).unwrap();
        let mut cache: KvCache = model.new_cache(8).unwrap();
        vals(
            &model
                .forward(&[1, 2, 3], &mut cache, LogitsFor::Last)
                .unwrap(),
        )
    };
    let (a, b, c) = (run(7), run(7), run(8));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.iter().all(|v| v.is_finite()));
    let std = (a.iter().map(|v| v * v).sum::<f32>() / a.len() as f32).sqrt();
    assert!(std > 0.1 && std < 10.0, "random logits scale {std}");
}

#[test]
fn thinker_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Thinker>();
}
