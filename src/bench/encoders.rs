//! Vision- and audio-encoder throughput (`omnirt bench encoders`): images/s,
//! patches/s and GFLOP/s of the ViT on `N` images of `H×W` pixels, and seconds
//! of audio per second and GFLOP/s of the AuT encoder on clips of `S` seconds.
//!
//! The encoders run on already-preprocessed inputs (`pixel_values` rows and
//! `[128, S·100]` log-mel features), deterministic pseudo-random values, so a
//! peer (`scripts/bench/encoders_vs_torch.py`: transformers on PyTorch CPU)
//! can run the very same inputs: `--save-outputs FILE.safetensors` writes the
//! inputs and the outputs (f32) for it to read back and compare.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::limits::HostLimits;
use super::report::{format_seconds, markdown_preamble, to_json_pretty};
use crate::backend::Device;
use crate::error::{Error, Result};
use crate::models::qwen3_omni::audio_encoder::ChunkPlan;
use crate::models::qwen3_omni::vision::VisionConfig;
use crate::models::qwen3_omni::vision::VisionEncoder;
use crate::models::qwen3_omni::{AudioConfig, AudioEncoder, Qwen3OmniConfig};
use crate::tensor::{DType, Tensor};

/// What to run.
#[derive(Clone, Debug)]
pub struct EncoderBenchOptions {
    /// Checkpoint directory (`config.json` + safetensors with
    /// `thinker.visual.*` / `thinker.audio_tower.*`); `None`: random weights
    /// of the config in `config_json`.
    pub model_dir: Option<PathBuf>,
    /// Config JSON for random weights (ignored with `model_dir`).
    pub config_json: Option<String>,
    /// Name of the model in the table.
    pub label: String,
    /// Activation dtype (f32 or bf16).
    pub dtype: DType,
    /// Images per vision forward (0: skip the vision encoder).
    pub images: usize,
    /// Image height and width in pixels (multiples of patch·merge = 32).
    pub image_size: (usize, usize),
    /// Seconds per audio clip (0: skip the audio encoder).
    pub audio_seconds: f64,
    /// Clips per audio forward.
    pub audio_clips: usize,
    /// Untimed forwards before the timed ones.
    pub warmup: usize,
    /// Timed forwards (the median is reported).
    pub runs: usize,
    /// Write inputs and outputs (f32) here.
    pub save_outputs: Option<PathBuf>,
    /// Host limits measured in the same run (for % of FMA peak).
    pub limits: Option<HostLimits>,
    pub threads: usize,
}

impl Default for EncoderBenchOptions {
    fn default() -> Self {
        EncoderBenchOptions {
            model_dir: None,
            config_json: None,
            label: "model".into(),
            dtype: DType::F32,
            images: 2,
            image_size: (448, 448),
            audio_seconds: 10.0,
            audio_clips: 1,
            warmup: 1,
            runs: 3,
            save_outputs: None,
            limits: None,
            threads: crate::backend::cpu::configured_threads(),
        }
    }
}

/// One benchmarked encoder.
#[derive(Clone, Debug, Serialize)]
pub struct EncoderRow {
    /// `vision` or `audio`.
    pub encoder: String,
    pub model: String,
    pub dtype: String,
    pub threads: usize,
    /// Input shape in words (e.g. `2 × 448×448 px = 1568 patches`).
    pub shape: String,
    /// Layers (vision blocks / audio encoder layers) of the model benched.
    pub layers: usize,
    pub runs: usize,
    /// Median seconds of one forward.
    pub seconds: f64,
    /// Fastest forward.
    pub min_seconds: f64,
    /// Every timed forward, in order.
    pub run_seconds: Vec<f64>,
    /// Images/s (vision) or seconds of audio per second (audio).
    pub items_per_s: f64,
    /// `images/s` or `audio s/s`.
    pub items_unit: String,
    /// Patches/s (vision) or audio tokens/s (audio).
    pub tokens_per_s: f64,
    pub tokens_unit: String,
    /// Matmul/conv/attention FLOPs of one forward.
    pub gflop: f64,
    pub gflops: f64,
    /// `gflops` over the FMA peak measured in the same run (NaN if not measured).
    pub peak_pct: f64,
    /// Output `[rows, cols]` of the main embedding.
    pub output_shape: Vec<usize>,
    /// Σ of the main output (f32), a checksum.
    pub output_sum: f64,
    /// Σ|x| of the main output.
    pub output_abs_sum: f64,
    /// First values of the main output.
    pub output_first: Vec<f32>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct EncoderBenchTable {
    pub title: String,
    pub notes: Vec<String>,
    pub rows: Vec<EncoderRow>,
    /// Where the inputs/outputs were written, if asked.
    pub saved_outputs: Option<String>,
}

impl EncoderBenchTable {
    pub fn to_markdown(&self) -> String {
        let mut s = markdown_preamble(&self.title, &self.notes);
        s.push_str("| encoder | model | dtype | threads | layers | shape | time (median) | throughput | tokens/s | GFLOP | GFLOP/s | % FMA peak | output Σ |\n");
        s.push_str("|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.2} {} | {:.0} {} | {:.1} | {:.1} | {:.0}% | {:.4e} |\n",
                r.encoder,
                r.model,
                r.dtype,
                r.threads,
                r.layers,
                r.shape,
                format_seconds(r.seconds),
                r.items_per_s,
                r.items_unit,
                r.tokens_per_s,
                r.tokens_unit,
                r.gflop,
                r.gflops,
                r.peak_pct,
                r.output_sum,
            ));
        }
        s
    }

    pub fn to_json(&self) -> String {
        to_json_pretty(self)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// FLOPs of the vision encoder on `grid` (matmuls, patch-embed conv and
/// attention score/value products; elementwise ops not counted).
pub fn vision_flops(c: &VisionConfig, grid: &[[usize; 3]]) -> f64 {
    let d = c.hidden_size as f64;
    let inter = c.intermediate_size as f64;
    let n: usize = grid.iter().map(|g| g[0] * g[1] * g[2]).sum();
    let n = n as f64;
    let patch_dim = (c.in_channels * c.temporal_patch_size * c.patch_size * c.patch_size) as f64;
    // Attention runs per temporal slice of h·w patches.
    let attn: f64 = grid
        .iter()
        .map(|g| g[0] as f64 * 4.0 * ((g[1] * g[2]) as f64).powi(2) * d)
        .sum();
    let per_block = 2.0 * n * d * (3.0 * d) + 2.0 * n * d * d + 4.0 * n * d * inter + attn;
    let unit = c.merge_unit() as f64;
    let m = n / unit;
    let wide = d * unit;
    let per_merger = 2.0 * m * wide * wide + 2.0 * m * wide * c.out_hidden_size as f64;
    2.0 * n * patch_dim * d
        + c.depth as f64 * per_block
        + (1 + c.deepstack_visual_indexes.len()) as f64 * per_merger
}

/// Output length of a 3-wide, stride-2, pad-1 convolution.
fn conv_len(x: usize) -> usize {
    x.div_ceil(2)
}

/// FLOPs of the audio encoder on the clips of `plan` (conv stack on the padded
/// chunks, transformer on the valid tokens with windowed attention, output
/// projections).
pub fn audio_flops(c: &AudioConfig, plan: &ChunkPlan) -> f64 {
    let chunks = plan.num_chunks() as f64;
    let ch = c.downsample_hidden_size as f64;
    let (mut f, mut t) = (c.num_mel_bins, plan.padded_frames);
    let mut conv = 0.0;
    let mut c_in = 1.0;
    for _ in 0..3 {
        f = conv_len(f);
        t = conv_len(t);
        conv += 2.0 * chunks * ch * c_in * 9.0 * (f * t) as f64;
        c_in = ch;
    }
    let d = c.d_model as f64;
    // conv_out: [chunks·t', ch·f'] x [ch·f', d].
    conv += 2.0 * chunks * t as f64 * ch * f as f64 * d;
    let n = plan.num_tokens() as f64;
    let attn: f64 = plan
        .cu_seqlens
        .windows(2)
        .map(|w| 4.0 * ((w[1] - w[0]) as f64).powi(2) * d)
        .sum();
    let per_layer = 8.0 * n * d * d + 4.0 * n * d * c.encoder_ffn_dim as f64 + attn;
    conv + c.encoder_layers as f64 * per_layer + 2.0 * n * d * d + 2.0 * n * d * c.output_dim as f64
}

/// Deterministic `pixel_values` (uniform in [-1, 1), the range of normalized
/// pixels) for `images` images of `h×w` pixels, and their grids.
pub fn vision_inputs(
    c: &VisionConfig,
    images: usize,
    (h, w): (usize, usize),
    seed: u64,
) -> Result<(Vec<f32>, usize, Vec<[usize; 3]>)> {
    let side = c.patch_size * c.spatial_merge_size;
    if images == 0 || h == 0 || w == 0 || h % side != 0 || w % side != 0 {
        return Err(Error::InvalidArgument(format!(
            "encoder bench: image size {h}x{w} must be a positive multiple of patch_size·spatial_merge_size = {side}"
        )));
    }
    let grid = vec![[1, h / c.patch_size, w / c.patch_size]; images];
    let rows: usize = grid.iter().map(|g| g[0] * g[1] * g[2]).sum();
    let cols = c.patch_dim();
    let mut rng = omnirt_kernels::testing::Rng::new(seed);
    let values = (0..rows * cols).map(|_| rng.uniform(-1.0, 1.0)).collect();
    Ok((values, cols, grid))
}

/// Deterministic log-mel-like features `[mel, frames]`, N(0, 0.6²).
pub fn audio_inputs(mel: usize, frames: usize, seed: u64) -> Vec<f32> {
    let mut rng = omnirt_kernels::testing::Rng::new(seed);
    (0..mel * frames).map(|_| 0.6 * rng.normal()).collect()
}

fn checksum(t: &Tensor) -> Result<(Vec<f32>, f64, f64, Vec<f32>)> {
    let v = t.to_dtype(DType::F32)?.to_vec::<f32>()?;
    let sum = v.iter().map(|&x| x as f64).sum();
    let abs = v.iter().map(|&x| (x as f64).abs()).sum();
    let first = v.iter().take(6).copied().collect();
    Ok((v, sum, abs, first))
}

/// Time `f` `warmup` untimed + `runs` timed times; (all times, last output).
fn time_runs<T>(
    warmup: usize,
    runs: usize,
    what: &str,
    progress: &mut impl FnMut(&str),
    mut f: impl FnMut() -> Result<T>,
) -> Result<(Vec<f64>, T)> {
    for i in 0..warmup {
        progress(&format!("{what}: warm-up {}/{warmup}", i + 1));
        f()?;
    }
    let mut times = Vec::new();
    let mut last = None;
    for i in 0..runs.max(1) {
        let t = Instant::now();
        let out = f()?;
        let s = t.elapsed().as_secs_f64();
        progress(&format!(
            "{what}: run {}/{} {}",
            i + 1,
            runs.max(1),
            format_seconds(s)
        ));
        times.push(s);
        last = Some(out);
    }
    let out = last.ok_or_else(|| Error::invalid(format!("{what}: no timed run")))?;
    Ok((times, out))
}

/// Tensors to save: (name, shape, f32 values).
type Saved = Vec<(String, Vec<usize>, Vec<f32>)>;

fn save_f32(path: &Path, tensors: &Saved, meta: Vec<(String, String)>) -> Result<()> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), b)
                .map(|v| (name.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::InvalidArgument(format!("safetensors view: {e}")))?;
    let meta = meta.into_iter().collect();
    safetensors::serialize_to_file(views, Some(meta), path)
        .map_err(|e| Error::InvalidArgument(format!("cannot write {}: {e}", path.display())))
}

// Two private call sites, one per encoder; the arguments are that row's columns.
#[allow(clippy::too_many_arguments)]
fn encoder_row(
    encoder: &str,
    opts: &EncoderBenchOptions,
    shape: String,
    layers: usize,
    times: Vec<f64>,
    items: (f64, &str),
    tokens: (f64, &str),
    flops: f64,
    out: &Tensor,
    sums: (f64, f64, Vec<f32>),
) -> EncoderRow {
    let seconds = median(times.clone());
    let min_seconds = times.iter().copied().fold(f64::INFINITY, f64::min);
    let gflops = flops / seconds / 1e9;
    EncoderRow {
        encoder: encoder.into(),
        model: opts.label.clone(),
        dtype: opts.dtype.to_string(),
        threads: opts.threads,
        shape,
        layers,
        runs: opts.runs.max(1),
        seconds,
        min_seconds,
        run_seconds: times,
        items_per_s: items.0 / seconds,
        items_unit: items.1.into(),
        tokens_per_s: tokens.0 / seconds,
        tokens_unit: tokens.1.into(),
        gflop: flops / 1e9,
        gflops,
        peak_pct: opts
            .limits
            .map_or(f64::NAN, |l| 100.0 * gflops / l.peak_gflops),
        output_shape: out.dims().to_vec(),
        output_sum: sums.0,
        output_abs_sum: sums.1,
        output_first: sums.2,
    }
}

/// Load (or build random) the encoders, run each on deterministic inputs of
/// the bench shape (`opts.warmup` untimed, `opts.runs` timed forwards; the
/// median is reported) and optionally save inputs and outputs.
pub fn encoder_bench(
    opts: &EncoderBenchOptions,
    mut progress: impl FnMut(&str),
) -> Result<EncoderBenchTable> {
    let device = Device::cpu();
    let config = match (&opts.model_dir, &opts.config_json) {
        (Some(dir), _) => Qwen3OmniConfig::from_file(&dir.join("config.json"))?,
        (None, Some(json)) => Qwen3OmniConfig::from_json_str(json)?,
        (None, None) => {
            return Err(Error::InvalidArgument(
                "encoder bench: give a checkpoint directory or a config".into(),
            ))
        }
    };
    let checkpoint = match &opts.model_dir {
        Some(dir) => Some(crate::checkpoint::Checkpoint::open(dir)?),
        None => None,
    };
    let mut rows = Vec::new();
    let mut saved: Saved = Vec::new();
    let mut meta = vec![
        ("dtype".to_string(), opts.dtype.to_string()),
        ("threads".to_string(), opts.threads.to_string()),
    ];

    if opts.images > 0 {
        let vc = VisionConfig::from_thinker(&config.thinker_config)?;
        progress(&format!(
            "vision: loading ({} blocks, hidden {})",
            vc.depth, vc.hidden_size
        ));
        let t0 = Instant::now();
        let enc = match &checkpoint {
            Some(ck) => VisionEncoder::load(ck, &vc, &device, opts.dtype)?,
            None => VisionEncoder::random(&vc, 11, &device, opts.dtype)?,
        };
        progress(&format!(
            "vision: loaded in {:.2} s",
            t0.elapsed().as_secs_f64()
        ));
        let (values, cols, grid) = vision_inputs(&vc, opts.images, opts.image_size, 101)?;
        let rows_n = values.len() / cols;
        let pixels = Tensor::from_slice(&values, [rows_n, cols], &device)?;
        let (h, w) = opts.image_size;
        let what = format!("vision {}x {h}x{w}", opts.images);
        let (times, out) = time_runs(opts.warmup, opts.runs, &what, &mut progress, || {
            enc.forward(&pixels, &grid)
        })?;
        let (v, sum, abs, first) = checksum(&out.embeds)?;
        let flops = vision_flops(&vc, &grid);
        rows.push(encoder_row(
            "vision",
            opts,
            format!("{} × {h}×{w} px = {rows_n} patches", opts.images),
            vc.depth,
            times,
            (opts.images as f64, "images/s"),
            (rows_n as f64, "patches/s"),
            flops,
            &out.embeds,
            (sum, abs, first),
        ));
        if opts.save_outputs.is_some() {
            let g: Vec<f32> = grid.iter().flatten().map(|&x| x as f32).collect();
            saved.push(("vision.pixel_values".into(), vec![rows_n, cols], values));
            saved.push(("vision.grid_thw".into(), vec![grid.len(), 3], g));
            saved.push(("vision.embeds".into(), out.embeds.dims().to_vec(), v));
            for (k, ds) in out.deepstack.iter().enumerate() {
                let dv = ds.to_dtype(DType::F32)?.to_vec::<f32>()?;
                saved.push((format!("vision.deepstack.{k}"), ds.dims().to_vec(), dv));
            }
            let secs = rows.last().map_or(f64::NAN, |r: &EncoderRow| r.seconds);
            meta.push(("vision_seconds".into(), format!("{secs}")));
        }
    }

    if opts.audio_seconds > 0.0 && opts.audio_clips > 0 {
        let ac = AudioConfig::from_config(&config)?;
        progress(&format!(
            "audio: loading ({} layers, d_model {})",
            ac.encoder_layers, ac.d_model
        ));
        let t0 = Instant::now();
        let mut enc = match &checkpoint {
            Some(ck) => AudioEncoder::load(ck, &ac, &device, opts.dtype)?,
            None => AudioEncoder::random(&ac, 12, &device, opts.dtype)?,
        };
        progress(&format!(
            "audio: loaded in {:.2} s",
            t0.elapsed().as_secs_f64()
        ));
        let frames = (opts.audio_seconds * 100.0).round() as usize;
        if frames == 0 {
            return Err(Error::InvalidArgument(
                "encoder bench: audio clip shorter than one 10 ms frame".into(),
            ));
        }
        enc.set_max_frames(enc.max_frames().max(frames));
        let clips = vec![frames; opts.audio_clips];
        let total = frames * opts.audio_clips;
        let mel = ac.num_mel_bins;
        // Clips side by side on time: [mel, clips·frames].
        let values = audio_inputs(mel, total, 202);
        let features = Tensor::from_slice(&values, [mel, total], &device)?;
        let plan = enc.plan(&clips)?;
        let what = format!("audio {}x {} s", opts.audio_clips, opts.audio_seconds);
        let (times, out) = time_runs(opts.warmup, opts.runs, &what, &mut progress, || {
            enc.forward_clips(&features, &clips)
        })?;
        let (v, sum, abs, first) = checksum(&out)?;
        let flops = audio_flops(&ac, &plan);
        let secs = total as f64 / 100.0;
        rows.push(encoder_row(
            "audio",
            opts,
            format!(
                "{} × {} s = [{mel}, {total}] mel → {} tokens",
                opts.audio_clips,
                opts.audio_seconds,
                plan.num_tokens()
            ),
            ac.encoder_layers,
            times,
            (secs, "audio s/s"),
            (plan.num_tokens() as f64, "tokens/s"),
            flops,
            &out,
            (sum, abs, first),
        ));
        if opts.save_outputs.is_some() {
            let c: Vec<f32> = clips.iter().map(|&x| x as f32).collect();
            saved.push(("audio.features".into(), vec![mel, total], values));
            saved.push(("audio.feature_lens".into(), vec![clips.len()], c));
            saved.push(("audio.embeds".into(), out.dims().to_vec(), v));
            let secs = rows.last().map_or(f64::NAN, |r: &EncoderRow| r.seconds);
            meta.push(("audio_seconds".into(), format!("{secs}")));
        }
    }

    if rows.is_empty() {
        return Err(Error::InvalidArgument(
            "encoder bench: nothing to run (images and audio seconds are both 0)".into(),
        ));
    }
    let saved_outputs = match &opts.save_outputs {
        Some(path) => {
            progress(&format!("writing inputs and outputs to {}", path.display()));
            save_f32(path, &saved, meta)?;
            Some(path.display().to_string())
        }
        None => None,
    };

    let mut notes = vec![
        format!(
            "inputs: deterministic pseudo-random preprocessed tensors (pixel_values uniform [-1,1); \
             log-mel features N(0, 0.6²)); median of {} timed forwards after {} warm-up",
            opts.runs.max(1),
            opts.warmup
        ),
        "GFLOP: matmuls, convolutions and attention products of one forward (elementwise ops not counted)".into(),
    ];
    if let Some(l) = opts.limits {
        notes.push(format!(
            "measured in this run: f32 FMA peak {:.1} GFLOP/s, read bandwidth {:.1} GB/s ({} threads)",
            l.peak_gflops, l.read_gbs, l.threads
        ));
    }
    Ok(EncoderBenchTable {
        title: format!("omnirt encoder throughput ({} threads)", opts.threads),
        notes,
        rows,
        saved_outputs,
    })
}

/// One op of an encoder at the bench shape, timed alone through the public
/// tensor ops with the same shapes, dtypes and layouts as in the model.
#[derive(Clone, Debug, Serialize)]
pub struct OpRow {
    pub encoder: String,
    pub op: String,
    pub shape: String,
    /// Calls of this op in one forward of the encoder.
    pub calls: usize,
    /// Median seconds of one call.
    pub seconds: f64,
    /// `calls · seconds`.
    pub forward_seconds: f64,
    pub gflops: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct OpTable {
    pub title: String,
    pub notes: Vec<String>,
    pub rows: Vec<OpRow>,
}

impl OpTable {
    pub fn to_markdown(&self) -> String {
        let mut s = markdown_preamble(&self.title, &self.notes);
        s.push_str(
            "| encoder | op | shape | calls/forward | time/call | time/forward | GFLOP/s |\n",
        );
        s.push_str("|---|---|---|---:|---:|---:|---:|\n");
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {:.1} |\n",
                r.encoder,
                r.op,
                r.shape,
                r.calls,
                format_seconds(r.seconds),
                format_seconds(r.forward_seconds),
                r.gflops
            ));
        }
        s
    }

    pub fn to_json(&self) -> String {
        to_json_pretty(self)
    }
}

struct OpCase {
    encoder: &'static str,
    op: String,
    shape: String,
    calls: usize,
    flops: f64,
    run: Box<dyn FnMut() -> Result<Tensor>>,
}

fn rand_tensor(shape: &[usize], seed: u64, scale: f32, device: &Device) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let mut rng = omnirt_kernels::testing::Rng::new(seed);
    let data: Vec<f32> = (0..n).map(|_| scale * rng.uniform(-1.0, 1.0)).collect();
    Tensor::from_slice(&data, shape.to_vec(), device)
}

/// `x [m, k]` through a `[n, k]` Linear with bias, weight stored in `wdtype`.
fn linear_case(
    encoder: &'static str,
    name: &str,
    (m, k, n): (usize, usize, usize),
    calls: usize,
    wdtype: DType,
    device: &Device,
) -> Result<OpCase> {
    let x = rand_tensor(&[m, k], 1, 1.0, device)?;
    let w = rand_tensor(&[n, k], 2, 1.0 / (k as f32).sqrt(), device)?.to_dtype(wdtype)?;
    let b = rand_tensor(&[n], 3, 0.1, device)?;
    let lin = crate::nn::Linear::new(w, Some(b))?;
    Ok(OpCase {
        encoder,
        op: format!("linear {name}"),
        shape: format!("{m}x{k}x{n} ({wdtype} weight)"),
        calls,
        flops: 2.0 * (m * k * n) as f64,
        run: Box::new(move || lin.forward(&x)),
    })
}

/// Attention as the encoders call it: q/k/v `[1, n, heads, d]` viewed as
/// `[1, heads, n, d]`, one segment per `cu_seqlens` window.
fn attention_case(
    encoder: &'static str,
    n: usize,
    heads: usize,
    d: usize,
    cu_seqlens: Vec<usize>,
    calls: usize,
    device: &Device,
) -> Result<OpCase> {
    let qkv = rand_tensor(&[n, 3, heads, d], 4, 1.0, device)?;
    let part = |i: usize| -> Result<Tensor> {
        qkv.narrow(1, i, 1)?
            .reshape([1, n, heads, d])?
            .transpose(1, 2)
    };
    let (q, k, v) = (part(0)?, part(1)?, part(2)?);
    let flops: f64 = cu_seqlens
        .windows(2)
        .map(|w| 4.0 * ((w[1] - w[0]) as f64).powi(2) * (heads * d) as f64)
        .sum();
    let segs: Vec<usize> = cu_seqlens.windows(2).map(|w| w[1] - w[0]).collect();
    Ok(OpCase {
        encoder,
        op: "attention".into(),
        shape: format!("{heads} heads × d {d}, segments {segs:?}"),
        calls,
        flops,
        run: Box::new(move || {
            Tensor::attention(
                &q,
                &k,
                &v,
                1.0 / (d as f32).sqrt(),
                crate::backend::MaskKind::Segments {
                    cu_seqlens: cu_seqlens.clone(),
                },
            )
        }),
    })
}

fn conv_case(
    name: &str,
    (b, c_in, h, w): (usize, usize, usize, usize),
    c_out: usize,
    calls: usize,
    device: &Device,
) -> Result<OpCase> {
    let x = rand_tensor(&[b, c_in, h, w], 5, 1.0, device)?;
    let wt = rand_tensor(
        &[c_out, c_in, 3, 3],
        6,
        1.0 / ((9 * c_in) as f32).sqrt(),
        device,
    )?;
    let bias = rand_tensor(&[c_out], 7, 0.1, device)?;
    let (ho, wo) = (conv_len(h), conv_len(w));
    Ok(OpCase {
        encoder: "audio",
        op: format!("conv2d {name}"),
        shape: format!("[{b},{c_in},{h},{w}] → [{b},{c_out},{ho},{wo}] 3x3/2"),
        calls,
        flops: 2.0 * (b * c_out * c_in * 9 * ho * wo) as f64,
        run: Box::new(move || x.conv2d(&wt, Some(&bias), (2, 2), (1, 1), (1, 1), 1)),
    })
}

fn unary_case(
    encoder: &'static str,
    name: &str,
    shape: &[usize],
    calls: usize,
    device: &Device,
    f: fn(&Tensor) -> Result<Tensor>,
) -> Result<OpCase> {
    let x = rand_tensor(shape, 8, 1.0, device)?;
    Ok(OpCase {
        encoder,
        op: name.into(),
        shape: format!("{shape:?}"),
        calls,
        flops: 0.0,
        run: Box::new(move || f(&x)),
    })
}

fn layer_norm_case(
    encoder: &'static str,
    rows: usize,
    d: usize,
    calls: usize,
    device: &Device,
) -> Result<OpCase> {
    let x = rand_tensor(&[rows, d], 9, 1.0, device)?;
    let w = rand_tensor(&[d], 10, 1.0, device)?;
    let b = rand_tensor(&[d], 11, 0.1, device)?;
    Ok(OpCase {
        encoder,
        op: "layer_norm".into(),
        shape: format!("[{rows}, {d}]"),
        calls,
        flops: 0.0,
        run: Box::new(move || x.layer_norm(Some(&w), Some(&b), 1e-6)),
    })
}

fn add_case(
    encoder: &'static str,
    rows: usize,
    d: usize,
    calls: usize,
    device: &Device,
) -> Result<OpCase> {
    let x = rand_tensor(&[rows, d], 12, 1.0, device)?;
    let y = rand_tensor(&[rows, d], 13, 1.0, device)?;
    Ok(OpCase {
        encoder,
        op: "add (residual)".into(),
        shape: format!("[{rows}, {d}]"),
        calls,
        flops: 0.0,
        run: Box::new(move || x.add(&y)),
    })
}

/// The ops of one forward of each encoder at `opts`' bench shape (shapes from
/// the checkpoint's config; Linear weights in `weights`).
fn op_cases(
    opts: &EncoderBenchOptions,
    vc: &VisionConfig,
    ac: &AudioConfig,
    weights: DType,
) -> Result<Vec<OpCase>> {
    let dev = Device::cpu();
    let mut v = Vec::new();
    if opts.images > 0 {
        let (_, _, grid) = vision_inputs(vc, opts.images, opts.image_size, 101)?;
        let n: usize = grid.iter().map(|g| g[0] * g[1] * g[2]).sum();
        let (d, inter, depth) = (vc.hidden_size, vc.intermediate_size, vc.depth);
        let unit = vc.merge_unit();
        let (m, wide) = (n / unit, d * unit);
        let mergers = 1 + vc.deepstack_visual_indexes.len();
        let e = "vision";
        v.push(linear_case(
            e,
            "patch_embed",
            (n, vc.patch_dim(), d),
            1,
            weights,
            &dev,
        )?);
        v.push(linear_case(e, "qkv", (n, d, 3 * d), depth, weights, &dev)?);
        v.push(linear_case(
            e,
            "attn.proj",
            (n, d, d),
            depth,
            weights,
            &dev,
        )?);
        v.push(linear_case(
            e,
            "mlp.fc1",
            (n, d, inter),
            depth,
            weights,
            &dev,
        )?);
        v.push(linear_case(
            e,
            "mlp.fc2",
            (n, inter, d),
            depth,
            weights,
            &dev,
        )?);
        let mut cu = vec![0];
        for g in &grid {
            for _ in 0..g[0] {
                let prev = cu.last().copied().unwrap_or(0);
                cu.push(prev + g[1] * g[2]);
            }
        }
        v.push(attention_case(
            e,
            n,
            vc.num_heads,
            vc.head_dim(),
            cu,
            depth,
            &dev,
        )?);
        {
            let (heads, hd) = (vc.num_heads, vc.head_dim());
            let x = rand_tensor(&[n, 3, heads, hd], 14, 1.0, &dev)?;
            let cos = rand_tensor(&[n, hd], 15, 1.0, &dev)?;
            let sin = rand_tensor(&[n, hd], 16, 1.0, &dev)?;
            v.push(OpCase {
                encoder: e,
                op: "rope (q or k, strided view)".into(),
                shape: format!("[1, {n}, {heads}, {hd}]"),
                calls: 2 * depth,
                flops: 0.0,
                run: Box::new(move || {
                    x.narrow(1, 0, 1)?.reshape([1, n, heads, hd])?.rope(
                        &cos,
                        &sin,
                        crate::backend::Rounding::None,
                    )
                }),
            });
        }
        v.push(layer_norm_case(e, n, d, 2 * depth, &dev)?);
        v.push(unary_case(e, "gelu_tanh", &[n, inter], depth, &dev, |x| {
            x.gelu_tanh()
        })?);
        v.push(add_case(e, n, d, 2 * depth, &dev)?);
        v.push(linear_case(
            e,
            "merger fc1",
            (m, wide, wide),
            mergers,
            weights,
            &dev,
        )?);
        v.push(linear_case(
            e,
            "merger fc2",
            (m, wide, vc.out_hidden_size),
            mergers,
            weights,
            &dev,
        )?);
        v.push(unary_case(
            e,
            "merger gelu_erf",
            &[m, wide],
            mergers,
            &dev,
            |x| x.gelu_erf(),
        )?);
    }
    if opts.audio_seconds > 0.0 && opts.audio_clips > 0 {
        let frames = (opts.audio_seconds * 100.0).round() as usize;
        let plan = ChunkPlan::new(
            &vec![frames; opts.audio_clips],
            ac.n_window,
            ac.n_window_infer,
        )?;
        let (b, mel, w) = (plan.num_chunks(), ac.num_mel_bins, plan.padded_frames);
        let ch = ac.downsample_hidden_size;
        let (d, ffn, layers) = (ac.d_model, ac.encoder_ffn_dim, ac.encoder_layers);
        let n = plan.num_tokens();
        let e = "audio";
        let (f1, t1) = (conv_len(mel), conv_len(w));
        let (f2, t2) = (conv_len(f1), conv_len(t1));
        let (f3, t3) = (conv_len(f2), conv_len(t2));
        v.push(conv_case("conv2d1", (b, 1, mel, w), ch, 1, &dev)?);
        v.push(conv_case("conv2d2", (b, ch, f1, t1), ch, 1, &dev)?);
        v.push(conv_case("conv2d3", (b, ch, f2, t2), ch, 1, &dev)?);
        v.push(unary_case(
            e,
            "conv gelu_erf",
            &[b, ch, f1, t1],
            1,
            &dev,
            |x| x.gelu_erf(),
        )?);
        v.push(linear_case(
            e,
            "conv_out",
            (b * t3, ch * f3, d),
            1,
            weights,
            &dev,
        )?);
        v.push(linear_case(
            e,
            "q/k/v/out_proj",
            (n, d, d),
            4 * layers,
            weights,
            &dev,
        )?);
        v.push(linear_case(e, "fc1", (n, d, ffn), layers, weights, &dev)?);
        v.push(linear_case(e, "fc2", (n, ffn, d), layers, weights, &dev)?);
        v.push(attention_case(
            e,
            n,
            ac.encoder_attention_heads,
            d / ac.encoder_attention_heads,
            plan.cu_seqlens.clone(),
            layers,
            &dev,
        )?);
        v.push(layer_norm_case(e, n, d, 2 * layers + 1, &dev)?);
        v.push(unary_case(e, "gelu_erf", &[n, ffn], layers, &dev, |x| {
            x.gelu_erf()
        })?);
        v.push(add_case(e, n, d, 2 * layers, &dev)?);
        v.push(linear_case(e, "proj1", (n, d, d), 1, weights, &dev)?);
        v.push(linear_case(
            e,
            "proj2",
            (n, d, ac.output_dim),
            1,
            weights,
            &dev,
        )?);
    }
    Ok(v)
}

/// Time every op of one forward of each encoder alone (`opts.runs` timed
/// calls after one untimed, median), with the shapes of the checkpoint's
/// config at `opts`' bench shape and Linear weights in `weights`.
pub fn encoder_op_bench(
    opts: &EncoderBenchOptions,
    weights: DType,
    mut progress: impl FnMut(&str),
) -> Result<OpTable> {
    let config = match (&opts.model_dir, &opts.config_json) {
        (Some(dir), _) => Qwen3OmniConfig::from_file(&dir.join("config.json"))?,
        (None, Some(json)) => Qwen3OmniConfig::from_json_str(json)?,
        (None, None) => {
            return Err(Error::InvalidArgument(
                "encoder bench: give a checkpoint directory or a config".into(),
            ))
        }
    };
    let vc = VisionConfig::from_thinker(&config.thinker_config)?;
    let ac = AudioConfig::from_config(&config)?;
    let mut rows = Vec::new();
    for mut case in op_cases(opts, &vc, &ac, weights)? {
        progress(&format!("{} {} {}", case.encoder, case.op, case.shape));
        (case.run)()?;
        let mut times = Vec::new();
        for _ in 0..opts.runs.max(3) {
            let t = Instant::now();
            drop((case.run)()?);
            times.push(t.elapsed().as_secs_f64());
        }
        let secs = median(times);
        rows.push(OpRow {
            encoder: case.encoder.into(),
            op: case.op,
            shape: case.shape,
            calls: case.calls,
            seconds: secs,
            forward_seconds: secs * case.calls as f64,
            gflops: case.flops / secs / 1e9,
        });
    }
    Ok(OpTable {
        title: format!("omnirt encoder ops, one at a time ({} threads)", opts.threads),
        notes: vec![
            "each op alone on random inputs of the shape it has in one forward at the bench shape; median of the timed calls".into(),
            "time/forward = calls per forward × time per call (elementwise ops not listed are not timed)".into(),
        ],
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::TINY_SHAPE_CONFIG;

    #[test]
    fn tiny_encoders_bench_and_save() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.safetensors");
        let opts = EncoderBenchOptions {
            config_json: Some(TINY_SHAPE_CONFIG.to_string()),
            images: 2,
            image_size: (64, 96),
            audio_seconds: 2.37,
            warmup: 0,
            runs: 1,
            save_outputs: Some(out.clone()),
            threads: 1,
            ..Default::default()
        };
        let table = encoder_bench(&opts, |_| {}).unwrap();
        assert_eq!(table.rows.len(), 2);
        let v = &table.rows[0];
        assert_eq!(v.shape, "2 × 64×96 px = 48 patches");
        assert_eq!(v.output_shape, vec![12, 64]);
        let a = &table.rows[1];
        assert_eq!(a.output_shape[1], 64);
        assert!(v.gflops > 0.0 && a.items_per_s > 0.0);
        assert!(table.to_markdown().contains("| vision | model | f32 |"));
        let bytes = std::fs::read(&out).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(
            st.tensor("vision.pixel_values").unwrap().shape(),
            &[48, 1536]
        );
        assert_eq!(st.tensor("audio.features").unwrap().shape(), &[128, 237]);
        assert!(st.tensor("vision.deepstack.1").is_ok());
    }

    #[test]
    fn flop_counts_match_hand_counts() {
        let c: Qwen3OmniConfig = Qwen3OmniConfig::from_json_str(TINY_SHAPE_CONFIG).unwrap();
        let ac = AudioConfig::from_config(&c).unwrap();
        let plan = ChunkPlan::new(&[1000], ac.n_window, ac.n_window_infer).unwrap();
        // Ten 100-frame chunks -> 13 tokens each.
        assert_eq!(plan.num_tokens(), 130);
        assert!(audio_flops(&ac, &plan) > 0.0);
        let vc = VisionConfig::from_thinker(&c.thinker_config).unwrap();
        let one = vision_flops(&vc, &[[1, 4, 4]]);
        let two = vision_flops(&vc, &[[1, 4, 4], [1, 4, 4]]);
        assert!((two - 2.0 * one).abs() < 1e-6 * two);
    }
}
