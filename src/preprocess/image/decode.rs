//! Image bytes / files → 8-bit RGB, as `transformers` sees a PIL image.
//!
//! Formats: PNG, JPEG and WebP only (the `image` crate with just those features).
//! The header is read first and the size checked against [`DecodeLimits`]
//! before any pixel buffer is allocated. Images with an alpha channel (RGBA,
//! gray+alpha, palette or colour-key transparency) are composited onto white
//! with Pillow's integer `alpha_composite` arithmetic, which is what
//! `transformers.image_transforms.convert_to_rgb` does; grayscale is replicated.
//!
//! JPEG note: the `image` crate decodes with `zune-jpeg`, PIL with libjpeg-turbo.
//! Both are IDCT approximations; decoded pixels may differ by a gray level or two
//! on some pixels (the fixture test reports the difference). PNG and WebP
//! lossless are exact.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageFormat, ImageReader};

use crate::error::{Error, Result};

/// An 8-bit RGB image, rows of `width` pixels, channels interleaved (HWC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rgb8Image {
    pub width: usize,
    pub height: usize,
    /// `height * width * 3` bytes, row-major, RGB interleaved.
    pub data: Vec<u8>,
}

impl Rgb8Image {
    /// Wraps an HWC RGB buffer; checks its length.
    pub fn from_raw(width: usize, height: usize, data: Vec<u8>) -> Result<Rgb8Image> {
        let want = checked_len(width, height, 3)?;
        if width == 0 || height == 0 {
            return Err(Error::invalid(format!(
                "image: zero-sized image ({height}x{width})"
            )));
        }
        if data.len() != want {
            return Err(Error::invalid(format!(
                "image: {height}x{width} RGB needs {want} bytes, got {}",
                data.len()
            )));
        }
        Ok(Rgb8Image {
            width,
            height,
            data,
        })
    }
}

pub(crate) fn checked_len(width: usize, height: usize, channels: usize) -> Result<usize> {
    width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(channels))
        .ok_or_else(|| Error::overflow(format!("image: {height}x{width}x{channels} bytes")))
}

/// Size limits checked on the header, before decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Longest accepted side, in pixels.
    pub max_side: usize,
    /// Largest accepted `width * height`.
    pub max_pixels: usize,
}

impl Default for DecodeLimits {
    /// 16384 per side and 2^28 pixels (a 16384 x 16384 image: 768 MiB of RGB8
    /// while decoding; the processor then shrinks it to at most 12.8 Mpixels).
    fn default() -> Self {
        DecodeLimits {
            max_side: 16384,
            max_pixels: 1 << 28,
        }
    }
}

impl DecodeLimits {
    /// A `width x height` image is non-empty and within the limits.
    pub fn check(&self, width: usize, height: usize) -> Result<()> {
        let (w, h) = (width, height);
        if w == 0 || h == 0 {
            return Err(Error::invalid(format!("image: zero-sized image ({h}x{w})")));
        }
        let pixels = w
            .checked_mul(h)
            .ok_or_else(|| Error::overflow(format!("image: {h}x{w} pixels")))?;
        if w > self.max_side || h > self.max_side || pixels > self.max_pixels {
            return Err(Error::invalid(format!(
                "image: {h}x{w} ({pixels} pixels) exceeds the limit of {} per side / {} pixels",
                self.max_side, self.max_pixels
            )));
        }
        Ok(())
    }
}

/// Reads and decodes an image file. See [`decode_image`].
pub fn load_image(path: impl AsRef<Path>, limits: &DecodeLimits) -> Result<Rgb8Image> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| {
        Error::InvalidArgument(format!("image: cannot read {}: {e}", path.display()))
    })?;
    decode_image(&bytes, limits).map_err(|e| match e {
        Error::InvalidArgument(m) => Error::InvalidArgument(format!("{}: {m}", path.display())),
        Error::Unsupported(m) => Error::Unsupported(format!("{}: {m}", path.display())),
        e => e,
    })
}

/// Decodes PNG / JPEG / WebP bytes to RGB8 (alpha composited over white).
///
/// Errors: `Unsupported` for any other (or unknown) format, `InvalidArgument`
/// for corrupt data, a zero-sized image or one beyond `limits`.
pub fn decode_image(bytes: &[u8], limits: &DecodeLimits) -> Result<Rgb8Image> {
    let format = image::guess_format(bytes).map_err(|_| {
        Error::Unsupported("image: unknown image format (supported: PNG, JPEG, WebP)".to_string())
    })?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP
    ) {
        return Err(Error::Unsupported(format!(
            "image: {format:?} images are not supported (supported: PNG, JPEG, WebP); convert it first"
        )));
    }
    // zune-jpeg fills a truncated scan with gray and succeeds; PIL raises
    // ("image file is truncated"). Require the end-of-image marker.
    if format == ImageFormat::Jpeg && !bytes.windows(2).any(|w| w == [0xFF, 0xD9]) {
        return Err(Error::invalid(
            "image: corrupt or truncated Jpeg data: no end-of-image marker",
        ));
    }
    let reader = || ImageReader::with_format(Cursor::new(bytes), format);
    let (w, h) = reader().into_dimensions().map_err(|e| corrupt(format, e))?;
    let (w, h) = (w as usize, h as usize);
    if w == 0 || h == 0 {
        return Err(Error::invalid(format!(
            "image: zero-sized {format:?} image ({h}x{w})"
        )));
    }
    limits.check(w, h)?;
    // Worst case while decoding: 16-bit RGBA, plus the RGB8 output.
    let max_alloc = checked_len(w, h, 8 + 3)? as u64 + (1 << 20);
    let mut io_limits = image::Limits::default();
    io_limits.max_image_width = Some(w as u32);
    io_limits.max_image_height = Some(h as u32);
    io_limits.max_alloc = Some(max_alloc);
    let mut r = reader();
    r.limits(io_limits);
    let img = r.decode().map_err(|e| corrupt(format, e))?;
    if img.width() as usize != w || img.height() as usize != h {
        return Err(Error::invalid(format!(
            "image: {format:?} header says {h}x{w}, decoded {}x{}",
            img.height(),
            img.width()
        )));
    }
    Ok(to_rgb(img))
}

fn corrupt(format: ImageFormat, e: image::ImageError) -> Error {
    match e {
        image::ImageError::Unsupported(u) => {
            Error::Unsupported(format!("image: {format:?} variant not supported: {u}"))
        }
        image::ImageError::Limits(l) => {
            Error::invalid(format!("image: {format:?}: size exceeds the limit: {l}"))
        }
        e => Error::invalid(format!("image: corrupt or truncated {format:?} data: {e}")),
    }
}

/// `convert_to_rgb`: alpha over opaque white (Pillow's `alpha_composite` integer
/// math), otherwise a plain conversion (gray replicated, 16-bit rounded to 8).
fn to_rgb(img: DynamicImage) -> Rgb8Image {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if img.color().has_alpha() {
        let rgba = img.into_rgba8().into_raw();
        let mut data = Vec::with_capacity(w * h * 3);
        for px in rgba.chunks_exact(4) {
            let a = px[3] as u32;
            for &c in &px[..3] {
                data.push(composite_over_white(c as u32, a));
            }
        }
        Rgb8Image {
            width: w,
            height: h,
            data,
        }
    } else {
        Rgb8Image {
            width: w,
            height: h,
            data: img.into_rgb8().into_raw(),
        }
    }
}

/// Pillow `ImagingAlphaComposite` (libImaging/AlphaComposite.c) with an opaque
/// white destination: 7 extra precision bits, divisions by 255 done with shifts.
fn composite_over_white(c: u32, a: u32) -> u8 {
    const PRECISION_BITS: u32 = 7;
    if a == 0 {
        return 255;
    }
    let dst = 255u32;
    let blend = dst * (255 - a);
    let outa255 = a * 255 + blend;
    let coef1 = a * 255 * 255 * (1 << PRECISION_BITS) / outa255;
    let coef2 = 255 * (1 << PRECISION_BITS) - coef1;
    let tmp = c * coef1 + dst * coef2 + (0x80 << PRECISION_BITS);
    let div255 = ((tmp >> 8) + tmp) >> 8;
    (div255 >> PRECISION_BITS) as u8
}
