//! Qwen3-Omni (`qwen3_omni_moe`): config and the thinker text decoder.

pub mod attention;
pub mod audio_encoder;
pub mod config;
pub mod layer;
pub mod moe;
pub mod multimodal;
pub mod positions;
pub mod thinker;
pub mod vision;
pub mod weights;

pub use audio_encoder::{AudioConfig, AudioEncoder};
pub use config::{Qwen3OmniConfig, TextConfig, ThinkerConfig};
pub use thinker::{LoadOptions, Thinker, ThinkerTrace};
