//! Video files through external `ffmpeg` / `ffprobe` executables.
//!
//! * Lookup: `VideoLoadOptions::ffmpeg`, else the `OMNIRT_FFMPEG` environment
//!   variable, else `ffmpeg` on `PATH`. A bare name (no `/`) is searched on `PATH`.
//!   `ffprobe` is taken from the same directory (the file name with `ffmpeg`
//!   replaced by `ffprobe`, or plain `ffprobe`), else from `PATH`.
//! * Probe: `ffprobe -count_packets` on the first video stream. Frame count: the
//!   packets read (`nb_read_packets`), else the container's `nb_frames`, else
//!   `duration * fps`. Frame rate: `avg_frame_rate` (what decord's `get_avg_fps`
//!   and torchvision's `video_fps` report), else `r_frame_rate`, else
//!   `frames / duration`.
//! * Decode: `ffmpeg -noautorotate -i FILE -map 0:v:0 -f rawvideo -pix_fmt rgb24 -`
//!   read one frame at a time; only the frames chosen by [`sample_indices`] are
//!   kept. (No autorotation: the reference readers, PyAV and decord, do not apply
//!   the rotation metadata either.) When ffmpeg delivers a different number of frames
//!   than probed, the indices are chosen again for the real count and, if they
//!   changed, the file is decoded a second time.
//! * Audio: the first audio stream as `f32le` at its own sample rate and channel
//!   count, mixed down to mono by the channel mean (like the crate's audio decoder,
//!   and `librosa.load` in the reference), at most [`DEFAULT_MAX_SECONDS`] long.
//!
//! Errors carry ffmpeg's last stderr line. Child processes are always waited on
//! (and killed first when reading stops early), so none is left behind.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::preprocess::audio::{DecodedAudio, DEFAULT_MAX_SECONDS};
use crate::preprocess::image::Rgb8Image;

use super::sampling::sample_indices;
use super::{check_fps, LoadedVideo, VideoLoadOptions};

/// Environment variable naming the `ffmpeg` executable.
pub const FFMPEG_ENV: &str = "OMNIRT_FFMPEG";

/// Located `ffmpeg` and `ffprobe` executables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FfmpegTools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
}

fn missing(detail: &str) -> Error {
    Error::Unsupported(format!(
        "video files need an `ffmpeg` executable on PATH (install ffmpeg, e.g. `apt install ffmpeg`), \
         or pass a directory of frames instead ({detail})"
    ))
}

fn is_executable(p: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

fn search_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let exe = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&path)
        .filter(|d| !d.as_os_str().is_empty())
        .flat_map(|d| [d.join(name), d.join(&exe)])
        .find(|p| is_executable(p))
}

/// Resolves a user-given ffmpeg: a bare name is searched on PATH.
fn resolve(given: &Path) -> Option<PathBuf> {
    if given.components().count() == 1 && !given.has_root() {
        if let Some(name) = given.to_str() {
            return search_path(name).or_else(|| is_executable(given).then(|| given.into()));
        }
    }
    is_executable(given).then(|| given.to_path_buf())
}

/// Finds `ffmpeg` and `ffprobe` (see the module docs); `Unsupported` when missing.
pub fn find_tools(ffmpeg: Option<&Path>) -> Result<FfmpegTools> {
    let env = std::env::var_os(FFMPEG_ENV).filter(|v| !v.is_empty());
    let (ffmpeg, from) = match (ffmpeg, env.as_ref()) {
        (Some(p), _) => (
            resolve(p).ok_or_else(|| missing(&format!("{} not found", p.display())))?,
            "given",
        ),
        (None, Some(v)) => {
            let p = Path::new(v);
            (
                resolve(p)
                    .ok_or_else(|| missing(&format!("{FFMPEG_ENV}={} not found", p.display())))?,
                "env",
            )
        }
        (None, None) => (
            search_path("ffmpeg").ok_or_else(|| missing("no `ffmpeg` on PATH"))?,
            "path",
        ),
    };
    let sibling = ffmpeg.file_name().and_then(|n| n.to_str()).map(|n| {
        if n.contains("ffmpeg") {
            n.replacen("ffmpeg", "ffprobe", 1)
        } else {
            format!("ffprobe{}", std::env::consts::EXE_SUFFIX)
        }
    });
    let ffprobe = sibling
        .map(|n| ffmpeg.with_file_name(n))
        .filter(|p| is_executable(p))
        .or_else(|| search_path("ffprobe"))
        .ok_or_else(|| {
            missing(&format!(
                "found {} ({from}) but no `ffprobe` next to it or on PATH",
                ffmpeg.display()
            ))
        })?;
    Ok(FfmpegTools { ffmpeg, ffprobe })
}

/// What `ffprobe` says about the first video stream.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoProbe {
    pub width: usize,
    pub height: usize,
    /// Frame rate (see the module docs for where it comes from).
    pub fps: f64,
    /// Frame count (see the module docs).
    pub total_frames: usize,
    /// Stream duration in seconds, when known.
    pub duration: Option<f64>,
}

/// The first audio stream's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioProbe {
    pub sample_rate: u32,
    pub channels: usize,
}

/// `file:`-prefixed input so that names starting with `-` or containing `:` are
/// read as plain files.
fn input_arg(path: &Path) -> OsString {
    let mut s = OsString::from("file:");
    s.push(path.as_os_str());
    s
}

/// Kills (if still running) and waits for the child when dropped.
struct ChildGuard {
    child: Option<Child>,
    stderr: Option<JoinHandle<String>>,
}

impl ChildGuard {
    fn spawn(mut cmd: Command, what: &Path) -> Result<ChildGuard> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                missing(&format!("cannot run {}: {e}", what.display()))
            } else {
                Error::Io(e)
            }
        })?;
        // Drain stderr on a thread so that a chatty child never blocks on it.
        let stderr = child.stderr.take().map(|mut err| {
            std::thread::spawn(move || {
                const KEEP: usize = 64 * 1024;
                let mut kept: Vec<u8> = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    match err.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            kept.extend_from_slice(&buf[..n]);
                            if kept.len() > 2 * KEEP {
                                kept.drain(..kept.len() - KEEP);
                            }
                        }
                    }
                }
                String::from_utf8_lossy(&kept).into_owned()
            })
        });
        Ok(ChildGuard {
            child: Some(child),
            stderr,
        })
    }

    fn stdout(&mut self) -> Result<std::process::ChildStdout> {
        self.child
            .as_mut()
            .and_then(|c| c.stdout.take())
            .ok_or_else(|| Error::invalid("video: child process has no stdout"))
    }

    /// Waits for the child; returns its status and stderr.
    fn finish(mut self) -> Result<(ExitStatus, String)> {
        let Some(mut child) = self.child.take() else {
            return Err(Error::invalid("video: child process already finished"));
        };
        drop(child.stdout.take());
        let status = child.wait()?;
        let err = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Ok((status, err))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdout.take());
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
    }
}

fn last_line(stderr: &str) -> &str {
    stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("(no message)")
}

/// Runs a command to completion, capturing stdout (bounded) and stderr.
fn run_capture(
    cmd: Command,
    tool: &Path,
    max_stdout: usize,
) -> Result<(ExitStatus, Vec<u8>, String)> {
    let mut guard = ChildGuard::spawn(cmd, tool)?;
    let mut out = guard.stdout()?;
    let mut data = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = out.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if data.len() + n > max_stdout {
            return Err(Error::invalid(format!(
                "video: {} produced more than {max_stdout} bytes of output",
                tool.display()
            )));
        }
        data.extend_from_slice(&buf[..n]);
    }
    drop(out);
    let (status, err) = guard.finish()?;
    Ok((status, data, err))
}

fn ffprobe_json(tools: &FfmpegTools, path: &Path, args: &[&str]) -> Result<Value> {
    let mut cmd = Command::new(&tools.ffprobe);
    cmd.args(["-v", "error"])
        .args(args)
        .args(["-of", "json"])
        .arg(input_arg(path));
    let (status, out, err) = run_capture(cmd, &tools.ffprobe, 16 << 20)?;
    if !status.success() {
        return Err(Error::invalid(format!(
            "video: cannot read {} (ffprobe: {})",
            path.display(),
            last_line(&err)
        )));
    }
    serde_json::from_slice(&out).map_err(|e| {
        Error::invalid(format!(
            "video: unexpected ffprobe output for {}: {e}",
            path.display()
        ))
    })
}

fn first_stream(v: &Value) -> Option<&Value> {
    v.get("streams")
        .and_then(|s| s.as_array())
        .and_then(|a| a.first())
}

/// A JSON number or numeric string as u64.
fn json_u64(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn json_f64(v: &Value, key: &str) -> Option<f64> {
    let x = match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    (x.is_finite() && x > 0.0).then_some(x)
}

/// `"30000/1001"` → 29.97...; `None` for `0/0` and other non-positive rates.
pub fn parse_rational(s: &str) -> Option<f64> {
    let (n, d) = match s.split_once('/') {
        Some((n, d)) => (n.trim().parse::<f64>().ok()?, d.trim().parse::<f64>().ok()?),
        None => (s.trim().parse::<f64>().ok()?, 1.0),
    };
    let r = n / d;
    (r.is_finite() && r > 0.0).then_some(r)
}

fn json_rational(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(|x| x.as_str()).and_then(parse_rational)
}

/// Probes the first video stream of `path`.
pub fn probe_video(tools: &FfmpegTools, path: &Path) -> Result<VideoProbe> {
    let v = ffprobe_json(
        tools,
        path,
        &[
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,nb_read_packets,duration",
        ],
    )?;
    let s = first_stream(&v)
        .ok_or_else(|| Error::invalid(format!("video: {} has no video stream", path.display())))?;
    let width = json_u64(s, "width").unwrap_or(0);
    let height = json_u64(s, "height").unwrap_or(0);
    if width == 0 || height == 0 {
        return Err(Error::invalid(format!(
            "video: {} has a video stream without a frame size",
            path.display()
        )));
    }
    let width = usize::try_from(width).map_err(|_| Error::overflow("video: frame width"))?;
    let height = usize::try_from(height).map_err(|_| Error::overflow("video: frame height"))?;
    let duration = json_f64(s, "duration");
    let count = json_u64(s, "nb_read_packets")
        .filter(|&n| n > 0)
        .or_else(|| json_u64(s, "nb_frames").filter(|&n| n > 0));
    let fps = json_rational(s, "avg_frame_rate")
        .or_else(|| json_rational(s, "r_frame_rate"))
        .or_else(|| match (count, duration) {
            (Some(n), Some(d)) => Some(n as f64 / d).filter(|r| r.is_finite() && *r > 0.0),
            _ => None,
        })
        .ok_or_else(|| {
            Error::invalid(format!(
                "video: cannot tell the frame rate of {}",
                path.display()
            ))
        })?;
    let total = match (count, duration) {
        (Some(n), _) => n,
        (None, Some(d)) => (d * fps).round() as u64,
        (None, None) => 0,
    };
    if total == 0 {
        return Err(Error::invalid(format!(
            "video: {} has no video frames",
            path.display()
        )));
    }
    let total_frames = usize::try_from(total).map_err(|_| Error::overflow("video: frame count"))?;
    Ok(VideoProbe {
        width,
        height,
        fps,
        total_frames,
        duration,
    })
}

/// Probes the first audio stream; `None` when the file has none.
pub fn probe_audio(tools: &FfmpegTools, path: &Path) -> Result<Option<AudioProbe>> {
    let v = ffprobe_json(
        tools,
        path,
        &[
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=sample_rate,channels",
        ],
    )?;
    let Some(s) = first_stream(&v) else {
        return Ok(None);
    };
    let rate = json_u64(s, "sample_rate").unwrap_or(0);
    let channels = json_u64(s, "channels").unwrap_or(0);
    if rate == 0 || rate > 1_000_000 || channels == 0 || channels > 64 {
        return Err(Error::invalid(format!(
            "video: {} has an audio stream with an unusable format ({rate} Hz, {channels} channels)",
            path.display()
        )));
    }
    Ok(Some(AudioProbe {
        sample_rate: rate as u32,
        channels: channels as usize,
    }))
}

/// Fills `buf` from `r` until full or EOF; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Decodes every frame of the first video stream, keeping those at `indices`
/// (sorted). Returns the kept frames and the number of frames decoded.
pub fn decode_frames(
    tools: &FfmpegTools,
    path: &Path,
    probe: &VideoProbe,
    indices: &[usize],
) -> Result<(Vec<Rgb8Image>, usize)> {
    let frame_bytes = probe
        .width
        .checked_mul(probe.height)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| {
            Error::overflow(format!("video: {}x{} RGB frame", probe.width, probe.height))
        })?;
    let mut cmd = Command::new(&tools.ffmpeg);
    cmd.args(["-v", "error", "-nostdin", "-noautorotate", "-i"])
        .arg(input_arg(path))
        .args(["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
    let mut guard = ChildGuard::spawn(cmd, &tools.ffmpeg)?;
    let mut out = guard.stdout()?;
    let mut buf = vec![0u8; frame_bytes];
    let mut kept = Vec::with_capacity(indices.len());
    let mut next = 0;
    let mut decoded = 0usize;
    let mut partial = false;
    loop {
        let n = read_full(&mut out, &mut buf)?;
        if n == 0 {
            break;
        }
        if n < frame_bytes {
            partial = true;
            break;
        }
        while next < indices.len() && indices[next] == decoded {
            kept.push(Rgb8Image {
                width: probe.width,
                height: probe.height,
                data: buf.clone(),
            });
            next += 1;
        }
        decoded += 1;
    }
    drop(out);
    let (status, err) = guard.finish()?;
    if !status.success() {
        return Err(Error::invalid(format!(
            "video: ffmpeg could not decode {} ({status}): {}",
            path.display(),
            last_line(&err)
        )));
    }
    if partial {
        return Err(Error::invalid(format!(
            "video: ffmpeg output for {} ended in the middle of frame {decoded} \
             (expected {}x{} RGB frames; does the frame size change mid-stream?)",
            path.display(),
            probe.width,
            probe.height
        )));
    }
    Ok((kept, decoded))
}

/// Decodes the first audio stream to mono f32 at its own rate.
pub fn decode_audio(tools: &FfmpegTools, path: &Path, probe: AudioProbe) -> Result<DecodedAudio> {
    let max_bytes = (DEFAULT_MAX_SECONDS * probe.sample_rate as f64) as usize;
    let max_bytes = max_bytes
        .checked_mul(probe.channels)
        .and_then(|n| n.checked_mul(4))
        .ok_or_else(|| Error::overflow("video: audio size limit"))?;
    let mut cmd = Command::new(&tools.ffmpeg);
    cmd.args(["-v", "error", "-nostdin", "-i"])
        .arg(input_arg(path))
        .args(["-map", "0:a:0", "-f", "f32le", "-acodec", "pcm_f32le"])
        .args(["-ac", &probe.channels.to_string()])
        .args(["-ar", &probe.sample_rate.to_string(), "-"]);
    let (status, bytes, err) = run_capture(cmd, &tools.ffmpeg, max_bytes).map_err(|e| match e {
        Error::InvalidArgument(_) => Error::invalid(format!(
            "video: the audio track of {} is longer than {DEFAULT_MAX_SECONDS} s",
            path.display()
        )),
        e => e,
    })?;
    if !status.success() {
        return Err(Error::invalid(format!(
            "video: ffmpeg could not decode the audio of {} ({status}): {}",
            path.display(),
            last_line(&err)
        )));
    }
    let c = probe.channels;
    let frame = 4 * c;
    if bytes.is_empty() {
        return Err(Error::invalid(format!(
            "video: the audio track of {} is empty",
            path.display()
        )));
    }
    if bytes.len() % frame != 0 {
        return Err(Error::invalid(format!(
            "video: ffmpeg audio output for {} is not a whole number of {c}-channel samples",
            path.display()
        )));
    }
    let mut samples = Vec::with_capacity(bytes.len() / frame);
    for (i, fr) in bytes.chunks_exact(frame).enumerate() {
        // Channel mean, summed in order then divided (as the crate's decoder does).
        let mut s = 0.0f32;
        for (k, b) in fr.chunks_exact(4).enumerate() {
            let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            if !v.is_finite() {
                return Err(Error::invalid(format!(
                    "video: non-finite audio sample at index {} in {}",
                    i * c + k,
                    path.display()
                )));
            }
            s = if k == 0 { v } else { s + v };
        }
        samples.push(if c == 1 { s } else { s / c as f32 });
    }
    Ok(DecodedAudio {
        samples,
        sample_rate: probe.sample_rate,
        channels: c,
    })
}

/// Loads a video file (see the module docs).
pub fn load_video_file(path: &Path, opts: &VideoLoadOptions) -> Result<LoadedVideo> {
    check_fps("sample_fps", opts.sample_fps)?;
    let tools = find_tools(opts.ffmpeg.as_deref())?;
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::invalid(format!("video: cannot read {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(Error::invalid(format!(
            "video: {} is not a file (a video file was expected)",
            path.display()
        )));
    }
    let probe = probe_video(&tools, path)?;
    let (w, h) = (probe.width, probe.height);
    let pixels = w
        .checked_mul(h)
        .ok_or_else(|| Error::overflow(format!("video: {h}x{w} pixels")))?;
    if w > opts.limits.max_side || h > opts.limits.max_side || pixels > opts.limits.max_pixels {
        return Err(Error::invalid(format!(
            "video: {}: frames of {h}x{w} ({pixels} pixels) exceed the limit of {} per side / {} pixels",
            path.display(),
            opts.limits.max_side,
            opts.limits.max_pixels
        )));
    }
    let audio_probe = if opts.with_audio {
        Some(probe_audio(&tools, path)?.ok_or_else(|| {
            Error::invalid(format!(
                "video: audio requested but {} has no audio track",
                path.display()
            ))
        })?)
    } else {
        None
    };
    let (mut indices, mut fps) = sample_indices(probe.total_frames, probe.fps, opts)?;
    let (mut frames, decoded) = decode_frames(&tools, path, &probe, &indices)?;
    if decoded != probe.total_frames {
        // The probe's count was off (e.g. a damaged tail): choose again for the
        // real count, and decode again when that changes the choice.
        let (idx2, fps2) = sample_indices(decoded, probe.fps, opts).map_err(|e| {
            Error::invalid(format!(
                "video: {}: ffmpeg decoded {decoded} of {} frames: {e}",
                path.display(),
                probe.total_frames
            ))
        })?;
        if idx2 != indices {
            let (f2, d2) = decode_frames(&tools, path, &probe, &idx2)?;
            if d2 != decoded {
                return Err(Error::invalid(format!(
                    "video: {}: ffmpeg decoded {decoded} frames, then {d2} frames on a second pass",
                    path.display()
                )));
            }
            frames = f2;
            indices = idx2;
        }
        fps = fps2;
    }
    if frames.len() != indices.len() {
        return Err(Error::invalid(format!(
            "video: {}: got {} of the {} sampled frames",
            path.display(),
            frames.len(),
            indices.len()
        )));
    }
    let audio = match audio_probe {
        Some(a) => Some(decode_audio(&tools, path, a)?),
        None => None,
    };
    Ok(LoadedVideo { frames, fps, audio })
}
