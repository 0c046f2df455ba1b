//! `smart_resize` of HF `Qwen2VLImageProcessor` / `Qwen2VLVideoProcessor`: the
//! target size is a multiple of `factor` on both sides with the pixel count kept
//! in `[min_pixels, max_pixels]`, aspect ratio as close as possible.
//!
//! Mirrors the Python exactly: `round` is banker's rounding (half to even),
//! `height / factor` and `height * width / max_pixels` are IEEE f64 divisions
//! (Python's int / int is the correctly rounded quotient, the same as f64 for
//! integers below 2^53), and `math.floor` / `math.ceil` / `math.sqrt` are the f64 ones.

use crate::error::{Error, Result};

/// The largest aspect ratio (long side / short side) the processor accepts.
pub const MAX_ASPECT_RATIO: f64 = 200.0;

/// Returns `(resized_height, resized_width)`.
///
/// Errors (`Error::InvalidArgument`) on a zero side, an aspect ratio above 200
/// (the processor's `ValueError`), `factor == 0`, or a result with a zero side.
pub fn smart_resize(
    height: usize,
    width: usize,
    factor: usize,
    min_pixels: usize,
    max_pixels: usize,
) -> Result<(usize, usize)> {
    if height == 0 || width == 0 {
        return Err(Error::invalid(format!(
            "image: zero-sized image ({height}x{width}); nothing to resize"
        )));
    }
    if factor == 0 {
        return Err(Error::invalid("image: smart_resize factor must be > 0"));
    }
    let (h, w, f) = (height as f64, width as f64, factor as f64);
    let ratio = h.max(w) / h.min(w);
    if ratio > MAX_ASPECT_RATIO {
        return Err(Error::invalid(format!(
            "image: absolute aspect ratio must be smaller than {MAX_ASPECT_RATIO}, got {ratio} \
             ({height}x{width}); crop or pad the image first"
        )));
    }
    let area = height
        .checked_mul(width)
        .ok_or_else(|| Error::overflow(format!("image: {height}x{width} pixels")))?;
    let mut h_bar = round_half_even(h / f) * factor;
    let mut w_bar = round_half_even(w / f) * factor;
    let bar_area = h_bar
        .checked_mul(w_bar)
        .ok_or_else(|| Error::overflow(format!("image: {h_bar}x{w_bar} pixels")))?;
    if bar_area > max_pixels {
        let beta = (area as f64 / max_pixels as f64).sqrt();
        h_bar = factor.max(float_to_usize((h / beta / f).floor())? * factor);
        w_bar = factor.max(float_to_usize((w / beta / f).floor())? * factor);
    } else if bar_area < min_pixels {
        let beta = (min_pixels as f64 / area as f64).sqrt();
        h_bar = float_to_usize((h * beta / f).ceil())?
            .checked_mul(factor)
            .ok_or_else(|| Error::overflow("image: smart_resize height"))?;
        w_bar = float_to_usize((w * beta / f).ceil())?
            .checked_mul(factor)
            .ok_or_else(|| Error::overflow("image: smart_resize width"))?;
    }
    if h_bar == 0 || w_bar == 0 {
        return Err(Error::invalid(format!(
            "image: smart_resize of {height}x{width} gives an empty image ({h_bar}x{w_bar}); \
             raise min_pixels"
        )));
    }
    Ok((h_bar, w_bar))
}

fn round_half_even(x: f64) -> usize {
    x.round_ties_even() as usize
}

fn float_to_usize(x: f64) -> Result<usize> {
    if !(0.0..9.0e15).contains(&x) {
        return Err(Error::overflow(format!("image: smart_resize value {x}")));
    }
    Ok(x as usize)
}
