//! `omnirt run` / `omnirt score` with media files, end to end through the
//! binary: a reply streams for image + audio + video (frame directory, and a
//! video file when `ffmpeg` is installed), and bad inputs exit with a clear
//! message instead of a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
fn media(name: &str) -> String {
    root()
        .join("models/fixtures/e2e/media")
        .join(name)
        .display()
        .to_string()
}
fn model() -> String {
    root().join("models/tiny-qwen3-omni").display().to_string()
}

fn omnirt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omnirt"))
        .args(args)
        .output()
        .expect("run omnirt")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Exits non-zero with `needle` in stderr and no panic.
fn fails_with(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "expected failure; stderr: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
}

#[test]
fn run_streams_a_reply_for_image_audio_and_video() {
    let (img, wav, clip) = (media("image.png"), media("speech.wav"), media("clip"));
    let m = model();
    let out = omnirt(&[
        "run",
        "--model",
        &m,
        "--prompt",
        "w5 w6",
        "--max-tokens",
        "3",
        "--image",
        &img,
        "--audio",
        &wav,
        "--video",
        &clip,
        "--audio-in-video",
    ]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("vision encoder") && err.contains("audio encoder"),
        "{err}"
    );
    assert!(err.contains("finished"), "{err}");
    assert!(!text(&out.stdout).trim().is_empty());
}

#[test]
fn score_takes_media_and_hides_pad_rows() {
    let (img, m) = (media("image.png"), model());
    let out = omnirt(&["score", "--model", &m, "--prompt", "w5 w6", "--image", &img]);
    let so = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(so.contains("media pad positions not shown"), "{so}");
    assert!(so.contains("perplexity"), "{so}");
}

#[test]
fn bad_media_arguments_fail_cleanly() {
    let m = model();
    let dir = tempfile::tempdir().unwrap();
    let bad_png = dir.path().join("bad.png");
    std::fs::write(&bad_png, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let gif = dir.path().join("x.gif");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap();
    let empty_wav = dir.path().join("empty.wav");
    std::fs::write(&empty_wav, b"").unwrap();
    let p = |x: &Path| x.display().to_string();
    let base = [
        "run",
        "--model",
        m.as_str(),
        "--prompt",
        "w1",
        "--max-tokens",
        "2",
    ];
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        omnirt(&a)
    };
    fails_with(&with(&["--image", "/nonexistent/a.png"]), "no such file");
    fails_with(&with(&["--image", &p(&bad_png)]), "media input 1 (image)");
    fails_with(&with(&["--image", &p(&gif)]), "not supported");
    fails_with(&with(&["--audio", &p(&empty_wav)]), "audio");
    fails_with(
        &with(&["--audio-in-video"]),
        "--audio-in-video needs a --video",
    );
    fails_with(
        &with(&["--video", &media("clip"), "--video-fps", "0"]),
        "--video-fps",
    );
    fails_with(
        &with(&[
            "--image",
            &media("image.png"),
            "--min-pixels",
            "100000",
            "--max-pixels",
            "10",
        ]),
        "pixel budget",
    );
    // An empty frame directory.
    let empty_dir = dir.path().join("frames");
    std::fs::create_dir(&empty_dir).unwrap();
    fails_with(&with(&["--video", &p(&empty_dir)]), "media input 1 (video)");
    // Placeholders written by hand that do not match the media.
    let out = omnirt(&[
        "run",
        "--model",
        &m,
        "--max-tokens",
        "2",
        "--image",
        &media("image.png"),
        "--prompt",
        "<|vision_start|><|image_pad|><|vision_end|><|vision_start|><|image_pad|><|vision_end|>w1",
    ]);
    fails_with(&out, "2 image placeholder(s) but 1");
}

#[test]
fn video_files_need_ffmpeg_and_work_with_it() {
    let m = model();
    let dir = tempfile::tempdir().unwrap();
    let mp4 = dir.path().join("clip.mp4");
    // Without ffmpeg on PATH: a clear error naming it (the file need not exist as video).
    std::fs::write(&mp4, b"not a video").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_omnirt"))
        .args(["run", "--model", &m, "--prompt", "w1", "--video"])
        .arg(&mp4)
        .env("PATH", "/nonexistent")
        .env_remove("OMNIRT_FFMPEG")
        .output()
        .unwrap();
    fails_with(&out, "ffmpeg");

    let have_ffmpeg = Command::new("ffmpeg").arg("-version").output().is_ok();
    if !have_ffmpeg {
        eprintln!("skipping the video-file run: ffmpeg not found");
        return;
    }
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=96x64:rate=10",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=22050",
            "-t",
            "3",
        ])
        .args(["-pix_fmt", "yuv420p", "-c:v", "mpeg4", "-c:a", "aac"])
        .arg(&mp4)
        .status()
        .unwrap();
    assert!(made.success());
    let mp4s = mp4.display().to_string();
    let out = omnirt(&[
        "run",
        "--model",
        &m,
        "--prompt",
        "w1",
        "--max-tokens",
        "2",
        "--video",
        &mp4s,
        "--audio-in-video",
        "--video-min-pixels",
        "4096",
        "--video-max-pixels",
        "16384",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A truncated copy is an error, not a panic.
    let bytes = std::fs::read(&mp4).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let cuts = cut.display().to_string();
    let out = omnirt(&["run", "--model", &m, "--prompt", "w1", "--video", &cuts]);
    if !out.status.success() {
        fails_with(&out, "video");
    }
}
