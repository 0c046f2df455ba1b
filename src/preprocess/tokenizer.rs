//! A thin wrapper over the `tokenizers` crate (pure Rust: fancy-regex, no
//! oniguruma), mapping its errors to the crate's `Error` with a next step.

use std::path::Path;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A `tokenizer.json` tokenizer (Qwen2 byte-level BPE, or the tiny word-level stub).
#[derive(Clone)]
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("vocab_size", &self.vocab_size())
            .finish()
    }
}

fn tok_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("tokenizer: {what}: {e}"))
}

impl TextTokenizer {
    /// Loads `dir/tokenizer.json`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<TextTokenizer> {
        Self::from_file(dir.as_ref().join("tokenizer.json"))
    }

    pub fn from_file(path: impl AsRef<Path>) -> Result<TextTokenizer> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::InvalidArgument(format!(
                "cannot read {}: {e} (the model directory needs the checkpoint's tokenizer.json)",
                path.display()
            ))
        })?;
        Self::from_json(&text).map_err(|e| match e {
            Error::InvalidArgument(m) => Error::InvalidArgument(format!("{}: {m}", path.display())),
            e => e,
        })
    }

    /// Parses the contents of a `tokenizer.json`.
    pub fn from_json(json: &str) -> Result<TextTokenizer> {
        let inner = tokenizers::Tokenizer::from_str(json)
            .map_err(|e| tok_err("not a valid tokenizer.json", e))?;
        Ok(TextTokenizer { inner })
    }

    pub fn from_tokenizer(inner: tokenizers::Tokenizer) -> TextTokenizer {
        TextTokenizer { inner }
    }

    /// Token ids of `text`. Special tokens written in the text (`<|im_start|>`)
    /// become their ids, as with `transformers` after `apply_chat_template`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| tok_err("encode", e))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids`; `skip_special` drops special tokens (`<|im_end|>`, ...).
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.inner
            .decode(ids, skip_special)
            .map_err(|e| tok_err("decode", e))
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}
