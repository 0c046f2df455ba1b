//! Whole-model throughput: omnirt's thinker vs candle-transformers' `qwen3_moe`
//! loaded from the SAME random bench-shape checkpoint (~510 M parameters, bf16,
//! written once into `<target>/omnirt-bench-model/`), plus the memory read
//! bandwidth, all in the same run (the machines are shared and noisy, so only
//! ratios within one run mean anything).
//!
//! Groups: `decode/<impl>` (one token per iteration: elements/s = tokens/s)
//! and `prefill/<impl>` (a 128-token prompt per iteration). The setup checks
//! once that candle and omnirt (both f32 compute) give close logits.
//! A summary (tokens/s, ratio, % of the bandwidth bound) is printed at the end.
//!
//! `cargo bench --bench model` (add `-- decode` to run one group).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use candle_core::{DType as CDType, Device as CDevice, Tensor as CTensor};
use candle_nn::VarBuilder;
use candle_transformers::models::qwen3_moe;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use omnirt::bench::{
    active_weight_bytes_per_token, bench_prompt, bench_shape_config, measure_limits,
    write_random_checkpoint, HostLimits,
};
use omnirt::models::qwen3_omni::{LoadOptions, Qwen3OmniConfig, TextConfig, Thinker};
use omnirt::models::{CausalLm, KvCache, LogitsFor};
use omnirt::{DType, Device};

const PROMPT: usize = 128;
/// Decode runs over positions PROMPT..PROMPT + DECODE_SPAN, then restarts.
const DECODE_SPAN: usize = 64;

/// Per-iteration times recorded by the benches, for the final summary.
static TIMES: Mutex<BTreeMap<String, Vec<f64>>> = Mutex::new(BTreeMap::new());

fn record(key: &str, secs: f64) {
    TIMES
        .lock()
        .unwrap()
        .entry(key.to_string())
        .or_default()
        .push(secs);
}

fn checkpoint_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("omnirt-bench-model");
    let config = bench_shape_config();
    let done = dir.join("written.ok");
    let current = std::fs::read_to_string(dir.join("config.json")).ok();
    if !done.is_file() || current.as_deref() != Some(config.as_str()) {
        eprintln!(
            "writing the bench-shape checkpoint to {} ...",
            dir.display()
        );
        let t = Instant::now();
        let _ = std::fs::remove_file(&done);
        write_random_checkpoint(&dir, &config, 42).expect("write the bench checkpoint");
        std::fs::write(&done, "").unwrap();
        eprintln!("  written in {:.1} s", t.elapsed().as_secs_f64());
    }
    dir
}

fn text_config(dir: &Path) -> TextConfig {
    let c = Qwen3OmniConfig::from_file(&dir.join("config.json")).unwrap();
    c.thinker_text().unwrap().clone()
}

fn candle_config(t: &TextConfig) -> qwen3_moe::Config {
    assert!(
        t.mlp_only_layers.is_empty(),
        "candle has no mlp_only_layers"
    );
    qwen3_moe::Config {
        vocab_size: t.vocab_size,
        hidden_size: t.hidden_size,
        intermediate_size: t.intermediate_size,
        num_hidden_layers: t.num_hidden_layers,
        num_attention_heads: t.num_attention_heads,
        head_dim: t.head_dim(),
        attention_bias: t.attention_bias,
        num_key_value_heads: t.num_key_value_heads,
        // Only sizes candle's rotary tables; text positions are plain 1-D
        // rope (all three mrope sections see the same position).
        max_position_embeddings: 4096,
        sliding_window: None,
        max_window_layers: t.num_hidden_layers,
        tie_word_embeddings: t.tie_word_embeddings,
        rope_theta: t.rope_theta(),
        rms_norm_eps: t.rms_norm_eps,
        use_sliding_window: false,
        hidden_act: candle_nn::Activation::Silu,
        decoder_sparse_step: t.decoder_sparse_step,
        moe_intermediate_size: t.moe_intermediate_size,
        num_experts_per_tok: t.num_experts_per_tok,
        num_experts: t.num_experts,
        norm_topk_prob: t.norm_topk_prob,
    }
}

fn load_candle(dir: &Path, t: &TextConfig, dtype: CDType) -> qwen3_moe::ModelForCausalLM {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    // SAFETY: the files are not modified while mapped.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&files, dtype, &CDevice::Cpu) }
        .unwrap()
        .pp("thinker");
    qwen3_moe::ModelForCausalLM::new(&candle_config(t), vb).unwrap()
}

fn load_omnirt(dir: &Path, quant: Option<DType>) -> Thinker {
    let opts = LoadOptions {
        device: Device::cpu(),
        dtype: DType::F32,
        quant,
    };
    Thinker::load(dir, &opts).unwrap()
}

fn argmax(v: &[f32]) -> u32 {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i as u32)
}

/// A model the benches can drive: prefill from empty, decode one token.
trait Runner {
    fn reset(&mut self);
    /// Logits of the last position, f32.
    fn step(&mut self, ids: &[u32]) -> Vec<f32>;
    fn len(&self) -> usize;
}

struct OmnirtRunner {
    model: Thinker,
    cache: KvCache,
}

impl OmnirtRunner {
    fn new(model: Thinker) -> Self {
        let cache = model.new_cache(PROMPT + DECODE_SPAN + 8).unwrap();
        OmnirtRunner { model, cache }
    }
}

impl Runner for OmnirtRunner {
    fn reset(&mut self) {
        self.cache.clear();
    }
    fn step(&mut self, ids: &[u32]) -> Vec<f32> {
        self.model
            .forward(ids, &mut self.cache, LogitsFor::Last)
            .unwrap()
            .to_vec::<f32>()
            .unwrap()
    }
    fn len(&self) -> usize {
        self.cache.len()
    }
}

struct CandleRunner {
    model: qwen3_moe::ModelForCausalLM,
    offset: usize,
}

impl Runner for CandleRunner {
    fn reset(&mut self) {
        self.model.clear_kv_cache();
        self.offset = 0;
    }
    fn step(&mut self, ids: &[u32]) -> Vec<f32> {
        let input = CTensor::new(ids, &CDevice::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let out = self.model.forward(&input, self.offset).unwrap();
        self.offset += ids.len();
        out.flatten_all()
            .unwrap()
            .to_dtype(CDType::F32)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    }
    fn len(&self) -> usize {
        self.offset
    }
}

/// Decode and prefill benches for one implementation.
fn bench_runner(c: &mut Criterion, name: &str, runner: &mut dyn Runner, prompt: &[u32]) {
    let mut g = c.benchmark_group("decode");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    runner.reset();
    let mut next = argmax(&runner.step(prompt));
    g.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if runner.len() >= PROMPT + DECODE_SPAN {
                    runner.reset();
                    next = argmax(&runner.step(prompt));
                }
                let t = Instant::now();
                next = argmax(&runner.step(&[next]));
                let dt = t.elapsed();
                record(&format!("decode/{name}"), dt.as_secs_f64());
                total += dt;
            }
            total
        })
    });
    g.finish();

    let mut g = c.benchmark_group("prefill");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(prompt.len() as u64));
    g.bench_function(BenchmarkId::new(name, prompt.len()), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                runner.reset();
                let t = Instant::now();
                std::hint::black_box(argmax(&runner.step(prompt)));
                let dt = t.elapsed();
                record(&format!("prefill/{name}"), dt.as_secs_f64());
                total += dt;
            }
            total
        })
    });
    g.finish();
}

/// Candle and omnirt (both f32 compute, same bf16 weights) must agree.
fn check_logits(dir: &Path, t: &TextConfig) -> f32 {
    let prompt = bench_prompt(8, t.vocab_size, 11);
    let mut omni = OmnirtRunner::new(load_omnirt(dir, None));
    let mut cand = CandleRunner {
        model: load_candle(dir, t, CDType::F32),
        offset: 0,
    };
    let mut max_diff = 0.0f32;
    let mut max_abs = 0.0f32;
    // The prompt, then two decode steps on the same token.
    for ids in [&prompt[..], &[5], &[6]] {
        let a = omni.step(ids);
        let b = cand.step(ids);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            max_diff = max_diff.max((x - y).abs());
            max_abs = max_abs.max(y.abs());
        }
    }
    eprintln!(
        "logits check (f32): max |omnirt - candle| = {max_diff:.2e}, max |logit| = {max_abs:.2}"
    );
    assert!(
        max_diff <= 1e-2 * max_abs.max(1.0),
        "omnirt and candle qwen3_moe disagree: max diff {max_diff}, max logit {max_abs}"
    );
    max_diff
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn summary(t: &TextConfig, before: HostLimits, after: HostLimits, max_diff: Option<f32>) {
    let times = TIMES.lock().unwrap();
    let tps = |key: &str| times.get(key).map(|v| 1.0 / median(v));
    let bw = before.read_gbs.max(after.read_gbs);
    println!();
    println!(
        "== model bench summary ({} threads; read bandwidth {:.1} GB/s before, {:.1} GB/s after; bound = bandwidth / active bytes) ==",
        before.threads, before.read_gbs, after.read_gbs
    );
    if let Some(d) = max_diff {
        println!("logits check: max |omnirt f32 - candle f32| = {d:.2e}");
    }
    for (key, v) in times.iter() {
        let (phase, name) = key.split_once('/').unwrap_or(("", key));
        let secs = median(v);
        let tokens = if phase == "prefill" { PROMPT } else { 1 };
        let mut line = format!(
            "{key:<28} {:>8.2} tok/s  ({:.1} ms/iter, n={})",
            tokens as f64 / secs,
            secs * 1e3,
            v.len()
        );
        if phase == "decode" {
            let wdtype = if name.contains("q8_0") {
                DType::Q8_0
            } else if name.contains("q4_0") {
                DType::Q4_0
            } else if name.contains("candle-f32") {
                DType::F32
            } else {
                DType::BF16
            };
            let active = active_weight_bytes_per_token(t, wdtype);
            let gbs = active / secs / 1e9;
            line += &format!(
                "  {:.1} MB/token, {:.2} GB/s = {:.0}% of read BW (bound {:.1} tok/s)",
                active / 1e6,
                gbs,
                100.0 * gbs / bw,
                bw * 1e9 / active
            );
        }
        println!("{line}");
    }
    if let (Some(o), Some(cf)) = (tps("decode/omnirt-bf16w-f32"), tps("decode/candle-f32")) {
        let active = active_weight_bytes_per_token(t, DType::BF16);
        println!(
            "SUMMARY: omnirt decode {o:.2} tok/s (bf16 weights, f32 compute) vs candle {cf:.2} tok/s (f32; bf16: {}) = {:.2}x; omnirt at {:.0}% of the {bw:.1} GB/s read bandwidth",
            tps("decode/candle-bf16").map_or("-".into(), |x| format!("{x:.2} tok/s")),
            o / cf,
            100.0 * active * o / 1e9 / bw
        );
    }
    for q in ["q8_0", "q4_0"] {
        if let Some(o) = tps(&format!("decode/omnirt-{q}")) {
            let d = if q == "q8_0" {
                DType::Q8_0
            } else {
                DType::Q4_0
            };
            let active = active_weight_bytes_per_token(t, d);
            println!(
                "SUMMARY: omnirt {q} decode {o:.2} tok/s, {:.0}% of read bandwidth",
                100.0 * active * o / 1e9 / bw
            );
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| {
        filter.is_empty()
            || filter
                .iter()
                .any(|f| format!("decode/{name} prefill/{name}").contains(f.as_str()))
    };

    let threads = Device::cpu().profile().cores;
    eprintln!(
        "threads: omnirt {threads}, candle {}",
        candle_core::utils::get_num_threads()
    );
    let before = measure_limits(threads, 512);
    eprintln!(
        "read bandwidth {:.1} GB/s, FMA peak {:.1} GFLOP/s",
        before.read_gbs, before.peak_gflops
    );
    let dir = checkpoint_dir();
    let t = text_config(&dir);
    let max_diff = std::env::var_os("OMNIRT_BENCH_SKIP_CHECK")
        .is_none()
        .then(|| check_logits(&dir, &t));
    let prompt = bench_prompt(PROMPT, t.vocab_size, 7);

    for (name, quant) in [
        ("omnirt-bf16w-f32", None),
        ("omnirt-q8_0", Some(DType::Q8_0)),
        ("omnirt-q4_0", Some(DType::Q4_0)),
    ] {
        if wanted(name) {
            let mut r = OmnirtRunner::new(load_omnirt(&dir, quant));
            bench_runner(&mut c, name, &mut r, &prompt);
        }
    }
    for (name, dtype) in [("candle-f32", CDType::F32), ("candle-bf16", CDType::BF16)] {
        if wanted(name) {
            let mut r = CandleRunner {
                model: load_candle(&dir, &t, dtype),
                offset: 0,
            };
            bench_runner(&mut c, name, &mut r, &prompt);
        }
    }
    let after = measure_limits(threads, 512);
    c.final_summary();
    summary(&t, before, after, max_diff);
}
