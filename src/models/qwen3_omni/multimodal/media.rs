//! Per-item media sizes and the token ids / constants the layout needs.

use crate::error::{Error, Result};
use crate::models::qwen3_omni::config::ThinkerConfig;
use crate::models::qwen3_omni::vision::VisionConfig;

/// The multimodal special token ids (from `thinker_config`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultimodalTokens {
    pub image_pad: u32,
    pub video_pad: u32,
    pub audio_pad: u32,
    pub vision_start: u32,
    pub vision_end: u32,
    pub audio_start: u32,
    pub audio_end: u32,
}

impl MultimodalTokens {
    pub fn from_thinker(thinker: &ThinkerConfig) -> MultimodalTokens {
        MultimodalTokens {
            image_pad: thinker.image_token_id,
            video_pad: thinker.video_token_id,
            audio_pad: thinker.audio_token_id,
            vision_start: thinker.vision_start_token_id,
            vision_end: thinker.vision_end_token_id,
            audio_start: thinker.audio_start_token_id,
            audio_end: thinker.audio_end_token_id,
        }
    }
}

/// Everything expansion and positions depend on besides the media sizes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultimodalSpec {
    pub tokens: MultimodalTokens,
    /// `vision_config.spatial_merge_size` (2 released): an `m×m` patch block is one token.
    pub spatial_merge_size: usize,
    /// `thinker_config.position_id_per_seconds` (13 released).
    pub position_id_per_seconds: f64,
}

impl MultimodalSpec {
    pub fn from_thinker(thinker: &ThinkerConfig) -> Result<MultimodalSpec> {
        let vision = VisionConfig::from_thinker(thinker)?;
        let spec = MultimodalSpec {
            tokens: MultimodalTokens::from_thinker(thinker),
            spatial_merge_size: vision.spatial_merge_size,
            position_id_per_seconds: thinker.position_id_per_seconds,
        };
        if spec.spatial_merge_size == 0 || !spec.position_id_per_seconds.is_finite() {
            return Err(Error::InvalidArgument(format!(
                "multimodal: spatial_merge_size {} / position_id_per_seconds {} out of range",
                spec.spatial_merge_size, spec.position_id_per_seconds
            )));
        }
        Ok(spec)
    }
}

/// A vision grid in patches (`image_grid_thw` / `video_grid_thw` row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridThw {
    pub t: usize,
    pub h: usize,
    pub w: usize,
}

impl GridThw {
    pub fn new(t: usize, h: usize, w: usize) -> GridThw {
        GridThw { t, h, w }
    }

    /// Checks the grid is non-empty and `h`, `w` divide by `merge`; returns the
    /// LLM grid `(t, h / merge, w / merge)`.
    pub fn llm_grid(&self, merge: usize, what: &str) -> Result<(usize, usize, usize)> {
        if self.t == 0 || self.h == 0 || self.w == 0 {
            return Err(Error::InvalidArgument(format!(
                "{what}: grid_thw ({}, {}, {}) has a zero dimension",
                self.t, self.h, self.w
            )));
        }
        if merge == 0 || self.h % merge != 0 || self.w % merge != 0 {
            return Err(Error::InvalidArgument(format!(
                "{what}: grid_thw ({}, {}, {}): h and w must be multiples of the spatial merge size {merge}",
                self.t, self.h, self.w
            )));
        }
        Ok((self.t, self.h / merge, self.w / merge))
    }

    /// Tokens after merging: `t·h·w / merge²`.
    pub fn tokens(&self, merge: usize, what: &str) -> Result<usize> {
        let (t, h, w) = self.llm_grid(merge, what)?;
        t.checked_mul(h)
            .and_then(|x| x.checked_mul(w))
            .ok_or_else(|| Error::Overflow(format!("{what}: token count of grid {self:?}")))
    }
}

/// One video: its grid, `video_second_per_grid` (`temporal_patch_size / fps`,
/// qwen3-omni.md §6.6) and, for audio-in-video, the audio track's token count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoItem {
    pub grid: GridThw,
    pub second_per_grid: f64,
    /// `Some(N_a)`: the video carries its own audio (`use_audio_in_video`); its
    /// tokens are interleaved with the video's (§5.4).
    pub audio_tokens: Option<usize>,
}

/// The media of one prompt, each list in the order its placeholders appear.
/// `audios` holds standalone clips only (token counts, §7.4); a video's own
/// audio lives in its [`VideoItem`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaSizes {
    pub images: Vec<GridThw>,
    pub videos: Vec<VideoItem>,
    pub audios: Vec<usize>,
}

impl MediaSizes {
    pub(crate) fn validate(&self, merge: usize) -> Result<()> {
        for (i, g) in self.images.iter().enumerate() {
            g.tokens(merge, &format!("image {i}"))?;
        }
        for (i, v) in self.videos.iter().enumerate() {
            let what = format!("video {i}");
            v.grid.tokens(merge, &what)?;
            if !(v.second_per_grid.is_finite() && v.second_per_grid >= 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "{what}: second_per_grid {} must be finite and >= 0",
                    v.second_per_grid
                )));
            }
            if v.audio_tokens == Some(0) {
                return Err(Error::InvalidArgument(format!(
                    "{what}: its audio track has 0 tokens"
                )));
            }
        }
        for (i, &n) in self.audios.iter().enumerate() {
            if n == 0 {
                return Err(Error::InvalidArgument(format!("audio {i}: 0 audio tokens")));
            }
        }
        Ok(())
    }
}
