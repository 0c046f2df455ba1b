//! Serving: sampling, the generation loop, admission against a KV budget,
//! and teacher-forced scoring, on any [`CausalLm`](crate::models::CausalLm).
//!
//! ```text
//! Engine::generate(request) -> GenerationStream (Iterator<Item = Result<Event>>)
//!   admission (ids, context, budget) -> chunked prefill -> decode until stop/length/cancel
//! ```

mod admission;
pub mod request;
pub mod sampling;
pub mod score;
pub mod serving;
pub mod stream;

pub use request::{Event, FinishReason, GenerateRequest, Prompt};
pub use sampling::{Sampler, SamplingParams};
pub use score::{ScoreOptions, ScoreResult};
pub use serving::{Engine, EngineConfig, KvSpec};
pub use stream::{CancelHandle, GenerationStream};
