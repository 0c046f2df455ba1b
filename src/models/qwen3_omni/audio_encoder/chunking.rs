//! How clips of mel frames become CNN chunks, post-CNN tokens and attention
//! windows (qwen3-omni.md §7.2, §7.3 steps 4–5, §7.4).
//!
//! Every clip is cut into chunks of `2·n_window` frames (the last one keeps the
//! remainder, or a full chunk when the length divides evenly). All chunks of
//! the batch are right-padded with zeros to the longest chunk and run through
//! the CNN together; only the first `conv_out_len(chunk)` outputs of each chunk
//! are kept. Attention windows are `max_post_cnn_chunk · n_window_infer /
//! (2·n_window)` tokens per clip plus a remainder window, never across clips.

use super::config::half_up;
use crate::error::{Error, Result};

/// Valid outputs of the three stride-2 convs for a chunk of `frames` frames
/// (`f(c)` of §7.3: 13 for 100 frames, 0 for 0).
pub fn conv_out_len(frames: usize) -> usize {
    half_up(half_up(half_up(frames)))
}

/// Audio tokens of a clip of `t_mel` frames with the released `n_window = 50`
/// (qwen3-omni.md §7.4): `13·(t_mel / 100) + f(t_mel % 100)`. This is the
/// number of `<|audio_pad|>` tokens the processor inserts.
pub fn audio_token_count(t_mel: usize) -> usize {
    audio_token_count_for(t_mel, 50)
}

/// [`audio_token_count`] for another `n_window` (chunks of `2·n_window` frames).
pub fn audio_token_count_for(t_mel: usize, n_window: usize) -> usize {
    let chunk = 2 * n_window;
    if chunk == 0 {
        return 0;
    }
    conv_out_len(chunk) * (t_mel / chunk) + conv_out_len(t_mel % chunk)
}

/// The chunk / token / window layout of a batch of clips.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Mel frames per clip.
    pub clip_frames: Vec<usize>,
    /// Frames of every chunk (all clips, in order) before padding.
    pub chunk_frames: Vec<usize>,
    /// Chunks per clip.
    pub clip_chunks: Vec<usize>,
    /// Width every chunk is zero-padded to (the longest chunk).
    pub padded_frames: usize,
    /// Post-CNN length of a padded chunk (`conv_out_len(padded_frames)`).
    pub padded_tokens: usize,
    /// Valid post-CNN tokens per chunk.
    pub chunk_tokens: Vec<usize>,
    /// Tokens per clip (each equals [`audio_token_count_for`] of its frames).
    pub clip_tokens: Vec<usize>,
    /// Attention window length in tokens.
    pub window_tokens: usize,
    /// Window boundaries over the concatenated tokens of all clips
    /// (starts with 0, ends with the total token count).
    pub cu_seqlens: Vec<usize>,
}

impl ChunkPlan {
    /// Plan for clips of `clip_frames` mel frames; `n_window` and
    /// `n_window_infer` as in the audio config. Every clip needs >= 1 frame.
    pub fn new(clip_frames: &[usize], n_window: usize, n_window_infer: usize) -> Result<ChunkPlan> {
        let chunk = 2 * n_window;
        if chunk == 0 || n_window_infer < chunk {
            return Err(Error::InvalidArgument(format!(
                "audio chunking: n_window {n_window} / n_window_infer {n_window_infer} give no window"
            )));
        }
        if clip_frames.is_empty() {
            return Err(Error::InvalidArgument(
                "audio encoder: no clips given".into(),
            ));
        }
        if let Some(i) = clip_frames.iter().position(|&t| t == 0) {
            return Err(Error::InvalidArgument(format!(
                "audio encoder: clip {i} has zero mel frames"
            )));
        }
        let mut chunk_frames = Vec::new();
        let mut clip_chunks = Vec::with_capacity(clip_frames.len());
        for &t in clip_frames {
            let n = t.div_ceil(chunk);
            clip_chunks.push(n);
            chunk_frames.extend(std::iter::repeat_n(chunk, n - 1));
            let tail = t % chunk;
            chunk_frames.push(if tail == 0 { chunk } else { tail });
        }
        let padded_frames = *chunk_frames.iter().max().unwrap_or(&0);
        let padded_tokens = conv_out_len(padded_frames);
        let chunk_tokens: Vec<usize> = chunk_frames.iter().map(|&c| conv_out_len(c)).collect();
        let mut clip_tokens: Vec<usize> = Vec::with_capacity(clip_frames.len());
        let mut start = 0;
        for &n in &clip_chunks {
            clip_tokens.push(chunk_tokens[start..start + n].iter().sum::<usize>());
            start += n;
        }
        let window_tokens = padded_tokens * (n_window_infer / chunk);
        let mut cu_seqlens = vec![0usize];
        let mut at = 0usize;
        for &n in &clip_tokens {
            let mut left = n;
            while left > 0 {
                let w = left.min(window_tokens);
                at += w;
                cu_seqlens.push(at);
                left -= w;
            }
        }
        Ok(ChunkPlan {
            clip_frames: clip_frames.to_vec(),
            chunk_frames,
            clip_chunks,
            padded_frames,
            padded_tokens,
            chunk_tokens,
            clip_tokens,
            window_tokens,
            cu_seqlens,
        })
    }

    pub fn num_chunks(&self) -> usize {
        self.chunk_frames.len()
    }

    /// Total tokens over all clips.
    pub fn num_tokens(&self) -> usize {
        self.clip_tokens.iter().sum()
    }

    /// Rows of the `[num_chunks · padded_tokens]` post-CNN grid that are kept,
    /// in order (the reference's `valid_indices`).
    pub fn valid_indices(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.num_tokens());
        for (i, &n) in self.chunk_tokens.iter().enumerate() {
            let base = i * self.padded_tokens;
            out.extend((base..base + n).map(|r| r as u32));
        }
        out
    }
}
