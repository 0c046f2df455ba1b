//! Qwen3-Omni (`qwen3_omni_moe`): config, the thinker decoder, its vision and
//! audio encoders, and the multimodal prompt layout.

pub mod attention;
pub mod audio_encoder;
pub mod code2wav;
pub mod config;
pub mod layer;
pub mod moe;
pub mod multimodal;
pub mod multimodal_thinker;
pub mod positions;
pub mod speech;
pub mod talker;
pub mod thinker;
pub mod vision;
pub mod weights;

pub use audio_encoder::{AudioConfig, AudioEncoder};
pub use code2wav::{Code2Wav, Code2WavStream};
pub use config::{Qwen3OmniConfig, TextConfig, ThinkerConfig};
pub use multimodal_thinker::{MultimodalThinker, PreparedPrompt};
pub use speech::{SpeechModel, SpeechOptions, SpeechRun};
pub use talker::{CodecSampling, Talker, TalkerInput, TalkerOptions, TalkerPrompt, TalkerSession};
pub use thinker::{LoadOptions, Thinker, ThinkerTrace};
