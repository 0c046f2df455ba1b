//! `thinker_config.vision_config` (`qwen3_omni_moe_vision_encoder`).
//!
//! Parsed from the raw JSON value `ThinkerConfig::vision_config` keeps, so the
//! shared config types stay untouched. Absent keys take the released
//! `Qwen3-Omni-30B-A3B-Instruct` values (not the Python class defaults, whose
//! `out_hidden_size` is 3584). Keys the encoder does not read
//! (`apply_vit_abs_pos_embed`, `image_size`, `in_chans`, ...) are ignored.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::models::qwen3_omni::ThinkerConfig;

fn bad(field: &str, detail: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!(
        "config.json: thinker_config.vision_config.{field}: {detail}"
    ))
}

fn d_depth() -> usize {
    27
}
fn d_hidden() -> usize {
    1152
}
fn d_heads() -> usize {
    16
}
fn d_inter() -> usize {
    4304
}
fn d_act() -> String {
    "gelu_pytorch_tanh".into()
}
fn d_in_channels() -> usize {
    3
}
fn d_patch() -> usize {
    16
}
fn d_temporal() -> usize {
    2
}
fn d_merge() -> usize {
    2
}
fn d_out_hidden() -> usize {
    2048
}
fn d_num_pos() -> usize {
    2304
}
fn d_deepstack() -> Vec<usize> {
    vec![8, 16, 24]
}

/// Only the field the encoder reads from `rope_parameters` / `rope_scaling`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct VisionRope {
    #[serde(default)]
    pub rope_theta: Option<f64>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct VisionConfig {
    #[serde(default = "d_depth", alias = "num_hidden_layers")]
    pub depth: usize,
    #[serde(default = "d_hidden")]
    pub hidden_size: usize,
    #[serde(default = "d_heads", alias = "num_attention_heads")]
    pub num_heads: usize,
    #[serde(default = "d_inter")]
    pub intermediate_size: usize,
    #[serde(default = "d_act")]
    pub hidden_act: String,
    #[serde(default = "d_in_channels")]
    pub in_channels: usize,
    #[serde(default = "d_patch")]
    pub patch_size: usize,
    #[serde(default = "d_temporal")]
    pub temporal_patch_size: usize,
    #[serde(default = "d_merge")]
    pub spatial_merge_size: usize,
    #[serde(default = "d_out_hidden")]
    pub out_hidden_size: usize,
    #[serde(default = "d_num_pos")]
    pub num_position_embeddings: usize,
    #[serde(default = "d_deepstack")]
    pub deepstack_visual_indexes: Vec<usize>,
    #[serde(default)]
    pub rope_parameters: Option<VisionRope>,
    #[serde(default)]
    pub rope_theta: Option<f64>,
}

impl Default for VisionConfig {
    fn default() -> VisionConfig {
        crate::models::qwen3_omni::config::released_defaults()
    }
}

impl VisionConfig {
    /// Parse and validate `thinker_config.vision_config` (absent: the released values).
    pub fn from_thinker(thinker: &ThinkerConfig) -> Result<VisionConfig> {
        let config = match &thinker.vision_config {
            None => VisionConfig::default(),
            Some(v) => VisionConfig::from_value(v)?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Parse (without validating) a `vision_config` JSON object.
    pub fn from_value(value: &serde_json::Value) -> Result<VisionConfig> {
        serde_json::from_value(value.clone()).map_err(|e| {
            // Name the bad key: parse each key alone (every field has a default).
            if let Some(obj) = value.as_object() {
                for (k, v) in obj {
                    let one = serde_json::json!({ k.clone(): v.clone() });
                    if let Err(e) = serde_json::from_value::<VisionConfig>(one) {
                        return bad(k, e);
                    }
                }
            }
            bad("(object)", e)
        })
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_heads.max(1)
    }

    /// Values in one flattened patch row: `in_channels · temporal · patch²`.
    pub fn patch_dim(&self) -> usize {
        self.in_channels * self.temporal_patch_size * self.patch_size * self.patch_size
    }

    /// Patches merged into one output token (`spatial_merge_size²`).
    pub fn merge_unit(&self) -> usize {
        self.spatial_merge_size * self.spatial_merge_size
    }

    /// Side of the learned square position grid (`sqrt(num_position_embeddings)`).
    pub fn pos_grid_side(&self) -> usize {
        let n = self.num_position_embeddings;
        let mut s = (n as f64).sqrt() as usize;
        while s * s > n {
            s -= 1;
        }
        while (s + 1) * (s + 1) <= n {
            s += 1;
        }
        s
    }

    /// Vision rotary base: `rope_theta`, else `rope_parameters.rope_theta`, else 10000.
    pub fn rope_theta(&self) -> f64 {
        self.rope_theta
            .or_else(|| self.rope_parameters.as_ref().and_then(|r| r.rope_theta))
            .unwrap_or(10_000.0)
    }

    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("depth", self.depth),
            ("hidden_size", self.hidden_size),
            ("num_heads", self.num_heads),
            ("intermediate_size", self.intermediate_size),
            ("in_channels", self.in_channels),
            ("patch_size", self.patch_size),
            ("temporal_patch_size", self.temporal_patch_size),
            ("spatial_merge_size", self.spatial_merge_size),
            ("out_hidden_size", self.out_hidden_size),
            ("num_position_embeddings", self.num_position_embeddings),
        ] {
            if v == 0 {
                return Err(bad(name, "must be positive"));
            }
        }
        if self.hidden_size % self.num_heads != 0 {
            return Err(bad(
                "num_heads",
                format!(
                    "hidden_size {} is not a multiple of {} heads",
                    self.hidden_size, self.num_heads
                ),
            ));
        }
        if self.head_dim() % 4 != 0 {
            return Err(bad(
                "hidden_size",
                format!(
                    "head_dim {} must be a multiple of 4 for the 2-D rotary embedding",
                    self.head_dim()
                ),
            ));
        }
        let side = self.pos_grid_side();
        if side * side != self.num_position_embeddings {
            return Err(bad(
                "num_position_embeddings",
                format!("{} is not a square", self.num_position_embeddings),
            ));
        }
        if !matches!(
            self.hidden_act.as_str(),
            "gelu_pytorch_tanh" | "gelu_tanh" | "gelu_new"
        ) {
            return Err(bad(
                "hidden_act",
                format!(
                    "'{}' is not supported (gelu_pytorch_tanh expected)",
                    self.hidden_act
                ),
            ));
        }
        for (k, &i) in self.deepstack_visual_indexes.iter().enumerate() {
            if i >= self.depth {
                return Err(bad(
                    "deepstack_visual_indexes",
                    format!(
                        "entry {k} = {i} is not a block index (depth {})",
                        self.depth
                    ),
                ));
            }
            if self.deepstack_visual_indexes[..k].contains(&i) {
                return Err(bad(
                    "deepstack_visual_indexes",
                    format!("block {i} is listed twice"),
                ));
            }
        }
        let theta = self.rope_theta();
        if !(theta > 1.0 && theta.is_finite()) {
            return Err(bad("rope_theta", "must be a number above 1"));
        }
        Ok(())
    }
}
