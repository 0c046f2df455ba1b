//! Whole-model throughput (`omnirt bench model`): prefill tokens/s, time to
//! first token, and decode tokens/s, with decode reported as GB/s of the
//! weights one token reads and as a fraction of the read bandwidth measured in
//! the same run (decode at batch 1 is bound by that bandwidth).
//!
//! [`write_random_checkpoint`] writes a random thinker-only checkpoint with the
//! real tensor names (sharded, bf16), so benchmarks need no Python and no
//! download; [`bench_shape_config`] is a Qwen3-MoE-shaped thinker of about half
//! a billion parameters for them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use half::bf16;
use rayon::prelude::*;
use serde::Serialize;

use super::limits::HostLimits;
use crate::error::{Error, Result};
use crate::models::qwen3_omni::{Qwen3OmniConfig, TextConfig};
use crate::models::{CausalLm, LogitsFor};
use crate::tensor::{DType, Tensor};

/// The tiny test model's config (3 layers, hidden 64): the layout every
/// generated config follows.
pub const TINY_SHAPE_CONFIG: &str = include_str!("../../models/tiny-qwen3-omni/config.json");

/// A Qwen3-MoE-shaped thinker of ~510 M parameters (~1 GB in bf16, ~125 M read
/// per decoded token): vocab 32000, hidden 1024, 8 layers, 16 q / 4 kv heads of
/// 128, 32 experts (top-4) of 512, mrope sections 24/20/20. Same JSON layout
/// as `models/tiny-qwen3-omni/config.json`.
pub fn bench_shape_config() -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(TINY_SHAPE_CONFIG).expect("the embedded tiny config is valid JSON");
    let text = &mut v["thinker_config"]["text_config"];
    for (key, value) in [
        ("vocab_size", serde_json::json!(32000)),
        ("hidden_size", serde_json::json!(1024)),
        ("num_hidden_layers", serde_json::json!(8)),
        ("num_attention_heads", serde_json::json!(16)),
        ("num_key_value_heads", serde_json::json!(4)),
        ("head_dim", serde_json::json!(128)),
        ("num_experts", serde_json::json!(32)),
        ("num_experts_per_tok", serde_json::json!(4)),
        ("moe_intermediate_size", serde_json::json!(512)),
        ("intermediate_size", serde_json::json!(3072)),
        ("max_position_embeddings", serde_json::json!(32768)),
    ] {
        text[key] = value;
    }
    text["rope_scaling"]["mrope_section"] = serde_json::json!([24, 20, 20]);
    // The thinker's hidden size as the talker sees it.
    v["talker_config"]["thinker_hidden_size"] = serde_json::json!(1024);
    v["thinker_config"]["audio_config"]["output_dim"] = serde_json::json!(1024);
    v["thinker_config"]["vision_config"]["out_hidden_size"] = serde_json::json!(1024);
    serde_json::to_string_pretty(&v).expect("a JSON value serializes")
}

/// How a random tensor is initialised (as `Thinker::random` does).
#[derive(Clone, Copy, Debug)]
enum Init {
    /// N(0, 1/fan_in) for `[out, in]` weights.
    FanIn,
    /// 1 + 0.1·N.
    Norm,
    /// N(0, 1).
    Embedding,
}

/// The thinker's tensors (name, shape, init) for `t`, in checkpoint order.
fn thinker_tensors(t: &TextConfig) -> Vec<(String, Vec<usize>, Init)> {
    let (hidden, vocab) = (t.hidden_size, t.vocab_size);
    let (h, kvh, d) = (t.num_attention_heads, t.num_key_value_heads, t.head_dim());
    let p = "thinker.model";
    let mut v = vec![(
        format!("{p}.embed_tokens.weight"),
        vec![vocab, hidden],
        Init::Embedding,
    )];
    let lin = |name: String, out: usize, inp: usize| (name, vec![out, inp], Init::FanIn);
    for n in 0..t.num_hidden_layers {
        let l = format!("{p}.layers.{n}");
        v.push((
            format!("{l}.input_layernorm.weight"),
            vec![hidden],
            Init::Norm,
        ));
        v.push((
            format!("{l}.post_attention_layernorm.weight"),
            vec![hidden],
            Init::Norm,
        ));
        v.push(lin(format!("{l}.self_attn.q_proj.weight"), h * d, hidden));
        v.push(lin(format!("{l}.self_attn.k_proj.weight"), kvh * d, hidden));
        v.push(lin(format!("{l}.self_attn.v_proj.weight"), kvh * d, hidden));
        v.push(lin(format!("{l}.self_attn.o_proj.weight"), hidden, h * d));
        v.push((format!("{l}.self_attn.q_norm.weight"), vec![d], Init::Norm));
        v.push((format!("{l}.self_attn.k_norm.weight"), vec![d], Init::Norm));
        let swiglu = |v: &mut Vec<_>, prefix: String, inter: usize| {
            v.push(lin(format!("{prefix}.gate_proj.weight"), inter, hidden));
            v.push(lin(format!("{prefix}.up_proj.weight"), inter, hidden));
            v.push(lin(format!("{prefix}.down_proj.weight"), hidden, inter));
        };
        if t.is_moe_layer(n) {
            v.push(lin(format!("{l}.mlp.gate.weight"), t.num_experts, hidden));
            for e in 0..t.num_experts {
                swiglu(
                    &mut v,
                    format!("{l}.mlp.experts.{e}"),
                    t.moe_intermediate_size,
                );
            }
        } else {
            swiglu(&mut v, format!("{l}.mlp"), t.intermediate_size);
        }
    }
    v.push((format!("{p}.norm.weight"), vec![hidden], Init::Norm));
    if !t.tie_word_embeddings {
        v.push(lin("thinker.lm_head.weight".into(), vocab, hidden));
    }
    v
}

/// bf16 bytes of a random tensor.
fn random_bf16(shape: &[usize], init: Init, seed: u64) -> Vec<u8> {
    let n: usize = shape.iter().product();
    let (mean, std) = match init {
        Init::FanIn => (
            0.0,
            1.0 / (*shape.last().unwrap_or(&1) as f32).max(1.0).sqrt(),
        ),
        Init::Norm => (1.0, 0.1),
        Init::Embedding => (0.0, 1.0),
    };
    let mut out = vec![0u8; n * 2];
    // Chunks with their own seeds, so large tensors fill in parallel.
    const CHUNK: usize = 1 << 16;
    out.par_chunks_mut(2 * CHUNK)
        .enumerate()
        .for_each(|(i, bytes)| {
            let mut rng = omnirt_kernels::testing::Rng::new(
                seed.wrapping_mul(0x100_0000_01B3) ^ (i as u64).wrapping_mul(0x9E37_79B9),
            );
            for b in bytes.chunks_exact_mut(2) {
                let x = bf16::from_f32(mean + std * rng.normal());
                b.copy_from_slice(&x.to_le_bytes());
            }
        });
    out
}

fn io_err(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{what} {}: {e}", path.display()))
}

/// Write a random Qwen3-Omni thinker-only checkpoint into `dir`: `config.json`
/// (`config_json` as given), bf16 tensors under their real names
/// (`thinker.model.layers.N...`, `thinker.lm_head.weight`) with fan-in scaled
/// values, sharded into `model-0000i-of-0000n.safetensors` files (about
/// 256 MiB each, at least 2) behind `model.safetensors.index.json`.
/// Deterministic in `seed`.
pub fn write_random_checkpoint(dir: &Path, config_json: &str, seed: u64) -> Result<()> {
    let config = Qwen3OmniConfig::from_json_str(config_json)?;
    let text = config.thinker_text()?.clone();
    std::fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;

    let tensors = thinker_tensors(&text);
    let bytes_of = |shape: &[usize]| 2 * shape.iter().product::<usize>();
    let total: usize = tensors.iter().map(|(_, s, _)| bytes_of(s)).sum();
    let shards = total.div_ceil(256 << 20).clamp(2, 99).min(tensors.len());
    let per_shard = total.div_ceil(shards);

    // Contiguous runs of tensors, each run about `per_shard` bytes.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    let mut acc = 0;
    for (i, (_, shape, _)) in tensors.iter().enumerate() {
        if acc >= per_shard && !current.is_empty() && groups.len() + 1 < shards {
            groups.push(std::mem::take(&mut current));
            acc = 0;
        }
        current.push(i);
        acc += bytes_of(shape);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    let n_files = groups.len();

    let mut weight_map = BTreeMap::new();
    for (f, group) in groups.iter().enumerate() {
        let file = format!("model-{:05}-of-{:05}.safetensors", f + 1, n_files);
        let data: Vec<(String, Vec<usize>, Vec<u8>)> = group
            .iter()
            .map(|&i| {
                let (name, shape, init) = &tensors[i];
                let bytes = random_bf16(shape, *init, seed ^ (i as u64 + 1) << 20);
                (name.clone(), shape.clone(), bytes)
            })
            .collect();
        let views = data
            .iter()
            .map(|(name, shape, bytes)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::BF16, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::InvalidArgument(format!("safetensors view: {e}")))?;
        let path = dir.join(&file);
        let mut meta = std::collections::HashMap::new();
        meta.insert("format".to_string(), "pt".to_string());
        safetensors::serialize_to_file(views, Some(meta), &path)
            .map_err(|e| io_err("cannot write", &path, e))?;
        for (name, _, _) in &data {
            weight_map.insert(name.clone(), file.clone());
        }
    }
    let index = serde_json::json!({
        "metadata": { "total_size": total },
        "weight_map": weight_map,
    });
    let index_path = dir.join("model.safetensors.index.json");
    std::fs::write(
        &index_path,
        serde_json::to_string_pretty(&index).expect("JSON serializes"),
    )
    .map_err(|e| io_err("cannot write", &index_path, e))?;
    let config_path = dir.join("config.json");
    std::fs::write(&config_path, config_json)
        .map_err(|e| io_err("cannot write", &config_path, e))?;
    Ok(())
}

/// Bytes of a `[rows, cols]` Linear weight in `dtype` (quantized types fall
/// back to bf16 where a row is not a whole number of blocks, as at load).
fn linear_bytes(rows: usize, cols: usize, dtype: DType) -> f64 {
    let n = rows * cols;
    dtype
        .storage_bytes(n)
        .or_else(|_| DType::BF16.storage_bytes(n))
        .unwrap_or(2 * n) as f64
}

/// Bytes of weights one decoded token reads with Linear weights in `weights`
/// (bf16 as stored, or Q8_0/Q4_0): per layer the attention q/k/v/o
/// projections, the router and the top-k experts' gate/up/down (or the dense
/// MLP), plus one embedding row (bf16 as stored), the final norm and lm_head.
/// Norm weights count at 4 bytes (they are kept in the f32 compute dtype).
pub fn active_weight_bytes_per_token(config: &TextConfig, weights: DType) -> f64 {
    let (hidden, vocab) = (config.hidden_size, config.vocab_size);
    let (h, kvh, d) = (
        config.num_attention_heads,
        config.num_key_value_heads,
        config.head_dim(),
    );
    let norm = |n: usize| 4.0 * n as f64;
    let mut bytes = 0.0;
    for layer in 0..config.num_hidden_layers {
        bytes += linear_bytes(h * d, hidden, weights)
            + 2.0 * linear_bytes(kvh * d, hidden, weights)
            + linear_bytes(hidden, h * d, weights)
            + norm(2 * hidden + 2 * d);
        bytes += if config.is_moe_layer(layer) {
            let inter = config.moe_intermediate_size;
            linear_bytes(config.num_experts, hidden, weights)
                + config.num_experts_per_tok as f64
                    * (2.0 * linear_bytes(inter, hidden, weights)
                        + linear_bytes(hidden, inter, weights))
        } else {
            let inter = config.intermediate_size;
            2.0 * linear_bytes(inter, hidden, weights) + linear_bytes(hidden, inter, weights)
        };
    }
    let embed_dtype = if weights.is_quantized() {
        DType::BF16
    } else {
        weights
    };
    bytes
        + linear_bytes(1, hidden, embed_dtype)
        + norm(hidden)
        + linear_bytes(vocab, hidden, weights)
}

/// What to run.
#[derive(Clone, Debug)]
pub struct ModelBenchOptions {
    /// Name of the model variant in the table (e.g. the checkpoint directory).
    pub label: String,
    /// Dtype the Linear weights are held in (bf16, or the quantized type).
    pub weights: DType,
    /// Activation dtype.
    pub compute: DType,
    pub prompt_tokens: usize,
    pub decode_tokens: usize,
    /// Untimed decode steps before the timed ones.
    pub warmup_tokens: usize,
    /// Timed prefills (the median is reported).
    pub prefill_runs: usize,
}

impl Default for ModelBenchOptions {
    fn default() -> Self {
        ModelBenchOptions {
            label: "model".into(),
            weights: DType::BF16,
            compute: DType::F32,
            prompt_tokens: 128,
            decode_tokens: 32,
            warmup_tokens: 4,
            prefill_runs: 3,
        }
    }
}

/// One benchmarked model variant.
#[derive(Clone, Debug, Serialize)]
pub struct ModelRow {
    pub model: String,
    pub weights: String,
    pub compute: String,
    pub threads: usize,
    pub prompt_tokens: usize,
    pub decode_tokens: usize,
    /// Median time of a `prompt_tokens` prefill (logits of the last position).
    pub ttft_seconds: f64,
    pub prefill_tokens_per_s: f64,
    /// Median time of one decode step (forward of one token + argmax).
    pub decode_seconds: f64,
    pub decode_tokens_per_s: f64,
    /// Weights read per decoded token, bytes.
    pub active_weight_bytes: f64,
    /// Active weight bytes per second while decoding.
    pub decode_gbs: f64,
    /// `decode_gbs` over the read bandwidth measured in the same run.
    pub bandwidth_pct: f64,
    /// Tokens/s if decode read the active weights at the measured bandwidth.
    pub bound_tokens_per_s: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ModelTable {
    pub title: String,
    pub notes: Vec<String>,
    pub rows: Vec<ModelRow>,
}

impl ModelTable {
    pub fn to_markdown(&self) -> String {
        let mut s = format!("## {}\n\n", self.title);
        for n in &self.notes {
            s.push_str(&format!("- {n}\n"));
        }
        s.push_str("\n| model | weights | compute | threads | prompt | prefill tok/s | TTFT | decode tok/s | ms/token | MB/token | decode GB/s | % read BW | bound tok/s |\n");
        s.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.1} | {:.0} ms | {:.2} | {:.1} | {:.1} | {:.2} | {:.0}% | {:.1} |\n",
                r.model,
                r.weights,
                r.compute,
                r.threads,
                r.prompt_tokens,
                r.prefill_tokens_per_s,
                r.ttft_seconds * 1e3,
                r.decode_tokens_per_s,
                r.decode_seconds * 1e3,
                r.active_weight_bytes / 1e6,
                r.decode_gbs,
                r.bandwidth_pct,
                r.bound_tokens_per_s,
            ));
        }
        s
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Index of the largest logit of `[1, vocab]` f32 logits.
fn argmax(logits: &Tensor) -> Result<u32> {
    let v = logits.to_vec::<f32>()?;
    Ok(v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i as u32))
}

/// Deterministic pseudo-random prompt ids below `vocab`.
pub fn bench_prompt(n: usize, vocab: usize, seed: u64) -> Vec<u32> {
    let mut rng = omnirt_kernels::testing::Rng::new(seed);
    (0..n).map(|_| rng.below(vocab) as u32).collect()
}

/// Prefill `opts.prompt_tokens` pseudo-random ids (median of
/// `opts.prefill_runs` runs, after one untimed run), then greedy-decode
/// `opts.warmup_tokens` untimed and `opts.decode_tokens` timed tokens; decode
/// figures are medians per token, set against `limits`.
pub fn model_bench(
    model: &dyn CausalLm,
    config: &TextConfig,
    limits: &HostLimits,
    opts: &ModelBenchOptions,
    mut progress: impl FnMut(&str),
) -> Result<ModelTable> {
    if opts.prompt_tokens == 0 || opts.decode_tokens == 0 {
        return Err(Error::InvalidArgument(
            "model bench: prompt and decode token counts must be positive".into(),
        ));
    }
    let prompt = bench_prompt(opts.prompt_tokens, model.vocab_size(), 7);
    let capacity = opts.prompt_tokens + opts.warmup_tokens + opts.decode_tokens;
    let mut cache = model.new_cache(capacity)?;

    progress("warm-up");
    let logits = model.forward(&prompt, &mut cache, LogitsFor::Last)?;
    let mut next = argmax(&logits)?;
    for _ in 0..opts.warmup_tokens.min(2) {
        next = argmax(&model.forward(&[next], &mut cache, LogitsFor::Last)?)?;
    }

    progress(&format!("prefill {} tokens", opts.prompt_tokens));
    let mut prefill = Vec::new();
    for _ in 0..opts.prefill_runs.max(1) {
        cache.clear();
        let t = Instant::now();
        let logits = model.forward(&prompt, &mut cache, LogitsFor::Last)?;
        next = argmax(&logits)?;
        prefill.push(t.elapsed().as_secs_f64());
    }
    let ttft = median(prefill);

    progress(&format!("decode {} tokens", opts.decode_tokens));
    for _ in 0..opts.warmup_tokens {
        next = argmax(&model.forward(&[next], &mut cache, LogitsFor::Last)?)?;
    }
    let mut steps = Vec::with_capacity(opts.decode_tokens);
    for _ in 0..opts.decode_tokens {
        let t = Instant::now();
        next = argmax(&model.forward(&[next], &mut cache, LogitsFor::Last)?)?;
        steps.push(t.elapsed().as_secs_f64());
    }
    let step = median(steps);

    let active = active_weight_bytes_per_token(config, opts.weights);
    let gbs = active / step / 1e9;
    let row = ModelRow {
        model: opts.label.clone(),
        weights: opts.weights.to_string(),
        compute: opts.compute.to_string(),
        threads: limits.threads,
        prompt_tokens: opts.prompt_tokens,
        decode_tokens: opts.decode_tokens,
        ttft_seconds: ttft,
        prefill_tokens_per_s: opts.prompt_tokens as f64 / ttft,
        decode_seconds: step,
        decode_tokens_per_s: 1.0 / step,
        active_weight_bytes: active,
        decode_gbs: gbs,
        bandwidth_pct: 100.0 * gbs / limits.read_gbs,
        bound_tokens_per_s: limits.read_gbs * 1e9 / active,
    };
    Ok(ModelTable {
        title: format!("omnirt model throughput ({} threads)", limits.threads),
        notes: vec![
            format!(
                "measured in this run: memory read bandwidth {:.1} GB/s, f32 FMA peak {:.1} GFLOP/s",
                limits.read_gbs, limits.peak_gflops
            ),
            "prefill: median of the timed prompt runs (last-position logits + argmax); TTFT = that time".into(),
            format!(
                "decode: median per-token time of {} greedy steps after {} warm-up steps, context {}..{}",
                opts.decode_tokens,
                opts.warmup_tokens,
                opts.prompt_tokens + opts.warmup_tokens,
                capacity
            ),
            "MB/token: weights read per decoded token (attention, router, top-k experts, one embedding row, lm_head); % read BW = decode GB/s / measured bandwidth".into(),
        ],
        rows: vec![row],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Device;
    use crate::models::qwen3_omni::{LoadOptions, Thinker};

    #[test]
    fn bench_shape_config_is_valid_and_sized() {
        let c = Qwen3OmniConfig::from_json_str(&bench_shape_config()).unwrap();
        let t = c.thinker_text().unwrap();
        let params: usize = thinker_tensors(t)
            .iter()
            .map(|(_, s, _)| s.iter().product::<usize>())
            .sum();
        assert!((300_000_000..800_000_000).contains(&params), "{params}");
        let active = active_weight_bytes_per_token(t, DType::BF16);
        assert!(active > 2.0 * 100e6 && active < 2.0 * 150e6, "{active}");
        assert!(active_weight_bytes_per_token(t, DType::Q4_0) < active / 3.0);
    }

    #[test]
    fn random_checkpoint_loads_and_benches() {
        let dir = tempfile::tempdir().unwrap();
        write_random_checkpoint(dir.path(), TINY_SHAPE_CONFIG, 3).unwrap();
        assert!(dir.path().join("model.safetensors.index.json").is_file());
        assert!(dir
            .path()
            .join("model-00002-of-00002.safetensors")
            .is_file());
        let thinker = Thinker::load(dir.path(), &LoadOptions::default()).unwrap();
        let limits = HostLimits {
            threads: 1,
            peak_gflops: 1.0,
            read_gbs: 1.0,
        };
        let opts = ModelBenchOptions {
            prompt_tokens: 5,
            decode_tokens: 3,
            warmup_tokens: 1,
            prefill_runs: 1,
            ..Default::default()
        };
        let table = model_bench(&thinker, thinker.text_config(), &limits, &opts, |_| {}).unwrap();
        let r = &table.rows[0];
        assert!(r.decode_tokens_per_s > 0.0 && r.prefill_tokens_per_s > 0.0);
        assert!(table.to_markdown().contains("| model | bf16 | f32 |"));

        // The same seed writes the same weights; the model is deterministic.
        let dir2 = tempfile::tempdir().unwrap();
        write_random_checkpoint(dir2.path(), TINY_SHAPE_CONFIG, 3).unwrap();
        let again = Thinker::load(dir2.path(), &LoadOptions::default()).unwrap();
        let ids = [1u32, 2, 3];
        let a = thinker
            .forward(&ids, &mut thinker.new_cache(4).unwrap(), LogitsFor::All)
            .unwrap();
        let b = again
            .forward(&ids, &mut again.new_cache(4).unwrap(), LogitsFor::All)
            .unwrap();
        assert_eq!(a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        let _ = Device::cpu();
    }
}
