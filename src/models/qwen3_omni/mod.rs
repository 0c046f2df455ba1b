//! Qwen3-Omni (`qwen3_omni_moe`): config and the thinker text decoder.

pub mod attention;
pub mod config;
pub mod layer;
pub mod moe;
pub mod positions;
pub mod thinker;
pub mod weights;

pub use config::{Qwen3OmniConfig, TextConfig, ThinkerConfig};
pub use thinker::{LoadOptions, Thinker, ThinkerTrace};
