//! Inputs and outputs around the model: `tokenizer.json` loading, the ChatML
//! prompt, special token ids, a streaming detokenizer that only ever emits
//! whole UTF-8 characters, and the media preprocessors (images, audio, video)
//! with the request-level [`Media`] types.

pub mod audio;
pub mod chat;
pub mod detokenizer;
pub mod image;
pub mod media;
pub mod special;
pub mod tokenizer;
pub mod video;

pub use chat::{chatml, Message};
pub use detokenizer::StreamDecoder;
pub use media::{AudioSource, ImageSource, Media, MediaOptions};
pub use special::SpecialTokens;
pub use tokenizer::TextTokenizer;
