//! Qwen3-Omni's code2wav decoder (`code2wav.*`, qwen3-omni.md §9): codec codes
//! `[T frames × Q quantizers]` -> a 24 kHz waveform.
//!
//! 1. mean over the Q quantizers of `code_embedding(code + q·codebook_size)`;
//! 2. [`transformer`]: the sliding-window `pre_transformer` + final RMSNorm;
//! 3. [`upsample`]: per ratio a causal transposed conv and a ConvNeXt block;
//! 4. [`decoder`]: causal conv, SnakeBeta / transposed-conv / residual blocks,
//!    SnakeBeta, causal conv to one channel; clamp to [−1, 1].
//!
//! [`Code2Wav::chunked_decode`] mirrors the reference's `chunked_decode`
//! (chunks of `chunk` frames decoded with up to `left_context` earlier frames,
//! whose samples are dropped), and [`stream`] produces the same samples frame
//! by frame. Everything goes through the public tensor ops, so it runs on every
//! backend. Codes are given frame-major: `codes[t·Q + q]`.

pub mod config;
pub(crate) mod conv;
pub(crate) mod decoder;
pub(crate) mod params;
pub mod stream;
pub(crate) mod transformer;
pub(crate) mod upsample;

use std::path::Path;
use std::sync::Arc;

pub use config::{Code2WavConfig, SAMPLE_RATE};
pub use stream::Code2WavStream;

use self::decoder::Decoder;
use self::params::Loader;
use self::transformer::PreTransformer;
use self::upsample::UpsampleStage;
use super::weights::{Init, Weights};
use super::Qwen3OmniConfig;
use crate::backend::{BinaryOp, Device};
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor};

/// Checkpoint prefix of the decoder's tensors.
pub const PREFIX: &str = "code2wav";

/// The reference's `chunked_decode` defaults.
pub const DEFAULT_CHUNK: usize = 300;
pub const DEFAULT_LEFT_CONTEXT: usize = 25;

const OP: &str = "code2wav";

/// Every stage of one decode (for tests against the reference). Batch
/// dimensions are dropped: `[T, hidden]` before the upsampler, `[C, L]` after.
pub struct Code2WavTrace {
    /// Mean of the quantizers' code embeddings `[T, hidden]`.
    pub embed_mean: Tensor,
    /// Output of each pre_transformer layer `[T, hidden]`.
    pub layer_outputs: Vec<Tensor>,
    /// pre_transformer output after the final norm `[T, hidden]`.
    pub pre_transformer: Tensor,
    /// Each upsample stage's transposed-conv output `[hidden, L]`.
    pub upsample_tconv: Vec<Tensor>,
    /// Each upsample stage's output (after its ConvNeXt block) `[hidden, L]`.
    pub upsample: Vec<Tensor>,
    /// `decoder.0` (conv in) output, then each decoder block's output `[C, L]`.
    pub decoder: Vec<Tensor>,
    /// Final conv output before the clamp `[samples]`.
    pub decoder_out: Tensor,
    /// The clamped waveform `[samples]`.
    pub waveform: Tensor,
}

pub struct Code2Wav {
    config: Code2WavConfig,
    device: Device,
    dtype: DType,
    code_embedding: Tensor,
    pre_transformer: PreTransformer,
    upsample: Vec<UpsampleStage>,
    decoder: Decoder,
}

impl Code2Wav {
    /// Load `code2wav.*` from `ckpt` (names, shapes and dtypes checked against
    /// `config.code2wav_config`); activations in `dtype` (F32 or BF16).
    pub fn load(
        ckpt: &Checkpoint,
        config: &Qwen3OmniConfig,
        device: &Device,
        dtype: DType,
    ) -> Result<Code2Wav> {
        check_dtype(dtype)?;
        let cfg = Code2WavConfig::from_config(config)?;
        let mut w = Weights::from_checkpoint(ckpt, device.clone(), dtype, None);
        Code2Wav::build(&cfg, &mut w, false, device, dtype)
    }

    /// Load from a checkpoint directory (`config.json` + safetensors).
    pub fn load_dir(dir: &Path, device: &Device, dtype: DType) -> Result<Code2Wav> {
        let config = Qwen3OmniConfig::from_file(&dir.join("config.json"))?;
        let ckpt = Checkpoint::open(dir)?;
        Code2Wav::load(&ckpt, &config, device, dtype)
    }

    /// Deterministic random weights (stored bf16): tests and benchmarks that
    /// need no files.
    pub fn random(
        config: &Qwen3OmniConfig,
        seed: u64,
        device: &Device,
        dtype: DType,
    ) -> Result<Code2Wav> {
        check_dtype(dtype)?;
        let cfg = Code2WavConfig::from_config(config)?;
        let mut w = Weights::random(seed, device.clone(), dtype, None);
        Code2Wav::build(&cfg, &mut w, true, device, dtype)
    }

    fn build(
        cfg: &Code2WavConfig,
        w: &mut Weights,
        random: bool,
        device: &Device,
        dtype: DType,
    ) -> Result<Code2Wav> {
        cfg.validate()?;
        let mut l = Loader { w, random };
        let d = cfg.hidden_size;
        let rows = cfg.codebook_size * cfg.num_quantizers; // checked by validate
        let code_embedding = l.tensor(
            &format!("{PREFIX}.code_embedding.weight"),
            &[rows, d],
            Init::Embedding,
            "[codebook_size·num_quantizers, hidden_size]",
        )?;
        let pre_transformer =
            PreTransformer::load(&mut l, &format!("{PREFIX}.pre_transformer"), cfg)?;
        let mut upsample = Vec::with_capacity(cfg.upsampling_ratios.len());
        for (i, &r) in cfg.upsampling_ratios.iter().enumerate() {
            upsample.push(UpsampleStage::load(
                &mut l,
                &format!("{PREFIX}.upsample.{i}"),
                d,
                r,
            )?);
        }
        let decoder = Decoder::load(&mut l, &format!("{PREFIX}.decoder"), cfg)?;
        Ok(Code2Wav {
            config: cfg.clone(),
            device: device.clone(),
            dtype,
            code_embedding,
            pre_transformer,
            upsample,
            decoder,
        })
    }

    pub fn config(&self) -> &Code2WavConfig {
        &self.config
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn num_quantizers(&self) -> usize {
        self.config.num_quantizers
    }
    pub fn codebook_size(&self) -> usize {
        self.config.codebook_size
    }
    /// 24000 Hz.
    pub fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }
    /// Product of the upsampling ratios and decoder rates (1920 released).
    pub fn samples_per_frame(&self) -> usize {
        self.config.samples_per_frame()
    }

    /// Samples a full decode of `frames` frames gives (`1920·T − 555` released).
    pub fn output_len(&self, frames: usize) -> Result<usize> {
        self.config
            .output_len(frames)
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "code2wav: {frames} frames give no output samples (or the length overflows)"
                ))
            })
    }

    /// Samples [`chunked_decode`](Self::chunked_decode) gives for `frames`
    /// frames: every chunk loses the same tail as a full decode of it.
    pub fn chunked_output_len(&self, frames: usize, chunk: usize) -> Result<usize> {
        check_chunk(chunk)?;
        let mut total = 0usize;
        let mut start = 0;
        while start < frames {
            let n = chunk.min(frames - start);
            total = total
                .checked_add(self.output_len(n)?)
                .ok_or_else(|| Error::overflow("code2wav output length"))?;
            start += n;
        }
        Ok(total)
    }

    /// Full (unchunked) decode of `frames` frames, `codes[t·Q + q]` -> samples.
    pub fn decode(&self, codes: &[u32], frames: usize) -> Result<Vec<f32>> {
        self.check_codes(codes, frames)?;
        self.run(codes, frames, false)?.waveform.to_f32_vec()
    }

    /// [`decode`](Self::decode) keeping every stage.
    pub fn decode_traced(&self, codes: &[u32], frames: usize) -> Result<Code2WavTrace> {
        self.check_codes(codes, frames)?;
        self.run(codes, frames, true)
    }

    /// The reference's `chunked_decode(codes, chunk, left_context)`: chunks
    /// `[a, b)` of up to `chunk` frames are decoded together with the
    /// `c = min(left_context, a)` frames before them; the first `c·samples_per_frame`
    /// samples of each are dropped and the rest concatenated.
    pub fn chunked_decode(
        &self,
        codes: &[u32],
        frames: usize,
        chunk: usize,
        left_context: usize,
    ) -> Result<Vec<f32>> {
        check_chunk(chunk)?;
        self.check_codes(codes, frames)?;
        let q = self.num_quantizers();
        let mut out = Vec::new();
        let mut start = 0;
        while start < frames {
            let end = start + chunk.min(frames - start);
            let ctx = left_context.min(start);
            let window = &codes[(start - ctx) * q..end * q];
            out.extend(self.decode_window(window, end - start + ctx, ctx)?);
            start = end;
        }
        Ok(out)
    }

    /// A streaming decoder: push frames one at a time; every `chunk` frames it
    /// returns that chunk's samples, `finish` flushes the rest. The
    /// concatenated output equals [`chunked_decode`](Self::chunked_decode).
    pub fn stream(self: &Arc<Self>, chunk: usize, left_context: usize) -> Code2WavStream {
        Code2WavStream::new(Arc::clone(self), chunk, left_context)
    }

    /// Upsample stage `i` alone (trans conv + ConvNeXt): `x [hidden, L]` ->
    /// `[hidden, ratio·L]`. For tests that check stages in isolation.
    pub fn upsample_stage(&self, i: usize, x: &Tensor) -> Result<Tensor> {
        let stage = self.upsample.get(i).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "code2wav: upsample stage {i} does not exist ({} stages)",
                self.upsample.len()
            ))
        })?;
        let x = self.stage_input(x)?;
        stage.forward(&x)?.1.squeeze(0)
    }

    /// Decoder stage `i` alone on `x [C, L]`: 0 the input conv, `1..=n` the
    /// decoder blocks, `n + 1` the final SnakeBeta + conv (before the clamp,
    /// `[1, L]`). For tests that check stages in isolation.
    pub fn decoder_stage(&self, i: usize, x: &Tensor) -> Result<Tensor> {
        if i >= self.decoder.num_stages() {
            return Err(Error::InvalidArgument(format!(
                "code2wav: decoder stage {i} does not exist ({} stages)",
                self.decoder.num_stages()
            )));
        }
        let x = self.stage_input(x)?;
        self.decoder.stage(i, &x)?.squeeze(0)
    }

    /// `x [C, L]` -> `[1, C, L]` in the compute dtype on this device.
    fn stage_input(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() != 2 {
            return Err(Error::shape(
                OP,
                format!(
                    "a stage input must be [channels, length], got {:?}",
                    x.shape()
                ),
            ));
        }
        if x.device() != &self.device {
            return Err(Error::DeviceMismatch {
                op: OP,
                a: self.device.name().to_string(),
                b: x.device().name().to_string(),
            });
        }
        x.to_dtype(self.dtype)?.contiguous()?.unsqueeze(0)
    }

    /// Decode `frames` (already checked) and drop the first `context` frames' samples.
    pub(crate) fn decode_window(
        &self,
        codes: &[u32],
        frames: usize,
        context: usize,
    ) -> Result<Vec<f32>> {
        let wav = self.run(codes, frames, false)?.waveform;
        let n = wav.dim(0)?;
        let skip = context
            .checked_mul(self.samples_per_frame())
            .ok_or_else(|| Error::overflow("code2wav context length"))?;
        if skip >= n {
            return Ok(Vec::new());
        }
        wav.narrow(0, skip, n - skip)?.to_f32_vec()
    }

    /// Typed errors for bad input: zero frames, a length that is not `frames·Q`
    /// (wrong number of quantizers), codes `>= codebook_size`, overflowing sizes.
    pub(crate) fn check_codes(&self, codes: &[u32], frames: usize) -> Result<()> {
        let q = self.num_quantizers();
        if frames == 0 {
            return Err(Error::InvalidArgument(
                "code2wav: zero frames to decode".into(),
            ));
        }
        let want = frames.checked_mul(q).ok_or_else(|| {
            Error::overflow(format!("code2wav: {frames} frames × {q} quantizers"))
        })?;
        if codes.len() != want {
            return Err(Error::shape(
                OP,
                format!(
                    "{} codes for {frames} frames: expected frames × num_quantizers = {frames} × {q} = {want} (frame-major codes[t·Q + q])",
                    codes.len()
                ),
            ));
        }
        check_code_values(codes, q, self.codebook_size(), 0)?;
        self.output_len(frames)?;
        Ok(())
    }

    fn run(&self, codes: &[u32], frames: usize, trace: bool) -> Result<Code2WavTrace> {
        let q = self.num_quantizers();
        let cb = self.codebook_size();
        let d = self.config.hidden_size;
        // Row of quantizer q's code c in the shared table: c + q·codebook_size.
        let ids: Vec<u32> = codes
            .iter()
            .enumerate()
            .map(|(i, &c)| c + ((i % q) * cb) as u32)
            .collect();
        let ids = Tensor::from_slice(&ids, [frames * q], &self.device)?;
        let emb = self
            .code_embedding
            .gather_rows(&ids)?
            .reshape([frames, q, d])?
            .transpose(1, 2)?
            .contiguous()?
            .mean_last()?;

        let (x, layer_outputs) = self.pre_transformer.forward(&emb, trace)?;
        let mut h = x.reshape([1, frames, d])?.transpose(1, 2)?.contiguous()?;
        let mut upsample_tconv = Vec::new();
        let mut upsample = Vec::new();
        for stage in &self.upsample {
            let (t, y) = stage.forward(&h)?;
            if trace {
                upsample_tconv.push(t.squeeze(0)?);
                upsample.push(y.squeeze(0)?);
            }
            h = y;
        }
        let (out, stages) = self.decoder.forward(&h, trace)?;
        let out = out.reshape([out.elem_count()])?;
        let waveform = out
            .binary_scalar(BinaryOp::Max, -1.0)?
            .binary_scalar(BinaryOp::Min, 1.0)?;
        let decoder = stages
            .into_iter()
            .map(|s| s.squeeze(0))
            .collect::<Result<Vec<_>>>()?;
        Ok(Code2WavTrace {
            embed_mean: emb,
            layer_outputs,
            pre_transformer: x,
            upsample_tconv,
            upsample,
            decoder,
            decoder_out: out,
            waveform,
        })
    }
}

/// Codes `>= codebook` are an error naming the frame (`first_frame` + index) and quantizer.
pub(crate) fn check_code_values(
    codes: &[u32],
    q: usize,
    codebook: usize,
    first_frame: usize,
) -> Result<()> {
    if let Some(i) = codes.iter().position(|&c| c as usize >= codebook) {
        return Err(Error::InvalidArgument(format!(
            "code2wav: code {} at frame {}, quantizer {} is out of range (codebook size {codebook})",
            codes[i],
            first_frame + i / q.max(1),
            i % q.max(1)
        )));
    }
    Ok(())
}

pub(crate) fn check_chunk(chunk: usize) -> Result<()> {
    if chunk == 0 {
        return Err(Error::InvalidArgument(
            "code2wav: chunk size must be at least 1 frame".into(),
        ));
    }
    Ok(())
}

fn check_dtype(dtype: DType) -> Result<()> {
    if matches!(dtype, DType::F32 | DType::BF16) {
        Ok(())
    } else {
        Err(Error::DType {
            op: OP,
            dtype,
            hint: "code2wav computes in f32 or bf16".into(),
        })
    }
}
