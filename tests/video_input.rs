//! Video inputs: frame sampling (qwen_omni_utils `smart_nframes` + torch
//! linspace index choice), frame directories, in-memory frames, and video files
//! through ffmpeg (those tests skip when `ffmpeg` is not on PATH).

use std::path::{Path, PathBuf};
use std::process::Command;

use omnirt::error::Error;
use omnirt::preprocess::image::Rgb8Image;
use omnirt::preprocess::video::{
    find_tools, linspace_round_indices, load_video, sample_indices, LoadedVideo, VideoLoadOptions,
    VideoSource,
};

fn opts() -> VideoLoadOptions {
    VideoLoadOptions::default()
}

fn msg(e: &Error) -> String {
    e.to_string()
}

// ---------------------------------------------------------------- sampling

/// Values worked out by hand from the reference formula:
/// `n = total / video_fps * 2`, clamped to `[4, floor2(min(768, total))]` and
/// `total`, floored to even; `idx = round_half_even(linspace(0, total-1, n))`.
#[test]
fn sample_indices_table() {
    struct Case {
        total: usize,
        video_fps: f64,
        idx: &'static [usize],
        fps: f64,
    }
    let cases = [
        // 10 s at 30 fps: 300 / 30 * 2 = 20 frames, step 299/19 = 15.736...
        Case {
            total: 300,
            video_fps: 30.0,
            idx: &[
                0, 16, 31, 47, 63, 79, 94, 110, 126, 142, 157, 173, 189, 205, 220, 236, 252, 268,
                283, 299,
            ],
            fps: 2.0,
        },
        // 3 frames at 30 fps: 0.2 -> max(., 4) = 4 -> min(., floor2(3) = 2) = 2.
        Case {
            total: 3,
            video_fps: 30.0,
            idx: &[0, 2],
            fps: 2.0 / 3.0 * 30.0,
        },
        // 7 frames at 30 fps: min frames 4 -> [0, 2, 4, 6].
        Case {
            total: 7,
            video_fps: 30.0,
            idx: &[0, 2, 4, 6],
            fps: 4.0 / 7.0 * 30.0,
        },
        // A 2 fps video: every frame.
        Case {
            total: 20,
            video_fps: 2.0,
            idx: &[
                0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
            ],
            fps: 2.0,
        },
        // 3 s at 10 fps: 6 frames, linspace(0, 29, 6) = 0, 5.8, 11.6, 17.4, 23.2, 29.
        Case {
            total: 30,
            video_fps: 10.0,
            idx: &[0, 6, 12, 17, 23, 29],
            fps: 2.0,
        },
        // 31 frames at 10 fps: 6.2 -> 6 frames, linspace(0, 30, 6) step 6.
        Case {
            total: 31,
            video_fps: 10.0,
            idx: &[0, 6, 12, 18, 24, 30],
            fps: 6.0 / 31.0 * 10.0,
        },
        // 29.97 fps, 299 frames: 19.95... -> 18 frames (floored to even).
        Case {
            total: 299,
            video_fps: 29.97,
            idx: &[
                0, 18, 35, 53, 70, 88, 105, 123, 140, 158, 175, 193, 210, 228, 245, 263, 280, 298,
            ],
            fps: 18.0 / 299.0 * 29.97,
        },
    ];
    for c in &cases {
        let (idx, fps) = sample_indices(c.total, c.video_fps, &opts()).unwrap();
        assert_eq!(idx, c.idx, "total {} @ {} fps", c.total, c.video_fps);
        assert!(
            (fps - c.fps).abs() < 1e-9,
            "total {} @ {}: fps {fps} != {}",
            c.total,
            c.video_fps,
            c.fps
        );
    }
}

#[test]
fn sample_indices_long_video_capped_at_768() {
    // 1000 s at 30 fps: 2000 frames wanted, capped at FPS_MAX_FRAMES = 768.
    let (idx, fps) = sample_indices(30_000, 30.0, &opts()).unwrap();
    assert_eq!(idx.len(), 768);
    assert_eq!(idx[0], 0);
    assert_eq!(*idx.last().unwrap(), 29_999);
    assert!(idx.windows(2).all(|w| w[0] < w[1]));
    // step 29999 / 767 = 39.11...: 0, 39.11, 78.22, 117.34, 156.45, 195.56
    assert_eq!(&idx[..6], &[0, 39, 78, 117, 156, 196]);
    assert!((fps - 768.0 / 30_000.0 * 30.0).abs() < 1e-12);

    // A smaller max_frames (odd: floored to even) and a larger sampling rate.
    let o = VideoLoadOptions {
        max_frames: 9,
        sample_fps: 4.0,
        ..opts()
    };
    let (idx, _) = sample_indices(300, 30.0, &o).unwrap();
    assert_eq!(idx.len(), 8);
    // min_frames is rounded up to even: 5 -> 6.
    let o = VideoLoadOptions {
        min_frames: 5,
        ..opts()
    };
    let (idx, _) = sample_indices(40, 30.0, &o).unwrap();
    assert_eq!(idx, vec![0, 8, 16, 23, 31, 39]);
}

#[test]
fn sample_indices_errors() {
    for total in [0usize, 1] {
        let e = sample_indices(total, 30.0, &opts()).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
        assert!(msg(&e).contains("at least 2"), "{e}");
    }
    // max_frames 1 leaves 0 frames.
    let o = VideoLoadOptions {
        max_frames: 1,
        ..opts()
    };
    let e = sample_indices(100, 30.0, &o).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            sample_indices(100, bad, &opts()),
            Err(Error::InvalidArgument(_))
        ));
        let o = VideoLoadOptions {
            sample_fps: bad,
            ..opts()
        };
        assert!(matches!(
            sample_indices(100, 30.0, &o),
            Err(Error::InvalidArgument(_))
        ));
    }
}

#[test]
fn linspace_rounds_half_to_even() {
    // torch.linspace(0, 5, 3) = [0, 2.5, 5] -> round -> [0, 2, 5]
    assert_eq!(linspace_round_indices(6, 3), vec![0, 2, 5]);
    // [0, 1.5, 3] -> [0, 2, 3]
    assert_eq!(linspace_round_indices(4, 3), vec![0, 2, 3]);
    // [0, 3.5, 7] -> [0, 4, 7]
    assert_eq!(linspace_round_indices(8, 3), vec![0, 4, 7]);
    // [0, 0.5, 1] -> [0, 0, 1]
    assert_eq!(linspace_round_indices(2, 3), vec![0, 0, 1]);
    // [0, 1.25, 2.5, 3.75, 5] -> [0, 1, 2, 4, 5]
    assert_eq!(linspace_round_indices(6, 5), vec![0, 1, 2, 4, 5]);
    assert_eq!(linspace_round_indices(10, 1), vec![0]);
    assert!(linspace_round_indices(10, 0).is_empty());
    assert_eq!(linspace_round_indices(5, 5), vec![0, 1, 2, 3, 4]);
}

// ---------------------------------------------------------------- frame dirs

fn solid(w: u32, h: u32, rgb: [u8; 3]) -> image::RgbImage {
    image::RgbImage::from_pixel(w, h, image::Rgb(rgb))
}

fn write_png(dir: &Path, name: &str, w: u32, h: u32, rgb: [u8; 3]) {
    solid(w, h, rgb).save(dir.join(name)).unwrap();
}

fn write_wav(path: &Path, rate: u32, seconds: f32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let n = (rate as f32 * seconds) as usize;
    for i in 0..n {
        let t = i as f32 / rate as f32;
        let v = (t * 440.0 * std::f32::consts::TAU).sin() * 0.25;
        w.write_sample((v * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

fn first_px(f: &Rgb8Image) -> [u8; 3] {
    [f.data[0], f.data[1], f.data[2]]
}

fn frame_dir(dir: &Path, o: &VideoLoadOptions) -> omnirt::error::Result<LoadedVideo> {
    load_video(&VideoSource::FrameDir(dir.to_path_buf()), o)
}

#[test]
fn frame_dir_order_and_filtering() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write_png(d, "f10.png", 8, 6, [10, 0, 0]);
    write_png(d, "f2.png", 8, 6, [2, 0, 0]);
    write_png(d, "f1.PNG", 8, 6, [1, 0, 0]);
    solid(8, 6, [3, 0, 0])
        .save_with_format(d.join("f3.jpeg"), image::ImageFormat::Jpeg)
        .unwrap();
    // Ignored: other files, hidden files, a directory named like an image.
    std::fs::write(d.join("notes.txt"), b"not a frame").unwrap();
    std::fs::write(d.join(".hidden.png"), b"not a png either").unwrap();
    std::fs::create_dir(d.join("sub.png")).unwrap();
    write_wav(&d.join("audio.wav"), 16_000, 0.5);

    let v = frame_dir(d, &opts()).unwrap();
    // Byte-wise name order: f1.PNG < f10.png < f2.png < f3.jpeg.
    let reds: Vec<u8> = v.frames.iter().map(|f| first_px(f)[0]).collect();
    assert_eq!(&reds[..3], &[1, 10, 2]);
    // JPEG of a flat colour decodes to (about) that colour.
    assert!(reds[3].abs_diff(3) <= 2, "{reds:?}");
    assert_eq!(v.frames.len(), 4);
    assert!(v.frames.iter().all(|f| (f.width, f.height) == (8, 6)));
    assert_eq!(v.fps, 2.0);
    // audio.wav is only read with with_audio.
    assert!(v.audio.is_none());

    let o = VideoLoadOptions {
        with_audio: true,
        frame_dir_fps: 1.5,
        ..opts()
    };
    let v = frame_dir(d, &o).unwrap();
    assert_eq!(v.fps, 1.5);
    let a = v.audio.expect("audio track");
    assert_eq!(a.sample_rate, 16_000);
    assert_eq!(a.channels, 1);
    assert_eq!(a.samples.len(), 8000);
}

#[test]
fn frame_dir_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();

    // Empty directory (only non-frame files).
    std::fs::write(d.join("readme.md"), b"x").unwrap();
    let e = frame_dir(d, &opts()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(msg(&e).contains("no frame images"), "{e}");

    // Nonexistent path.
    let e = frame_dir(&d.join("missing"), &opts()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(msg(&e).contains("missing"), "{e}");

    // A file, not a directory.
    let e = frame_dir(&d.join("readme.md"), &opts()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");

    // Frames of different sizes: the error names the first mismatching file.
    write_png(d, "a.png", 8, 6, [0, 0, 0]);
    write_png(d, "b.png", 8, 6, [0, 0, 0]);
    write_png(d, "c.png", 6, 8, [0, 0, 0]);
    write_png(d, "d.png", 4, 4, [0, 0, 0]);
    let e = frame_dir(d, &opts()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(
        msg(&e).contains("c.png") && !msg(&e).contains("d.png"),
        "{e}"
    );
    std::fs::remove_file(d.join("c.png")).unwrap();
    std::fs::remove_file(d.join("d.png")).unwrap();

    // with_audio but no audio file.
    let o = VideoLoadOptions {
        with_audio: true,
        ..opts()
    };
    let e = frame_dir(d, &o).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(msg(&e).contains("audio"), "{e}");

    // More frames than max_frames.
    let o = VideoLoadOptions {
        max_frames: 1,
        ..opts()
    };
    let e = frame_dir(d, &o).unwrap_err();
    assert!(msg(&e).contains("max_frames"), "{e}");

    // A corrupt frame is an error naming it.
    std::fs::write(d.join("e.png"), b"\x89PNG\r\n\x1a\nbroken").unwrap();
    let e = frame_dir(d, &opts()).unwrap_err();
    assert!(msg(&e).contains("e.png"), "{e}");
    std::fs::remove_file(d.join("e.png")).unwrap();

    // Frames beyond the decode limits.
    let mut o = opts();
    o.limits.max_side = 4;
    let e = frame_dir(d, &o).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");

    // A corrupt audio track.
    std::fs::write(d.join("audio.wav"), b"RIFF\x10\0\0\0WAVEjunk").unwrap();
    let o = VideoLoadOptions {
        with_audio: true,
        ..opts()
    };
    let e = frame_dir(d, &o).unwrap_err();
    assert!(msg(&e).contains("audio.wav"), "{e}");

    // Bad frame rate.
    let o = VideoLoadOptions {
        frame_dir_fps: 0.0,
        ..opts()
    };
    assert!(matches!(frame_dir(d, &o), Err(Error::InvalidArgument(_))));
}

// ---------------------------------------------------------------- in-memory frames

#[test]
fn in_memory_frames() {
    let f = |w: usize, h: usize| Rgb8Image::from_raw(w, h, vec![7; w * h * 3]).unwrap();
    // Odd counts are fine: the processor pads to a multiple of 2.
    let src = VideoSource::Frames {
        frames: vec![f(4, 4), f(4, 4), f(4, 4)],
        fps: 1.0,
        audio: None,
    };
    let v = load_video(&src, &opts()).unwrap();
    assert_eq!(v.frames.len(), 3);
    assert_eq!(v.fps, 1.0);
    assert!(v.audio.is_none());

    // with_audio without a track.
    let o = VideoLoadOptions {
        with_audio: true,
        ..opts()
    };
    let e = load_video(&src, &o).unwrap_err();
    assert!(msg(&e).contains("no audio track"), "{e}");

    let bad = [
        VideoSource::Frames {
            frames: vec![],
            fps: 2.0,
            audio: None,
        },
        VideoSource::Frames {
            frames: vec![f(4, 4), f(2, 4)],
            fps: 2.0,
            audio: None,
        },
        VideoSource::Frames {
            frames: vec![f(4, 4)],
            fps: 0.0,
            audio: None,
        },
        VideoSource::Frames {
            frames: vec![Rgb8Image {
                width: 4,
                height: 4,
                data: vec![0; 5],
            }],
            fps: 2.0,
            audio: None,
        },
        VideoSource::Frames {
            frames: vec![Rgb8Image {
                width: usize::MAX,
                height: 3,
                data: vec![],
            }],
            fps: 2.0,
            audio: None,
        },
    ];
    for src in &bad {
        assert!(load_video(src, &opts()).is_err());
    }
    let o = VideoLoadOptions {
        max_frames: 2,
        ..opts()
    };
    let src = VideoSource::Frames {
        frames: vec![f(4, 4); 3],
        fps: 2.0,
        audio: None,
    };
    assert!(msg(&load_video(&src, &o).unwrap_err()).contains("max_frames"));
}

// ---------------------------------------------------------------- ffmpeg

#[test]
fn ffmpeg_missing_is_unsupported() {
    let o = VideoLoadOptions {
        ffmpeg: Some(PathBuf::from("/nonexistent/ffmpeg")),
        ..opts()
    };
    let e = load_video(&VideoSource::File("whatever.mp4".into()), &o).unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)), "{e}");
    assert!(msg(&e).contains("ffmpeg"), "{e}");
    assert!(msg(&e).contains("directory of frames"), "{e}");
}

fn have_ffmpeg() -> bool {
    if find_tools(None).is_ok() {
        true
    } else {
        eprintln!("skipping: ffmpeg not found");
        false
    }
}

fn ffmpeg(args: &[&str]) {
    let tools = find_tools(None).unwrap();
    let out = Command::new(&tools.ffmpeg)
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// 3 s of testsrc at 10 fps (30 frames, 64x48), optionally with a 440 Hz sine at
/// 22050 Hz.
fn make_video(path: &Path, audio: bool, extra: &[&str]) {
    let p = path.to_str().unwrap();
    let mut args = vec!["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10"];
    if audio {
        args.extend(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050"]);
    }
    args.extend([
        "-t", "3", "-pix_fmt", "yuv420p", "-c:v", "mpeg4", "-q:v", "3",
    ]);
    if audio {
        args.extend(["-c:a", "aac"]);
    }
    args.extend(extra);
    args.push(p);
    ffmpeg(&args);
}

/// Every frame of `path` as RGB24, decoded by ffmpeg directly.
fn all_frames(path: &Path, w: usize, h: usize) -> Vec<Vec<u8>> {
    let tools = find_tools(None).unwrap();
    let out = Command::new(&tools.ffmpeg)
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout.chunks(w * h * 3).map(|c| c.to_vec()).collect()
}

#[test]
fn ffmpeg_video_file_with_audio() {
    if !have_ffmpeg() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("clip.mp4");
    make_video(&path, true, &[]);

    let src = VideoSource::File(path.clone());
    let v = load_video(&src, &opts()).unwrap();
    let (idx, fps) = sample_indices(30, 10.0, &opts()).unwrap();
    assert_eq!(idx, vec![0, 6, 12, 17, 23, 29]);
    assert_eq!(v.frames.len(), idx.len());
    assert!(
        (v.fps - 2.0).abs() < 1e-9 && (v.fps - fps).abs() < 1e-12,
        "{}",
        v.fps
    );
    assert!(v.frames.iter().all(|f| (f.width, f.height) == (64, 48)));
    assert!(v.audio.is_none());
    // The kept frames are exactly those frames of a full decode.
    let all = all_frames(&path, 64, 48);
    assert_eq!(all.len(), 30);
    for (f, &i) in v.frames.iter().zip(&idx) {
        assert!(f.data == all[i], "frame {i} differs");
    }
    // testsrc moves: the sampled frames are not all the same.
    assert_ne!(v.frames[0].data, v.frames[1].data);

    let o = VideoLoadOptions {
        with_audio: true,
        ..opts()
    };
    let v = load_video(&src, &o).unwrap();
    assert_eq!(v.frames.len(), 6);
    let a = v.audio.expect("audio track");
    assert_eq!(a.sample_rate, 22_050);
    assert_eq!(a.channels, 1);
    let secs = a.samples.len() as f64 / 22_050.0;
    assert!((secs - 3.0).abs() < 0.1, "{secs} s of audio");
    let peak = a.samples.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(peak > 0.05 && peak <= 1.0, "peak {peak}");

    // Frame-size limits are checked from the probe.
    let mut o = opts();
    o.limits.max_pixels = 64 * 48 - 1;
    let e = load_video(&src, &o).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(msg(&e).contains("limit"), "{e}");

    // Fewer sampled frames with max_frames.
    let o = VideoLoadOptions {
        max_frames: 4,
        ..opts()
    };
    let v = load_video(&src, &o).unwrap();
    assert_eq!(v.frames.len(), 4);
    assert_eq!(v.frames[3].data, all[29]);
}

#[test]
fn ffmpeg_video_without_audio_track() {
    if !have_ffmpeg() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // A name starting with '-' and containing ':' is still read as a file.
    let path = tmp.path().join("-silent:clip.mkv");
    make_video(&path, false, &[]);
    let src = VideoSource::File(path);
    let v = load_video(&src, &opts()).unwrap();
    assert_eq!(v.frames.len(), 6);
    let o = VideoLoadOptions {
        with_audio: true,
        ..opts()
    };
    let e = load_video(&src, &o).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(msg(&e).contains("no audio track"), "{e}");
}

#[test]
fn ffmpeg_bad_files_are_errors() {
    if !have_ffmpeg() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();

    // Nonexistent file.
    let e = load_video(&VideoSource::File(d.join("nope.mp4")), &opts()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");

    // Not a video at all.
    let junk = d.join("junk.mp4");
    std::fs::write(&junk, b"this is not a video file at all").unwrap();
    let e = load_video(&VideoSource::File(junk), &opts()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    eprintln!("junk: {e}");

    // A still image: one frame, too few to sample.
    let png = d.join("still.png");
    write_png(d, "still.png", 8, 8, [1, 2, 3]);
    let e = load_video(&VideoSource::File(png), &opts()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(msg(&e).contains("at least 2"), "{e}");

    // Truncated mp4 (index at the end: nothing playable is left).
    let full = d.join("full.mp4");
    make_video(&full, true, &[]);
    let bytes = std::fs::read(&full).unwrap();
    let cut = d.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = load_video(&VideoSource::File(cut), &opts()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    eprintln!("truncated: {e}");

    // Truncated "faststart" mp4 (index first): an error or a shorter video, never
    // a panic; whatever comes back is consistent.
    let fast = d.join("fast.mp4");
    make_video(&fast, true, &["-movflags", "+faststart"]);
    let bytes = std::fs::read(&fast).unwrap();
    for frac in [0.3, 0.6, 0.9] {
        let cut = d.join(format!("fast_cut_{frac}.mp4"));
        std::fs::write(&cut, &bytes[..(bytes.len() as f64 * frac) as usize]).unwrap();
        for with_audio in [false, true] {
            let o = VideoLoadOptions {
                with_audio,
                ..opts()
            };
            match load_video(&VideoSource::File(cut.clone()), &o) {
                Ok(v) => {
                    assert!(v.frames.len() >= 2);
                    assert!(v.frames.iter().all(|f| f.data.len() == 64 * 48 * 3));
                    assert!(v.fps > 0.0);
                    eprintln!(
                        "faststart cut {frac}: {} frames @ {}",
                        v.frames.len(),
                        v.fps
                    );
                }
                Err(e) => eprintln!("faststart cut {frac} (audio {with_audio}): {e}"),
            }
        }
    }
}

/// Writes an executable shell script.
#[cfg(unix)]
fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Wrapper `ffmpeg` / `ffprobe` scripts in their own directory, found through
/// `VideoLoadOptions::ffmpeg` (ffprobe next to it).
#[cfg(unix)]
fn fake_tools(dir: &Path, ffmpeg_body: &str, ffprobe_body: &str) -> PathBuf {
    let real = find_tools(None).unwrap();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let sub = |s: &str| {
        s.replace("$FFMPEG", real.ffmpeg.to_str().unwrap())
            .replace("$FFPROBE", real.ffprobe.to_str().unwrap())
    };
    write_script(&bin.join("ffmpeg"), &sub(ffmpeg_body));
    write_script(&bin.join("ffprobe"), &sub(ffprobe_body));
    bin.join("ffmpeg")
}

/// When the probe's frame count is wrong, the frames are chosen again for the
/// count ffmpeg really delivers (second decode pass), giving the same result as a
/// correct probe.
#[cfg(unix)]
#[test]
fn ffmpeg_probe_count_mismatch_is_replanned() {
    if !have_ffmpeg() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("clip.mp4");
    make_video(&path, false, &[]);
    let all = all_frames(&path, 64, 48);
    let (idx, _) = sample_indices(30, 10.0, &opts()).unwrap();
    for claimed in ["40", "20", "3"] {
        let d = tmp.path().join(format!("probe{claimed}"));
        let ff = fake_tools(
            &d,
            "exec \"$FFMPEG\" \"$@\"",
            &format!("\"$FFPROBE\" \"$@\" | sed 's/\"nb_read_packets\": \"30\"/\"nb_read_packets\": \"{claimed}\"/'"),
        );
        let o = VideoLoadOptions {
            ffmpeg: Some(ff),
            ..opts()
        };
        let v = load_video(&VideoSource::File(path.clone()), &o).unwrap();
        assert_eq!(v.frames.len(), idx.len(), "probe said {claimed}");
        assert!(
            (v.fps - 2.0).abs() < 1e-9,
            "probe said {claimed}: fps {}",
            v.fps
        );
        for (f, &i) in v.frames.iter().zip(&idx) {
            assert!(f.data == all[i], "probe said {claimed}: frame {i} differs");
        }
    }
}

/// ffmpeg failures carry its last stderr line; a short read is an error.
#[cfg(unix)]
#[test]
fn ffmpeg_failures_are_reported() {
    if !have_ffmpeg() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("clip.mp4");
    make_video(&path, true, &[]);
    let src = VideoSource::File(path);

    let ff = fake_tools(
        &tmp.path().join("fail"),
        "echo 'first line' >&2; echo 'boom: decoder exploded' >&2; exit 3",
        "exec \"$FFPROBE\" \"$@\"",
    );
    let o = VideoLoadOptions {
        ffmpeg: Some(ff),
        ..opts()
    };
    let e = load_video(&src, &o).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(msg(&e).contains("boom: decoder exploded"), "{e}");

    // Output stops in the middle of the second frame (64*48*3 = 9216 bytes each).
    let ff = fake_tools(
        &tmp.path().join("short"),
        "\"$FFMPEG\" \"$@\" | head -c 10000",
        "exec \"$FFPROBE\" \"$@\"",
    );
    let o = VideoLoadOptions {
        ffmpeg: Some(ff),
        ..opts()
    };
    let e = load_video(&src, &o).unwrap_err();
    assert!(msg(&e).contains("middle of frame"), "{e}");

    // Missing ffprobe next to a given ffmpeg falls back to PATH; a given ffmpeg
    // that is not executable is Unsupported.
    let d = tmp.path().join("noexec");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("ffmpeg"), b"not executable").unwrap();
    let o = VideoLoadOptions {
        ffmpeg: Some(d.join("ffmpeg")),
        ..opts()
    };
    assert!(matches!(load_video(&src, &o), Err(Error::Unsupported(_))));
}
