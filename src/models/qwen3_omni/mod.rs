//! Qwen3-Omni (`qwen3_omni_moe`): config and the thinker text decoder.

pub mod config;

pub use config::{Qwen3OmniConfig, TextConfig, ThinkerConfig};
