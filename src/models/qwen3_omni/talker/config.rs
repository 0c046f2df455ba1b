//! `talker_config` of a Qwen3-Omni `config.json` (qwen3-omni.md §2.2).
//!
//! Absent keys take the released `Qwen3-Omni-30B-A3B-Instruct` values, not the
//! Python class defaults (Qwen2.5-Omni leftovers, §11.1).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::models::qwen3_omni::multimodal::{MultimodalSpec, MultimodalTokens};
use crate::models::qwen3_omni::{Qwen3OmniConfig, TextConfig};

fn bad(field: &str, detail: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("config.json: talker_config.{field}: {detail}"))
}

macro_rules! defaults {
    ($($name:ident: $ty:ty = $value:expr;)*) => {
        $(fn $name() -> $ty { $value })*
    };
}

defaults! {
    d_accept: usize = 24;
    d_thinker_hidden: usize = 2048;
    d_groups: usize = 16;
    d_pad: u32 = 2148;
    d_bos: u32 = 2149;
    d_eos: u32 = 2150;
    d_nothink: u32 = 2155;
    d_think_bos: u32 = 2156;
    d_think_eos: u32 = 2157;
    d_audio_tok: u32 = 151_675;
    d_image_tok: u32 = 151_655;
    d_video_tok: u32 = 151_656;
    d_vision_start: u32 = 151_652;
    d_audio_start: u32 = 151_669;
    d_audio_end: u32 = 151_670;
    d_pps: f64 = 13.0;
    d_merge: usize = 2;
    d_cp_vocab: usize = 2048;
    d_cp_hidden: usize = 1024;
    d_cp_layers: usize = 5;
    d_cp_heads: usize = 16;
    d_cp_kv: usize = 8;
    d_cp_inter: usize = 3072;
    d_eps: f64 = 1e-6;
    d_theta: f64 = 1_000_000.0;
    d_cp_max_pos: usize = 32_768;
    d_silu: String = "silu".into();
}

fn d_speakers() -> BTreeMap<String, u32> {
    [("chelsie", 2301), ("ethan", 2302), ("aiden", 2303)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// `talker_config.code_predictor_config`: a dense Qwen3 decoder with plain 1-D RoPE.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CodePredictorConfig {
    #[serde(default = "d_cp_vocab")]
    pub vocab_size: usize,
    #[serde(default = "d_cp_hidden")]
    pub hidden_size: usize,
    #[serde(default = "d_cp_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "d_cp_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "d_cp_kv")]
    pub num_key_value_heads: usize,
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "d_cp_inter")]
    pub intermediate_size: usize,
    #[serde(default = "d_eps")]
    pub rms_norm_eps: f64,
    #[serde(default)]
    pub rope_theta: Option<f64>,
    #[serde(default)]
    pub rope_parameters: Option<serde_json::Value>,
    #[serde(default = "d_cp_max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub num_code_groups: Option<usize>,
    #[serde(default = "d_silu")]
    pub hidden_act: String,
    #[serde(default)]
    pub attention_bias: bool,
}

impl CodePredictorConfig {
    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    pub fn rope_theta(&self) -> f64 {
        self.rope_theta
            .or_else(|| {
                self.rope_parameters
                    .as_ref()
                    .and_then(|p| p.get("rope_theta"))
                    .and_then(|v| v.as_f64())
            })
            .unwrap_or_else(d_theta)
    }
}

/// The whole `talker_config`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct TalkerConfig {
    #[serde(default)]
    pub text_config: Option<TextConfig>,
    #[serde(default)]
    pub code_predictor_config: Option<CodePredictorConfig>,
    #[serde(default = "d_accept")]
    pub accept_hidden_layer: usize,
    #[serde(default = "d_thinker_hidden")]
    pub thinker_hidden_size: usize,
    #[serde(default = "d_groups")]
    pub num_code_groups: usize,
    #[serde(default = "d_pad")]
    pub codec_pad_id: u32,
    #[serde(default = "d_bos")]
    pub codec_bos_id: u32,
    #[serde(default = "d_eos")]
    pub codec_eos_token_id: u32,
    #[serde(default = "d_nothink")]
    pub codec_nothink_id: u32,
    #[serde(default = "d_think_bos")]
    pub codec_think_bos_id: u32,
    #[serde(default = "d_think_eos")]
    pub codec_think_eos_id: u32,
    #[serde(default = "d_speakers")]
    pub speaker_id: BTreeMap<String, u32>,
    #[serde(default = "d_audio_tok")]
    pub audio_token_id: u32,
    #[serde(default = "d_image_tok")]
    pub image_token_id: u32,
    #[serde(default = "d_video_tok")]
    pub video_token_id: u32,
    #[serde(default = "d_vision_start")]
    pub vision_start_token_id: u32,
    #[serde(default = "d_audio_start")]
    pub audio_start_token_id: u32,
    #[serde(default = "d_audio_end")]
    pub audio_end_token_id: u32,
    #[serde(default = "d_pps")]
    pub position_id_per_seconds: f64,
    #[serde(default = "d_merge")]
    pub spatial_merge_size: usize,
}

impl TalkerConfig {
    /// Parse `config.talker_config` (error if absent or audio output is disabled).
    pub fn from_config(config: &Qwen3OmniConfig) -> Result<TalkerConfig> {
        let Some(value) = &config.talker_config else {
            return Err(Error::InvalidArgument(
                "config.json has no talker_config: this checkpoint cannot produce speech \
                 (a Thinking/Captioner model?)"
                    .into(),
            ));
        };
        let talker: TalkerConfig = serde_json::from_value(value.clone())
            .map_err(|e| Error::InvalidArgument(format!("config.json: talker_config: {e}")))?;
        talker.validate()?;
        Ok(talker)
    }

    pub fn text(&self) -> Result<&TextConfig> {
        self.text_config
            .as_ref()
            .ok_or_else(|| bad("text_config", "missing"))
    }

    pub fn predictor(&self) -> Result<&CodePredictorConfig> {
        self.code_predictor_config
            .as_ref()
            .ok_or_else(|| bad("code_predictor_config", "missing"))
    }

    pub fn validate(&self) -> Result<()> {
        let text = self.text()?;
        text.validate("talker_config.text_config")?;
        if text.num_experts == 0 {
            return Err(bad("text_config.num_experts", "must be positive"));
        }
        if text.shared_expert_intermediate_size == 0 {
            return Err(bad(
                "text_config.shared_expert_intermediate_size",
                "must be positive",
            ));
        }
        if self.num_code_groups < 2 {
            return Err(bad("num_code_groups", "must be at least 2"));
        }
        if self.thinker_hidden_size == 0 {
            return Err(bad("thinker_hidden_size", "must be positive"));
        }
        let p = self.predictor()?;
        for (name, v) in [
            ("vocab_size", p.vocab_size),
            ("hidden_size", p.hidden_size),
            ("num_hidden_layers", p.num_hidden_layers),
            ("num_attention_heads", p.num_attention_heads),
            ("num_key_value_heads", p.num_key_value_heads),
            ("head_dim", p.head_dim()),
            ("intermediate_size", p.intermediate_size),
        ] {
            if v == 0 {
                return Err(bad(
                    &format!("code_predictor_config.{name}"),
                    "must be positive",
                ));
            }
        }
        if p.num_attention_heads % p.num_key_value_heads != 0 || p.head_dim() % 2 != 0 {
            return Err(bad(
                "code_predictor_config",
                "heads must be a multiple of kv heads and head_dim even",
            ));
        }
        if p.hidden_size != text.hidden_size {
            return Err(bad(
                "code_predictor_config.hidden_size",
                format!(
                    "{} differs from the talker's hidden size {}",
                    p.hidden_size, text.hidden_size
                ),
            ));
        }
        if p.hidden_act != "silu" || p.attention_bias {
            return Err(bad(
                "code_predictor_config",
                "only silu and bias-free attention are supported",
            ));
        }
        if let Some(g) = p.num_code_groups {
            if g != self.num_code_groups {
                return Err(bad(
                    "code_predictor_config.num_code_groups",
                    format!(
                        "{g} differs from talker_config.num_code_groups {}",
                        self.num_code_groups
                    ),
                ));
            }
        }
        let vocab = text.vocab_size as u32;
        for (name, id) in [
            ("codec_pad_id", self.codec_pad_id),
            ("codec_bos_id", self.codec_bos_id),
            ("codec_eos_token_id", self.codec_eos_token_id),
            ("codec_nothink_id", self.codec_nothink_id),
            ("codec_think_bos_id", self.codec_think_bos_id),
            ("codec_think_eos_id", self.codec_think_eos_id),
        ]
        .into_iter()
        .chain(self.speaker_id.iter().map(|(k, &v)| (k.as_str(), v)))
        {
            if id >= vocab {
                return Err(bad(
                    name,
                    format!("id {id} is outside the codec vocabulary of {vocab}"),
                ));
            }
        }
        if self.spatial_merge_size == 0 || !self.position_id_per_seconds.is_finite() {
            return Err(bad(
                "spatial_merge_size",
                "spatial_merge_size / position_id_per_seconds out of range",
            ));
        }
        Ok(())
    }

    /// The token ids / constants of the talker's `get_rope_index` (its own
    /// config values; `vision_end` is not in talker_config and comes from the thinker).
    pub fn multimodal_spec(&self, config: &Qwen3OmniConfig) -> MultimodalSpec {
        let thinker = MultimodalTokens::from_thinker(&config.thinker_config);
        MultimodalSpec {
            tokens: MultimodalTokens {
                image_pad: self.image_token_id,
                video_pad: self.video_token_id,
                audio_pad: self.audio_token_id,
                vision_start: self.vision_start_token_id,
                vision_end: thinker.vision_end,
                audio_start: self.audio_start_token_id,
                audio_end: self.audio_end_token_id,
            },
            spatial_merge_size: self.spatial_merge_size,
            position_id_per_seconds: self.position_id_per_seconds,
        }
    }
}
