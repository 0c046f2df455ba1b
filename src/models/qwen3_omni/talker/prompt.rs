//! The talker prefill built from a finished thinker run (qwen3-omni.md §8.1)
//! and its positions (§8.2), as `Qwen3OmniMoeForConditionalGeneration.generate`
//! does it (transformers 5.24), for one unpadded row.
//!
//! * Segments start at `<|im_start|>`; a position's role is the token after
//!   the last `<|im_start|>` at or before it (position 0's before any).
//! * The assistant segment is the LAST `<|im_start|>assistant` in `ids`; only
//!   positions before it can be user positions (the reference looks at the
//!   prompt only; this equals it unless the generated text itself contains a
//!   `<|im_start|>`, which generation stops before).
//! * user positions: `hidden_projection(H)` at audio/image/video pads (thinker
//!   ids), else `text_projection(E)`; system and earlier assistant turns dropped.
//! * assistant: the 9-position prefix and the trailing text.

use crate::error::{Error, Result};
use crate::models::qwen3_omni::multimodal::{rope_index, MediaSizes};
use crate::models::qwen3_omni::positions::{text_positions, Positions};
use crate::models::qwen3_omni::Thinker;
use crate::tensor::Tensor;

use super::Talker;

/// What the talker needs from a thinker run.
pub struct TalkerInput<'a> {
    /// Thinker ids: expanded prompt + generated tokens EXCEPT the last one.
    pub ids: &'a [u32],
    /// `[n, thinker_hidden]` thinker layer-0 input embeddings (after the multimodal merge).
    pub embeds: &'a Tensor,
    /// `[n, thinker_hidden]` thinker hidden states at `accept_hidden_layer`.
    pub hidden: &'a Tensor,
    /// Grids / token counts of the prompt's media (empty for text).
    pub media: &'a MediaSizes,
    /// Speaker name (case-insensitive), one of [`Talker::speakers`].
    pub speaker: &'a str,
}

/// The talker prefill and what the per-frame loop needs.
#[derive(Clone, Debug)]
pub struct TalkerPrompt {
    /// `[m, talker_hidden]` prefill input embeddings.
    pub embeds: Tensor,
    /// `[m]` talker ids (user thinker ids + `tts_pad` × 9), used for positions only.
    pub ids: Vec<u32>,
    /// `[3][m]` M-RoPE positions (t, h, w).
    pub positions: Positions,
    /// Decode position offset: step positions are `cache_len + rope_delta`.
    pub rope_delta: f32,
    /// `[k, talker_hidden]` text side of decode steps 0..k-1 (then `tts_pad_embed`).
    pub trailing_text: Tensor,
    /// `[1, talker_hidden]` `text_projection(embed(tts_pad))`.
    pub tts_pad_embed: Tensor,
    /// Codec id of the chosen speaker.
    pub speaker_id: u32,
}

/// Positions of the assistant prefix: `<|im_start|>`, `assistant`, `\n`, first text token.
const ASSISTANT_HEAD: usize = 4;

impl Talker {
    /// §8.1 + §8.2: the talker prefill from a finished thinker run.
    pub fn build_prompt(&self, thinker: &Thinker, input: &TalkerInput) -> Result<TalkerPrompt> {
        let config = &self.config;
        let tc = &self.talker_config;
        let ids = input.ids;
        let n = ids.len();
        let th = tc.thinker_hidden_size;
        let speaker_id = self.speaker_id(input.speaker)?;
        if thinker.text_config().hidden_size != th {
            return Err(Error::InvalidArgument(format!(
                "talker: thinker hidden size {} differs from talker_config.thinker_hidden_size {th}",
                thinker.text_config().hidden_size
            )));
        }
        for (what, t) in [("embeds", input.embeds), ("hidden", input.hidden)] {
            if t.dims() != [n, th] {
                return Err(Error::Shape {
                    op: "talker",
                    detail: format!(
                        "{what} is {:?} but {n} ids and thinker hidden size {th} need [{n}, {th}]",
                        t.shape()
                    ),
                });
            }
        }
        // The last `<|im_start|>assistant`.
        let start = (0..n.saturating_sub(1))
            .rev()
            .find(|&i| {
                ids[i] == config.im_start_token_id && ids[i + 1] == config.assistant_token_id
            })
            .ok_or_else(|| {
                Error::InvalidArgument(
                    "talker: the ids have no assistant segment (<|im_start|>assistant); \
                     build the prompt with add_generation_prompt"
                        .into(),
                )
            })?;
        let seg = n - start;
        if seg < ASSISTANT_HEAD {
            return Err(Error::InvalidArgument(format!(
                "talker: the assistant segment has {seg} positions; it needs \
                 <|im_start|>assistant\\n plus at least one generated token \
                 (ids = prompt + generated tokens except the last)"
            )));
        }

        // User positions, in order, before the assistant segment.
        let mut user = Vec::new();
        let mut prev_start = 0usize;
        for i in 0..start {
            if ids[i] == config.im_start_token_id {
                prev_start = i;
            }
            let role = ids[(prev_start + 1).min(n - 1)];
            if role == config.user_token_id {
                user.push(i);
            }
        }
        let tk = &config.thinker_config;
        let is_mm =
            |id: u32| id == tk.audio_token_id || id == tk.image_token_id || id == tk.video_token_id;

        let device = self.device.clone();
        let dtype = self.dtype;
        let embeds = input.embeds.to_dtype(dtype)?;
        let hidden = input.hidden.to_dtype(dtype)?;
        let rows = |v: &[usize]| -> Result<Tensor> {
            let v: Vec<u32> = v.iter().map(|&i| i as u32).collect();
            Tensor::from_slice(&v, [v.len()], &device)
        };

        // text_projection over (user text positions ++ assistant segment) in one
        // call, hidden_projection over the user multimodal positions.
        let user_text: Vec<usize> = user.iter().copied().filter(|&i| !is_mm(ids[i])).collect();
        let user_mm: Vec<usize> = user.iter().copied().filter(|&i| is_mm(ids[i])).collect();
        let text_rows: Vec<usize> = user_text.iter().copied().chain(start..n).collect();
        let text_proj = self.text_projection(&embeds.gather_rows(&rows(&text_rows)?)?)?;
        let mm_proj = if user_mm.is_empty() {
            None
        } else {
            Some(self.hidden_projection(&hidden.gather_rows(&rows(&user_mm)?)?)?)
        };

        // Special text embeddings: text_projection(embed([bos, eos, pad])).
        let special = self.text_projection(
            &thinker
                .embed(&[
                    config.tts_bos_token_id,
                    config.tts_eos_token_id,
                    config.tts_pad_token_id,
                ])?
                .to_dtype(dtype)?,
        )?;
        let tts_bos = special.narrow(0, 0, 1)?;
        let tts_eos = special.narrow(0, 1, 1)?;
        let tts_pad = special.narrow(0, 2, 1)?;

        // User part in sequence order: pick each position from text_proj / mm_proj.
        let mut pieces: Vec<Tensor> = Vec::new();
        let user_part = if user.is_empty() {
            None
        } else {
            let all = match &mm_proj {
                Some(mm) => Tensor::cat(&[&text_proj, mm], 0)?,
                None => text_proj.clone(),
            };
            let mm_base = text_rows.len();
            let (mut ti, mut mi) = (0usize, 0usize);
            let order: Vec<usize> = user
                .iter()
                .map(|&i| {
                    if is_mm(ids[i]) {
                        mi += 1;
                        mm_base + mi - 1
                    } else {
                        ti += 1;
                        ti - 1
                    }
                })
                .collect();
            Some(all.gather_rows(&rows(&order)?)?)
        };
        if let Some(u) = user_part {
            pieces.push(u);
        }

        // Assistant prefix: text part + codec part.
        let a = text_proj.narrow(0, user_text.len(), seg)?; // [seg, hidden]
        let text_part = Tensor::cat(
            &[
                &a.narrow(0, 0, 3)?,
                &tts_pad,
                &tts_pad,
                &tts_pad,
                &tts_pad,
                &tts_bos,
                &a.narrow(0, 3, 1)?,
            ],
            0,
        )?;
        let codec = self.decoder.embed_codes(&[
            tc.codec_nothink_id,
            tc.codec_think_bos_id,
            tc.codec_think_eos_id,
            speaker_id,
            tc.codec_pad_id,
            tc.codec_bos_id,
        ])?;
        let hsz = self.hidden_size();
        let zeros = Tensor::zeros([3, hsz], dtype, &device)?;
        let codec_part = Tensor::cat(&[&zeros, &codec], 0)?;
        pieces.push(text_part.add(&codec_part)?);
        let prefill = Tensor::cat(&pieces.iter().collect::<Vec<_>>(), 0)?;

        let trailing_text = if seg > ASSISTANT_HEAD {
            Tensor::cat(
                &[
                    &a.narrow(0, ASSISTANT_HEAD, seg - ASSISTANT_HEAD)?,
                    &tts_eos,
                ],
                0,
            )?
        } else {
            tts_eos.clone()
        };

        let mut talker_ids: Vec<u32> = user.iter().map(|&i| ids[i]).collect();
        talker_ids.extend(std::iter::repeat_n(config.tts_pad_token_id, 9));
        let m = talker_ids.len();
        let has_media = !(input.media.images.is_empty()
            && input.media.videos.is_empty()
            && input.media.audios.is_empty());
        let (positions, rope_delta) = if has_media {
            let spec = tc.multimodal_spec(config);
            let r = rope_index(&talker_ids, input.media, &spec)?;
            (r.positions, r.rope_delta)
        } else {
            (text_positions(0, m), 0.0)
        };
        Ok(TalkerPrompt {
            embeds: prefill,
            ids: talker_ids,
            positions,
            rope_delta,
            trailing_text,
            tts_pad_embed: tts_pad,
            speaker_id,
        })
    }
}
