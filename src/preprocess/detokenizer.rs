//! Incremental detokenization. A byte-level BPE token can end in the middle of
//! a multi-byte character, so decoding token by token would print U+FFFD.
//! We decode a short window (`prefix..` vs `prefix..read`) and only emit the
//! new text once it no longer ends in a replacement character.

use crate::error::Result;

use super::TextTokenizer;

/// Holds the ids of one stream; the tokenizer is passed to each call so the
/// decoder can live next to a shared tokenizer without borrowing it.
#[derive(Clone, Debug, Default)]
pub struct StreamDecoder {
    ids: Vec<u32>,
    /// Start of the window decoded for context (word-boundary spaces, etc.).
    prefix: usize,
    /// Tokens before this index have been emitted as text.
    read: usize,
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder::default()
    }

    /// Adds one token; returns the text it completes, if any.
    pub fn push(&mut self, tokenizer: &TextTokenizer, id: u32) -> Result<Option<String>> {
        self.ids.push(id);
        self.emit(tokenizer, false)
    }

    /// Whatever is still held back (an incomplete character at the very end).
    pub fn finish(&mut self, tokenizer: &TextTokenizer) -> Result<Option<String>> {
        self.emit(tokenizer, true)
    }

    fn emit(&mut self, tokenizer: &TextTokenizer, force: bool) -> Result<Option<String>> {
        if self.read >= self.ids.len() {
            return Ok(None);
        }
        let before = tokenizer.decode(&self.ids[self.prefix..self.read], true)?;
        let now = tokenizer.decode(&self.ids[self.prefix..], true)?;
        if now.len() <= before.len() || (!force && now.ends_with('\u{FFFD}')) {
            if force {
                self.read = self.ids.len();
            }
            return Ok(None);
        }
        // Decoders can rewrite the start of a window (prefix spaces); fall back
        // to the byte length when `before` is not literally a prefix.
        let delta = match now.strip_prefix(before.as_str()) {
            Some(rest) => rest.to_string(),
            None => match now.get(before.len()..) {
                Some(rest) => rest.to_string(),
                None => return Ok(None),
            },
        };
        self.prefix = self.read;
        self.read = self.ids.len();
        Ok(Some(delta))
    }
}
