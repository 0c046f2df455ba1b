//! 3-D M-RoPE position ids of a (processor-expanded) prompt, exactly as the
//! thinker's `get_rope_index` (transformers 5.24, qwen3-omni.md §5.2), and the
//! decode positions after it (§5.3).
//!
//! Positions are built in f32 like the reference. The sequence is a list of
//! groups; each group starts at `1 + max(previous group over all 3 rows)` (0
//! first). Text runs and start/end markers are sequential on all rows; an
//! image/video item is `(s + τ·step, s + row, s + col)` over the merged grid
//! (`step = pps` for images, `second_per_grid·pps` for videos, in f32); an audio
//! clip is `s + k`. In an audio-in-video block the video and audio lists are
//! merged by their t value with every merged token its own group and the
//! leftovers one group, so the end markers start at `1 + max(last token or
//! leftover run)`, which can be below the video's largest h/w position (the
//! end-marker quirk, §5.2/§11; replicated).
//!
//! Differences from the reference on malformed input only: a sequence whose
//! items do not match `media`, or whose markers/pads are not laid out as the
//! processor writes them, is an `Error::InvalidArgument` here (the reference
//! silently produces shifted positions). Items are recognised per item (a
//! `<|vision_start|>` directly followed by `<|audio_start|>` is audio-in-video),
//! so a prompt mixing videos with and without audio works here, whereas the
//! reference's single `use_audio_in_video` flag cannot express it.

use super::expand::MediaToken;
use super::media::{MediaSizes, MultimodalSpec};
use crate::error::{Error, Result};
use crate::models::qwen3_omni::positions::Positions;

/// Prefill positions `[3][seq]` (rows t, h, w) and the rope delta
/// `max(positions) + 1 − seq` used for decode positions.
#[derive(Clone, Debug, PartialEq)]
pub struct RopeIndex {
    pub positions: Positions,
    pub rope_delta: f32,
}

/// Positions of `n` tokens decoded after `cache_len` cached tokens of a prompt
/// with `rope_delta`: `(cache_len + i) + rope_delta` (f32), the same on all rows.
pub fn decode_positions(cache_len: usize, rope_delta: f32, n: usize) -> Positions {
    let row: Vec<f32> = (cache_len..cache_len + n)
        .map(|p| p as f32 + rope_delta)
        .collect();
    [row.clone(), row.clone(), row]
}

fn bad(detail: String) -> Error {
    Error::InvalidArgument(format!("rope_index: {detail}"))
}

struct Builder {
    rows: [Vec<f32>; 3],
    last_max: Option<f32>,
}

impl Builder {
    fn next_start(&self) -> f32 {
        self.last_max.map_or(0.0, |m| m + 1.0)
    }

    /// Append one group (columns `(t, h, w)`).
    fn push_group(&mut self, cols: impl IntoIterator<Item = [f32; 3]>) {
        let mut max = f32::NEG_INFINITY;
        let mut any = false;
        for c in cols {
            for (row, &x) in self.rows.iter_mut().zip(&c) {
                row.push(x);
                max = max.max(x);
            }
            any = true;
        }
        if any {
            self.last_max = Some(max);
        }
    }

    /// `len` sequential positions from the next start, all rows equal.
    fn push_text(&mut self, len: usize) {
        let s = self.next_start();
        self.push_group((0..len).map(|k| {
            let p = k as f32 + s;
            [p, p, p]
        }));
    }
}

/// Vision positions for an LLM grid `(t, h, w)` starting at `s`, t step
/// `step` (f32), in token order (τ, row, col).
fn vision_cols(s: f32, t: usize, h: usize, w: usize, step: f32) -> Vec<[f32; 3]> {
    let mut v = Vec::with_capacity(t * h * w);
    for tau in 0..t {
        let tt = tau as f32 * step;
        for r in 0..h {
            for c in 0..w {
                v.push([tt + s, r as f32 + s, c as f32 + s]);
            }
        }
    }
    v
}

/// The 3-D positions of one expanded, unpadded prompt row.
pub fn rope_index(ids: &[u32], media: &MediaSizes, spec: &MultimodalSpec) -> Result<RopeIndex> {
    let tk = &spec.tokens;
    let m = spec.spatial_merge_size;
    media.validate(m)?;
    let pps = spec.position_id_per_seconds as f32;
    let is_pad = |x: u32| x == tk.image_pad || x == tk.video_pad || x == tk.audio_pad;
    let expect = |i: usize, tok: u32, what: &str| -> Result<()> {
        match ids.get(i) {
            Some(&x) if x == tok => Ok(()),
            other => Err(bad(format!(
                "expected {what} (id {tok}) at index {i}, found {other:?}"
            ))),
        }
    };
    let expect_run = |from: usize, n: usize, tok: u32, what: &str| -> Result<()> {
        for i in from..from + n {
            expect(i, tok, what)?;
        }
        Ok(())
    };

    let mut b = Builder {
        rows: [
            Vec::with_capacity(ids.len()),
            Vec::with_capacity(ids.len()),
            Vec::with_capacity(ids.len()),
        ],
        last_max: None,
    };
    let (mut ii, mut vi, mut ai) = (0usize, 0usize, 0usize);
    let mut st = 0usize;
    while let Some(off) = ids[st..]
        .iter()
        .position(|&x| x == tk.vision_start || x == tk.audio_start)
    {
        let ed = st + off;
        if let Some(j) = ids[st..ed].iter().position(|&x| is_pad(x)) {
            return Err(bad(format!(
                "media pad token {} at index {} outside any media item",
                ids[st + j],
                st + j
            )));
        }
        b.push_text(ed - st);
        let after = ids.get(ed + 1).copied();
        if ids[ed] == tk.audio_start {
            // standalone audio: <|audio_start|> pads <|audio_end|>
            let n = *media.audios.get(ai).ok_or_else(|| {
                bad(format!(
                    "more audio items in the prompt than the {} audio(s) given",
                    media.audios.len()
                ))
            })?;
            b.push_text(1);
            expect_run(
                ed + 1,
                n,
                tk.audio_pad,
                &format!("<|audio_pad|> of audio {ai}"),
            )?;
            let s = b.next_start();
            b.push_group((0..n).map(|k| {
                let p = k as f32 + s;
                [p, p, p]
            }));
            expect(ed + 1 + n, tk.audio_end, "<|audio_end|>")?;
            b.push_text(1);
            st = ed + 2 + n;
            ai += 1;
        } else if after == Some(tk.image_pad) {
            let g = media.images.get(ii).ok_or_else(|| {
                bad(format!(
                    "more images in the prompt than the {} image(s) given",
                    media.images.len()
                ))
            })?;
            let (t, h, w) = g.llm_grid(m, &format!("image {ii}"))?;
            let n = t * h * w;
            b.push_text(1);
            expect_run(
                ed + 1,
                n,
                tk.image_pad,
                &format!("<|image_pad|> of image {ii}"),
            )?;
            let s = b.next_start();
            b.push_group(vision_cols(s, t, h, w, pps));
            expect(ed + 1 + n, tk.vision_end, "<|vision_end|>")?;
            b.push_text(1);
            st = ed + 2 + n;
            ii += 1;
        } else if after == Some(tk.video_pad) || after == Some(tk.audio_start) {
            let v = media.videos.get(vi).ok_or_else(|| {
                bad(format!(
                    "more videos in the prompt than the {} video(s) given",
                    media.videos.len()
                ))
            })?;
            let (t, h, w) = v.grid.llm_grid(m, &format!("video {vi}"))?;
            let n_v = t * h * w;
            let step = (v.second_per_grid as f32) * pps;
            let with_audio = after == Some(tk.audio_start);
            match (with_audio, v.audio_tokens) {
                (false, None) => {
                    b.push_text(1);
                    expect_run(ed + 1, n_v, tk.video_pad, &format!("<|video_pad|> of video {vi}"))?;
                    let s = b.next_start();
                    b.push_group(vision_cols(s, t, h, w, step));
                    expect(ed + 1 + n_v, tk.vision_end, "<|vision_end|>")?;
                    b.push_text(1);
                    st = ed + 2 + n_v;
                }
                (true, Some(n_a)) => {
                    b.push_text(2);
                    let s = b.next_start();
                    let video = vision_cols(s, t, h, w, step);
                    let audio: Vec<[f32; 3]> = (0..n_a)
                        .map(|k| {
                            let p = k as f32 + s;
                            [p, p, p]
                        })
                        .collect();
                    let body = ed + 2;
                    let (mut x, mut y) = (0usize, 0usize);
                    let mut k = body;
                    let check = |k: usize, what: MediaToken| -> Result<()> {
                        let tok = if what == MediaToken::Video { tk.video_pad } else { tk.audio_pad };
                        expect(k, tok, &format!("{what:?} pad of audio-in-video {vi} (processor order)"))
                    };
                    while x < video.len() && y < audio.len() {
                        if video[x][0] <= audio[y][0] {
                            check(k, MediaToken::Video)?;
                            b.push_group([video[x]]);
                            x += 1;
                        } else {
                            check(k, MediaToken::Audio)?;
                            b.push_group([audio[y]]);
                            y += 1;
                        }
                        k += 1;
                    }
                    for _ in x..video.len() {
                        check(k, MediaToken::Video)?;
                        k += 1;
                    }
                    b.push_group(video[x..].iter().copied());
                    for _ in y..audio.len() {
                        check(k, MediaToken::Audio)?;
                        k += 1;
                    }
                    b.push_group(audio[y..].iter().copied());
                    expect(k, tk.audio_end, "<|audio_end|>")?;
                    expect(k + 1, tk.vision_end, "<|vision_end|>")?;
                    b.push_text(2);
                    st = k + 2;
                }
                (true, None) => {
                    return Err(bad(format!(
                        "video {vi} is laid out as audio-in-video but was given without audio tokens"
                    )))
                }
                (false, Some(_)) => {
                    return Err(bad(format!(
                        "video {vi} was given with audio tokens but the prompt holds plain <|video_pad|> tokens"
                    )))
                }
            }
            vi += 1;
        } else {
            return Err(bad(format!(
                "<|vision_start|> at index {ed} is followed by {after:?}, not an image/video pad or <|audio_start|>"
            )));
        }
    }
    if let Some(j) = ids[st..].iter().position(|&x| is_pad(x)) {
        return Err(bad(format!(
            "media pad token {} at index {} outside any media item",
            ids[st + j],
            st + j
        )));
    }
    b.push_text(ids.len() - st);
    for (name, used, given) in [
        ("image", ii, media.images.len()),
        ("video", vi, media.videos.len()),
        ("audio", ai, media.audios.len()),
    ] {
        if used != given {
            return Err(bad(format!(
                "the prompt holds {used} {name} item(s) but {given} were given"
            )));
        }
    }
    let max = b
        .rows
        .iter()
        .flatten()
        .fold(f32::NEG_INFINITY, |a, &x| a.max(x));
    let rope_delta = if ids.is_empty() {
        0.0
    } else {
        max + 1.0 - ids.len() as f32
    };
    Ok(RopeIndex {
        positions: b.rows,
        rope_delta,
    })
}
