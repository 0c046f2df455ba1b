//! Text in and out: `tokenizer.json` loading, the ChatML prompt, special token
//! ids, and a streaming detokenizer that only ever emits whole UTF-8 characters.

pub mod audio;
pub mod chat;
pub mod detokenizer;
pub mod image;
pub mod special;
pub mod tokenizer;

pub use chat::{chatml, Message};
pub use detokenizer::StreamDecoder;
pub use special::SpecialTokens;
pub use tokenizer::TextTokenizer;
