//! `thinker_config.audio_config` (`qwen3_omni_moe_audio_encoder`).
//!
//! Absent keys take the released `Qwen3-Omni-30B-A3B-Instruct` values
//! (qwen3-omni.md §2.1). `validate` checks what the encoder relies on and names
//! the bad field.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::models::qwen3_omni::Qwen3OmniConfig;

fn bad(field: &str, detail: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!(
        "config.json: thinker_config.audio_config.{field}: {detail}"
    ))
}

fn d_mel() -> usize {
    128
}
fn d_model() -> usize {
    1280
}
fn d_layers() -> usize {
    32
}
fn d_heads() -> usize {
    20
}
fn d_ffn() -> usize {
    5120
}
fn d_act() -> String {
    "gelu".into()
}
fn d_ds_hidden() -> usize {
    480
}
fn d_output() -> usize {
    2048
}
fn d_n_window() -> usize {
    50
}
fn d_n_window_infer() -> usize {
    800
}
fn d_conv_chunksize() -> usize {
    500
}
fn d_max_source_positions() -> usize {
    1500
}

/// The AuT audio encoder's hyper-parameters.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct AudioConfig {
    #[serde(default = "d_mel")]
    pub num_mel_bins: usize,
    #[serde(default = "d_model")]
    pub d_model: usize,
    #[serde(default = "d_layers")]
    pub encoder_layers: usize,
    #[serde(default = "d_heads")]
    pub encoder_attention_heads: usize,
    #[serde(default = "d_ffn")]
    pub encoder_ffn_dim: usize,
    /// `gelu` (exact erf) in the released model; `gelu_pytorch_tanh` / `gelu_new`
    /// are accepted as the tanh approximation.
    #[serde(default = "d_act")]
    pub activation_function: String,
    /// Channels of the three stride-2 conv2d layers.
    #[serde(default = "d_ds_hidden")]
    pub downsample_hidden_size: usize,
    #[serde(default = "d_output")]
    pub output_dim: usize,
    /// Chunks are `2·n_window` mel frames (1 s).
    #[serde(default = "d_n_window")]
    pub n_window: usize,
    /// Attention windows cover `n_window_infer / (2·n_window)` chunks.
    #[serde(default = "d_n_window_infer")]
    pub n_window_infer: usize,
    /// Chunks per conv batch in the reference (memory only; no numeric effect).
    #[serde(default = "d_conv_chunksize")]
    pub conv_chunksize: usize,
    /// Length of the sinusoid table (positions restart every chunk, so only
    /// the first post-CNN chunk length of it is used).
    #[serde(default = "d_max_source_positions")]
    pub max_source_positions: usize,
    /// Read by the reference but never applied in its forward.
    #[serde(default)]
    pub scale_embedding: bool,
}

impl Default for AudioConfig {
    fn default() -> AudioConfig {
        crate::models::qwen3_omni::config::released_defaults()
    }
}

/// `ceil(x / 2)`: the output length of a kernel-3, stride-2, padding-1 conv.
pub(crate) fn half_up(x: usize) -> usize {
    x.div_ceil(2)
}

impl AudioConfig {
    /// `thinker_config.audio_config` of `config` (released defaults when absent), validated.
    pub fn from_config(config: &Qwen3OmniConfig) -> Result<AudioConfig> {
        let value = config
            .thinker_config
            .audio_config
            .clone()
            .unwrap_or_else(|| serde_json::json!({}));
        let audio: AudioConfig = serde_json::from_value(value)
            .map_err(|e| bad("(section)", format!("cannot parse: {e}")))?;
        audio.validate()?;
        Ok(audio)
    }

    pub fn head_dim(&self) -> usize {
        self.d_model / self.encoder_attention_heads.max(1)
    }

    /// Frames per chunk (`2·n_window`, 100).
    pub fn chunk_frames(&self) -> usize {
        2 * self.n_window
    }

    /// Frequency rows left after the three stride-2 convs (128 -> 16).
    pub fn freq_after_convs(&self) -> usize {
        half_up(half_up(half_up(self.num_mel_bins)))
    }

    /// `conv_out` input width: channels × frequency rows (480·16 = 7680).
    pub fn conv_out_in(&self) -> usize {
        self.downsample_hidden_size * self.freq_after_convs()
    }

    /// Chunks per attention window (`n_window_infer / (2·n_window)`, 8).
    pub fn chunks_per_window(&self) -> usize {
        self.n_window_infer / self.chunk_frames().max(1)
    }

    /// Whether the activation is the tanh approximation of GELU.
    pub fn gelu_is_tanh(&self) -> bool {
        matches!(
            self.activation_function.as_str(),
            "gelu_pytorch_tanh" | "gelu_new"
        )
    }

    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("num_mel_bins", self.num_mel_bins),
            ("d_model", self.d_model),
            ("encoder_attention_heads", self.encoder_attention_heads),
            ("encoder_ffn_dim", self.encoder_ffn_dim),
            ("downsample_hidden_size", self.downsample_hidden_size),
            ("output_dim", self.output_dim),
            ("n_window", self.n_window),
            ("conv_chunksize", self.conv_chunksize),
        ] {
            if v == 0 {
                return Err(bad(name, "must be positive"));
            }
        }
        if self.d_model % self.encoder_attention_heads != 0 {
            return Err(bad(
                "encoder_attention_heads",
                format!(
                    "d_model {} is not a multiple of {} heads",
                    self.d_model, self.encoder_attention_heads
                ),
            ));
        }
        if self.d_model % 2 != 0 {
            return Err(bad("d_model", "must be even (sin/cos position halves)"));
        }
        if self.n_window_infer < self.chunk_frames() {
            return Err(bad(
                "n_window_infer",
                format!(
                    "{} is shorter than one chunk of 2·n_window = {} frames",
                    self.n_window_infer,
                    self.chunk_frames()
                ),
            ));
        }
        if !matches!(
            self.activation_function.as_str(),
            "gelu" | "gelu_pytorch_tanh" | "gelu_new"
        ) {
            return Err(bad(
                "activation_function",
                format!(
                    "'{}' is not supported (gelu expected)",
                    self.activation_function
                ),
            ));
        }
        let post_chunk = half_up(half_up(half_up(self.chunk_frames())));
        if post_chunk > self.max_source_positions {
            return Err(bad(
                "max_source_positions",
                format!(
                    "{} is below the {post_chunk} positions of one chunk",
                    self.max_source_positions
                ),
            ));
        }
        Ok(())
    }
}
