//! Placeholder expansion, as `Qwen3OmniMoeProcessor` does it (transformers 5.24,
//! qwen3-omni.md §3, §5.4).
//!
//! The chat template writes one pad token per media item; the processor replaces
//! the i-th `<|image_pad|>` by `t·h·w/m²` copies, the i-th `<|audio_pad|>` by the
//! clip's token count, and the i-th `<|video_pad|>` by `t·h·w/m²` copies or, for a
//! video with its own audio, by `<|audio_start|>` + video/audio pads interleaved
//! by time + `<|audio_end|>` (the surrounding `<|vision_start|>`/`<|vision_end|>`
//! stay, giving `<|vision_start|><|audio_start|> … <|audio_end|><|vision_end|>`).

use super::media::{MediaSizes, MultimodalSpec, VideoItem};
use crate::error::{Error, Result};

/// Which pad token a slot of an audio-in-video block holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaToken {
    Video,
    Audio,
}

/// Token order of an audio-in-video block (processor rule, §5.4): video token
/// of temporal index τ has time `τ·second_per_grid·pps` (f64, as numpy
/// computes it), audio token k has time k; emit video while its time ≤ the
/// current audio index, else audio; then the leftovers (video first).
pub fn interleave_audio_in_video(
    video: &VideoItem,
    audio_tokens: usize,
    spec: &MultimodalSpec,
) -> Result<Vec<MediaToken>> {
    let (t, h, w) = video.grid.llm_grid(spec.spatial_merge_size, "video")?;
    let per_t = h * w;
    let n_video = t * per_t;
    let mut out = Vec::with_capacity(n_video + audio_tokens);
    let (mut vi, mut ai) = (0usize, 0usize);
    while vi < n_video && ai < audio_tokens {
        let vt = (vi / per_t) as f64 * video.second_per_grid * spec.position_id_per_seconds;
        if vt <= ai as f64 {
            out.push(MediaToken::Video);
            vi += 1;
        } else {
            out.push(MediaToken::Audio);
            ai += 1;
        }
    }
    out.extend(std::iter::repeat_n(MediaToken::Video, n_video - vi));
    out.extend(std::iter::repeat_n(MediaToken::Audio, audio_tokens - ai));
    Ok(out)
}

/// Expand a chat-template token sequence (one pad token per item) into the
/// processor's sequence. Placeholders are matched to `media` per modality in
/// sequence order; a count mismatch is `Error::InvalidArgument` naming both counts.
pub fn expand_placeholders(
    ids: &[u32],
    media: &MediaSizes,
    spec: &MultimodalSpec,
) -> Result<Vec<u32>> {
    let tk = &spec.tokens;
    let m = spec.spatial_merge_size;
    media.validate(m)?;
    let count = |tok: u32| ids.iter().filter(|&&x| x == tok).count();
    for (name, found, given) in [
        ("<|image_pad|>", count(tk.image_pad), media.images.len()),
        ("<|video_pad|>", count(tk.video_pad), media.videos.len()),
        ("<|audio_pad|>", count(tk.audio_pad), media.audios.len()),
    ] {
        if found != given {
            return Err(Error::InvalidArgument(format!(
                "expand_placeholders: the prompt has {found} {name} placeholder(s) but {given} item(s) were given"
            )));
        }
    }
    let (mut ii, mut vi, mut ai) = (0usize, 0usize, 0usize);
    let mut out = Vec::with_capacity(ids.len());
    for &tok in ids {
        if tok == tk.image_pad {
            let n = media.images[ii].tokens(m, &format!("image {ii}"))?;
            out.extend(std::iter::repeat_n(tk.image_pad, n));
            ii += 1;
        } else if tok == tk.video_pad {
            let v = &media.videos[vi];
            match v.audio_tokens {
                None => {
                    let n = v.grid.tokens(m, &format!("video {vi}"))?;
                    out.extend(std::iter::repeat_n(tk.video_pad, n));
                }
                Some(n_a) => {
                    out.push(tk.audio_start);
                    for slot in interleave_audio_in_video(v, n_a, spec)? {
                        out.push(match slot {
                            MediaToken::Video => tk.video_pad,
                            MediaToken::Audio => tk.audio_pad,
                        });
                    }
                    out.push(tk.audio_end);
                }
            }
            vi += 1;
        } else if tok == tk.audio_pad {
            out.extend(std::iter::repeat_n(tk.audio_pad, media.audios[ai]));
            ai += 1;
        } else {
            out.push(tok);
        }
    }
    Ok(out)
}
