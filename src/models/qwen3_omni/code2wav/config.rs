//! `code2wav_config` (`qwen3_omni_moe_code2wav`, qwen3-omni.md §2.3).
//!
//! Parsed from the raw JSON value `Qwen3OmniConfig::code2wav_config` keeps, so
//! the shared config types stay untouched. Absent keys take the released
//! `Qwen3-Omni-30B-A3B-Instruct` values (not the Python class defaults). Keys
//! the decoder does not read (`codebook_dim`, `num_semantic_quantizers`,
//! `semantic_codebook_size`, `vector_quantization_hidden_dimension`,
//! `layer_scale_initial_scale`, ...) are ignored.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::models::qwen3_omni::Qwen3OmniConfig;

/// Output sample rate of the released codec (12.5 frames/s × 1920 samples).
pub const SAMPLE_RATE: u32 = 24_000;

fn bad(field: &str, detail: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("config.json: code2wav_config.{field}: {detail}"))
}

fn d_codebook() -> usize {
    2048
}
fn d_quantizers() -> usize {
    16
}
fn d_hidden() -> usize {
    1024
}
fn d_layers() -> usize {
    8
}
fn d_heads() -> usize {
    16
}
fn d_inter() -> usize {
    3072
}
fn d_act() -> String {
    "silu".into()
}
fn d_eps() -> f64 {
    1e-5
}
fn d_window() -> usize {
    72
}
fn d_decoder_dim() -> usize {
    1536
}
fn d_rates() -> Vec<usize> {
    vec![8, 5, 4, 3]
}
fn d_ratios() -> Vec<usize> {
    vec![2, 2]
}

/// Only the fields the decoder reads from `rope_parameters` / `rope_scaling`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Code2WavRope {
    #[serde(default)]
    pub rope_type: Option<String>,
    #[serde(default)]
    pub rope_theta: Option<f64>,
}

/// The code2wav decoder's hyper-parameters.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Code2WavConfig {
    /// Codes per quantizer (values `0..codebook_size`).
    #[serde(default = "d_codebook")]
    pub codebook_size: usize,
    /// Codebooks per frame (`Q`).
    #[serde(default = "d_quantizers")]
    pub num_quantizers: usize,
    #[serde(default = "d_hidden")]
    pub hidden_size: usize,
    #[serde(default = "d_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "d_heads")]
    pub num_attention_heads: usize,
    /// Defaults to `num_attention_heads`.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Defaults to `hidden_size / num_attention_heads`.
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "d_inter")]
    pub intermediate_size: usize,
    #[serde(default = "d_act")]
    pub hidden_act: String,
    #[serde(default = "d_eps")]
    pub rms_norm_eps: f64,
    #[serde(default)]
    pub rope_theta: Option<f64>,
    #[serde(default)]
    pub rope_parameters: Option<Code2WavRope>,
    #[serde(default)]
    pub rope_scaling: Option<Code2WavRope>,
    /// Query i attends to keys `i - sliding_window < j <= i`.
    #[serde(default = "d_window")]
    pub sliding_window: usize,
    #[serde(default)]
    pub attention_bias: bool,
    /// Channels of the first decoder conv; halved by every decoder block.
    #[serde(default = "d_decoder_dim")]
    pub decoder_dim: usize,
    /// Decoder block strides (`CausalTransConv` k = 2r, s = r).
    #[serde(default = "d_rates")]
    pub upsample_rates: Vec<usize>,
    /// Pre-decoder upsampler strides (`CausalTransConv` k = s = ratio + ConvNeXt).
    #[serde(default = "d_ratios")]
    pub upsampling_ratios: Vec<usize>,
}

impl Default for Code2WavConfig {
    fn default() -> Code2WavConfig {
        crate::models::qwen3_omni::config::released_defaults()
    }
}

impl Code2WavConfig {
    /// `code2wav_config` of `config` (released defaults when absent), validated.
    pub fn from_config(config: &Qwen3OmniConfig) -> Result<Code2WavConfig> {
        let value = config
            .code2wav_config
            .clone()
            .unwrap_or_else(|| serde_json::json!({}));
        let c: Code2WavConfig = serde_json::from_value(value)
            .map_err(|e| bad("(section)", format!("cannot parse: {e}")))?;
        c.validate()?;
        Ok(c)
    }

    pub fn num_kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or_else(|| self.hidden_size / self.num_attention_heads.max(1))
    }

    pub fn rope_theta(&self) -> f64 {
        self.rope_parameters
            .as_ref()
            .or(self.rope_scaling.as_ref())
            .and_then(|r| r.rope_theta)
            .or(self.rope_theta)
            .unwrap_or(10_000.0)
    }

    /// Channels after decoder block `i` (block 0 takes `decoder_dim`).
    pub fn decoder_channels(&self, i: usize) -> usize {
        self.decoder_dim >> i.min(usize::BITS as usize - 1)
    }

    /// Output samples per codec frame: the product of all strides (1920 released).
    pub fn samples_per_frame(&self) -> usize {
        self.upsampling_ratios
            .iter()
            .chain(&self.upsample_rates)
            .product()
    }

    /// Samples a decode of `frames` frames yields (`1920·T − 555` released):
    /// k = s upsamplers multiply the length, k = 2s decoder blocks give
    /// `(L − 1)·s`. `None` on overflow.
    pub fn output_len(&self, frames: usize) -> Option<usize> {
        let mut l = frames;
        for &s in &self.upsampling_ratios {
            l = l.checked_mul(s)?;
        }
        for &r in &self.upsample_rates {
            l = l.checked_sub(1)?.checked_mul(r)?;
        }
        Some(l)
    }

    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("codebook_size", self.codebook_size),
            ("num_quantizers", self.num_quantizers),
            ("hidden_size", self.hidden_size),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_kv_heads()),
            ("intermediate_size", self.intermediate_size),
            ("sliding_window", self.sliding_window),
            ("decoder_dim", self.decoder_dim),
        ];
        for (field, v) in positive {
            if v == 0 {
                return Err(bad(field, "must be positive"));
            }
        }
        self.codebook_size
            .checked_mul(self.num_quantizers)
            .filter(|&n| n <= u32::MAX as usize)
            .ok_or_else(|| {
                bad(
                    "codebook_size",
                    "codebook_size × num_quantizers overflows u32",
                )
            })?;
        if self.num_attention_heads % self.num_kv_heads() != 0 {
            return Err(bad(
                "num_key_value_heads",
                format!(
                    "{} query heads are not a multiple of {} kv heads",
                    self.num_attention_heads,
                    self.num_kv_heads()
                ),
            ));
        }
        let hd = self.head_dim();
        if hd == 0 || hd % 2 != 0 {
            return Err(bad("head_dim", format!("{hd} must be positive and even")));
        }
        if self.head_dim.is_none() && self.hidden_size % self.num_attention_heads != 0 {
            return Err(bad(
                "hidden_size",
                format!(
                    "{} is not a multiple of num_attention_heads {}",
                    self.hidden_size, self.num_attention_heads
                ),
            ));
        }
        if self.hidden_act != "silu" {
            return Err(bad(
                "hidden_act",
                format!("'{}' is not supported (only silu)", self.hidden_act),
            ));
        }
        if !(self.rms_norm_eps > 0.0 && self.rms_norm_eps.is_finite()) {
            return Err(bad("rms_norm_eps", "must be positive"));
        }
        if self.attention_bias {
            return Err(bad(
                "attention_bias",
                "true is not supported (the released decoder has no attention biases)",
            ));
        }
        for rope in [&self.rope_parameters, &self.rope_scaling]
            .into_iter()
            .flatten()
        {
            if let Some(t) = rope.rope_type.as_deref() {
                if t != "default" {
                    return Err(bad(
                        "rope_parameters.rope_type",
                        format!("'{t}' is not supported (only default)"),
                    ));
                }
            }
        }
        let theta = self.rope_theta();
        if !(theta > 0.0 && theta.is_finite()) {
            return Err(bad("rope_theta", "must be positive"));
        }
        if self.upsample_rates.is_empty() {
            return Err(bad("upsample_rates", "must not be empty"));
        }
        if self.upsample_rates.contains(&0) {
            return Err(bad("upsample_rates", "strides must be positive"));
        }
        if self.upsampling_ratios.contains(&0) {
            return Err(bad("upsampling_ratios", "strides must be positive"));
        }
        let blocks = self.upsample_rates.len();
        if blocks >= usize::BITS as usize || self.decoder_dim % (1usize << blocks) != 0 {
            return Err(bad(
                "decoder_dim",
                format!(
                    "{} must be divisible by 2^{blocks} (halved by each of the {blocks} decoder blocks)",
                    self.decoder_dim
                ),
            ));
        }
        self.upsample_rates
            .iter()
            .try_fold(1usize, |acc, &r| acc.checked_mul(r)?.checked_mul(2))
            .and_then(|_| {
                self.upsampling_ratios
                    .iter()
                    .chain(&self.upsample_rates)
                    .try_fold(1usize, |acc, &r| acc.checked_mul(r))
            })
            .ok_or_else(|| bad("upsample_rates", "the total upsampling overflows"))?;
        Ok(())
    }
}
