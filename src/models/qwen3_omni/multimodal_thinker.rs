//! The thinker with its eyes and ears: media in a request become model inputs
//! (`prepare`: decode, preprocess, expand placeholders, 3-D positions) and a
//! multimodal prefill (`prefill`: vision and audio encoders, merge, DeepStack,
//! decoder), after which decoding is plain text at shifted positions.
//!
//! ```text
//! template ids (one placeholder per item) + [Media]
//!   --prepare--> PreparedPrompt { expanded ids, positions, rope delta, pixel values, mel features }
//!   --prefill--> logits, KV cache (rope delta recorded in the cache)
//! ```

use std::path::Path;
use std::sync::Arc;

use super::multimodal::{
    expand_placeholders, rope_index, GridThw, MediaSizes, MultimodalEmbeds, MultimodalSpec,
    RopeIndex, VideoItem,
};
use super::vision::{VisionConfig, VisionEncoder};
use super::{AudioConfig, AudioEncoder, LoadOptions, Qwen3OmniConfig, Thinker};
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::models::{KvCache, LogitsFor};
use crate::preprocess::audio::{AudioPreprocessor, MelFeatures};
use crate::preprocess::image::{ImagePreprocessor, PixelValues, VideoOptions};
use crate::preprocess::media::{Media, MediaOptions};
use crate::preprocess::video::load_video;
use crate::tensor::{DType, Tensor};

/// A tensor the vision tower of a checkpoint always has.
const VISION_PROBE: &str = "thinker.visual.patch_embed.proj.weight";
/// A tensor the audio tower of a checkpoint always has.
const AUDIO_PROBE: &str = "thinker.audio_tower.conv2d1.weight";

/// Model inputs of one multimodal prompt, ready for [`MultimodalThinker::prefill`].
pub struct PreparedPrompt {
    /// The processor-expanded ids (one pad token per media token).
    pub ids: Vec<u32>,
    /// Prefill positions and the rope delta of the decode positions after them.
    pub rope: RopeIndex,
    /// Per-item sizes, in placeholder order per modality.
    pub sizes: MediaSizes,
    images: Option<Pixels>,
    videos: Option<Pixels>,
    /// All clips (standalone and in-video) in the order their tokens appear:
    /// features `[n_mels, Σ frames]` and each clip's frames.
    audio: Option<(Tensor, Vec<usize>)>,
}

struct Pixels {
    values: Tensor,
    grids: Vec<[usize; 3]>,
}

/// [`Thinker`] plus the vision and audio encoders and the processors that feed them.
pub struct MultimodalThinker {
    thinker: Arc<Thinker>,
    vision: Option<VisionEncoder>,
    audio: Option<AudioEncoder>,
    image_pre: ImagePreprocessor,
    audio_pre: AudioPreprocessor,
    spec: MultimodalSpec,
}

impl MultimodalThinker {
    /// Loads the thinker and, where the checkpoint has them, the vision and
    /// audio towers (a thinker-only checkpoint serves text; a request with
    /// media then says which tower is missing). The image budget comes from
    /// `preprocessor_config.json` when the directory has one.
    pub fn load(dir: &Path, opts: &LoadOptions) -> Result<MultimodalThinker> {
        let config = Qwen3OmniConfig::from_file(&dir.join("config.json"))?;
        let ckpt = Checkpoint::open(dir)?;
        let encoder_dtype = encoder_dtype(opts.dtype);
        let vision = if ckpt.contains(VISION_PROBE) {
            let vc = VisionConfig::from_thinker(&config.thinker_config)?;
            Some(VisionEncoder::load(
                &ckpt,
                &vc,
                &opts.device,
                encoder_dtype,
            )?)
        } else {
            None
        };
        let audio = if ckpt.contains(AUDIO_PROBE) {
            let ac = AudioConfig::from_config(&config)?;
            Some(AudioEncoder::load(&ckpt, &ac, &opts.device, encoder_dtype)?)
        } else {
            None
        };
        let image_pre = match ["preprocessor_config.json", "processor_config.json"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
        {
            Some(p) => ImagePreprocessor::from_file(p)?,
            None => ImagePreprocessor::default(),
        };
        let thinker = Thinker::from_checkpoint(&ckpt, config, opts)?;
        MultimodalThinker::new(Arc::new(thinker), vision, audio, image_pre)
    }

    /// Random weights everywhere (the demo, tests that need no files).
    pub fn random(config: &Qwen3OmniConfig, seed: u64, opts: &LoadOptions) -> Result<Self> {
        let thinker = Thinker::random_with(config, seed, opts)?;
        let dtype = encoder_dtype(opts.dtype);
        let vc = VisionConfig::from_thinker(&config.thinker_config)?;
        let vision = VisionEncoder::random(&vc, seed ^ 0x5649, &opts.device, dtype)?;
        let ac = AudioConfig::from_config(config)?;
        let audio = AudioEncoder::random(&ac, seed ^ 0x4155, &opts.device, dtype)?;
        MultimodalThinker::new(
            Arc::new(thinker),
            Some(vision),
            Some(audio),
            ImagePreprocessor::default(),
        )
    }

    pub fn new(
        thinker: Arc<Thinker>,
        vision: Option<VisionEncoder>,
        audio: Option<AudioEncoder>,
        image_pre: ImagePreprocessor,
    ) -> Result<MultimodalThinker> {
        let spec = MultimodalSpec::from_thinker(&thinker.config().thinker_config)?;
        if let Some(v) = &vision {
            let vs = v.config();
            let ps = &image_pre.spec;
            if vs.patch_size != ps.patch_size
                || vs.temporal_patch_size != ps.temporal_patch_size
                || vs.spatial_merge_size != ps.merge_size
            {
                return Err(Error::InvalidArgument(format!(
                    "image processor (patch {}, temporal {}, merge {}) does not fit the vision \
                     encoder (patch {}, temporal {}, merge {}); check preprocessor_config.json",
                    ps.patch_size,
                    ps.temporal_patch_size,
                    ps.merge_size,
                    vs.patch_size,
                    vs.temporal_patch_size,
                    vs.spatial_merge_size
                )));
            }
        }
        Ok(MultimodalThinker {
            thinker,
            vision,
            audio,
            image_pre,
            audio_pre: AudioPreprocessor::default(),
            spec,
        })
    }

    pub fn thinker(&self) -> &Arc<Thinker> {
        &self.thinker
    }
    pub fn spec(&self) -> &MultimodalSpec {
        &self.spec
    }
    pub fn has_vision(&self) -> bool {
        self.vision.is_some()
    }
    pub fn has_audio(&self) -> bool {
        self.audio.is_some()
    }
    pub fn image_preprocessor(&self) -> &ImagePreprocessor {
        &self.image_pre
    }
    pub fn audio_preprocessor_mut(&mut self) -> &mut AudioPreprocessor {
        &mut self.audio_pre
    }

    /// Checks the media against the encoders this checkpoint has.
    fn check_towers(&self, media: &[Media]) -> Result<()> {
        for m in media {
            let visual = matches!(m, Media::Image(_) | Media::Video { .. });
            let audible = matches!(
                m,
                Media::Audio(_)
                    | Media::Video {
                        with_audio: true,
                        ..
                    }
            );
            if visual && self.vision.is_none() {
                return Err(Error::Unsupported(format!(
                    "this checkpoint has no vision encoder ({VISION_PROBE} is missing), so it \
                     cannot take the {} input; use a full Qwen3-Omni checkpoint",
                    m.kind()
                )));
            }
            if audible && self.audio.is_none() {
                return Err(Error::Unsupported(format!(
                    "this checkpoint has no audio encoder ({AUDIO_PROBE} is missing), so it \
                     cannot take the {} input's audio; use a full Qwen3-Omni checkpoint",
                    m.kind()
                )));
            }
        }
        Ok(())
    }

    /// Decodes and preprocesses `media` and lays out the prompt: `ids` are the
    /// chat-template ids with one placeholder pad per item (`<|image_pad|>`,
    /// `<|audio_pad|>`, `<|video_pad|>`), matched to the items of that kind in
    /// order. Everything that can be wrong with an input fails here, before
    /// any compute.
    pub fn prepare(
        &self,
        ids: &[u32],
        media: &[Media],
        opts: &MediaOptions,
    ) -> Result<PreparedPrompt> {
        self.check_towers(media)?;
        let tk = &self.spec.tokens;
        for (kind, pad) in [
            ("image", tk.image_pad),
            ("audio", tk.audio_pad),
            ("video", tk.video_pad),
        ] {
            let found = ids.iter().filter(|&&x| x == pad).count();
            let given = media.iter().filter(|m| m.kind() == kind).count();
            if found != given {
                return Err(Error::InvalidArgument(format!(
                    "the prompt has {found} {kind} placeholder(s) but {given} {kind} input(s) \
                     were given; put one placeholder per input, or let the engine insert them"
                )));
            }
        }

        let image_pre = self.image_budget(opts)?;
        let context = self.thinker.text_config().max_position_embeddings;
        // Media tokens so far; checked before each image is resized so an
        // oversized prompt fails before the expensive part.
        let mut budget_used = 0usize;
        let mut images = Vec::new();
        let mut audios = Vec::new();
        let mut videos = Vec::new();
        for (i, m) in media.iter().enumerate() {
            let what = |e: Error| item_error(e, i, m.kind());
            match m {
                Media::Image(src) => {
                    let img = src.decode(&opts.image_limits).map_err(what)?;
                    let (h, w) = if image_pre.do_resize {
                        image_pre.target_size(img.height, img.width).map_err(what)?
                    } else {
                        (img.height, img.width)
                    };
                    let f = image_pre.factor();
                    budget_used = budget_used.saturating_add((h / f) * (w / f));
                    if budget_used > context {
                        return Err(what(Error::InvalidArgument(format!(
                            "the media so far need {budget_used} prompt positions, more than \
                             the model's context of {context}; lower --max-pixels / \
                             image_max_pixels or send fewer images"
                        ))));
                    }
                    images.push(image_pre.preprocess_image(&img).map_err(what)?);
                }
                Media::Audio(src) => audios.push(src.features(&self.audio_pre).map_err(what)?),
                Media::Video { source, with_audio } => {
                    let mut vo = opts.video.clone();
                    vo.with_audio = *with_audio;
                    let loaded = load_video(source, &vo).map_err(what)?;
                    let video_opts = VideoOptions {
                        min_pixels: opts
                            .video_min_pixels
                            .unwrap_or(VideoOptions::default().min_pixels),
                        max_pixels: opts
                            .video_max_pixels
                            .unwrap_or(VideoOptions::default().max_pixels),
                        fps: Some(loaded.fps),
                        ..VideoOptions::default()
                    };
                    let pv = image_pre
                        .preprocess_video(&loaded.frames, &video_opts)
                        .map_err(what)?;
                    let track = match (&loaded.audio, with_audio) {
                        (Some(a), true) => Some(
                            self.audio_pre
                                .features(&a.samples, a.sample_rate)
                                .map_err(|e| what(e.into()))?,
                        ),
                        _ => None,
                    };
                    videos.push((pv, track));
                }
            }
        }

        let sizes = MediaSizes {
            images: images.iter().map(|p| grid(p.grid_thw)).collect(),
            videos: videos
                .iter()
                .map(|(v, a)| VideoItem {
                    grid: grid(v.pixel_values.grid_thw),
                    second_per_grid: v.second_per_grid,
                    audio_tokens: a.as_ref().map(MelFeatures::audio_tokens),
                })
                .collect(),
            audios: audios.iter().map(MelFeatures::audio_tokens).collect(),
        };
        let expanded = expand_placeholders(ids, &sizes, &self.spec)?;
        let rope = rope_index(&expanded, &sizes, &self.spec)?;

        // Clips in the order their tokens appear: a standalone clip at its
        // <|audio_pad|>, a video's own track at its <|video_pad|>.
        let mut clips: Vec<&MelFeatures> = Vec::new();
        let (mut ai, mut vi) = (0, 0);
        for &id in ids {
            if id == tk.audio_pad {
                clips.push(&audios[ai]);
                ai += 1;
            } else if id == tk.video_pad {
                if let Some(track) = &videos[vi].1 {
                    clips.push(track);
                }
                vi += 1;
            }
        }
        let device = self.thinker.device();
        let audio = if clips.is_empty() {
            None
        } else {
            Some(concat_mels(&clips, device)?)
        };
        let image_pv: Vec<&PixelValues> = images.iter().collect();
        let video_pv: Vec<&PixelValues> = videos.iter().map(|(v, _)| &v.pixel_values).collect();
        Ok(PreparedPrompt {
            ids: expanded,
            rope,
            sizes,
            images: stack_pixels(&image_pv, device)?,
            videos: stack_pixels(&video_pv, device)?,
            audio,
        })
    }

    /// The image processor with the request's pixel budget applied.
    fn image_budget(&self, opts: &MediaOptions) -> Result<ImagePreprocessor> {
        let mut pre = self.image_pre.clone();
        if let Some(v) = opts.image_min_pixels {
            pre.min_pixels = v;
        }
        if let Some(v) = opts.image_max_pixels {
            pre.max_pixels = v;
        }
        let video_min = opts
            .video_min_pixels
            .unwrap_or(VideoOptions::default().min_pixels);
        let video_max = opts
            .video_max_pixels
            .unwrap_or(VideoOptions::default().max_pixels);
        for (what, lo, hi) in [
            ("image", pre.min_pixels, pre.max_pixels),
            ("video frame", video_min, video_max),
        ] {
            if lo == 0 || lo > hi {
                return Err(Error::InvalidArgument(format!(
                    "{what} pixel budget: min {lo} / max {hi}: need 0 < min <= max"
                )));
            }
        }
        Ok(pre)
    }

    /// Runs the encoders and the prompt through the thinker in pieces of
    /// `chunk` positions, appending to `cache` and recording the rope delta
    /// in it (later text tokens continue at the right positions).
    pub fn prefill(
        &self,
        prompt: &PreparedPrompt,
        cache: &mut KvCache,
        want: LogitsFor,
        chunk: usize,
    ) -> Result<Tensor> {
        let encode = |p: &Option<Pixels>| -> Result<_> {
            match (p, &self.vision) {
                (None, _) => Ok(None),
                (Some(p), Some(v)) => Ok(Some(v.forward(&p.values, &p.grids)?)),
                (Some(_), None) => Err(Error::Unsupported("no vision encoder".into())),
            }
        };
        let image = encode(&prompt.images)?;
        let video = encode(&prompt.videos)?;
        let audio = match (&prompt.audio, &self.audio) {
            (None, _) => None,
            (Some((features, frames)), Some(a)) => Some(a.forward_clips(features, frames)?),
            (Some(_), None) => return Err(Error::Unsupported("no audio encoder".into())),
        };
        let embeds = MultimodalEmbeds {
            image: image.as_ref(),
            video: video.as_ref(),
            audio: audio.as_ref(),
        };
        let logits = self.thinker.prefill_multimodal(
            &prompt.ids,
            &embeds,
            &prompt.rope.positions,
            cache,
            want,
            chunk,
        )?;
        cache.set_rope_delta(prompt.rope.rope_delta);
        Ok(logits)
    }
}

/// Encoders run in f32 or bf16 (the thinker's compute dtype when it is one of them).
fn encoder_dtype(dtype: DType) -> DType {
    if dtype == DType::BF16 {
        DType::BF16
    } else {
        DType::F32
    }
}

fn grid(g: [usize; 3]) -> GridThw {
    GridThw::new(g[0], g[1], g[2])
}

/// Prefixes an error with which input it is about.
fn item_error(e: Error, index: usize, kind: &str) -> Error {
    let at = format!("media input {} ({kind})", index + 1);
    match e {
        Error::InvalidArgument(m) => Error::InvalidArgument(format!("{at}: {m}")),
        Error::Unsupported(m) => Error::Unsupported(format!("{at}: {m}")),
        Error::Overflow(m) => Error::Overflow(format!("{at}: {m}")),
        other => other,
    }
}

/// Rows of several `pixel_values` stacked, with their grids (None if empty).
fn stack_pixels(items: &[&PixelValues], device: &crate::Device) -> Result<Option<Pixels>> {
    let Some(first) = items.first() else {
        return Ok(None);
    };
    let cols = first.cols;
    let mut rows = 0usize;
    let mut data = Vec::new();
    for p in items {
        if p.cols != cols {
            return Err(Error::shape(
                "pixel values",
                format!("patch sizes differ: {} and {cols}", p.cols),
            ));
        }
        rows = rows
            .checked_add(p.rows)
            .ok_or_else(|| Error::overflow("pixel value rows"))?;
        data.extend_from_slice(&p.data);
    }
    Ok(Some(Pixels {
        values: Tensor::from_slice(&data, [rows, cols], device)?,
        grids: items.iter().map(|p| p.grid_thw).collect(),
    }))
}

/// Clips concatenated on time: `[n_mels, Σ frames]` and each clip's frames.
fn concat_mels(clips: &[&MelFeatures], device: &crate::Device) -> Result<(Tensor, Vec<usize>)> {
    let n_mels = clips[0].n_mels;
    if clips.iter().any(|c| c.n_mels != n_mels) {
        return Err(Error::shape("audio features", "clips differ in mel bins"));
    }
    let frames: Vec<usize> = clips.iter().map(|c| c.frames).collect();
    let total = frames
        .iter()
        .try_fold(0usize, |a, &f| a.checked_add(f))
        .ok_or_else(|| Error::overflow("audio frames"))?;
    let mut data = Vec::with_capacity(n_mels.saturating_mul(total));
    for m in 0..n_mels {
        for c in clips {
            data.extend_from_slice(&c.data[m * c.frames..(m + 1) * c.frames]);
        }
    }
    Ok((Tensor::from_slice(&data, [n_mels, total], device)?, frames))
}
