//! Merging encoder outputs into the thinker's input embeddings
//! (qwen3-omni.md §5.1), as `Qwen3OmniMoeThinkerModel.forward` does it
//! (transformers 5.24):
//!
//! - the i-th `<|image_pad|>` / `<|video_pad|>` / `<|audio_pad|>` of the sequence
//!   (per modality, in sequence order) takes row i of that modality's embeddings
//!   (`masked_scatter`);
//! - DeepStack: `deepstack[k]` rows are added to the hidden state at the visual
//!   (image or video) positions, in sequence order, right after decoder layer `k`.
//!
//! Both are done with row gathers over a concatenated table, so they run on any
//! device. A pad count that differs from the number of embedding rows is
//! `Error::Shape { op: MERGE_OP, .. }`.

use super::media::MultimodalTokens;
use crate::error::{Error, Result};
use crate::models::qwen3_omni::vision::VisionOutput;
use crate::tensor::{DType, Tensor};

/// `op` of the `Error::Shape` a merge reports (pad count vs embedding rows,
/// hidden size, DeepStack levels).
pub const MERGE_OP: &str = "multimodal merge";

/// Encoder outputs of one prompt. `image` holds all images of the prompt
/// (one `VisionEncoder::forward` over their grids, in placeholder order),
/// `video` likewise, `audio` the audio embeddings `[Σ tokens, hidden]` of all
/// clips in placeholder order (standalone and in-video as they appear).
#[derive(Clone, Copy, Default)]
pub struct MultimodalEmbeds<'a> {
    pub image: Option<&'a VisionOutput>,
    pub video: Option<&'a VisionOutput>,
    pub audio: Option<&'a Tensor>,
}

/// Where each modality's rows go: sequence indices of its pad tokens, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PadPositions {
    pub image: Vec<usize>,
    pub video: Vec<usize>,
    pub audio: Vec<usize>,
}

impl PadPositions {
    pub fn find(ids: &[u32], tokens: &MultimodalTokens) -> PadPositions {
        let mut p = PadPositions::default();
        for (i, &id) in ids.iter().enumerate() {
            if id == tokens.image_pad {
                p.image.push(i);
            } else if id == tokens.video_pad {
                p.video.push(i);
            } else if id == tokens.audio_pad {
                p.audio.push(i);
            }
        }
        p
    }
}

/// DeepStack features scattered to full sequence length: `levels[k] [n, hidden]`
/// is zero off the visual positions and is added after decoder layer `k`.
pub struct Deepstack {
    pub levels: Vec<Tensor>,
}

fn rows(t: &Tensor, what: &str, hidden: usize) -> Result<usize> {
    match t.dims() {
        &[r, h] if h == hidden => Ok(r),
        d => Err(Error::Shape {
            op: MERGE_OP,
            detail: format!("{what} embeddings {d:?} are not [rows, hidden size {hidden}]"),
        }),
    }
}

fn check_count(what: &str, pads: usize, emb_rows: usize) -> Result<()> {
    if pads != emb_rows {
        return Err(Error::Shape {
            op: MERGE_OP,
            detail: format!(
                "{pads} {what} pad tokens in the prompt but {emb_rows} {what} embedding rows"
            ),
        });
    }
    Ok(())
}

fn index_tensor(idx: &[u32], like: &Tensor) -> Result<Tensor> {
    Tensor::from_slice(idx, [idx.len()], like.device())
}

/// Replace the pad rows of `text [n, hidden]` (embeddings of `ids`) by the
/// media embeddings, and build the DeepStack additions (None without visual
/// media). The result has `text`'s dtype.
pub fn merge_embeddings(
    text: &Tensor,
    ids: &[u32],
    tokens: &MultimodalTokens,
    media: &MultimodalEmbeds,
) -> Result<(Tensor, Option<Deepstack>)> {
    let n = ids.len();
    let hidden = match text.dims() {
        &[r, h] if r == n => h,
        d => {
            return Err(Error::Shape {
                op: MERGE_OP,
                detail: format!("text embeddings {d:?} do not have {n} rows"),
            })
        }
    };
    let dtype = text.dtype();
    let pads = PadPositions::find(ids, tokens);

    let mut table: Vec<Tensor> = vec![text.clone()];
    let mut index: Vec<u32> = (0..n as u32).collect();
    let mut base = n;
    let mut place = |t: Option<&Tensor>, pos: &[usize], what: &str| -> Result<()> {
        let r = match t {
            Some(t) => rows(t, what, hidden)?,
            None => 0,
        };
        check_count(what, pos.len(), r)?;
        if let Some(t) = t {
            for (j, &p) in pos.iter().enumerate() {
                index[p] = (base + j) as u32;
            }
            base += r;
            table.push(t.to_dtype(dtype)?);
        }
        Ok(())
    };
    place(media.image.map(|v| &v.embeds), &pads.image, "image")?;
    place(media.video.map(|v| &v.embeds), &pads.video, "video")?;
    place(media.audio, &pads.audio, "audio")?;
    let merged = if table.len() == 1 {
        text.clone()
    } else {
        let refs: Vec<&Tensor> = table.iter().collect();
        Tensor::cat(&refs, 0)?.gather_rows(&index_tensor(&index, text)?)?
    };

    let deepstack = deepstack_levels(text, n, hidden, dtype, &pads, media)?;
    Ok((merged, deepstack))
}

fn deepstack_levels(
    like: &Tensor,
    n: usize,
    hidden: usize,
    dtype: DType,
    pads: &PadPositions,
    media: &MultimodalEmbeds,
) -> Result<Option<Deepstack>> {
    let levels = match (media.image, media.video) {
        (None, None) => return Ok(None),
        (Some(i), None) => i.deepstack.len(),
        (None, Some(v)) => v.deepstack.len(),
        (Some(i), Some(v)) => {
            if i.deepstack.len() != v.deepstack.len() {
                return Err(Error::Shape {
                    op: MERGE_OP,
                    detail: format!(
                        "image has {} DeepStack levels, video {}",
                        i.deepstack.len(),
                        v.deepstack.len()
                    ),
                });
            }
            i.deepstack.len()
        }
    };
    // Row 0 of the table is zeros (non-visual positions).
    let mut index = vec![0u32; n];
    let n_img = pads.image.len();
    for (j, &p) in pads.image.iter().enumerate() {
        index[p] = (1 + j) as u32;
    }
    for (j, &p) in pads.video.iter().enumerate() {
        index[p] = (1 + n_img + j) as u32;
    }
    let index = index_tensor(&index, like)?;
    let zero = Tensor::zeros([1, hidden], dtype, like.device())?;
    let mut out = Vec::with_capacity(levels);
    for k in 0..levels {
        let mut table = vec![zero.clone()];
        for (v, pos, what) in [
            (media.image, &pads.image, "image DeepStack"),
            (media.video, &pads.video, "video DeepStack"),
        ] {
            if let Some(v) = v {
                let t = &v.deepstack[k];
                check_count(what, pos.len(), rows(t, what, hidden)?)?;
                table.push(t.to_dtype(dtype)?);
            }
        }
        let refs: Vec<&Tensor> = table.iter().collect();
        out.push(Tensor::cat(&refs, 0)?.gather_rows(&index)?);
    }
    Ok(Some(Deepstack { levels: out }))
}
