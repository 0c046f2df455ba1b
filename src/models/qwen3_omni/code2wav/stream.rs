//! Streaming code2wav: frames arrive one at a time (as the talker produces
//! them); every `chunk` buffered frames are decoded together with up to
//! `left_context` earlier frames, exactly as [`Code2Wav::chunked_decode`] does,
//! so the concatenated output is bit-identical to it. Only the frames a later
//! chunk can still need as context are kept.

use std::sync::Arc;

use super::{check_chunk, check_code_values, Code2Wav};
use crate::error::{Error, Result};

/// Owns a handle to its model, so a request can keep it across steps.
pub struct Code2WavStream {
    model: Arc<Code2Wav>,
    chunk: usize,
    left_context: usize,
    /// Frame-major codes of frames `kept_from..pushed`.
    buffer: Vec<u32>,
    /// Absolute index of the first buffered frame.
    kept_from: usize,
    /// Absolute index of the first frame not yet decoded (start of the next chunk).
    next: usize,
    /// Frames pushed since the stream started (or since the last `finish`).
    pushed: usize,
}

impl Code2WavStream {
    pub(crate) fn new(model: Arc<Code2Wav>, chunk: usize, left_context: usize) -> Self {
        Code2WavStream {
            model,
            chunk,
            left_context,
            buffer: Vec::new(),
            kept_from: 0,
            next: 0,
            pushed: 0,
        }
    }

    /// Frames pushed and not yet decoded.
    pub fn pending_frames(&self) -> usize {
        self.pushed - self.next
    }

    /// Frames pushed so far in this utterance.
    pub fn frames_pushed(&self) -> usize {
        self.pushed
    }

    /// Append one frame (`num_quantizers` codes). Returns the samples of a
    /// chunk when this frame completes one. A bad frame is an error and leaves
    /// the stream unchanged.
    pub fn push(&mut self, frame: &[u32]) -> Result<Option<Vec<f32>>> {
        check_chunk(self.chunk)?;
        let q = self.model.num_quantizers();
        if frame.len() != q {
            return Err(Error::shape(
                "code2wav",
                format!(
                    "a frame has {} codes, the model has {q} quantizers",
                    frame.len()
                ),
            ));
        }
        check_code_values(frame, q, self.model.codebook_size(), self.pushed)?;
        self.buffer.extend_from_slice(frame);
        self.pushed += 1;
        if self.pending_frames() < self.chunk {
            return Ok(None);
        }
        self.decode_pending().map(Some)
    }

    /// Decode the frames still pending (a last, shorter chunk), if any, and end
    /// the utterance: the next `push` starts a new one (positions and context
    /// start afresh).
    pub fn finish(&mut self) -> Result<Option<Vec<f32>>> {
        check_chunk(self.chunk)?;
        let out = if self.pending_frames() > 0 {
            Some(self.decode_pending()?)
        } else {
            None
        };
        self.buffer.clear();
        self.kept_from = 0;
        self.next = 0;
        self.pushed = 0;
        Ok(out)
    }

    /// Decode `next..pushed` with its left context, then drop frames no later
    /// chunk can see.
    fn decode_pending(&mut self) -> Result<Vec<f32>> {
        let q = self.model.num_quantizers();
        let ctx = self.left_context.min(self.next);
        let from = self.next - ctx;
        debug_assert!(from >= self.kept_from);
        let window = &self.buffer[(from - self.kept_from) * q..];
        let frames = self.pushed - from;
        let samples = self.model.decode_window(window, frames, ctx)?;
        self.next = self.pushed;
        let keep_from = self.next - self.left_context.min(self.next);
        if keep_from > self.kept_from {
            self.buffer.drain(..(keep_from - self.kept_from) * q);
            self.kept_from = keep_from;
        }
        Ok(samples)
    }
}
