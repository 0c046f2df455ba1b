//! Special token ids, taken from the model's `config.json` (the tiny test
//! model renumbers them, so they are never hard-coded).

use crate::models::qwen3_omni::Qwen3OmniConfig;

use super::TextTokenizer;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecialTokens {
    pub im_start: u32,
    pub im_end: u32,
    pub endoftext: u32,
}

impl SpecialTokens {
    /// From the config. `config.json` has no `<|endoftext|>` id; Qwen's special
    /// block puts it right before `<|im_start|>` (151643/151644, tiny 960/961).
    pub fn from_config(config: &Qwen3OmniConfig) -> SpecialTokens {
        SpecialTokens {
            im_start: config.im_start_token_id,
            im_end: config.im_end_token_id,
            endoftext: config.im_start_token_id.saturating_sub(1),
        }
    }

    /// Takes `<|endoftext|>` from the tokenizer when it has one.
    pub fn with_tokenizer(mut self, tokenizer: &TextTokenizer) -> SpecialTokens {
        if let Some(id) = tokenizer.token_to_id("<|endoftext|>") {
            self.endoftext = id;
        }
        self
    }

    /// Ids that end a reply: `<|im_end|>` and `<|endoftext|>`.
    pub fn stop_ids(&self) -> Vec<u32> {
        vec![self.im_end, self.endoftext]
    }
}
