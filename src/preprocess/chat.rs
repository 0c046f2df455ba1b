//! The ChatML prompt of Qwen3-Omni (text only):
//! `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then
//! `<|im_start|>assistant\n`. No default system prompt is added.

/// One chat turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }
    pub fn system(content: impl Into<String>) -> Message {
        Message::new("system", content)
    }
    pub fn user(content: impl Into<String>) -> Message {
        Message::new("user", content)
    }
    pub fn assistant(content: impl Into<String>) -> Message {
        Message::new("assistant", content)
    }
}

/// The prompt text for `messages`, ending with the generation prompt.
/// Tokenizing it gives the same ids as `transformers`' `apply_chat_template`
/// (`add_generation_prompt=True`) followed by the tokenizer.
pub fn chatml(messages: &[Message]) -> String {
    let mut s = String::new();
    for m in messages {
        s.push_str("<|im_start|>");
        s.push_str(&m.role);
        s.push('\n');
        s.push_str(&m.content);
        s.push_str("<|im_end|>\n");
    }
    s.push_str("<|im_start|>assistant\n");
    s
}

/// `system` (optional) then `user`.
pub fn chatml_user(system: Option<&str>, user: &str) -> String {
    let mut msgs = Vec::with_capacity(2);
    if let Some(sys) = system {
        msgs.push(Message::system(sys));
    }
    msgs.push(Message::user(user));
    chatml(&msgs)
}
