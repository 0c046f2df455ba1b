//! `omnirt bench --backends cpu,thead:c920v2,...`: the same kernel cases and the
//! same model run on each backend, in one table. Each row has the wall time
//! measured on this host and, for backends that stand in for another chip, the
//! time projected on that chip from its profile's roofline (labelled as such),
//! the GFLOP/s that chip time implies, the % of the host roofline for native
//! rows, and how many ops fell back to the CPU.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use serde::Serialize;

use super::kernels::{suite_cases, time_case, BenchCase, KernelSuiteOptions};
use super::limits::HostLimits;
use super::model::{bench_prompt, TINY_SHAPE_CONFIG};
use super::report::{format_seconds, markdown_preamble, to_json_pretty};
use crate::backend::{Cost, Device, StatsSnapshot};
use crate::error::{Error, Result};
use crate::models::qwen3_omni::{LoadOptions, Qwen3OmniConfig, Thinker};
use crate::models::{CausalLm, LogitsFor};
use crate::profile::Roofline;
use crate::tensor::{DType, Tensor};

/// Seed of the tiny model's random weights when no checkpoint is on disk (the
/// one `omnirt demo` uses).
const TINY_SEED: u64 = 20250917;

/// What `backend_bench` runs on every backend.
#[derive(Clone, Debug)]
pub struct BackendBenchOptions {
    /// The quick kernel suite (fewer, smaller cases); `false` runs the full one.
    pub quick: bool,
    /// Minimum measured time per kernel case, seconds.
    pub min_seconds: f64,
    /// Thinker checkpoint directory; `None` = the tiny model in
    /// `models/tiny-qwen3-omni` (its config compiled in, as `omnirt demo` does).
    pub model: Option<PathBuf>,
    pub prompt_tokens: usize,
    pub decode_tokens: usize,
    /// Divide the kernel cases' sizes by this (`KernelSuiteOptions::shrink`);
    /// 1 runs the suite as listed.
    pub kernel_shrink: usize,
}

impl Default for BackendBenchOptions {
    fn default() -> Self {
        BackendBenchOptions {
            quick: true,
            min_seconds: 0.2,
            model: None,
            prompt_tokens: 32,
            decode_tokens: 8,
            kernel_shrink: 1,
        }
    }
}

/// One (backend, case) measurement.
#[derive(Clone, Debug, Serialize)]
pub struct CrossBackendRow {
    pub backend: String,
    /// How the backend ran it here (native SIMD, RVV kernel model, CPU only).
    pub execution: String,
    pub op: String,
    pub shape: String,
    pub dtype: String,
    /// Wall time of one run on this host (median), seconds.
    pub measured_seconds: f64,
    /// Roofline time of one run on the backend's chip; `None` where the
    /// measured time is the chip's own.
    pub projected_seconds: Option<f64>,
    /// FLOPs of one run per chip time (projected where projected, else measured).
    pub gflops: f64,
    /// % of the roofline of the limits measured in this run (native rows only).
    pub roofline_pct: Option<f64>,
    /// Ops per run that ran on the CPU because the backend has no kernel for them.
    pub fallbacks: u64,
}

/// The greedy tokens one backend decoded from the benchmark prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GreedyTokens {
    pub backend: String,
    pub ids: Vec<u32>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CrossBackendTable {
    pub title: String,
    pub notes: Vec<String>,
    pub rows: Vec<CrossBackendRow>,
    /// Greedy ids of the model run, per backend, in the order run.
    pub greedy_tokens: Vec<GreedyTokens>,
}

impl CrossBackendTable {
    /// Whether every backend decoded the same tokens as the first one.
    pub fn tokens_agree(&self) -> bool {
        self.greedy_tokens.windows(2).all(|w| w[0].ids == w[1].ids)
    }

    pub fn to_markdown(&self) -> String {
        let mut s = markdown_preamble(&self.title, &self.notes);
        s.push_str("| backend | execution | op | shape | dtype | measured | projected on chip | GFLOP/s | % roofline | fallbacks |\n");
        s.push_str("|---|---|---|---|---|---:|---:|---:|---:|---:|\n");
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {} |\n",
                r.backend,
                r.execution,
                r.op,
                r.shape,
                r.dtype,
                format_seconds(r.measured_seconds),
                r.projected_seconds
                    .map_or_else(|| "—".to_string(), format_seconds),
                r.gflops,
                r.roofline_pct
                    .map_or_else(|| "—".to_string(), |p| format!("{p:.0}%")),
                r.fallbacks
            ));
        }
        s
    }

    pub fn to_json(&self) -> String {
        to_json_pretty(self)
    }
}

/// Parse a comma-separated `--backends` list (`cpu,thead:c920v2,...`) with
/// `Device::parse`, dropping repeats; an unknown entry is an error naming it.
pub fn parse_backends(list: &str) -> Result<Vec<Device>> {
    let mut devices: Vec<Device> = Vec::new();
    for spec in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let device = Device::parse(spec)?;
        if !devices.contains(&device) {
            devices.push(device);
        }
    }
    if devices.is_empty() {
        return Err(Error::InvalidArgument(
            "--backends: expected a comma-separated list such as cpu,thead:c920v2".into(),
        ));
    }
    Ok(devices)
}

/// How `device` executes here, and whether its chip times are projections.
fn execution_of(device: &Device) -> Result<(String, bool)> {
    let backend = device.backend();
    Ok((backend.execution_note(), backend.stands_in_for_chip()))
}

/// Per-run figures read from a device's counters after `runs` runs.
struct PerRun {
    cost: Cost,
    projected: Option<f64>,
    fallbacks: u64,
}

fn per_run(stats: &StatsSnapshot, runs: u64, projected: bool) -> PerRun {
    let n = runs.max(1);
    PerRun {
        cost: Cost {
            flops: stats.total_flops() / n as f64,
            bytes: stats.total_bytes() / n as f64,
        },
        projected: if projected {
            stats.total_projected_seconds().map(|t| t / n as f64)
        } else {
            None
        },
        fallbacks: (stats.total_fallbacks() + n / 2) / n,
    }
}

/// What every row of one backend shares.
struct BackendCtx<'a> {
    device: &'a Device,
    execution: String,
    projected: bool,
    host: Roofline,
}

impl BackendCtx<'_> {
    fn row(
        &self,
        op: &str,
        shape: &str,
        dtype: &str,
        measured: f64,
        p: &PerRun,
    ) -> CrossBackendRow {
        let chip_seconds = p.projected.unwrap_or(measured);
        CrossBackendRow {
            backend: self.device.name().to_string(),
            execution: self.execution.clone(),
            op: op.to_string(),
            shape: shape.to_string(),
            dtype: dtype.to_string(),
            measured_seconds: measured,
            projected_seconds: p.projected,
            gflops: if chip_seconds > 0.0 {
                p.cost.flops / chip_seconds / 1e9
            } else {
                0.0
            },
            roofline_pct: (!self.projected)
                .then(|| 100.0 * self.host.efficiency(&p.cost, measured)),
            fallbacks: p.fallbacks,
        }
    }
}

/// Run the quick (or full) kernel suite and the same model on every device;
/// progress lines go to `progress`.
pub fn backend_bench(
    devices: &[Device],
    limits: &HostLimits,
    opts: &BackendBenchOptions,
    mut progress: impl FnMut(&str),
) -> Result<CrossBackendTable> {
    if opts.prompt_tokens == 0 || opts.decode_tokens == 0 {
        return Err(Error::InvalidArgument(
            "bench --backends: --prompt-tokens and --decode-tokens must be positive".into(),
        ));
    }
    let model = ModelSource::resolve(opts.model.as_deref())?;
    let host = Roofline {
        peak_gflops: limits.peak_gflops,
        bandwidth_gbs: limits.read_gbs,
    };
    let suite = KernelSuiteOptions {
        quick: opts.quick,
        min_seconds: opts.min_seconds,
        shrink: opts.kernel_shrink,
        ..KernelSuiteOptions::default()
    };
    let mut table = CrossBackendTable {
        title: format!("omnirt across backends ({} host threads)", limits.threads),
        ..CrossBackendTable::default()
    };
    let mut projected_profiles = Vec::new();
    for device in devices {
        let (execution, projected) = execution_of(device)?;
        if projected {
            projected_profiles.push(device.clone());
        }
        let ctx = BackendCtx {
            device,
            execution,
            projected,
            host,
        };
        for case in suite_cases(device, &suite)? {
            progress(&format!(
                "backend {}: {} {} {} ...",
                device.name(),
                case.op,
                case.shape,
                case.dtype
            ));
            table.rows.push(bench_case(&ctx, case, opts.min_seconds)?);
        }
        progress(&format!(
            "backend {}: thinker prefill {} + decode {} tokens ...",
            device.name(),
            opts.prompt_tokens,
            opts.decode_tokens
        ));
        let (rows, ids) = bench_model_on(&ctx, &model, opts)?;
        table.rows.extend(rows);
        table.greedy_tokens.push(GreedyTokens {
            backend: device.name().to_string(),
            ids,
        });
    }
    table.notes = notes(limits, &projected_profiles, &model, opts, &table);
    Ok(table)
}

/// Time one kernel case, counting its runs so the counters divide into per-run figures.
fn bench_case(ctx: &BackendCtx<'_>, case: BenchCase, min_seconds: f64) -> Result<CrossBackendRow> {
    let BenchCase {
        op,
        shape,
        dtype,
        cost,
        run: mut inner,
    } = case;
    let runs = Rc::new(Cell::new(0u64));
    let counter = Rc::clone(&runs);
    let mut counted = BenchCase {
        op,
        shape,
        dtype,
        cost,
        run: Box::new(move || {
            counter.set(counter.get() + 1);
            inner()
        }),
    };
    ctx.device.reset_stats();
    let measured = time_case(&mut counted, min_seconds)?;
    let p = per_run(&ctx.device.stats(), runs.get(), ctx.projected);
    Ok(ctx.row(
        &counted.op,
        &counted.shape,
        &counted.dtype.to_string(),
        measured,
        &p,
    ))
}

/// Where the benchmark model comes from.
enum ModelSource {
    Dir(PathBuf),
    /// The tiny model's config compiled into the binary, random weights.
    Embedded(Box<Qwen3OmniConfig>),
}

impl ModelSource {
    fn resolve(dir: Option<&Path>) -> Result<ModelSource> {
        if let Some(dir) = dir {
            if !dir.join("config.json").is_file() {
                return Err(Error::InvalidArgument(format!(
                    "--model {}: no config.json there; pass a Qwen3-Omni checkpoint directory",
                    dir.display()
                )));
            }
            return Ok(ModelSource::Dir(dir.to_path_buf()));
        }
        // The checkpoint next to the sources when it is there; otherwise the
        // compiled-in config with the demo's random weights (reads no files).
        let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/tiny-qwen3-omni");
        if tiny.join("config.json").is_file() && tiny.join("model.safetensors").is_file() {
            return Ok(ModelSource::Dir(tiny));
        }
        Ok(ModelSource::Embedded(Box::new(
            Qwen3OmniConfig::from_json_str(TINY_SHAPE_CONFIG)?,
        )))
    }

    fn describe(&self) -> String {
        match self {
            ModelSource::Dir(d) => format!("checkpoint {}", d.display()),
            ModelSource::Embedded(_) => format!(
                "the tiny Qwen3-Omni config compiled into omnirt with random weights (seed {TINY_SEED})"
            ),
        }
    }

    fn load(&self, device: &Device) -> Result<Thinker> {
        let opts = LoadOptions {
            device: device.clone(),
            dtype: DType::F32,
            quant: None,
        };
        match self {
            ModelSource::Dir(d) => Thinker::load(d, &opts),
            ModelSource::Embedded(c) => Thinker::random_with(c, TINY_SEED, &opts),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn greedy(logits: &Tensor) -> Result<u32> {
    crate::engine::sampling::argmax(&logits.to_vec::<f32>()?)
        .ok_or_else(|| Error::InvalidArgument("model bench: every logit is -inf".into()))
}

/// Prefill runs timed (after one untimed warm-up); the median is reported.
const PREFILL_RUNS: usize = 3;

/// Prefill the benchmark prompt, then greedy-decode: the two model rows and
/// the generated ids (the prefill's token, then one per decode step).
fn bench_model_on(
    ctx: &BackendCtx<'_>,
    source: &ModelSource,
    opts: &BackendBenchOptions,
) -> Result<(Vec<CrossBackendRow>, Vec<u32>)> {
    let model = source.load(ctx.device)?;
    let prompt = bench_prompt(opts.prompt_tokens, model.vocab_size(), 7);
    let mut cache = model.new_cache(opts.prompt_tokens + opts.decode_tokens + 1)?;
    model.forward(&prompt, &mut cache, LogitsFor::Last)?;

    ctx.device.reset_stats();
    let mut times = Vec::with_capacity(PREFILL_RUNS);
    let mut first = 0;
    for _ in 0..PREFILL_RUNS {
        cache.clear();
        let t = Instant::now();
        first = greedy(&model.forward(&prompt, &mut cache, LogitsFor::Last)?)?;
        times.push(t.elapsed().as_secs_f64());
    }
    let p = per_run(&ctx.device.stats(), PREFILL_RUNS as u64, ctx.projected);
    let prefill = ctx.row(
        "thinker prefill",
        &format!("{} tokens", opts.prompt_tokens),
        &DType::F32.to_string(),
        median(times),
        &p,
    );

    ctx.device.reset_stats();
    let mut ids = vec![first];
    let mut steps = Vec::with_capacity(opts.decode_tokens);
    for _ in 0..opts.decode_tokens {
        let last = ids[ids.len() - 1];
        let t = Instant::now();
        ids.push(greedy(&model.forward(
            &[last],
            &mut cache,
            LogitsFor::Last,
        )?)?);
        steps.push(t.elapsed().as_secs_f64());
    }
    let p = per_run(
        &ctx.device.stats(),
        opts.decode_tokens as u64,
        ctx.projected,
    );
    let decode = ctx.row(
        "thinker decode (per token)",
        &format!(
            "ctx {}..{}",
            opts.prompt_tokens + 1,
            opts.prompt_tokens + opts.decode_tokens
        ),
        &DType::F32.to_string(),
        median(steps),
        &p,
    );
    Ok((vec![prefill, decode], ids))
}

fn notes(
    limits: &HostLimits,
    projected: &[Device],
    model: &ModelSource,
    opts: &BackendBenchOptions,
    table: &CrossBackendTable,
) -> Vec<String> {
    let mut notes = vec![
        format!(
            "measured = median wall time of one run on this host ({} threads), CPU fallbacks included; \
             for a modelled T-Head backend it is the RVV kernel model running here, not a chip time",
            limits.threads
        ),
        "projected on chip = roofline lower bound from the backend's chip profile, \
         max(FLOPs / peak, bytes / bandwidth) per op, summed over one run (no launch or sync overheads): \
         a projection, not a measurement"
            .into(),
    ];
    for d in projected {
        let p = d.profile();
        let estimates: Vec<&str> = [
            ("f32 peak", &p.peak_gflops_f32),
            ("bf16 peak", &p.peak_gflops_bf16),
            ("int8 peak", &p.peak_gops_int8),
            ("bandwidth", &p.mem_bandwidth_gbs),
        ]
        .into_iter()
        .filter(|(_, f)| f.is_estimate())
        .map(|(name, _)| name)
        .collect();
        notes.push(format!(
            "{} profile ({}): f32 peak {}, bf16 peak {}, int8 peak {}, bandwidth {}; estimates: {}",
            d.name(),
            p.name,
            p.peak_gflops_f32.describe("GFLOP/s"),
            p.peak_gflops_bf16.describe("GFLOP/s"),
            p.peak_gops_int8.describe("GOP/s"),
            p.mem_bandwidth_gbs.describe("GB/s"),
            if estimates.is_empty() {
                "none".to_string()
            } else {
                estimates.join(", ")
            }
        ));
    }
    notes.extend([
        "GFLOP/s = FLOPs of one run / chip time (projected where projected, else measured); FLOPs and \
         bytes are the dispatcher's per-op cost model, the figures the projection uses (attention \
         counts full QKᵀ and PV, masks ignored)"
            .to_string(),
        format!(
            "% roofline (native rows) = time at the binding host limit measured in this run \
             (f32 FMA peak {:.1} GFLOP/s, read bandwidth {:.1} GB/s) / measured time; \
             working sets that stay in cache can exceed 100% of this DRAM roofline; \
             projected rows show — because the projection is the roofline bound itself",
            limits.peak_gflops, limits.read_gbs
        ),
        "fallbacks = ops per run that ran on the host CPU because the backend has no kernel for them; \
         their chip time is still projected"
            .to_string(),
        format!(
            "model: {}, f32; {} pseudo-random prompt ids (median of {PREFILL_RUNS} prefills after a warm-up), \
             then {} greedy decode steps (median per token)",
            model.describe(),
            opts.prompt_tokens,
            opts.decode_tokens
        ),
    ]);
    if let Some(first) = table.greedy_tokens.first() {
        let differ: Vec<&str> = table
            .greedy_tokens
            .iter()
            .filter(|t| t.ids != first.ids)
            .map(|t| t.backend.as_str())
            .collect();
        notes.push(if differ.is_empty() {
            format!(
                "greedy tokens: every backend produced the same {} tokens as {} ({:?})",
                first.ids.len(),
                first.backend,
                first.ids
            )
        } else {
            format!(
                "greedy tokens: {} produced different tokens from {} ({:?})",
                differ.join(", "),
                first.backend,
                first.ids
            )
        });
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_run() -> CrossBackendTable {
        let devices = [Device::cpu(), Device::thead("c920v2").unwrap()];
        let limits = HostLimits {
            threads: 1,
            peak_gflops: 10.0,
            read_gbs: 10.0,
        };
        let opts = BackendBenchOptions {
            quick: true,
            min_seconds: 1e-4,
            model: None,
            prompt_tokens: 4,
            decode_tokens: 2,
            // Debug builds: the same cases at 1/8 of the sizes.
            kernel_shrink: 8,
        };
        backend_bench(&devices, &limits, &opts, |_| {}).unwrap()
    }

    #[test]
    fn one_table_across_cpu_and_thead() {
        let table = tiny_run();
        let cases = suite_cases(
            &Device::cpu(),
            &KernelSuiteOptions {
                quick: true,
                shrink: 8,
                ..Default::default()
            },
        )
        .unwrap();
        let per_backend = cases.len() + 2;
        assert_eq!(table.rows.len(), 2 * per_backend);
        for (backend, rows) in [
            ("cpu", &table.rows[..per_backend]),
            ("thead:c920v2", &table.rows[per_backend..]),
        ] {
            for (row, case) in rows.iter().zip(&cases) {
                assert_eq!(
                    (row.op.as_str(), row.shape.as_str()),
                    (case.op.as_str(), case.shape.as_str())
                );
            }
            assert_eq!(rows[per_backend - 2].op, "thinker prefill");
            assert_eq!(rows[per_backend - 1].op, "thinker decode (per token)");
            for r in rows {
                assert_eq!(r.backend, backend);
                assert!(r.measured_seconds > 0.0, "{r:?}");
                if backend == "cpu" {
                    assert!(
                        r.projected_seconds.is_none() && r.roofline_pct.is_some(),
                        "{r:?}"
                    );
                    assert_eq!(r.fallbacks, 0, "{r:?}");
                } else {
                    assert!(
                        r.projected_seconds.is_some() && r.roofline_pct.is_none(),
                        "{r:?}"
                    );
                    assert!(r.gflops > 0.0, "{r:?}");
                    if r.op.starts_with("attention") {
                        assert!(r.fallbacks > 0, "{r:?}");
                    }
                    if r.op == "matmul" || r.op == "gemv" {
                        assert_eq!(r.fallbacks, 0, "{r:?}");
                    }
                }
            }
        }
        assert_eq!(table.greedy_tokens.len(), 2);
        assert_eq!(table.greedy_tokens[0].ids.len(), 3);
        assert!(table.tokens_agree(), "{:?}", table.greedy_tokens);
        assert!(table
            .notes
            .iter()
            .any(|n| n.contains("every backend produced the same")));

        let md = table.to_markdown();
        assert!(md.contains(
            "| backend | execution | op | shape | dtype | measured | projected on chip | GFLOP/s | % roofline | fallbacks |"
        ));
        assert!(md.contains("| cpu | native host SIMD ("));
        assert!(md.contains("| — |"));
        let json: serde_json::Value = serde_json::from_str(&table.to_json()).unwrap();
        assert_eq!(json["rows"].as_array().unwrap().len(), table.rows.len());
        assert!(json["rows"][0]["projected_seconds"].is_null());
    }

    #[test]
    fn bad_backend_names_the_known_profiles() {
        let err = parse_backends("cpu,thead:nope").unwrap_err().to_string();
        assert!(err.contains("thead:nope"), "{err}");
        for id in crate::backend::thead::thead_profile_ids() {
            assert!(err.contains(&id), "{err} lacks {id}");
        }
        assert!(parse_backends("gpu").is_err());
        assert!(parse_backends(" , ").is_err());
        let devices = parse_backends("cpu, thead:c920v2,cpu").unwrap();
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[1].name(), "thead:c920v2");
    }
}
