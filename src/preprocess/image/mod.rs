//! Image and video-frame preprocessing for the vision encoder, equal to HF
//! `Qwen2VLImageProcessor` / `Qwen2VLVideoProcessor` (transformers 5.x,
//! torchvision backend) as `Qwen3OmniMoeProcessor` drives them:
//! decode → RGB → `smart_resize` (factor 32) → antialiased bicubic resize on
//! uint8 (bit-exact) → rescale/normalise → patchify in 2x2 merge-block order.
//!
//! ```no_run
//! use omnirt::preprocess::image::{ImagePreprocessor, DecodeLimits, load_image};
//! let pre = ImagePreprocessor::default();
//! let img = load_image("cat.jpg", &DecodeLimits::default())?;
//! let pv = pre.preprocess_image(&img)?;
//! println!("{:?} -> {} tokens", pv.grid_thw, pv.num_tokens(pre.spec.merge_size));
//! # Ok::<(), omnirt::error::Error>(())
//! ```

pub mod decode;
pub mod patchify;
pub mod resize;
pub mod smart_resize;
pub mod video;

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

pub use decode::{decode_image, load_image, DecodeLimits, Rgb8Image};
pub use patchify::{PatchSpec, PixelValues};
pub use resize::resize_bicubic_aa_u8;
pub use smart_resize::smart_resize;
pub use video::{VideoOptions, VideoPixelValues, VIDEO_MAX_PIXELS, VIDEO_MIN_PIXELS};

/// The image (and video-frame) preprocessor.
#[derive(Clone, Debug, PartialEq)]
pub struct ImagePreprocessor {
    pub spec: PatchSpec,
    /// Image pixel budget (`size.shortest_edge` / `size.longest_edge`,
    /// a.k.a. `min_pixels` / `max_pixels`).
    pub min_pixels: usize,
    pub max_pixels: usize,
    pub do_resize: bool,
}

impl Default for ImagePreprocessor {
    /// The released Qwen3-Omni values (qwen3-omni.md 2.4).
    fn default() -> Self {
        ImagePreprocessor {
            spec: PatchSpec {
                patch_size: 16,
                temporal_patch_size: 2,
                merge_size: 2,
                image_mean: [0.5; 3],
                image_std: [0.5; 3],
                rescale_factor: Some(1.0 / 255.0),
                do_normalize: true,
            },
            min_pixels: 3136,
            max_pixels: 12_845_056,
            do_resize: true,
        }
    }
}

fn get_usize(v: &Value, key: &str) -> Result<Option<usize>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_u64().map(|n| Some(n as usize)).ok_or_else(|| {
            Error::invalid(format!(
                "image processor config: `{key}` must be an unsigned integer, got {x}"
            ))
        }),
    }
}

fn get_bool(v: &Value, key: &str, default: bool) -> Result<bool> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(x) => x.as_bool().ok_or_else(|| {
            Error::invalid(format!(
                "image processor config: `{key}` must be a bool, got {x}"
            ))
        }),
    }
}

fn get_triple(v: &Value, key: &str, default: [f32; 3]) -> Result<[f32; 3]> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => Ok([n.as_f64().unwrap_or(f64::NAN) as f32; 3]),
        Some(Value::Array(a)) if a.len() == 3 && a.iter().all(Value::is_number) => {
            let f = |i: usize| a[i].as_f64().unwrap_or(f64::NAN) as f32;
            Ok([f(0), f(1), f(2)])
        }
        Some(x) => Err(Error::invalid(format!(
            "image processor config: `{key}` must be a number or 3 numbers, got {x}"
        ))),
    }
}

impl ImagePreprocessor {
    /// `patch_size * merge_size` (32 for Qwen3-Omni).
    pub fn factor(&self) -> usize {
        self.spec.patch_size * self.spec.merge_size
    }

    /// Reads a checkpoint's `preprocessor_config.json` (flat) or v5
    /// `processor_config.json` (the `image_processor` section). Missing keys
    /// keep the released Qwen3-Omni values.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ImagePreprocessor> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::invalid(format!("{}: not valid JSON: {e}", path.display())))?;
        Self::from_json(&v)
    }

    /// From a parsed config; see [`ImagePreprocessor::from_file`].
    pub fn from_json(v: &Value) -> Result<ImagePreprocessor> {
        let v = v.get("image_processor").unwrap_or(v);
        let d = ImagePreprocessor::default();
        let size = v.get("size").cloned().unwrap_or(Value::Null);
        let min_pixels = get_usize(v, "min_pixels")?
            .or(get_usize(&size, "shortest_edge")?)
            .or(get_usize(&size, "min_pixels")?)
            .unwrap_or(d.min_pixels);
        let max_pixels = get_usize(v, "max_pixels")?
            .or(get_usize(&size, "longest_edge")?)
            .or(get_usize(&size, "max_pixels")?)
            .unwrap_or(d.max_pixels);
        if let Some(r) = get_usize(v, "resample")? {
            if r != 3 {
                return Err(Error::Unsupported(format!(
                    "image processor: resample {r} (only 3 = bicubic is implemented)"
                )));
            }
        }
        let do_rescale = get_bool(v, "do_rescale", true)?;
        let rescale = match v.get("rescale_factor") {
            None | Some(Value::Null) => 1.0 / 255.0,
            Some(x) => x.as_f64().ok_or_else(|| {
                Error::invalid(format!("image processor config: bad rescale_factor {x}"))
            })?,
        };
        let spec = PatchSpec {
            patch_size: get_usize(v, "patch_size")?.unwrap_or(d.spec.patch_size),
            temporal_patch_size: get_usize(v, "temporal_patch_size")?
                .unwrap_or(d.spec.temporal_patch_size),
            merge_size: get_usize(v, "merge_size")?.unwrap_or(d.spec.merge_size),
            image_mean: get_triple(v, "image_mean", d.spec.image_mean)?,
            image_std: get_triple(v, "image_std", d.spec.image_std)?,
            rescale_factor: do_rescale.then_some(rescale),
            do_normalize: get_bool(v, "do_normalize", true)?,
        };
        if spec.patch_size == 0 || spec.temporal_patch_size == 0 || spec.merge_size == 0 {
            return Err(Error::invalid(
                "image processor config: patch sizes must be > 0",
            ));
        }
        if spec.image_std.iter().any(|&s| s == 0.0 || !s.is_finite()) {
            return Err(Error::invalid(
                "image processor config: image_std must be non-zero",
            ));
        }
        Ok(ImagePreprocessor {
            spec,
            min_pixels,
            max_pixels,
            do_resize: get_bool(v, "do_resize", true)?,
        })
    }

    /// `smart_resize` with the image budget.
    pub fn target_size(&self, height: usize, width: usize) -> Result<(usize, usize)> {
        smart_resize(
            height,
            width,
            self.factor(),
            self.min_pixels,
            self.max_pixels,
        )
    }

    /// The resized RGB8 frame (what the processor feeds to normalisation).
    pub fn resize_image(&self, img: &Rgb8Image) -> Result<Rgb8Image> {
        let (h, w) = self.target_size(img.height, img.width)?;
        if !self.do_resize {
            return Ok(img.clone());
        }
        let data = resize_bicubic_aa_u8(&img.data, img.height, img.width, 3, h, w)?;
        Rgb8Image::from_raw(w, h, data)
    }

    /// `pixel_values` and `image_grid_thw` of one image.
    pub fn preprocess_image(&self, img: &Rgb8Image) -> Result<PixelValues> {
        let r = self.resize_image(img)?;
        self.spec.patchify(&[&r.data], r.height, r.width)
    }

    /// Decodes PNG/JPEG/WebP bytes and preprocesses them.
    pub fn preprocess_bytes(&self, bytes: &[u8], limits: &DecodeLimits) -> Result<PixelValues> {
        self.preprocess_image(&decode_image(bytes, limits)?)
    }

    /// `pixel_values_videos`, `video_grid_thw` and `video_second_per_grid` of one
    /// video given as decoded frames (already sampled), with the video budget.
    pub fn preprocess_video(
        &self,
        frames: &[Rgb8Image],
        opts: &VideoOptions,
    ) -> Result<VideoPixelValues> {
        let second_per_grid = opts.second_per_grid(self.spec.temporal_patch_size)?;
        let (resized, (h, w)) = video::resize_frames(self, frames, opts)?;
        let refs: Vec<&[u8]> = resized.iter().map(|f| f.as_slice()).collect();
        let pixel_values = self.spec.patchify(&refs, h, w)?;
        Ok(VideoPixelValues {
            pixel_values,
            resized_hw: (h, w),
            second_per_grid,
        })
    }
}
