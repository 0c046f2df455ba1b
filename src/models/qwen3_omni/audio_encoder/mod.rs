//! Qwen3-Omni's AuT audio encoder (`thinker.audio_tower`, qwen3-omni.md §7):
//! log-mel features `[128, T]` of one or more clips -> one `output_dim`
//! embedding per audio token.
//!
//! 1. [`chunking`]: each clip is cut into 100-frame chunks, every chunk of the
//!    batch zero-padded to the longest chunk;
//! 2. [`conv_stack`]: three stride-2 Conv2d + GELU, flatten, `conv_out`;
//! 3. [`positions`]: sinusoids restarting at 0 in every chunk; the valid
//!    post-CNN rows of each chunk are kept;
//! 4. [`layers`]: pre-norm transformer layers with windowed attention;
//! 5. `ln_post` -> `proj1` -> GELU -> `proj2`.
//!
//! Everything goes through the public tensor ops, so it runs on every backend.
//! Not implemented: the fp16-only clamp after each layer (f32/bf16 only).

pub mod chunking;
pub mod config;
pub mod conv_stack;
pub mod layers;
pub mod positions;

use std::path::Path;

pub use chunking::{audio_token_count, audio_token_count_for, conv_out_len, ChunkPlan};
pub use config::AudioConfig;

use self::conv_stack::ConvStack;
use self::layers::{linear_with_bias, Activation, EncoderLayer, LayerNorm};
use super::weights::Weights;
use super::Qwen3OmniConfig;
use crate::backend::Device;
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::nn::Linear;
use crate::tensor::{DType, Tensor};

/// Checkpoint prefix of the encoder's tensors.
pub const PREFIX: &str = "thinker.audio_tower";

/// Default longest clip: 300 s of 10 ms frames (the feature extractor's
/// `chunk_length`); change with [`AudioEncoder::set_max_frames`].
pub const DEFAULT_MAX_FRAMES: usize = 30_000;

const OP: &str = "audio_encoder";

/// Every stage of one forward pass (for tests against the reference).
pub struct AudioTrace {
    pub plan: ChunkPlan,
    /// `gelu(conv2d3(..))` `[n_chunks, C, F, T']`.
    pub conv3_gelu: Tensor,
    /// `conv_out` output `[n_chunks, T', d_model]`, before the positions.
    pub conv_out: Tensor,
    /// Positions added to every chunk `[T', d_model]`.
    pub positions: Tensor,
    /// Valid rows with positions: the first layer's input `[N, d_model]`.
    pub layer_input: Tensor,
    /// Output of every layer `[N, d_model]`.
    pub layer_outputs: Vec<Tensor>,
    /// `ln_post` output `[N, d_model]`.
    pub ln_post: Tensor,
    /// Final embeddings `[N, output_dim]`.
    pub embeddings: Tensor,
}

pub struct AudioEncoder {
    config: AudioConfig,
    device: Device,
    dtype: DType,
    max_frames: usize,
    conv: ConvStack,
    layers: Vec<EncoderLayer>,
    ln_post: LayerNorm,
    proj1: Linear,
    proj2: Linear,
    activation: Activation,
}

impl AudioEncoder {
    /// Load `thinker.audio_tower.*` from `checkpoint` (tensor names, shapes and
    /// dtypes checked against `config`); activations in `dtype` (F32 or BF16).
    pub fn load(
        checkpoint: &Checkpoint,
        config: &AudioConfig,
        device: &Device,
        dtype: DType,
    ) -> Result<AudioEncoder> {
        check_dtype(dtype)?;
        config.validate()?;
        let mut w = Weights::from_checkpoint(checkpoint, device.clone(), dtype, None);
        AudioEncoder::build(config, &mut w, device, dtype)
    }

    /// Load from a checkpoint directory (`config.json` + safetensors).
    pub fn load_dir(dir: &Path, device: &Device, dtype: DType) -> Result<AudioEncoder> {
        let config = Qwen3OmniConfig::from_file(&dir.join("config.json"))?;
        let audio = AudioConfig::from_config(&config)?;
        let ckpt = Checkpoint::open(dir)?;
        AudioEncoder::load(&ckpt, &audio, device, dtype)
    }

    /// Deterministic random weights (fan-in scaled, stored bf16): tests and
    /// benchmarks that need no files.
    pub fn random(
        config: &AudioConfig,
        seed: u64,
        device: &Device,
        dtype: DType,
    ) -> Result<AudioEncoder> {
        check_dtype(dtype)?;
        config.validate()?;
        let mut w = Weights::random(seed, device.clone(), dtype, None);
        AudioEncoder::build(config, &mut w, device, dtype)
    }

    fn build(
        cfg: &AudioConfig,
        w: &mut Weights,
        device: &Device,
        dtype: DType,
    ) -> Result<AudioEncoder> {
        let activation = if cfg.gelu_is_tanh() {
            Activation::GeluTanh
        } else {
            Activation::GeluErf
        };
        let d = cfg.d_model;
        let conv = ConvStack::load(w, PREFIX, cfg)?;
        let mut layers = Vec::with_capacity(cfg.encoder_layers);
        for i in 0..cfg.encoder_layers {
            layers.push(EncoderLayer::load(
                w,
                &format!("{PREFIX}.layers.{i}"),
                d,
                cfg.encoder_ffn_dim,
                cfg.encoder_attention_heads,
                activation,
            )?);
        }
        Ok(AudioEncoder {
            config: cfg.clone(),
            device: device.clone(),
            dtype,
            max_frames: DEFAULT_MAX_FRAMES,
            conv,
            layers,
            ln_post: LayerNorm::load(w, &format!("{PREFIX}.ln_post"), d)?,
            proj1: linear_with_bias(w, &format!("{PREFIX}.proj1"), d, d, "[d_model, d_model]")?,
            proj2: linear_with_bias(
                w,
                &format!("{PREFIX}.proj2"),
                cfg.output_dim,
                d,
                "[output_dim, d_model]",
            )?,
            activation,
        })
    }

    pub fn config(&self) -> &AudioConfig {
        &self.config
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn max_frames(&self) -> usize {
        self.max_frames
    }
    /// Longest clip (in mel frames) `forward` accepts.
    pub fn set_max_frames(&mut self, frames: usize) {
        self.max_frames = frames;
    }

    /// Audio tokens a clip of `t_mel` frames produces.
    pub fn token_count(&self, t_mel: usize) -> usize {
        audio_token_count_for(t_mel, self.config.n_window)
    }

    /// Chunk / window layout for clips of `clip_frames` frames.
    pub fn plan(&self, clip_frames: &[usize]) -> Result<ChunkPlan> {
        ChunkPlan::new(
            clip_frames,
            self.config.n_window,
            self.config.n_window_infer,
        )
    }

    /// One clip: `features [num_mel_bins, T]` -> `[n_tokens, output_dim]`.
    pub fn forward(&self, features: &Tensor) -> Result<Tensor> {
        let t = if features.rank() == 2 {
            features.dims()[1]
        } else {
            0
        };
        self.forward_clips(features, &[t])
    }

    /// Several clips concatenated on time, `features [num_mel_bins, ΣT]`, with
    /// `clip_frames` their lengths -> `[Σ n_tokens, output_dim]`, clips in order.
    pub fn forward_clips(&self, features: &Tensor, clip_frames: &[usize]) -> Result<Tensor> {
        Ok(self.run(features, clip_frames, false)?.embeddings)
    }

    /// [`forward_clips`](Self::forward_clips) keeping every stage.
    pub fn forward_traced(&self, features: &Tensor, clip_frames: &[usize]) -> Result<AudioTrace> {
        self.run(features, clip_frames, true)
    }

    fn check_input(&self, features: &Tensor, clip_frames: &[usize]) -> Result<()> {
        if features.rank() != 2 {
            return Err(Error::Shape {
                op: OP,
                detail: format!(
                    "features must be [num_mel_bins, frames], got {:?}",
                    features.shape()
                ),
            });
        }
        let (mel, t) = (features.dims()[0], features.dims()[1]);
        if mel != self.config.num_mel_bins {
            return Err(Error::Shape {
                op: OP,
                detail: format!(
                    "features have {mel} mel bins, the model expects {} (features must be [mel, frames])",
                    self.config.num_mel_bins
                ),
            });
        }
        if !features.dtype().is_float() {
            return Err(Error::DType {
                op: OP,
                dtype: features.dtype(),
                hint: "features must be f32, f16 or bf16".into(),
            });
        }
        if t == 0 {
            return Err(Error::InvalidArgument(
                "audio encoder: features have zero frames".into(),
            ));
        }
        if clip_frames.is_empty() {
            return Err(Error::InvalidArgument(
                "audio encoder: no clip lengths given".into(),
            ));
        }
        if let Some(i) = clip_frames.iter().position(|&c| c == 0) {
            return Err(Error::InvalidArgument(format!(
                "audio encoder: clip {i} has zero frames"
            )));
        }
        if let Some((i, &c)) = clip_frames
            .iter()
            .enumerate()
            .find(|&(_, &c)| c > self.max_frames)
        {
            return Err(Error::InvalidArgument(format!(
                "audio encoder: clip {i} has {c} frames, more than the limit of {} ({} s)",
                self.max_frames,
                self.max_frames / 100
            )));
        }
        let total: usize = clip_frames.iter().sum();
        if total != t {
            return Err(Error::Shape {
                op: OP,
                detail: format!(
                    "clip lengths {clip_frames:?} sum to {total}, features have {t} frames"
                ),
            });
        }
        Ok(())
    }

    /// `[n_chunks, 1, mel, W]`: every clip cut into chunks, each zero-padded to W.
    fn padded_chunks(&self, features: &Tensor, plan: &ChunkPlan) -> Result<Tensor> {
        let mel = features.dims()[0];
        let chunk = self.config.chunk_frames();
        let w = plan.padded_frames;
        let features = features.to_dtype(self.dtype)?;
        let mut pieces = Vec::new();
        let mut offset = 0;
        for &t in &plan.clip_frames {
            let full = t / chunk;
            if full > 0 {
                // [mel, full·chunk] -> [full, mel, chunk]; W == chunk here.
                let x = features
                    .narrow(1, offset, full * chunk)?
                    .reshape([mel, full, chunk])?
                    .permute(&[1, 0, 2])?
                    .contiguous()?;
                pieces.push(x);
            }
            let tail = t % chunk;
            if tail > 0 {
                let mut x = features.narrow(1, offset + full * chunk, tail)?;
                if tail < w {
                    let zeros = Tensor::zeros([mel, w - tail], self.dtype, &self.device)?;
                    x = Tensor::cat(&[&x, &zeros], 1)?;
                }
                pieces.push(x.reshape([1, mel, w])?);
            }
            offset += t;
        }
        let refs: Vec<&Tensor> = pieces.iter().collect();
        let all = if refs.len() == 1 {
            pieces[0].clone()
        } else {
            Tensor::cat(&refs, 0)?
        };
        all.reshape([plan.num_chunks(), 1, mel, w])
    }

    fn run(&self, features: &Tensor, clip_frames: &[usize], trace: bool) -> Result<AudioTrace> {
        self.check_input(features, clip_frames)?;
        if features.device() != &self.device {
            return Err(Error::DeviceMismatch {
                op: OP,
                a: self.device.name().to_string(),
                b: features.device().name().to_string(),
            });
        }
        let plan = self.plan(clip_frames)?;
        let chunks = self.padded_chunks(features, &plan)?;
        let (conv3, conv_out) = self.conv.forward(&chunks)?;

        let (n, t, d) = (plan.num_chunks(), plan.padded_tokens, self.config.d_model);
        let pos = positions::position_embeddings(t, d, &self.device, self.dtype)?;
        let with_pos = conv_out.add(&pos)?;
        let valid = plan.valid_indices();
        let ids = Tensor::from_slice(&valid, [valid.len()], &self.device)?;
        let mut x = with_pos.reshape([n * t, d])?.gather_rows(&ids)?;
        let layer_input = x.clone();

        let mut layer_outputs = Vec::new();
        for layer in &self.layers {
            x = layer.forward(&x, &plan.cu_seqlens)?;
            if trace {
                layer_outputs.push(x.clone());
            }
        }
        let ln_post = self.ln_post.forward(&x)?;
        let h = self.activation.apply(&self.proj1.forward(&ln_post)?)?;
        let embeddings = self.proj2.forward(&h)?;
        Ok(AudioTrace {
            plan,
            conv3_gelu: conv3,
            conv_out,
            positions: pos,
            layer_input,
            layer_outputs,
            ln_post,
            embeddings,
        })
    }
}

fn check_dtype(dtype: DType) -> Result<()> {
    if matches!(dtype, DType::F32 | DType::BF16) {
        Ok(())
    } else {
        Err(Error::DType {
            op: OP,
            dtype,
            hint: "the audio encoder computes in f32 or bf16".into(),
        })
    }
}
