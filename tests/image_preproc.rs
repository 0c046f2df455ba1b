//! Image / video-frame preprocessing vs the HF processor fixtures
//! (`models/fixtures/image_preproc`, scripts/fixtures/make_image_fixtures.py).

use std::path::PathBuf;

use omnirt::error::Error;
use omnirt::preprocess::image::{
    decode_image, load_image, resize_bicubic_aa_u8, smart_resize, DecodeLimits, ImagePreprocessor,
    PixelValues, Rgb8Image, VideoOptions,
};
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/fixtures/image_preproc")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

struct Fx {
    bytes: Vec<u8>,
}

impl Fx {
    fn open(case: &str) -> Fx {
        Fx {
            bytes: std::fs::read(dir().join(format!("{case}.safetensors"))).unwrap(),
        }
    }
    fn st(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).unwrap()
    }
    fn has(&self, name: &str) -> bool {
        self.st().names().contains(&name)
    }
    fn raw(&self, name: &str, dtype: Dtype) -> (Vec<u8>, Vec<usize>) {
        let st = self.st();
        let t = st.tensor(name).unwrap();
        assert_eq!(t.dtype(), dtype, "{name}");
        (t.data().to_vec(), t.shape().to_vec())
    }
    fn u8(&self, name: &str) -> (Vec<u8>, Vec<usize>) {
        self.raw(name, Dtype::U8)
    }
    fn f32(&self, name: &str) -> Vec<f32> {
        let (b, _) = self.raw(name, Dtype::F32);
        b.chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }
    fn f64(&self, name: &str) -> Vec<f64> {
        let (b, _) = self.raw(name, Dtype::F64);
        b.chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }
    fn usizes(&self, name: &str) -> Vec<usize> {
        let (b, _) = self.raw(name, Dtype::I64);
        b.chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as usize)
            .collect()
    }
}

fn count_diff(a: &[u8], b: &[u8]) -> (usize, u8) {
    assert_eq!(a.len(), b.len());
    let mut n = 0;
    let mut max = 0u8;
    for (x, y) in a.iter().zip(b) {
        let d = x.abs_diff(*y);
        if d > 0 {
            n += 1;
            max = max.max(d);
        }
    }
    (n, max)
}

/// Compares `pv` with the fixture's `key` (full or row subset) within 1e-6, and its f64 sum.
fn check_pixel_values(fx: &Fx, key: &str, pv: &PixelValues, what: &str) {
    let shape = fx.usizes(&format!("{key}_shape"));
    assert_eq!([pv.rows, pv.cols], [shape[0], shape[1]], "{what}: shape");
    let tol = 1e-6f32;
    if fx.has(key) {
        let want = fx.f32(key);
        assert_eq!(want.len(), pv.data.len());
        for (i, (a, b)) in pv.data.iter().zip(&want).enumerate() {
            assert!((a - b).abs() <= tol, "{what}: value {i}: {a} vs {b}");
        }
    } else {
        let idx = fx.usizes(&format!("{key}_row_index"));
        let rows = fx.f32(&format!("{key}_rows"));
        assert_eq!(rows.len(), idx.len() * pv.cols);
        for (k, &r) in idx.iter().enumerate() {
            let want = &rows[k * pv.cols..(k + 1) * pv.cols];
            for (j, (a, b)) in pv.row(r).iter().zip(want).enumerate() {
                assert!((a - b).abs() <= tol, "{what}: row {r} col {j}: {a} vs {b}");
            }
        }
    }
    let sum: f64 = pv.data.iter().map(|&v| v as f64).sum();
    let want = fx.f64(&format!("{key}_sum"))[0];
    assert!(
        (sum - want).abs() <= 1e-6 * pv.data.len() as f64,
        "{what}: sum {sum} vs {want}"
    );
}

fn image_cases() -> Vec<(String, Value)> {
    let m = manifest();
    let mut v: Vec<(String, Value)> = m["cases"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, c)| c["kind"] == "image")
        .map(|(k, c)| (k.clone(), c.clone()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(v.len() >= 7);
    v
}

fn pre_for(case: &Value) -> ImagePreprocessor {
    ImagePreprocessor {
        min_pixels: case["min_pixels"].as_u64().unwrap() as usize,
        max_pixels: case["max_pixels"].as_u64().unwrap() as usize,
        ..ImagePreprocessor::default()
    }
}

fn input_path(case: &Value) -> PathBuf {
    dir().join("inputs").join(case["input"].as_str().unwrap())
}

fn decoded(fx: &Fx) -> Rgb8Image {
    let (src, shape) = fx.u8("decoded_rgb");
    Rgb8Image::from_raw(shape[1], shape[0], src).unwrap()
}

#[test]
fn config_from_checkpoint_processor_json() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models/tiny-qwen3-omni/processor_config.json");
    let pre = ImagePreprocessor::from_file(path).unwrap();
    assert_eq!(pre, ImagePreprocessor::default());
    // Flat preprocessor_config.json keys (released checkpoint layout).
    let flat: Value = serde_json::json!({
        "min_pixels": 3136, "max_pixels": 12845056, "patch_size": 16, "temporal_patch_size": 2,
        "merge_size": 2, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
        "feature_size": 128
    });
    assert_eq!(
        ImagePreprocessor::from_json(&flat).unwrap(),
        ImagePreprocessor::default()
    );
    let bad = serde_json::json!({"image_processor": {"resample": 2}});
    assert!(matches!(
        ImagePreprocessor::from_json(&bad),
        Err(Error::Unsupported(_))
    ));
    let bad = serde_json::json!({"patch_size": "16"});
    assert!(matches!(
        ImagePreprocessor::from_json(&bad),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn smart_resize_table_matches_reference() {
    let m = manifest();
    let table = m["smart_resize"].as_array().unwrap();
    assert!(table.len() > 40);
    for row in table {
        let g = |k: &str| row[k].as_u64().unwrap() as usize;
        let got = smart_resize(g("h"), g("w"), 32, g("min_pixels"), g("max_pixels"));
        if row.get("error").is_some() {
            assert!(
                matches!(got, Err(Error::InvalidArgument(ref m)) if m.contains("aspect ratio")),
                "{row}: {got:?}"
            );
        } else {
            let want = row["out"].as_array().unwrap();
            let want = (
                want[0].as_u64().unwrap() as usize,
                want[1].as_u64().unwrap() as usize,
            );
            assert_eq!(got.unwrap(), want, "{row}");
        }
    }
}

#[test]
fn smart_resize_banker_rounding() {
    // 80 / 32 = 2.5 -> 2 (even), 112 / 32 = 3.5 -> 4, 48 / 32 = 1.5 -> 2.
    assert_eq!(smart_resize(80, 112, 32, 0, usize::MAX).unwrap(), (64, 128));
    assert_eq!(smart_resize(48, 48, 32, 0, usize::MAX).unwrap(), (64, 64));
}

#[test]
fn decode_matches_pil() {
    for (case, c) in image_cases() {
        let fx = Fx::open(&case);
        let img = load_image(input_path(&c), &DecodeLimits::default()).unwrap();
        let want = decoded(&fx);
        assert_eq!((img.height, img.width), (want.height, want.width), "{case}");
        let (n, max) = count_diff(&img.data, &want.data);
        if case.starts_with("photo") {
            // zune-jpeg vs libjpeg-turbo: allow small IDCT differences, report them.
            eprintln!(
                "{case}: JPEG decode differs from PIL in {n} of {} values (max {max})",
                want.data.len()
            );
            assert!(
                max <= 8 && n * 3 <= want.data.len(),
                "{case}: {n} values differ, max {max}"
            );
        } else {
            assert_eq!((n, max), (0, 0), "{case}: decode differs from PIL");
        }
    }
}

#[test]
fn resized_pixels_bit_exact() {
    for (case, c) in image_cases() {
        let fx = Fx::open(&case);
        let pre = pre_for(&c);
        let img = decoded(&fx);
        let (want, wshape) = fx.u8("resized");
        let (h, w) = pre.target_size(img.height, img.width).unwrap();
        assert_eq!([h, w], [wshape[0], wshape[1]], "{case}: smart_resize");
        let r = pre.resize_image(&img).unwrap();
        assert_eq!(
            count_diff(&r.data, &want),
            (0, 0),
            "{case}: resized pixels differ"
        );
    }
}

#[test]
fn pixel_values_and_grid() {
    for (case, c) in image_cases() {
        let fx = Fx::open(&case);
        let pre = pre_for(&c);
        // From the PIL-decoded pixels (the bit-exact path).
        let pv = pre.preprocess_image(&decoded(&fx)).unwrap();
        let grid = fx.usizes("image_grid_thw");
        assert_eq!(pv.grid_thw.to_vec(), grid, "{case}");
        assert_eq!(pv.cols, 1536);
        assert_eq!(pv.num_tokens(2), grid.iter().product::<usize>() / 4);
        check_pixel_values(&fx, "pixel_values", &pv, &case);
        // End to end from the file: identical for the lossless formats.
        if !case.starts_with("photo") {
            let bytes = std::fs::read(input_path(&c)).unwrap();
            let pv2 = pre
                .preprocess_bytes(&bytes, &DecodeLimits::default())
                .unwrap();
            assert_eq!(pv2, pv, "{case}: from the file");
        }
    }
}

fn video_frames(fx: &Fx) -> Vec<Rgb8Image> {
    let (frames, shape) = fx.u8("frames");
    let (t, h, w) = (shape[0], shape[1], shape[2]);
    let n = h * w * 3;
    (0..t)
        .map(|i| Rgb8Image::from_raw(w, h, frames[i * n..(i + 1) * n].to_vec()).unwrap())
        .collect()
}

#[test]
fn video_frames_budget_and_pixel_values() {
    let fx = Fx::open("video_3f");
    let frames = video_frames(&fx);
    // The committed frame files hold the same pixels.
    for (i, f) in frames.iter().enumerate() {
        let p = dir().join(format!("inputs/video_frame{i}_72x96.png"));
        assert_eq!(&load_image(p, &DecodeLimits::default()).unwrap(), f);
    }
    let pre = ImagePreprocessor::default();
    let opts = VideoOptions::default();
    let v = pre.preprocess_video(&frames, &opts).unwrap();
    let (want, shape) = fx.u8("resized");
    assert_eq!([v.resized_hw.0, v.resized_hw.1], [shape[1], shape[2]]);
    // The video budget (131072..786432 per frame), not the image one: 72x96 is upscaled.
    assert_eq!(v.resized_hw, (320, 448));
    assert_ne!(pre.target_size(72, 96).unwrap(), v.resized_hw);
    let (resized, _) =
        omnirt::preprocess::image::video::resize_frames(&pre, &frames, &opts).unwrap();
    assert_eq!(
        count_diff(&resized.concat(), &want),
        (0, 0),
        "video frames differ"
    );
    assert_eq!(
        v.pixel_values.grid_thw.to_vec(),
        fx.usizes("video_grid_thw")
    );
    check_pixel_values(&fx, "pixel_values_videos", &v.pixel_values, "video_3f");
    assert_eq!(v.second_per_grid, fx.f64("video_second_per_grid")[0]);
    assert_eq!(v.second_per_grid, 2.0);

    let fx2 = Fx::open("video_3f_fps2");
    let opts = VideoOptions {
        fps: Some(2.0),
        ..VideoOptions::default()
    };
    let v2 = pre.preprocess_video(&frames, &opts).unwrap();
    assert_eq!(v2.second_per_grid, fx2.f64("video_second_per_grid")[0]);
    assert_eq!(
        v2.pixel_values.grid_thw.to_vec(),
        fx2.usizes("video_grid_thw")
    );
}

#[test]
fn video_frame_padding_repeats_last_frame() {
    let fx = Fx::open("video_3f");
    let frames = video_frames(&fx);
    let pre = ImagePreprocessor::default();
    let opts = VideoOptions::default();
    let v3 = pre.preprocess_video(&frames, &opts).unwrap();
    let mut four = frames.clone();
    four.push(frames[2].clone());
    let v4 = pre.preprocess_video(&four, &opts).unwrap();
    assert_eq!(v3.pixel_values, v4.pixel_values);
    let one = pre.preprocess_video(&frames[..1], &opts).unwrap();
    assert_eq!(one.pixel_values.grid_thw, [1, 20, 28]);
    // Capped budget option: never below 1.05 * min_pixels.
    let capped = VideoOptions {
        cap_pixels_per_frame: true,
        ..VideoOptions::default()
    };
    assert_eq!(capped.frame_max_pixels(2, 32, 2), 786432);
    assert_eq!(capped.frame_max_pixels(100_000, 32, 2), 137625);
}

// ---------- bad inputs: typed errors, never a panic ----------

#[test]
fn corrupt_and_truncated_images_are_errors() {
    let lim = DecodeLimits::default();
    for name in ["rgb_37x53.png", "photo_200x300.jpg", "lossless_33x47.webp"] {
        let bytes = std::fs::read(dir().join("inputs").join(name)).unwrap();
        for cut in [bytes.len() / 2, 40, 20] {
            let r = decode_image(&bytes[..cut], &lim);
            assert!(
                matches!(r, Err(Error::InvalidArgument(_))),
                "{name} cut {cut}: {r:?}"
            );
        }
        let mut garbled = bytes.clone();
        for b in garbled[30..].iter_mut() {
            *b ^= 0x5a;
        }
        let r = decode_image(&garbled, &lim);
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "{name} garbled: {r:?}"
        );
    }
    let r = decode_image(&[], &lim);
    assert!(matches!(r, Err(Error::Unsupported(_))), "{r:?}");
    let r = load_image(dir().join("inputs/does_not_exist.png"), &lim);
    assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
}

/// A PNG signature + IHDR chunk (valid CRC) claiming `w x h`, and no image data.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let crc = crc32(&ihdr);
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc.to_be_bytes());
    // A first IDAT chunk (zlib header only) so that the header parses.
    let idat = b"IDAT\x78\x9c".to_vec();
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&idat);
    out.extend_from_slice(&crc32(&idat).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn zero_sized_and_oversized_images_are_errors() {
    let lim = DecodeLimits::default();
    for (w, h) in [(0, 10), (10, 0), (0, 0)] {
        let r = decode_image(&png_header(w, h), &lim);
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "{w}x{h}: {r:?}"
        );
    }
    // Beyond the limits: rejected from the header, before allocating.
    for (w, h) in [(100_000, 100_000), (u32::MAX >> 1, 2), (16385, 16)] {
        let r = decode_image(&png_header(w, h), &lim);
        assert!(
            matches!(r, Err(Error::InvalidArgument(ref m)) if m.contains("exceeds")),
            "{w}x{h}: {r:?}"
        );
    }
    let small = DecodeLimits {
        max_side: 64,
        max_pixels: 1000,
    };
    let r = load_image(dir().join("inputs/rgb_37x53.png"), &small);
    assert!(
        matches!(r, Err(Error::InvalidArgument(ref m)) if m.contains("exceeds")),
        "{r:?}"
    );
    assert!(matches!(
        Rgb8Image::from_raw(0, 5, vec![]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Rgb8Image::from_raw(2, 2, vec![0; 11]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Rgb8Image::from_raw(usize::MAX, 3, vec![]),
        Err(Error::Overflow(_))
    ));
    assert!(resize_bicubic_aa_u8(&[0; 12], 2, 2, 3, 0, 4).is_err());
    assert!(resize_bicubic_aa_u8(&[0; 11], 2, 2, 3, 4, 4).is_err());
}

#[test]
fn extreme_aspect_ratio_is_an_error() {
    let pre = ImagePreprocessor::default();
    for (h, w) in [(1, 201), (2, 401), (1000, 4)] {
        let r = smart_resize(h, w, 32, 3136, 12845056);
        assert!(
            matches!(r, Err(Error::InvalidArgument(ref m)) if m.contains("aspect ratio")),
            "{r:?}"
        );
        let img = Rgb8Image::from_raw(w, h, vec![128; h * w * 3]).unwrap();
        assert!(matches!(
            pre.preprocess_image(&img),
            Err(Error::InvalidArgument(_))
        ));
    }
    assert!(matches!(
        smart_resize(0, 5, 32, 3136, 12845056),
        Err(Error::InvalidArgument(_))
    ));
    assert!(smart_resize(usize::MAX, usize::MAX, 32, 3136, 12845056).is_err());
    // Ratio exactly 200 is accepted (the check is `> 200`).
    assert!(smart_resize(1, 200, 32, 3136, 12845056).is_ok());
}

#[test]
fn unsupported_formats_are_errors() {
    let lim = DecodeLimits::default();
    let cases: [(&str, &[u8]); 5] = [
        ("gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ("bmp", b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00"),
        ("tiff", b"II*\x00\x08\x00\x00\x00\x00\x00"),
        ("text", b"hello, this is not an image at all"),
        ("qoi", b"qoif\x00\x00\x00\x01\x00\x00\x00\x01\x03\x00"),
    ];
    for (name, bytes) in cases {
        let r = decode_image(bytes, &lim);
        assert!(matches!(r, Err(Error::Unsupported(_))), "{name}: {r:?}");
    }
}

#[test]
fn bad_video_inputs_are_errors() {
    let pre = ImagePreprocessor::default();
    let opts = VideoOptions::default();
    let a = Rgb8Image::from_raw(4, 4, vec![0; 48]).unwrap();
    let b = Rgb8Image::from_raw(5, 4, vec![0; 60]).unwrap();
    assert!(matches!(
        pre.preprocess_video(&[a.clone(), b], &opts),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        pre.preprocess_video(&[], &opts),
        Err(Error::InvalidArgument(_))
    ));
    let bad_fps = VideoOptions {
        fps: Some(0.0),
        ..VideoOptions::default()
    };
    assert!(matches!(
        pre.preprocess_video(&[a], &bad_fps),
        Err(Error::InvalidArgument(_))
    ));
}
