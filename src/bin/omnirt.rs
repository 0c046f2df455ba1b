//! The `omnirt` command line: `run` (stream a reply), `score` (teacher-forced
//! log-probs), `demo` (embedded tiny model + kernel table), `bench` (kernels,
//! model, encoders, or `--backends` for one table across backends), `profiles`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use omnirt::bench::{
    backend_bench, bench_shape_config, encoder_bench, encoder_op_bench, kernel_suite,
    measure_limits, model_bench, parse_backends, speech_bench, write_random_checkpoint,
    BackendBenchOptions, EncoderBenchOptions, KernelSuiteOptions, ModelBenchOptions,
    SpeechBenchOptions, TINY_SHAPE_CONFIG,
};
use omnirt::engine::{
    Engine, EngineConfig, Event, FinishReason, GenerateRequest, KvSpec, Prompt, SamplingParams,
    ScoreOptions,
};
use omnirt::models::qwen3_omni::{
    LoadOptions, MultimodalThinker, Qwen3OmniConfig, SpeechModel, SpeechOptions, TalkerOptions,
    Thinker,
};
use omnirt::preprocess::audio::DecodedAudio;
use omnirt::preprocess::image::Rgb8Image;
use omnirt::preprocess::video::VideoSource;
use omnirt::preprocess::{
    AudioSource, ImageSource, Media, MediaOptions, Message, SpecialTokens, TextTokenizer,
};
use omnirt::profile::known_profiles;
use omnirt::{DType, Device, Error};

#[derive(Parser)]
#[command(
    name = "omnirt",
    version,
    about = "Run Qwen3-Omni-class models fast on CPUs, NVIDIA GPUs and T-Head chips"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The embedded tiny model (random weights) generating 16 tokens, then the
    /// host profile and a quick kernel table. Reads no files.
    Demo,
    /// Benchmarks: `bench kernels`, `bench model`, or `bench --backends LIST`
    /// (the same kernels and model on each backend, one table).
    Bench(BenchArgs),
    /// List the chip profiles omnirt knows (peaks, bandwidth, caches, sources).
    Profiles,
    /// Generate a reply from a checkpoint, streamed to stdout.
    Run(RunArgs),
    /// Log-probability of every token given the previous ones, and the perplexity.
    Score(ScoreArgs),
}

#[derive(Args)]
struct ModelArgs {
    /// Checkpoint directory (config.json, *.safetensors, tokenizer.json).
    #[arg(long)]
    model: PathBuf,
    /// Compute dtype: f32 or bf16.
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// Quantize the Linear weights at load: q8_0 or q4_0.
    #[arg(long)]
    quant: Option<String>,
}

#[derive(Args)]
struct PromptArgs {
    /// Text prompt (chat-templated for `run`).
    #[arg(long, conflicts_with = "ids", required_unless_present = "ids")]
    prompt: Option<String>,
    /// Token ids, comma separated (used as they are).
    #[arg(long, value_delimiter = ',')]
    ids: Option<Vec<u32>>,
}

/// Media inputs. Their placeholders go at the start of the user turn, in the
/// order the options are given on the command line.
#[derive(Args)]
struct MediaArgs {
    /// An image file (PNG, JPEG, WebP); repeatable.
    #[arg(long = "image", value_name = "FILE")]
    images: Vec<PathBuf>,
    /// An audio file (WAV, FLAC, MP3, Ogg Vorbis); repeatable.
    #[arg(long = "audio", value_name = "FILE")]
    audios: Vec<PathBuf>,
    /// A video file (mp4, webm, mkv, ...; needs `ffmpeg` on PATH) or a
    /// directory of frames in file-name order; repeatable. Files are sampled at 2 fps.
    #[arg(long = "video", value_name = "PATH")]
    videos: Vec<PathBuf>,
    /// Rate at which a frame directory given to --video was sampled.
    #[arg(long, default_value_t = 2.0, value_name = "F")]
    video_fps: f64,
    /// Use each video's own audio track (the file's, or `audio.wav` in a frame
    /// directory), interleaved with its frames by time.
    #[arg(long)]
    audio_in_video: bool,
    /// Image pixel budget (default: the checkpoint's preprocessor_config.json).
    #[arg(long, value_name = "N")]
    min_pixels: Option<usize>,
    #[arg(long, value_name = "N")]
    max_pixels: Option<usize>,
    /// Per-frame video pixel budget (default 131072 ..= 786432).
    #[arg(long, value_name = "N")]
    video_min_pixels: Option<usize>,
    #[arg(long, value_name = "N")]
    video_max_pixels: Option<usize>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    prompt: PromptArgs,
    #[command(flatten)]
    media: MediaArgs,
    /// System message (with --prompt).
    #[arg(long)]
    system: Option<String>,
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Sampling temperature (sampling is on when any sampling option is given).
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long)]
    top_k: Option<usize>,
    #[arg(long)]
    top_p: Option<f32>,
    #[arg(long, default_value_t = 1.0)]
    repetition_penalty: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Always pick the most likely token (the default without sampling
    /// options); with --speak the talker and code predictor are greedy too.
    #[arg(long)]
    greedy: bool,
    /// Also answer in speech: write the spoken reply to this 24 kHz WAV file
    /// (needs a checkpoint with talker.* and code2wav.* weights).
    #[arg(long, value_name = "OUT.wav")]
    speak: Option<PathBuf>,
    /// Voice, by name from the checkpoint's talker_config.speaker_id.
    #[arg(long, requires = "speak")]
    speaker: Option<String>,
    /// Most codec frames to generate (12.5 frames per second of audio).
    #[arg(long, default_value_t = 4096, requires = "speak")]
    max_audio_frames: usize,
    /// Code2wav frames per streamed audio chunk (the reference decodes 300 with 25 of left
    /// context; fewer gives the first audio sooner, with slightly different chunk borders).
    #[arg(long, default_value_t = 300, requires = "speak")]
    audio_chunk_frames: usize,
}

#[derive(Args)]
struct ScoreArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    prompt: PromptArgs,
    #[command(flatten)]
    media: MediaArgs,
    /// Apply the chat template to --prompt (default: score the text as is).
    #[arg(long)]
    chat: bool,
    /// Write the `[tokens, vocab]` f32 logits as safetensors (tensor `logits`).
    #[arg(long)]
    save_logits: Option<PathBuf>,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct BenchArgs {
    #[command(subcommand)]
    what: Option<BenchWhat>,
    #[command(flatten)]
    backends: BenchBackendsArgs,
}

#[derive(Args)]
struct BenchBackendsArgs {
    /// Backends to compare, comma separated: cpu, thead:PROFILE (c908-v128,
    /// c908-v256, c920v2, c930, ppu, ...; see `omnirt profiles`).
    #[arg(long, value_name = "LIST", required = true)]
    backends: Option<String>,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    json: bool,
    /// The quick kernel suite (the default).
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// The full kernel suite (larger shapes; slow on modelled T-Head backends).
    #[arg(long)]
    full: bool,
    /// Thinker checkpoint directory (default: the tiny model in models/tiny-qwen3-omni).
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long, default_value_t = 32)]
    prompt_tokens: usize,
    #[arg(long, default_value_t = 8)]
    decode_tokens: usize,
    /// Minimum measured time per kernel case in seconds.
    #[arg(long, default_value_t = 0.2)]
    min_seconds: f64,
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Kernel throughput against the host's measured FMA peak and read bandwidth.
    Kernels {
        /// Print JSON instead of Markdown.
        #[arg(long)]
        json: bool,
        /// Fewer, smaller cases.
        #[arg(long)]
        quick: bool,
        /// Minimum measured time per case in seconds.
        #[arg(long, default_value_t = 0.5)]
        min_seconds: f64,
    },
    /// Whole-model prefill and decode throughput of a thinker checkpoint, decode
    /// against the read bandwidth measured in the same run.
    Model(BenchModelArgs),
    /// Vision encoder images/s and audio encoder seconds-of-audio/s on
    /// preprocessed inputs (pixel_values / log-mel features) of a bench shape.
    Encoders(BenchEncodersArgs),
    /// Speech generation (talker + code predictor + code2wav) on random weights:
    /// real-time factor and time to the first audio chunk.
    Speech {
        /// bench (released per-layer sizes, fewer layers) or tiny.
        #[arg(long, default_value = "bench", value_parser = ["bench", "tiny"])]
        shape: String,
        /// Codec frames to generate (12.5 per second of audio).
        #[arg(long, default_value_t = 50)]
        frames: usize,
        /// Code2wav chunk sizes to measure, comma separated (300: the reference's).
        #[arg(long, value_delimiter = ',', default_value = "25,300")]
        chunk_frames: Vec<usize>,
        /// Print JSON instead of Markdown.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct BenchEncodersArgs {
    /// Checkpoint directory (config.json + safetensors with thinker.visual.* /
    /// thinker.audio_tower.*); default: random weights of the tiny model's shape.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Images per vision forward (0 skips the vision encoder).
    #[arg(long, default_value_t = 2)]
    images: usize,
    /// Image size in pixels, HxW (multiples of 32).
    #[arg(long, default_value = "448x448")]
    image_size: String,
    /// Seconds per audio clip (0 skips the audio encoder).
    #[arg(long, default_value_t = 10.0)]
    audio_seconds: f64,
    /// Audio clips per forward.
    #[arg(long, default_value_t = 1)]
    audio_clips: usize,
    /// Timed forwards per encoder (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Untimed forwards before the timed ones.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Compute dtype: f32 or bf16.
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// Do not measure the host's FMA peak / read bandwidth first.
    #[arg(long)]
    no_limits: bool,
    /// Write the inputs and outputs (f32) to this .safetensors file.
    #[arg(long)]
    save_outputs: Option<PathBuf>,
    /// Instead: time each op of one forward alone at the same shapes (where the
    /// time goes); Linear weights in bf16 unless --op-weights f32.
    #[arg(long)]
    ops: bool,
    /// Linear weight dtype for --ops: bf16 (as the released checkpoint) or f32.
    #[arg(long, default_value = "bf16", requires = "ops")]
    op_weights: String,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct BenchModelArgs {
    /// Checkpoint directory (config.json + safetensors).
    #[arg(
        long,
        required_unless_present = "random_shape",
        conflicts_with = "random_shape"
    )]
    model: Option<PathBuf>,
    /// Write a random thinker-only checkpoint of this shape first (bench: ~510 M
    /// parameters, Qwen3-MoE-shaped; tiny: the test model's shape), then bench it.
    #[arg(long, value_parser = ["bench", "tiny"])]
    random_shape: Option<String>,
    /// Where to write the random checkpoint (default: a temporary directory).
    #[arg(long, requires = "random_shape")]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 128)]
    prompt_tokens: usize,
    #[arg(long, default_value_t = 32)]
    decode_tokens: usize,
    /// Compute dtype: f32 or bf16.
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// Quantize the Linear weights at load: q8_0 or q4_0.
    #[arg(long)]
    quant: Option<String>,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // The order of --image/--audio/--video across kinds is the placeholder order.
    let order = matches
        .subcommand()
        .map(|(_, sub)| media_order(sub))
        .unwrap_or_default();
    match run(cli, &order) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Media options in command-line order: `(kind, index within its kind)`.
fn media_order(m: &ArgMatches) -> Vec<(MediaKind, usize)> {
    let mut all = Vec::new();
    for (id, kind) in [
        ("images", MediaKind::Image),
        ("audios", MediaKind::Audio),
        ("videos", MediaKind::Video),
    ] {
        if let Ok(Some(idx)) = m.try_get_raw(id).map(|_| m.indices_of(id)) {
            all.extend(idx.enumerate().map(|(i, at)| (at, kind, i)));
        }
    }
    all.sort();
    all.into_iter().map(|(_, k, i)| (k, i)).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum MediaKind {
    Image,
    Audio,
    Video,
}

impl MediaArgs {
    /// The media in `order` (from [`media_order`]), each path checked to exist.
    fn media(&self, order: &[(MediaKind, usize)]) -> omnirt::Result<Vec<Media>> {
        let exists = |flag: &str, p: &Path| {
            if p.exists() {
                Ok(())
            } else {
                Err(Error::InvalidArgument(format!(
                    "{flag} {}: no such file or directory",
                    p.display()
                )))
            }
        };
        let mut out = Vec::new();
        for &(kind, i) in order {
            out.push(match kind {
                MediaKind::Image => {
                    exists("--image", &self.images[i])?;
                    Media::Image(ImageSource::Path(self.images[i].clone()))
                }
                MediaKind::Audio => {
                    exists("--audio", &self.audios[i])?;
                    Media::Audio(AudioSource::Path(self.audios[i].clone()))
                }
                MediaKind::Video => {
                    exists("--video", &self.videos[i])?;
                    Media::video_path(self.videos[i].clone(), self.audio_in_video)
                }
            });
        }
        if self.audio_in_video && self.videos.is_empty() {
            return Err(Error::InvalidArgument(
                "--audio-in-video needs a --video".into(),
            ));
        }
        Ok(out)
    }

    fn options(&self) -> omnirt::Result<MediaOptions> {
        if !(self.video_fps.is_finite() && self.video_fps > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "--video-fps {}: must be a positive number of frames per second",
                self.video_fps
            )));
        }
        let mut o = MediaOptions {
            image_min_pixels: self.min_pixels,
            image_max_pixels: self.max_pixels,
            video_min_pixels: self.video_min_pixels,
            video_max_pixels: self.video_max_pixels,
            ..MediaOptions::default()
        };
        o.video.frame_dir_fps = self.video_fps;
        Ok(o)
    }
}

fn run(cli: Cli, media_order: &[(MediaKind, usize)]) -> omnirt::Result<()> {
    match cli.command {
        Command::Demo => demo(),
        Command::Bench(BenchArgs {
            what:
                Some(BenchWhat::Kernels {
                    json,
                    quick,
                    min_seconds,
                }),
            ..
        }) => bench_kernels(
            json,
            KernelSuiteOptions {
                quick,
                min_seconds,
                ..Default::default()
            },
        ),
        Command::Bench(BenchArgs {
            what: Some(BenchWhat::Model(args)),
            ..
        }) => bench_model(args),
        Command::Bench(BenchArgs {
            what: Some(BenchWhat::Encoders(args)),
            ..
        }) => bench_encoders(args),
        Command::Bench(BenchArgs {
            what:
                Some(BenchWhat::Speech {
                    shape,
                    frames,
                    chunk_frames,
                    json,
                }),
            ..
        }) => bench_speech(
            SpeechBenchOptions {
                shape,
                frames,
                chunk_frames,
                ..SpeechBenchOptions::default()
            },
            json,
        ),
        Command::Bench(BenchArgs {
            what: None,
            backends,
        }) => bench_backends(backends),
        Command::Profiles => {
            print_profiles();
            Ok(())
        }
        Command::Run(args) => run_model(args, media_order),
        Command::Score(args) => score_model(args, media_order),
    }
}

/// Loads the thinker (with its vision and audio encoders when `with_media`)
/// and tokenizer of `args.model` into an engine, with progress on stderr.
fn load_engine(
    args: &ModelArgs,
    kv_budget_bytes: usize,
    with_media: bool,
    with_speech: bool,
) -> omnirt::Result<Engine> {
    let dir = args.model.as_path();
    if !dir.join("config.json").is_file() {
        return Err(Error::InvalidArgument(format!(
            "{} has no config.json: pass --model the directory of a Qwen3-Omni checkpoint \
             (config.json, model*.safetensors, tokenizer.json)",
            dir.display()
        )));
    }
    let dtype = match args.dtype.as_str() {
        "f32" => DType::F32,
        "bf16" => DType::BF16,
        other => {
            return Err(Error::InvalidArgument(format!(
                "--dtype {other}: use f32 or bf16"
            )))
        }
    };
    let quant = match args.quant.as_deref() {
        None => None,
        Some("q8_0") => Some(DType::Q8_0),
        Some("q4_0") => Some(DType::Q4_0),
        Some(other) => {
            return Err(Error::InvalidArgument(format!(
                "--quant {other}: use q8_0 or q4_0"
            )))
        }
    };
    let t0 = Instant::now();
    eprintln!(
        "loading {} ({}{}) ...",
        dir.display(),
        args.dtype,
        args.quant
            .as_deref()
            .map(|q| format!(", weights {q}"))
            .unwrap_or_default()
    );
    let opts = LoadOptions {
        device: Device::cpu(),
        dtype,
        quant,
    };
    if with_media || with_speech {
        let model = MultimodalThinker::load(dir, &opts)?;
        eprintln!(
            "  thinker{}{} loaded in {:.2} s",
            if model.has_vision() {
                " + vision encoder"
            } else {
                ""
            },
            if model.has_audio() {
                " + audio encoder"
            } else {
                ""
            },
            t0.elapsed().as_secs_f64()
        );
        let tokenizer = load_tokenizer(dir)?;
        let engine =
            Engine::multimodal(Arc::new(model), tokenizer, engine_config(kv_budget_bytes))?;
        if !with_speech {
            return Ok(engine);
        }
        let t1 = Instant::now();
        let speech = SpeechModel::load(dir, &opts.device, encoder_dtype(dtype))?;
        eprintln!(
            "  talker + code2wav loaded in {:.2} s (speakers: {})",
            t1.elapsed().as_secs_f64(),
            speech.speakers().join(", ")
        );
        return engine.with_speech(Arc::new(speech));
    }
    let thinker = Thinker::load(dir, &opts)?;
    eprintln!("  thinker loaded in {:.2} s", t0.elapsed().as_secs_f64());
    let tokenizer = load_tokenizer(dir)?;
    engine_for(thinker, tokenizer, kv_budget_bytes)
}

fn load_tokenizer(dir: &Path) -> omnirt::Result<Option<TextTokenizer>> {
    if !dir.join("tokenizer.json").is_file() {
        eprintln!("  no tokenizer.json: only --ids prompts, output as token ids");
        return Ok(None);
    }
    let tok = TextTokenizer::from_dir(dir)?;
    eprintln!("  tokenizer: {} tokens", tok.vocab_size());
    Ok(Some(tok))
}

fn engine_config(kv_budget_bytes: usize) -> EngineConfig {
    EngineConfig {
        kv_budget_bytes,
        max_concurrent: 1,
        ..EngineConfig::default()
    }
}

fn engine_for(
    thinker: Thinker,
    tokenizer: Option<TextTokenizer>,
    kv_budget_bytes: usize,
) -> omnirt::Result<Engine> {
    let kv = KvSpec::for_thinker(&thinker);
    let special = SpecialTokens::from_config(thinker.config());
    Engine::new(
        Arc::new(thinker),
        kv,
        special,
        tokenizer,
        engine_config(kv_budget_bytes),
    )
}

fn prompt_of(p: &PromptArgs, system: Option<&str>) -> omnirt::Result<Prompt> {
    match (&p.prompt, &p.ids) {
        (_, Some(ids)) => Ok(Prompt::Ids(ids.clone())),
        (Some(text), None) => {
            let mut msgs = Vec::new();
            if let Some(sys) = system {
                msgs.push(Message::system(sys));
            }
            msgs.push(Message::user(text.as_str()));
            Ok(Prompt::Chat(msgs))
        }
        (None, None) => Err(Error::InvalidArgument(
            "pass --prompt TEXT or --ids 1,2,3".into(),
        )),
    }
}

fn sampling_of(a: &RunArgs) -> SamplingParams {
    let sampling = !a.greedy && (a.temperature.is_some() || a.top_k.is_some() || a.top_p.is_some());
    SamplingParams {
        greedy: !sampling,
        temperature: a.temperature.unwrap_or(1.0),
        top_k: a.top_k.unwrap_or(0),
        top_p: a.top_p.unwrap_or(1.0),
        repetition_penalty: a.repetition_penalty,
        seed: a.seed,
    }
}

fn run_model(args: RunArgs, media_order: &[(MediaKind, usize)]) -> omnirt::Result<()> {
    let media = args.media.media(media_order)?;
    let media_options = args.media.options()?;
    let engine = load_engine(
        &args.model,
        usize::MAX,
        !media.is_empty(),
        args.speak.is_some(),
    )?;
    let prompt = prompt_of(&args.prompt, args.system.as_deref())?;
    let speech = match (&args.speak, engine.speech_model()) {
        (Some(_), Some(model)) => {
            let speaker = match &args.speaker {
                Some(s) => s.clone(),
                None => default_speaker(&model.speakers()),
            };
            let mut talker = if args.greedy {
                TalkerOptions::greedy()
            } else {
                TalkerOptions::default()
            };
            talker.max_frames = args.max_audio_frames;
            talker.talker.seed = args.seed;
            talker.predictor.seed = args.seed.wrapping_add(1);
            Some(SpeechOptions {
                speaker,
                talker,
                chunk_frames: args.audio_chunk_frames,
                left_context: 25,
            })
        }
        _ => None,
    };
    if !media.is_empty() {
        eprintln!("preparing {} media input(s) ...", media.len());
    }
    let request = GenerateRequest {
        prompt,
        max_new_tokens: args.max_tokens,
        sampling: sampling_of(&args),
        stop_ids: Vec::new(),
        media,
        media_options,
        speech,
    };
    stream_to_stdout(&engine, request, args.speak.as_deref())
}

/// "ethan" when the checkpoint has it (the reference's default voice), else the first.
fn default_speaker(speakers: &[String]) -> String {
    speakers
        .iter()
        .find(|s| s.eq_ignore_ascii_case("ethan"))
        .or_else(|| speakers.first())
        .cloned()
        .unwrap_or_default()
}

/// Encoders and speech run in f32 or bf16.
fn encoder_dtype(dtype: DType) -> DType {
    if dtype == DType::BF16 {
        DType::BF16
    } else {
        DType::F32
    }
}

/// Prints text deltas as they come (token ids without a tokenizer), then timings
/// on stderr; audio chunks go to `wav` as they arrive.
fn stream_to_stdout(
    engine: &Engine,
    request: GenerateRequest,
    wav: Option<&Path>,
) -> omnirt::Result<()> {
    let has_text = engine.tokenizer().is_some();
    let mut out = std::io::stdout().lock();
    let mut writer: Option<WavOut> = None;
    for event in engine.generate(request)? {
        match event? {
            Event::Audio {
                samples,
                sample_rate,
            } => {
                let Some(path) = wav else { continue };
                if writer.is_none() {
                    eprintln!("speaking -> {} ...", path.display());
                    writer = Some(WavOut::create(path, sample_rate)?);
                }
                if let Some(w) = writer.as_mut() {
                    w.write(&samples)?;
                }
            }
            Event::SpeechUsage {
                frames,
                audio_seconds,
                seconds,
                first_chunk_seconds,
            } => {
                eprintln!(
                "speech: {frames} codec frames, {audio_seconds:.2} s of audio in {seconds:.2} s \
                 (real-time factor {:.2}: seconds of audio per second of compute); first audio \
                 chunk after {}",
                if seconds > 0.0 { audio_seconds / seconds } else { 0.0 },
                first_chunk_seconds.map_or("-".to_string(), |s| format!("{s:.2} s"))
            )
            }
            Event::TextDelta(t) => {
                out.write_all(t.as_bytes())?;
                out.flush()?;
            }
            Event::Token { id, .. } if !has_text => {
                write!(out, "{id} ")?;
                out.flush()?;
            }
            Event::Token { .. } => {}
            Event::Usage {
                prompt_tokens,
                completion_tokens,
                prefill_seconds,
                decode_seconds,
            } => {
                writeln!(out)?;
                // The first new token comes out of the prefill step.
                let decoded = completion_tokens.saturating_sub(1);
                eprintln!(
                    "prefill: {prompt_tokens} tokens in {prefill_seconds:.3} s ({:.1} tokens/s); \
                     decode: {decoded} tokens in {decode_seconds:.3} s ({:.1} tokens/s)",
                    rate(prompt_tokens, prefill_seconds),
                    rate(decoded, decode_seconds)
                );
            }
            Event::Finished(reason) => eprintln!(
                "finished: {}",
                match reason {
                    FinishReason::Stop => "stop token",
                    FinishReason::Length => "max tokens reached",
                    FinishReason::Cancelled => "cancelled",
                }
            ),
        }
    }
    match (writer, wav) {
        (Some(w), _) => w.finish(),
        (None, Some(path)) => {
            // No audio came (e.g. the talker stopped at once): still write a valid, empty file.
            WavOut::create(path, 24_000)?.finish()
        }
        (None, None) => Ok(()),
    }
}

/// A 16-bit mono WAV written chunk by chunk.
struct WavOut {
    writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
    path: PathBuf,
    samples: usize,
    rate: u32,
}

impl WavOut {
    fn create(path: &Path, rate: u32) -> omnirt::Result<WavOut> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|e| {
            Error::InvalidArgument(format!(
                "cannot write {}: {e} (check the directory exists and is writable)",
                path.display()
            ))
        })?;
        Ok(WavOut {
            writer,
            path: path.to_path_buf(),
            samples: 0,
            rate,
        })
    }

    fn write(&mut self, samples: &[f32]) -> omnirt::Result<()> {
        for &x in samples {
            let v = (x.clamp(-1.0, 1.0) * 32767.0).round() as i16;
            self.writer
                .write_sample(v)
                .map_err(|e| Error::InvalidArgument(format!("{}: {e}", self.path.display())))?;
        }
        self.samples += samples.len();
        Ok(())
    }

    fn finish(self) -> omnirt::Result<()> {
        let (path, n, rate) = (self.path.clone(), self.samples, self.rate);
        self.writer
            .finalize()
            .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
        eprintln!(
            "wrote {} ({n} samples, {:.2} s at {rate} Hz)",
            path.display(),
            n as f64 / rate as f64
        );
        Ok(())
    }
}

fn rate(n: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
}

fn score_model(args: ScoreArgs, media_order: &[(MediaKind, usize)]) -> omnirt::Result<()> {
    let media = args.media.media(media_order)?;
    let media_options = args.media.options()?;
    let engine = load_engine(&args.model, usize::MAX, !media.is_empty(), false)?;
    let opts = ScoreOptions {
        keep_logits: args.save_logits.is_some(),
    };
    let t0 = Instant::now();
    let result = if media.is_empty() {
        let ids = match (&args.prompt.prompt, &args.prompt.ids) {
            (Some(text), None) if !args.chat => {
                let tok = engine.tokenizer().ok_or_else(|| {
                    Error::InvalidArgument(
                        "--prompt needs tokenizer.json in the model directory; use --ids".into(),
                    )
                })?;
                tok.encode(text)?
            }
            _ => engine.encode(&prompt_of(&args.prompt, None)?)?,
        };
        engine.score_with(&ids, &opts)?
    } else {
        if args.prompt.prompt.is_some() && !args.chat {
            eprintln!(
                "note: with media the prompt is chat-templated (the media go into its user turn)"
            );
        }
        let prompt = prompt_of(&args.prompt, None)?;
        engine.score_prompt(&prompt, &media, &media_options, &opts)?
    };
    let ids = &result.ids;
    let pads: Vec<u32> = engine
        .media_model()
        .map(|m| {
            let t = m.spec().tokens;
            vec![t.image_pad, t.video_pad, t.audio_pad]
        })
        .unwrap_or_default();
    let secs = t0.elapsed().as_secs_f64();
    println!("| position | id | token | logprob |");
    println!("|---:|---:|---|---:|");
    let mut hidden = 0;
    for (i, lp) in result.token_logprobs.iter().enumerate() {
        let id = ids[i + 1];
        if pads.contains(&id) {
            hidden += 1;
            continue;
        }
        let token = engine
            .tokenizer()
            .and_then(|t| t.id_to_token(id))
            .unwrap_or_default();
        println!("| {} | {id} | {token:?} | {lp:.4} |", i + 1);
    }
    if hidden > 0 {
        println!("({hidden} media pad positions not shown; they count in the perplexity)");
    }
    println!(
        "perplexity: {:.4} over {} predicted tokens",
        result.perplexity,
        result.token_logprobs.len()
    );
    eprintln!(
        "scored {} tokens in {secs:.3} s ({:.1} tokens/s)",
        ids.len(),
        rate(ids.len(), secs)
    );
    if let (Some(path), Some(logits)) = (&args.save_logits, &result.logits) {
        save_logits(path, logits)?;
        eprintln!("logits {:?} written to {}", logits.dims(), path.display());
    }
    Ok(())
}

fn save_logits(path: &Path, logits: &omnirt::Tensor) -> omnirt::Result<()> {
    let bytes = logits.to_dtype(DType::F32)?.to_bytes()?;
    let view = safetensors::tensor::TensorView::new(
        safetensors::Dtype::F32,
        logits.dims().to_vec(),
        &bytes,
    )
    .map_err(|e| Error::InvalidArgument(format!("logits: {e}")))?;
    let file = safetensors::serialize([("logits", view)], None)
        .map_err(|e| Error::InvalidArgument(format!("serializing logits: {e}")))?;
    std::fs::write(path, file).map_err(|e| {
        Error::InvalidArgument(format!(
            "cannot write {}: {e} (check the directory exists and is writable)",
            path.display()
        ))
    })
}

fn bench_kernels(json: bool, opts: KernelSuiteOptions) -> omnirt::Result<()> {
    let device = Device::cpu();
    let threads = omnirt::backend::cpu::configured_threads();
    eprintln!("measuring this machine's limits ({threads} threads)...");
    let limits = measure_limits(threads, 512);
    let table = kernel_suite(&device, &limits, &opts, |case| {
        eprintln!("  running {case}")
    })?;
    if json {
        println!("{}", table.to_json());
    } else {
        println!("{}", table.to_markdown());
    }
    Ok(())
}

fn bench_backends(args: BenchBackendsArgs) -> omnirt::Result<()> {
    let list = args.backends.as_deref().ok_or_else(|| {
        Error::InvalidArgument(
            "bench: pass a subcommand (kernels, model) or --backends cpu,thead:c920v2,...".into(),
        )
    })?;
    let devices = parse_backends(list)?;
    let threads = omnirt::backend::cpu::configured_threads();
    eprintln!("measuring this machine's limits ({threads} threads)...");
    let limits = measure_limits(threads, 512);
    let opts = BackendBenchOptions {
        quick: args.quick || !args.full,
        min_seconds: args.min_seconds,
        model: args.model,
        prompt_tokens: args.prompt_tokens,
        decode_tokens: args.decode_tokens,
        ..BackendBenchOptions::default()
    };
    let table = backend_bench(&devices, &limits, &opts, |s| eprintln!("  {s}"))?;
    if args.json {
        println!("{}", table.to_json());
    } else {
        println!("{}", table.to_markdown());
    }
    Ok(())
}

fn bench_model(args: BenchModelArgs) -> omnirt::Result<()> {
    let dtype = parse_dtype(&args.dtype)?;
    let quant = parse_quant(args.quant.as_deref())?;
    let mut _tmp = None;
    let (dir, label) = match (&args.model, args.random_shape.as_deref()) {
        (Some(dir), _) => (dir.clone(), dir.display().to_string()),
        (None, Some(shape)) => {
            let config = if shape == "tiny" {
                TINY_SHAPE_CONFIG.to_string()
            } else {
                bench_shape_config()
            };
            let dir = match &args.out {
                Some(d) => d.clone(),
                None => {
                    let d = std::env::temp_dir()
                        .join(format!("omnirt-random-{shape}-{}", std::process::id()));
                    _tmp = Some(TempDir(d.clone()));
                    d
                }
            };
            eprintln!(
                "writing a random '{shape}'-shape checkpoint to {} ...",
                dir.display()
            );
            let t0 = Instant::now();
            write_random_checkpoint(&dir, &config, 42)?;
            eprintln!("  written in {:.1} s", t0.elapsed().as_secs_f64());
            (dir, format!("random-{shape}"))
        }
        (None, None) => {
            return Err(Error::InvalidArgument(
                "pass --model DIR or --random-shape bench|tiny".into(),
            ))
        }
    };
    let device = Device::cpu();
    let threads = omnirt::backend::cpu::configured_threads();
    eprintln!("measuring this machine's limits ({threads} threads)...");
    let limits = measure_limits(threads, 512);
    eprintln!("loading {} ...", dir.display());
    let t0 = Instant::now();
    let thinker = Thinker::load(
        &dir,
        &LoadOptions {
            device,
            dtype,
            quant,
        },
    )?;
    eprintln!("  loaded in {:.2} s", t0.elapsed().as_secs_f64());
    let opts = ModelBenchOptions {
        label,
        weights: quant.unwrap_or(DType::BF16),
        compute: dtype,
        prompt_tokens: args.prompt_tokens,
        decode_tokens: args.decode_tokens,
        ..ModelBenchOptions::default()
    };
    let table = model_bench(&thinker, thinker.text_config(), &limits, &opts, |s| {
        eprintln!("  {s}")
    })?;
    if args.json {
        println!("{}", table.to_json());
    } else {
        println!("{}", table.to_markdown());
    }
    Ok(())
}

fn bench_speech(opts: SpeechBenchOptions, json: bool) -> omnirt::Result<()> {
    let threads = omnirt::backend::cpu::configured_threads();
    eprintln!("measuring this machine's limits ({threads} threads)...");
    let limits = measure_limits(threads, 512);
    let table = speech_bench(&opts, &limits, |s| eprintln!("  {s}"))?;
    if json {
        println!("{}", table.to_json());
    } else {
        println!("{}", table.to_markdown());
    }
    Ok(())
}

fn bench_encoders(args: BenchEncodersArgs) -> omnirt::Result<()> {
    let dtype = parse_dtype(&args.dtype)?;
    let image_size = args
        .image_size
        .split_once(['x', 'X'])
        .and_then(|(h, w)| Some((h.trim().parse().ok()?, w.trim().parse().ok()?)))
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "--image-size {}: use HxW in pixels, e.g. 448x448",
                args.image_size
            ))
        })?;
    let threads = omnirt::backend::cpu::configured_threads();
    let limits = if args.no_limits {
        None
    } else {
        eprintln!("measuring this machine's limits ({threads} threads)...");
        Some(measure_limits(threads, 256))
    };
    let (label, config_json) = match &args.model {
        Some(dir) => (dir.display().to_string(), None),
        None => (
            "random-tiny".to_string(),
            Some(TINY_SHAPE_CONFIG.to_string()),
        ),
    };
    let opts = EncoderBenchOptions {
        model_dir: args.model.clone(),
        config_json,
        label,
        dtype,
        images: args.images,
        image_size,
        audio_seconds: args.audio_seconds,
        audio_clips: args.audio_clips,
        warmup: args.warmup,
        runs: args.runs,
        save_outputs: args.save_outputs.clone(),
        limits,
        threads,
    };
    if args.ops {
        let weights = parse_dtype(&args.op_weights)?;
        let table = encoder_op_bench(&opts, weights, |s| eprintln!("  {s}"))?;
        if args.json {
            println!("{}", table.to_json());
        } else {
            println!("{}", table.to_markdown());
        }
        return Ok(());
    }
    let table = encoder_bench(&opts, |s| eprintln!("  {s}"))?;
    if args.json {
        println!("{}", table.to_json());
    } else {
        println!("{}", table.to_markdown());
    }
    Ok(())
}

/// Removes a temporary checkpoint directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parse_dtype(s: &str) -> omnirt::Result<DType> {
    match s {
        "f32" => Ok(DType::F32),
        "bf16" => Ok(DType::BF16),
        other => Err(Error::InvalidArgument(format!(
            "--dtype {other}: use f32 or bf16"
        ))),
    }
}

fn parse_quant(s: Option<&str>) -> omnirt::Result<Option<DType>> {
    match s {
        None => Ok(None),
        Some("q8_0") => Ok(Some(DType::Q8_0)),
        Some("q4_0") => Ok(Some(DType::Q4_0)),
        Some(other) => Err(Error::InvalidArgument(format!(
            "--quant {other}: use q8_0 or q4_0"
        ))),
    }
}

/// The tiny Qwen3-Omni test model, compiled in so the demo reads no files.
const TINY_CONFIG: &str = include_str!("../../models/tiny-qwen3-omni/config.json");
const TINY_TOKENIZER: &str = include_str!("../../models/tiny-qwen3-omni/tokenizer.json");

fn demo() -> omnirt::Result<()> {
    let device = Device::cpu();
    let p = device.profile();
    println!("omnirt {} on {}", env!("CARGO_PKG_VERSION"), p.name);
    println!(
        "host: {} cores, {}-bit vectors, kernels: {}, L1d {} KiB, L2 {} KiB, L3 {} MiB",
        p.cores,
        p.vector_bits,
        omnirt_kernels::Isa::best(),
        p.l1d_bytes >> 10,
        p.l2_bytes >> 10,
        p.l3_bytes >> 20
    );
    demo_model(&device)?;
    demo_multimodal(&device)?;
    println!();
    let threads = omnirt::backend::cpu::configured_threads();
    let limits = measure_limits(threads, 256);
    let opts = KernelSuiteOptions {
        quick: true,
        min_seconds: 0.1,
        ..Default::default()
    };
    let table = kernel_suite(&device, &limits, &opts, |case| {
        eprintln!("  running {case}")
    })?;
    println!("{}", table.to_markdown());
    Ok(())
}

/// Builds the embedded tiny thinker with random weights and streams 16 tokens.
fn demo_model(device: &Device) -> omnirt::Result<()> {
    let config = Qwen3OmniConfig::from_json_str(TINY_CONFIG)?;
    let t0 = Instant::now();
    let thinker = Thinker::random(&config, 20250917, device)?;
    let text = thinker.text_config();
    println!(
        "\ndemo model: tiny Qwen3-Omni thinker built in memory in {:.3} s ({} layers, hidden {}, \
         {} experts top-{}, vocab {}).",
        t0.elapsed().as_secs_f64(),
        text.num_hidden_layers,
        text.hidden_size,
        text.num_experts,
        text.num_experts_per_tok,
        text.vocab_size
    );
    println!(
        "Its weights are RANDOM: the words below are meaningless; they show the pipeline \
         (tokenizer, prefill, decode, streaming) and its speed. Use `omnirt run --model DIR` for a real checkpoint."
    );
    let tokenizer = TextTokenizer::from_json(TINY_TOKENIZER)?;
    let engine = engine_for(thinker, Some(tokenizer), usize::MAX)?;
    let request = GenerateRequest::text("w5 w17 w42")
        .max_new_tokens(16)
        .stop_ids(Vec::new());
    print!("prompt: user \"w5 w17 w42\"\nreply:  ");
    stream_to_stdout(&engine, request, None)
}

/// The embedded tiny model with random vision and audio encoders, prompted
/// with a generated image, audio clip and video (frames + audio track), and
/// answering in speech through a random talker and code2wav.
fn demo_multimodal(device: &Device) -> omnirt::Result<()> {
    let config = Qwen3OmniConfig::from_json_str(TINY_CONFIG)?;
    let opts = LoadOptions {
        device: device.clone(),
        ..LoadOptions::default()
    };
    let t0 = Instant::now();
    let model = MultimodalThinker::random(&config, 20250917, &opts)?;
    let tokenizer = TextTokenizer::from_json(TINY_TOKENIZER)?;
    let speech = SpeechModel::random(&config, 20250917, device, DType::F32)?;
    let speaker = default_speaker(&speech.speakers());
    let engine = Engine::multimodal(Arc::new(model), Some(tokenizer), engine_config(usize::MAX))?
        .with_speech(Arc::new(speech))?;
    println!(
        "\nmultimodal demo: the same tiny thinker with random vision and audio encoders, talker \
         and code2wav (built in {:.3} s), prompted with a generated 96x64 image, 1.5 s of audio \
         and a 4-frame video with its own 2 s audio track (interleaved by time), answering in \
         text and speech. Random weights again: the reply is meaningless and the speech is \
         noise; the point is the whole path (preprocessing, encoders, merge, 3-D positions, \
         talker, code predictor, code2wav, streaming).",
        t0.elapsed().as_secs_f64()
    );
    let video = VideoSource::Frames {
        frames: (0..4)
            .map(|i| demo_frame(64, 48, i))
            .collect::<omnirt::Result<_>>()?,
        fps: 2.0,
        audio: Some(demo_tone(2.0, 330.0)),
    };
    // Small frames keep the demo quick (the default budget upscales to >= 128 tokens a frame).
    let media_options = MediaOptions {
        video_min_pixels: Some(4 * 32 * 32),
        video_max_pixels: Some(16 * 32 * 32),
        ..MediaOptions::default()
    };
    let request = GenerateRequest::text("w5 w17 w42")
        .max_new_tokens(12)
        .stop_ids(Vec::new())
        .with_media(Media::Image(ImageSource::Decoded(demo_frame(96, 64, 0)?)))
        .with_media(Media::Audio(AudioSource::Decoded(demo_tone(1.5, 440.0))))
        .with_media(Media::Video {
            source: video,
            with_audio: true,
        })
        .media_options(media_options)
        .speak(SpeechOptions {
            speaker,
            // 2 s of speech at most, streamed in 0.4 s chunks; greedy, so the random
            // talker does not sample its end-of-speech code at the first frame.
            talker: TalkerOptions {
                max_frames: 25,
                ..TalkerOptions::greedy()
            },
            chunk_frames: 5,
            left_context: 25,
        });
    print!("prompt: user [image] [audio] [video+audio] \"w5 w17 w42\"\nreply:  ");
    let wav = std::env::temp_dir().join("omnirt-demo.wav");
    stream_to_stdout(&engine, request, Some(&wav))
}

/// A colour gradient with a bright square that moves with `step`.
fn demo_frame(width: usize, height: usize, step: usize) -> omnirt::Result<Rgb8Image> {
    let mut data = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let square = (x / 8 + 4 * step) % 12 < 2 && (y / 8) % 4 == 1;
            let (r, g, b) = if square {
                (250, 250, 240)
            } else {
                ((x * 255 / width) as u8, (y * 255 / height) as u8, 96)
            };
            data.extend_from_slice(&[r, g, b]);
        }
    }
    Rgb8Image::from_raw(width, height, data)
}

/// A 16 kHz tone with a slow tremolo.
fn demo_tone(seconds: f64, hz: f64) -> DecodedAudio {
    let rate = 16_000u32;
    let n = (seconds * rate as f64) as usize;
    let samples = (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            (0.3 * (1.0 + 0.5 * (6.0 * t).sin()) * (std::f64::consts::TAU * hz * t).sin()) as f32
        })
        .collect();
    DecodedAudio {
        samples,
        sample_rate: rate,
        channels: 1,
    }
}

/// "RVV 1.0, VLEN 128 (zvfh, xtheadvdot, fp16 acc.)" for RISC-V cores, else the width.
fn vector_isa(p: &omnirt::profile::ChipProfile) -> String {
    use omnirt::profile::RvvVersion;
    let Some(c) = p.rvv else {
        return format!("{} bit", p.vector_bits);
    };
    let version = match c.version {
        RvvVersion::V1_0 => "RVV 1.0",
        RvvVersion::XTheadVector0_7_1 => "RVV 0.7.1 (projection only)",
    };
    let extras: Vec<&str> = [
        (c.zvfh, "zvfh"),
        (c.zvfbfwma, "zvfbfwma"),
        (c.xtheadvdot, "xtheadvdot"),
        (c.fp16_accumulate, "fp16 acc."),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if extras.is_empty() {
        format!("{version}, VLEN {}", c.vlen_bits)
    } else {
        format!("{version}, VLEN {} ({})", c.vlen_bits, extras.join(", "))
    }
}

fn print_profiles() {
    println!("| id | chip | cores | vector | f32 peak | bf16 peak | int8 peak | bandwidth | L1d / L2 / L3 |");
    println!("|---|---|---:|---|---|---|---|---|---|");
    for p in known_profiles() {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} KiB / {} KiB / {} MiB |",
            p.id,
            p.name,
            p.cores,
            vector_isa(&p),
            p.peak_gflops_f32.describe("GFLOP/s"),
            p.peak_gflops_bf16.describe("GFLOP/s"),
            p.peak_gops_int8.describe("GOP/s"),
            p.mem_bandwidth_gbs.describe("GB/s"),
            p.l1d_bytes >> 10,
            p.l2_bytes >> 10,
            p.l3_bytes >> 20
        );
        for n in &p.notes {
            println!("|   | note: {n} | | | | | | | |");
        }
    }
}
