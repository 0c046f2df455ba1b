//! `config.json` of a Qwen3-Omni checkpoint (`model_type: qwen3_omni_moe`).
//!
//! Absent keys take the values of the released `Qwen3-Omni-30B-A3B-Instruct`
//! config, not the Python class defaults (which are Qwen2.5-Omni leftovers).
//! `validate` checks the relations the model code relies on and names the bad
//! field in its error.

use serde::Deserialize;

use crate::error::{Error, Result};

/// A config section with every field at its serde default (the released
/// values): what deserializing `{}` gives. Only for structs whose fields all
/// carry `#[serde(default ...)]`; each such `Default` impl has a test.
pub(crate) fn released_defaults<T: serde::de::DeserializeOwned>() -> T {
    // Cannot fail for those structs: no field is required.
    serde_json::from_value(serde_json::json!({}))
        .expect("every field of a config section has a serde default")
}

fn bad(field: &str, detail: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("config.json: {field}: {detail}"))
}

macro_rules! defaults {
    ($($name:ident: $ty:ty = $value:expr;)*) => {
        $(fn $name() -> $ty { $value })*
    };
}

defaults! {
    d_true: bool = true;
    d_false: bool = false;
    d_vocab: usize = 152_064;
    d_hidden: usize = 2048;
    d_layers: usize = 48;
    d_heads: usize = 32;
    d_kv_heads: usize = 4;
    d_silu: String = "silu".into();
    d_eps6: f64 = 1e-6;
    d_experts: usize = 128;
    d_topk: usize = 8;
    d_moe_inter: usize = 768;
    d_one: usize = 1;
    d_theta: f64 = 1_000_000.0;
    d_max_pos: usize = 65_536;
    d_mrope: Vec<usize> = vec![24, 20, 20];
    d_pps: f64 = 13.0;
    d_audio_tok: u32 = 151_675;
    d_image_tok: u32 = 151_655;
    d_video_tok: u32 = 151_656;
    d_audio_start: u32 = 151_669;
    d_audio_end: u32 = 151_670;
    d_vision_start: u32 = 151_652;
    d_vision_end: u32 = 151_653;
    d_user_tok: u32 = 872;
    d_im_start: u32 = 151_644;
    d_im_end: u32 = 151_645;
    d_system_tok: u32 = 8948;
    d_assistant_tok: u32 = 77_091;
    d_tts_pad: u32 = 151_671;
    d_tts_bos: u32 = 151_672;
    d_tts_eos: u32 = 151_673;
}

/// Rotary settings as on the hub (`rope_scaling`) or as rewritten by
/// transformers v5 (`rope_parameters`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct RopeScaling {
    #[serde(default)]
    pub rope_type: Option<String>,
    #[serde(default = "d_mrope")]
    pub mrope_section: Vec<usize>,
    #[serde(default)]
    pub interleaved: Option<bool>,
    #[serde(default)]
    pub mrope_interleaved: Option<bool>,
    #[serde(default)]
    pub rope_theta: Option<f64>,
}

/// The thinker's (and, with other values, the talker's) MoE text decoder.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct TextConfig {
    #[serde(default = "d_vocab")]
    pub vocab_size: usize,
    #[serde(default = "d_hidden")]
    pub hidden_size: usize,
    #[serde(default = "d_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "d_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "d_kv_heads")]
    pub num_key_value_heads: usize,
    /// Explicit in the released config (128), not hidden/heads.
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "d_silu")]
    pub hidden_act: String,
    #[serde(default = "d_eps6")]
    pub rms_norm_eps: f64,
    #[serde(default = "d_experts", alias = "num_local_experts")]
    pub num_experts: usize,
    #[serde(default = "d_topk")]
    pub num_experts_per_tok: usize,
    #[serde(default = "d_moe_inter")]
    pub moe_intermediate_size: usize,
    #[serde(default = "d_moe_inter")]
    pub intermediate_size: usize,
    #[serde(default = "d_true")]
    pub norm_topk_prob: bool,
    #[serde(default = "d_one")]
    pub decoder_sparse_step: usize,
    #[serde(default)]
    pub mlp_only_layers: Vec<usize>,
    #[serde(default)]
    pub shared_expert_intermediate_size: usize,
    #[serde(default = "d_false")]
    pub attention_bias: bool,
    #[serde(default)]
    pub sliding_window: Option<usize>,
    #[serde(default)]
    pub rope_theta: Option<f64>,
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    #[serde(default)]
    pub rope_parameters: Option<RopeScaling>,
    #[serde(default = "d_max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default = "d_false")]
    pub tie_word_embeddings: bool,
}

impl TextConfig {
    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// rope theta from `rope_theta`, else `rope_parameters`/`rope_scaling`, else 1e6.
    pub fn rope_theta(&self) -> f64 {
        self.rope_theta
            .or_else(|| self.rope().and_then(|r| r.rope_theta))
            .unwrap_or_else(d_theta)
    }

    pub fn rope(&self) -> Option<&RopeScaling> {
        self.rope_parameters.as_ref().or(self.rope_scaling.as_ref())
    }

    /// `[t, h, w]` frequency-slot counts of the interleaved M-RoPE.
    pub fn mrope_section(&self) -> Vec<usize> {
        self.rope()
            .map(|r| r.mrope_section.clone())
            .unwrap_or_else(d_mrope)
    }

    /// Whether layer `i` uses the MoE block (else a dense MLP).
    pub fn is_moe_layer(&self, i: usize) -> bool {
        self.num_experts > 0
            && !self.mlp_only_layers.contains(&i)
            && (i + 1) % self.decoder_sparse_step.max(1) == 0
    }

    pub fn validate(&self, section: &str) -> Result<()> {
        let f = |name: &str| format!("{section}.{name}");
        for (name, v) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("head_dim", self.head_dim()),
            ("max_position_embeddings", self.max_position_embeddings),
        ] {
            if v == 0 {
                return Err(bad(&f(name), "must be positive"));
            }
        }
        if self.num_attention_heads % self.num_key_value_heads != 0 {
            return Err(bad(
                &f("num_key_value_heads"),
                format!(
                    "{} query heads are not a multiple of {} kv heads",
                    self.num_attention_heads, self.num_key_value_heads
                ),
            ));
        }
        if self.head_dim() % 2 != 0 {
            return Err(bad(&f("head_dim"), "must be even for rotary embeddings"));
        }
        if self.hidden_act != "silu" {
            return Err(bad(
                &f("hidden_act"),
                format!("'{}' is not supported (silu expected)", self.hidden_act),
            ));
        }
        if !(self.rms_norm_eps > 0.0 && self.rms_norm_eps.is_finite()) {
            return Err(bad(&f("rms_norm_eps"), "must be a positive number"));
        }
        if !(self.rope_theta() > 1.0 && self.rope_theta().is_finite()) {
            return Err(bad(&f("rope_theta"), "must be a number above 1"));
        }
        let section_sum: usize = self.mrope_section().iter().sum();
        if section_sum != self.head_dim() / 2 || self.mrope_section().len() != 3 {
            return Err(bad(
                &f("rope_scaling.mrope_section"),
                format!(
                    "{:?} must have 3 entries summing to head_dim/2 = {}",
                    self.mrope_section(),
                    self.head_dim() / 2
                ),
            ));
        }
        if self.num_experts > 0 {
            if self.num_experts_per_tok == 0 || self.num_experts_per_tok > self.num_experts {
                return Err(bad(
                    &f("num_experts_per_tok"),
                    format!("must be in 1..={}", self.num_experts),
                ));
            }
            if self.moe_intermediate_size == 0 {
                return Err(bad(&f("moe_intermediate_size"), "must be positive"));
            }
        }
        if self.attention_bias {
            return Err(bad(
                &f("attention_bias"),
                "attention biases are not supported",
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ThinkerConfig {
    #[serde(default)]
    pub text_config: Option<TextConfig>,
    #[serde(default)]
    pub audio_config: Option<serde_json::Value>,
    #[serde(default)]
    pub vision_config: Option<serde_json::Value>,
    #[serde(default = "d_audio_tok")]
    pub audio_token_id: u32,
    #[serde(default = "d_image_tok")]
    pub image_token_id: u32,
    #[serde(default = "d_video_tok")]
    pub video_token_id: u32,
    #[serde(default = "d_audio_start")]
    pub audio_start_token_id: u32,
    #[serde(default = "d_audio_end")]
    pub audio_end_token_id: u32,
    #[serde(default = "d_vision_start")]
    pub vision_start_token_id: u32,
    #[serde(default = "d_vision_end")]
    pub vision_end_token_id: u32,
    #[serde(default = "d_user_tok")]
    pub user_token_id: u32,
    #[serde(default = "d_pps")]
    pub position_id_per_seconds: f64,
}

/// The whole `config.json`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Qwen3OmniConfig {
    #[serde(default)]
    pub model_type: Option<String>,
    pub thinker_config: ThinkerConfig,
    #[serde(default)]
    pub talker_config: Option<serde_json::Value>,
    #[serde(default)]
    pub code2wav_config: Option<serde_json::Value>,
    #[serde(default = "d_true")]
    pub enable_audio_output: bool,
    #[serde(default = "d_im_start")]
    pub im_start_token_id: u32,
    #[serde(default = "d_im_end")]
    pub im_end_token_id: u32,
    #[serde(default = "d_system_tok")]
    pub system_token_id: u32,
    #[serde(default = "d_user_tok")]
    pub user_token_id: u32,
    #[serde(default = "d_assistant_tok")]
    pub assistant_token_id: u32,
    #[serde(default = "d_tts_pad")]
    pub tts_pad_token_id: u32,
    #[serde(default = "d_tts_bos")]
    pub tts_bos_token_id: u32,
    #[serde(default = "d_tts_eos")]
    pub tts_eos_token_id: u32,
}

/// Find the key of `obj` that makes `T` fail to parse, by parsing each key on
/// its own (every field has a default, so a lone key parses unless it is bad).
fn bad_key<T: serde::de::DeserializeOwned>(
    section: &str,
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Option<Error> {
    for (key, value) in obj {
        let mut one = serde_json::Map::new();
        one.insert(key.clone(), value.clone());
        if let Err(e) = serde_json::from_value::<T>(serde_json::Value::Object(one)) {
            // A struct with required fields fails on any lone key; only report
            // errors that are about this key's value.
            if !e.to_string().starts_with("missing field") {
                let field = if section.is_empty() {
                    key.clone()
                } else {
                    format!("{section}.{key}")
                };
                return Some(bad(&field, e));
            }
        }
    }
    None
}

impl Qwen3OmniConfig {
    /// Parse and validate a `config.json` text. Errors name the bad field.
    pub fn from_json_str(text: &str) -> Result<Qwen3OmniConfig> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::InvalidArgument(format!("config.json is not valid JSON: {e}")))?;
        let config: Qwen3OmniConfig = match serde_json::from_value(value.clone()) {
            Ok(c) => c,
            Err(e) => return Err(Self::explain(&value).unwrap_or_else(|| bad("(top level)", e))),
        };
        config.validate()?;
        Ok(config)
    }

    /// Read, parse and validate `path` (a `config.json`).
    pub fn from_file(path: &std::path::Path) -> Result<Qwen3OmniConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::InvalidArgument(format!("cannot read {}: {e}", path.display())))?;
        Self::from_json_str(&text)
    }

    /// Which field made the typed parse fail (serde_json alone does not say).
    fn explain(value: &serde_json::Value) -> Option<Error> {
        let top = value.as_object()?;
        let Some(thinker) = top.get("thinker_config") else {
            return Some(bad(
                "thinker_config",
                "missing (is this a qwen3_omni_moe config.json?)",
            ));
        };
        let Some(thinker) = thinker.as_object() else {
            return Some(bad("thinker_config", "must be an object"));
        };
        if let Some(text) = thinker.get("text_config") {
            let Some(text) = text.as_object() else {
                return Some(bad("thinker_config.text_config", "must be an object"));
            };
            if let Some(e) = bad_key::<TextConfig>("thinker_config.text_config", text) {
                return Some(e);
            }
        }
        bad_key::<ThinkerConfig>("thinker_config", thinker)
            .or_else(|| bad_key::<Qwen3OmniConfig>("", top))
    }

    /// The thinker's text decoder config.
    pub fn thinker_text(&self) -> Result<&TextConfig> {
        self.thinker_config
            .text_config
            .as_ref()
            .ok_or_else(|| bad("thinker_config.text_config", "missing"))
    }

    pub fn validate(&self) -> Result<()> {
        if let Some(t) = &self.model_type {
            if t != "qwen3_omni_moe" {
                return Err(bad(
                    "model_type",
                    format!("'{t}' is not a Qwen3-Omni checkpoint (qwen3_omni_moe expected)"),
                ));
            }
        }
        self.thinker_text()?.validate("thinker_config.text_config")
    }
}
