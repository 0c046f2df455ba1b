//! The Qwen3-Omni talker (qwen3-omni.md §8): turns a finished thinker run into
//! codec frames of `num_code_groups` codes each.
//!
//! ```text
//! thinker ids + layer-0 embeds + accept-layer hidden states
//!   --Talker::build_prompt--> TalkerPrompt (prefill embeds, positions, trailing text)
//!   --Talker::start--> TalkerSession --next_frame--> [c0, c1, .., c_{G-1}] per frame
//! ```
//!
//! Parts: [`decoder`] (MoE decoder with a sigmoid-gated shared expert,
//! `codec_head`), [`code_predictor`] (dense decoder for codebooks 1..G-1),
//! [`prompt`] (§8.1/§8.2), [`session`] (§8.4), [`sampling`].

pub mod code_predictor;
pub mod config;
pub mod decoder;
pub mod prompt;
pub mod sampling;
pub mod session;

use std::path::Path;

pub use code_predictor::{CodePredictor, PredictorFrame};
pub use config::{CodePredictorConfig, TalkerConfig};
pub use decoder::{DecoderOutput, SharedExpertMoe, TalkerDecoder};
pub use prompt::{TalkerInput, TalkerPrompt};
pub use sampling::{CodecSampler, CodecSampling, TalkerOptions};
pub use session::{StepTrace, TalkerSession};

use super::weights::{Init, Weights};
use super::Qwen3OmniConfig;
use crate::backend::Device;
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::nn::Linear;
use crate::tensor::{DType, Tensor};

/// `Linear(thinker_hidden → intermediate, bias) → SiLU → Linear(→ hidden, bias)`.
pub struct ResizeMlp {
    pub linear_fc1: Linear,
    pub linear_fc2: Linear,
}

impl ResizeMlp {
    fn build(
        w: &mut Weights,
        prefix: &str,
        inp: usize,
        inter: usize,
        out: usize,
    ) -> Result<ResizeMlp> {
        let mut lin = |name: &str, o: usize, i: usize| -> Result<Linear> {
            let p = format!("{prefix}.{name}");
            let weight = w.tensor(
                &format!("{p}.weight"),
                &[o, i],
                Init::FanIn,
                "[out, in] from thinker_hidden_size / text_config.intermediate_size / hidden_size",
            )?;
            let bias = w.tensor(&format!("{p}.bias"), &[o], Init::FanIn, "[out]")?;
            Linear::new(weight, Some(bias))
        };
        Ok(ResizeMlp {
            linear_fc1: lin("linear_fc1", inter, inp)?,
            linear_fc2: lin("linear_fc2", out, inter)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.linear_fc2
            .forward(&self.linear_fc1.forward(x)?.silu()?)
    }
}

pub struct Talker {
    config: Qwen3OmniConfig,
    talker_config: TalkerConfig,
    device: Device,
    dtype: DType,
    pub decoder: TalkerDecoder,
    pub text_projection: ResizeMlp,
    pub hidden_projection: ResizeMlp,
    pub code_predictor: CodePredictor,
}

impl Talker {
    /// From an opened checkpoint (`talker.*` tensors) and its parsed config.
    /// `dtype` is the activation dtype (F32 or BF16).
    pub fn load(
        ckpt: &Checkpoint,
        config: &Qwen3OmniConfig,
        device: &Device,
        dtype: DType,
    ) -> Result<Talker> {
        let mut w = Weights::from_checkpoint(ckpt, device.clone(), dtype, None);
        Talker::build(config, &mut w, device, dtype)
    }

    /// From a checkpoint directory (`config.json` + safetensors).
    pub fn load_dir(dir: &Path, device: &Device, dtype: DType) -> Result<Talker> {
        let config = Qwen3OmniConfig::from_file(&dir.join("config.json"))?;
        let ckpt = Checkpoint::open(dir)?;
        Talker::load(&ckpt, &config, device, dtype)
    }

    /// Deterministic random weights (bf16-valued) for tests without files.
    pub fn random(
        config: &Qwen3OmniConfig,
        seed: u64,
        device: &Device,
        dtype: DType,
    ) -> Result<Talker> {
        let mut w = Weights::random(seed, device.clone(), dtype, None);
        Talker::build(config, &mut w, device, dtype)
    }

    fn build(
        config: &Qwen3OmniConfig,
        w: &mut Weights,
        device: &Device,
        dtype: DType,
    ) -> Result<Talker> {
        if !matches!(dtype, DType::F32 | DType::BF16) {
            return Err(Error::InvalidArgument(format!(
                "talker compute dtype {dtype} is not supported (use f32 or bf16)"
            )));
        }
        if !config.enable_audio_output {
            return Err(Error::InvalidArgument(
                "config.json has enable_audio_output = false: this checkpoint has no talker".into(),
            ));
        }
        let tc = TalkerConfig::from_config(config)?;
        let text = tc.text()?.clone();
        let decoder = TalkerDecoder::build(&text, w)?;
        let (th, inter, hid) = (
            tc.thinker_hidden_size,
            text.intermediate_size,
            text.hidden_size,
        );
        let text_projection = ResizeMlp::build(w, "talker.text_projection", th, inter, hid)?;
        let hidden_projection = ResizeMlp::build(w, "talker.hidden_projection", th, inter, hid)?;
        let code_predictor = CodePredictor::build(tc.predictor()?, tc.num_code_groups, w)?;
        Ok(Talker {
            config: config.clone(),
            talker_config: tc,
            device: device.clone(),
            dtype,
            decoder,
            text_projection,
            hidden_projection,
            code_predictor,
        })
    }

    pub fn config(&self) -> &Qwen3OmniConfig {
        &self.config
    }
    pub fn talker_config(&self) -> &TalkerConfig {
        &self.talker_config
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn hidden_size(&self) -> usize {
        self.decoder.config.hidden_size
    }
    pub fn num_code_groups(&self) -> usize {
        self.talker_config.num_code_groups
    }
    /// HF `hidden_states` index the talker reads from the thinker.
    pub fn accept_hidden_layer(&self) -> usize {
        self.talker_config.accept_hidden_layer
    }
    pub fn codec_eos_id(&self) -> u32 {
        self.talker_config.codec_eos_token_id
    }

    /// Speaker names from `talker_config.speaker_id`, sorted.
    pub fn speakers(&self) -> Vec<String> {
        self.talker_config.speaker_id.keys().cloned().collect()
    }

    /// Codec id of `name` (case-insensitive, as the reference lower-cases it).
    pub fn speaker_id(&self, name: &str) -> Result<u32> {
        self.talker_config
            .speaker_id
            .get(&name.to_lowercase())
            .copied()
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "talker: unknown speaker '{name}'; known speakers: {}",
                    self.speakers().join(", ")
                ))
            })
    }

    /// `text_projection(x)`, `x [n, thinker_hidden]` -> `[n, hidden]`.
    pub fn text_projection(&self, x: &Tensor) -> Result<Tensor> {
        self.text_projection.forward(&x.to_dtype(self.dtype)?)
    }

    /// `hidden_projection(x)`, `x [n, thinker_hidden]` -> `[n, hidden]`.
    pub fn hidden_projection(&self, x: &Tensor) -> Result<Tensor> {
        self.hidden_projection.forward(&x.to_dtype(self.dtype)?)
    }
}
