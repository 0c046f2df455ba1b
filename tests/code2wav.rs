//! The code2wav decoder against the transformers 5.24 fixtures in
//! `models/fixtures/code2wav` (scripts/fixtures/make_code2wav_fixtures.py).
//!
//! Tolerances (f32). Every stage run *in isolation* on the reference's own
//! input (embedding, transformer, each upsample stage, each decoder stage)
//! must match within `TOL · max(1, max|ref|)` max abs. End to end, the tiny
//! model's random decoder is badly conditioned: activations grow to ~500 and
//! SnakeBeta's `sin` of them amplifies rounding, so the reference's own f32 run
//! differs from an f64 run of the same weights by up to ~1e-4 relative in the
//! last stages (recorded per stage as `f32_vs_f64` in the manifest). End-to-end
//! stages may therefore differ by `max(TOL · scale, F64_FACTOR · f32_vs_f64)`:
//! two independent f32 implementations each within that distance of the f64
//! result. Chunked decode matches the reference's `chunked_decode` under the
//! same rule; streaming matches our `chunked_decode` bit for bit. Bad input
//! gives typed errors.

use std::path::PathBuf;

use omnirt::checkpoint::Checkpoint;
use omnirt::models::qwen3_omni::code2wav::{Code2WavConfig, Code2WavTrace};
use omnirt::models::qwen3_omni::{Code2Wav, Qwen3OmniConfig};
use omnirt::{DType, Device, Error, Tensor};

/// Max abs difference allowed, relative to `max(1, max|reference|)` of the stage.
const TOL: f32 = 1e-5;
/// End to end: multiple of the reference's own f32-vs-f64 discrepancy allowed.
const F64_FACTOR: f32 = 4.0;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir() -> PathBuf {
    root().join("models/tiny-qwen3-omni")
}

struct Fixture {
    ckpt: Checkpoint,
    /// `cases.<name>.f32_vs_f64` of the manifest: the reference's f32 error per stage.
    f32_vs_f64: serde_json::Value,
}

impl Fixture {
    fn open(name: &str) -> Fixture {
        let dir = root().join("models/fixtures/code2wav");
        let ckpt = Checkpoint::open(dir.join(format!("{name}.safetensors"))).expect("fixture file");
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
        )
        .expect("manifest json");
        let f32_vs_f64 = manifest["cases"][name]["f32_vs_f64"].clone();
        assert!(
            f32_vs_f64.is_object(),
            "manifest lacks cases.{name}.f32_vs_f64"
        );
        Fixture { ckpt, f32_vs_f64 }
    }
    /// Reference f32-vs-f64 max abs difference of stage `key`.
    fn ref_error(&self, key: &str) -> f32 {
        self.f32_vs_f64[key]
            .as_f64()
            .unwrap_or_else(|| panic!("manifest lacks f32_vs_f64.{key}")) as f32
    }
    fn has(&self, name: &str) -> bool {
        self.ckpt.info(name).is_ok()
    }
    fn tensor(&self, name: &str) -> Tensor {
        Tensor::load(&self.ckpt, name, &Device::cpu()).expect(name)
    }
    fn f32(&self, name: &str) -> Vec<f32> {
        self.tensor(name).to_f32_vec().expect(name)
    }
    /// Codes `[1, Q, T]` (I64) as frame-major `codes[t·Q + q]`, and T.
    fn codes(&self) -> (Vec<u32>, usize) {
        let t = self.tensor("codes");
        let (q, frames) = (t.dims()[1], t.dims()[2]);
        let v = t.to_vec::<i64>().unwrap();
        let mut out = vec![0u32; q * frames];
        for qi in 0..q {
            for ti in 0..frames {
                out[ti * q + qi] = v[qi * frames + ti] as u32;
            }
        }
        (out, frames)
    }
}

fn model() -> std::sync::Arc<Code2Wav> {
    std::sync::Arc::new(
        Code2Wav::load_dir(&model_dir(), &Device::cpu(), DType::F32).expect("load code2wav"),
    )
}

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn max_diff(got: &[f32], want: &[f32], what: &str) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// Compare `got` with `want` (dims `want_dims`), allowing `max(TOL · scale, extra)`.
fn compare(what: &str, got: &Tensor, want: &[f32], want_dims: &[usize], extra: f32) -> f32 {
    assert_eq!(got.dims(), want_dims, "{what}: shape");
    let d = max_diff(&got.to_f32_vec().unwrap(), want, what);
    let scale = max_abs(want).max(1.0);
    let allowed = (TOL * scale).max(extra);
    eprintln!(
        "{what:<28} max|Δ| = {d:.3e}  rel {:.3e}  (max|ref| {:.3e}, allowed {allowed:.3e})",
        d / scale,
        max_abs(want)
    );
    assert!(d <= allowed, "{what}: max abs diff {d} > {allowed}");
    d
}

/// End-to-end stage `key`: within `max(TOL · scale, F64_FACTOR · f32_vs_f64)`.
fn check(case: &str, got: &Tensor, fx: &Fixture, key: &str) -> f32 {
    let want = fx.tensor(key);
    compare(
        &format!("{case}/{key}"),
        got,
        &want.to_f32_vec().unwrap(),
        want.dims(),
        F64_FACTOR * fx.ref_error(key),
    )
}

/// Stage run on the reference's input: within `TOL · scale`.
fn check_isolated(case: &str, what: &str, got: &Tensor, fx: &Fixture, key: &str) -> f32 {
    let want = fx.tensor(key);
    compare(
        &format!("{case}/{what} (isolated)"),
        got,
        &want.to_f32_vec().unwrap(),
        want.dims(),
        0.0,
    )
}

fn check_stages(m: &Code2Wav, case: &str) {
    let fx = Fixture::open(case);
    let (codes, frames) = fx.codes();
    let tr: Code2WavTrace = m.decode_traced(&codes, frames).expect("decode_traced");

    check(case, &tr.embed_mean, &fx, "embed_mean");
    let layers = fx.tensor("layer_outputs");
    assert_eq!(tr.layer_outputs.len(), layers.dims()[0]);
    let stacked: Vec<&Tensor> = tr.layer_outputs.iter().collect();
    let stacked = Tensor::cat(&stacked, 0)
        .unwrap()
        .reshape(layers.dims().to_vec())
        .unwrap();
    check(case, &stacked, &fx, "layer_outputs");
    check(case, &tr.pre_transformer, &fx, "pre_transformer");
    assert_eq!(tr.upsample.len(), 2);
    for i in 0..tr.upsample.len() {
        check(
            case,
            &tr.upsample_tconv[i],
            &fx,
            &format!("upsample{i}_tconv"),
        );
        check(case, &tr.upsample[i], &fx, &format!("upsample{i}"));
    }
    assert_eq!(tr.decoder.len(), 5, "decoder.0 + 4 blocks");
    for (i, got) in tr.decoder.iter().enumerate() {
        let key = format!("decoder{i}");
        if fx.has(&key) {
            check(case, got, &fx, &key);
        }
    }
    check(case, &tr.decoder_out, &fx, "decoder_out");
    check(case, &tr.waveform, &fx, "waveform");

    // decode() gives the traced waveform exactly, of the formula's length.
    let wav = m.decode(&codes, frames).unwrap();
    assert_eq!(wav, tr.waveform.to_f32_vec().unwrap());
    assert_eq!(wav.len(), m.samples_per_frame() * frames - 555);
    assert_eq!(wav.len(), m.output_len(frames).unwrap());
}

/// Each stage run alone on the reference's recorded input: no error
/// propagation, so every stage must match within `TOL · scale`.
fn check_isolated_stages(m: &Code2Wav, case: &str) {
    let fx = Fixture::open(case);
    let (codes, frames) = fx.codes();
    // Embedding and transformer start from the codes themselves.
    let tr = m.decode_traced(&codes, frames).unwrap();
    check_isolated(case, "embed_mean", &tr.embed_mean, &fx, "embed_mean");
    check_isolated(
        case,
        "pre_transformer",
        &tr.pre_transformer,
        &fx,
        "pre_transformer",
    );
    // Upsample stages: from the reference's pre_transformer [T, hidden] -> [hidden, T].
    let dev = m.device().clone();
    let on = |t: Tensor| t.to_device(&dev).unwrap();
    let mut input = on(fx
        .tensor("pre_transformer")
        .t()
        .unwrap()
        .contiguous()
        .unwrap());
    for i in 0..2 {
        let key = format!("upsample{i}");
        let got = m.upsample_stage(i, &input).unwrap();
        check_isolated(case, &key, &got, &fx, &key);
        input = on(fx.tensor(&key));
    }
    // Decoder stages: conv in, blocks, final snake + conv.
    let got = m.decoder_stage(0, &input).unwrap();
    check_isolated(case, "decoder0", &got, &fx, "decoder0");
    if !fx.has("decoder1") {
        return;
    }
    for i in 1..=4 {
        let key = format!("decoder{i}");
        let got = m
            .decoder_stage(i, &on(fx.tensor(&format!("decoder{}", i - 1))))
            .unwrap();
        check_isolated(case, &key, &got, &fx, &key);
    }
    let got = m.decoder_stage(5, &on(fx.tensor("decoder4"))).unwrap();
    let got = got.reshape([got.elem_count()]).unwrap();
    check_isolated(case, "decoder_out", &got, &fx, "decoder_out");
    assert!(matches!(
        m.decoder_stage(6, &on(fx.tensor("decoder4"))),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        m.upsample_stage(2, &on(fx.tensor("upsample1"))),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn isolated_stages_match_reference() {
    let m = model();
    check_isolated_stages(&m, "codes_7");
    check_isolated_stages(&m, "codes_11");
}

#[test]
fn stages_match_reference_7_frames() {
    check_stages(&model(), "codes_7");
}

#[test]
fn stages_match_reference_11_frames() {
    check_stages(&model(), "codes_11");
}

#[test]
fn chunked_decode_matches_reference() {
    let m = model();
    for (case, chunkings) in [
        ("codes_7", [(3usize, 5usize), (300, 25)]),
        ("codes_11", [(4, 2), (300, 25)]),
    ] {
        let fx = Fixture::open(case);
        let (codes, frames) = fx.codes();
        for (chunk, left) in chunkings {
            let key = format!("chunked_{chunk}_{left}");
            let got = m.chunked_decode(&codes, frames, chunk, left).unwrap();
            assert_eq!(
                got.len(),
                m.chunked_output_len(frames, chunk).unwrap(),
                "{case}/{key}: length formula"
            );
            let got_t = Tensor::from_slice(&got, [got.len()], &Device::cpu()).unwrap();
            check(case, &got_t, &fx, &key);
        }
        // The defaults cover the whole utterance in one chunk: the full decode.
        let full = m.decode(&codes, frames).unwrap();
        let default = m.chunked_decode(&codes, frames, 300, 25).unwrap();
        assert_eq!(full, default, "{case}: one chunk == decode");
    }
}

/// Each chunk is, bit for bit, a full decode of its window (chunk plus left
/// context) with the context frames' samples dropped.
#[test]
fn chunks_are_windows_of_full_decodes() {
    let m = model();
    let fx = Fixture::open("codes_11");
    let (codes, frames) = fx.codes();
    let (q, spf) = (m.num_quantizers(), m.samples_per_frame());
    let (chunk, left) = (4, 2);
    let chunked = m.chunked_decode(&codes, frames, chunk, left).unwrap();
    let mut offset = 0;
    let mut start = 0;
    while start < frames {
        let end = (start + chunk).min(frames);
        let ctx = left.min(start);
        let tr = m
            .decode_traced(&codes[(start - ctx) * q..end * q], end - start + ctx)
            .unwrap();
        let wav = tr.waveform.to_f32_vec().unwrap();
        let part = &wav[ctx * spf..];
        assert_eq!(&chunked[offset..offset + part.len()], part);
        offset += part.len();
        start = end;
    }
    assert_eq!(offset, chunked.len());
}

fn stream_all(m: &std::sync::Arc<Code2Wav>, codes: &[u32], chunk: usize, left: usize) -> Vec<f32> {
    let q = m.num_quantizers();
    let mut s = m.stream(chunk, left);
    let mut out = Vec::new();
    let mut emitted = 0;
    for (t, frame) in codes.chunks(q).enumerate() {
        if let Some(samples) = s.push(frame).unwrap() {
            emitted += 1;
            assert_eq!(
                (t + 1) % chunk,
                0,
                "a chunk comes out exactly every {chunk} frames"
            );
            out.extend(samples);
        }
    }
    let frames = codes.len() / q;
    assert_eq!(emitted, frames / chunk);
    match s.finish().unwrap() {
        Some(tail) => {
            assert_ne!(frames % chunk, 0);
            out.extend(tail);
        }
        None => assert_eq!(frames % chunk, 0),
    }
    assert!(
        s.finish().unwrap().is_none(),
        "finish twice flushes nothing"
    );
    out
}

#[test]
fn streaming_equals_chunked_decode_bit_for_bit() {
    let m = model();
    for case in ["codes_7", "codes_11"] {
        let fx = Fixture::open(case);
        let (codes, frames) = fx.codes();
        for (chunk, left) in [
            (1, 0),
            (1, 3),
            (2, 1),
            (3, 5),
            (4, 2),
            (11, 3),
            (7, 0),
            (300, 25),
        ] {
            let want = m.chunked_decode(&codes, frames, chunk, left).unwrap();
            let got = stream_all(&m, &codes, chunk, left);
            assert_eq!(
                got.len(),
                want.len(),
                "{case} chunk {chunk} left {left}: length"
            );
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{case} chunk {chunk} left {left}: not bit-identical"
            );
        }
        // The reference-recorded small-chunk case, streamed.
        let key = if case == "codes_7" {
            "chunked_3_5"
        } else {
            "chunked_4_2"
        };
        let (chunk, left) = if case == "codes_7" { (3, 5) } else { (4, 2) };
        let got = stream_all(&m, &codes, chunk, left);
        let got = Tensor::from_slice(&got, [got.len()], &Device::cpu()).unwrap();
        check(case, &got, &fx, key);
    }
}

#[test]
fn stream_restarts_after_finish() {
    let m = model();
    let (codes, frames) = Fixture::open("codes_7").codes();
    let q = m.num_quantizers();
    let want = m.chunked_decode(&codes, frames, 3, 2).unwrap();
    let mut s = m.stream(3, 2);
    for _ in 0..2 {
        let mut out = Vec::new();
        for frame in codes.chunks(q) {
            if let Some(x) = s.push(frame).unwrap() {
                out.extend(x);
            }
        }
        out.extend(s.finish().unwrap().unwrap_or_default());
        assert_eq!(out, want);
        assert_eq!(s.frames_pushed(), 0);
    }
}

#[test]
fn output_length_formula() {
    let m = model();
    assert_eq!(m.samples_per_frame(), 1920);
    assert_eq!(m.sample_rate(), 24_000);
    assert_eq!(m.num_quantizers(), 4);
    for t in [1usize, 2, 7, 11, 300, 1000] {
        assert_eq!(m.output_len(t).unwrap(), 1920 * t - 555, "T = {t}");
    }
    // chunked: every chunk loses the same 555-sample tail.
    assert_eq!(
        m.chunked_output_len(11, 4).unwrap(),
        3 * 7680 - 3 * 555 - 1920
    );
    assert_eq!(
        m.chunked_output_len(600, 300).unwrap(),
        2 * (1920 * 300 - 555)
    );
    // The released config (all defaults) has the same strides.
    let released = Code2WavConfig::default();
    released.validate().unwrap();
    assert_eq!(released.samples_per_frame(), 1920);
    assert_eq!(released.output_len(5), Some(1920 * 5 - 555));
    assert_eq!(released.output_len(usize::MAX), None);
    // Actual decode lengths.
    let codes = vec![1u32; 4];
    assert_eq!(m.decode(&codes, 1).unwrap().len(), 1365);
}

#[test]
fn bad_input_is_a_typed_error() {
    let m = model();
    let q = m.num_quantizers();
    let good = vec![5u32; 3 * q];

    // code out of range (codebook 64)
    let mut bad = good.clone();
    bad[2 * q + 1] = 64;
    let e = m.decode(&bad, 3).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(e.to_string().contains("frame 2, quantizer 1"), "{e}");
    assert!(matches!(
        m.chunked_decode(&bad, 3, 2, 1),
        Err(Error::InvalidArgument(_))
    ));
    let mut bad = good.clone();
    bad[0] = u32::MAX;
    assert!(matches!(m.decode(&bad, 3), Err(Error::InvalidArgument(_))));

    // wrong number of quantizers: 3 codes per frame for a 4-quantizer model
    let e = m.decode(&vec![0u32; 3 * (q - 1)], 3).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert!(matches!(m.decode(&good, 2), Err(Error::Shape { .. })));
    assert!(matches!(
        m.decode(&good, usize::MAX),
        Err(Error::Overflow(_))
    ));

    // zero frames
    assert!(matches!(m.decode(&[], 0), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        m.chunked_decode(&[], 0, 4, 2),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        m.decode_traced(&[], 0),
        Err(Error::InvalidArgument(_))
    ));

    // chunk 0
    assert!(matches!(
        m.chunked_decode(&good, 3, 0, 2),
        Err(Error::InvalidArgument(_))
    ));
    let mut s = m.stream(0, 2);
    assert!(matches!(s.push(&good[..q]), Err(Error::InvalidArgument(_))));

    // streaming: bad frames are rejected and leave the stream unchanged
    let mut s = m.stream(2, 1);
    assert!(matches!(s.push(&good[..q - 1]), Err(Error::Shape { .. })));
    assert!(matches!(s.push(&good[..q + 1]), Err(Error::Shape { .. })));
    assert!(matches!(
        s.push(&[64, 0, 0, 0]),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(s.frames_pushed(), 0);
    assert!(s.finish().unwrap().is_none());
    assert!(s.push(&good[..q]).unwrap().is_none());
    assert!(s.push(&good[..q]).unwrap().is_some());
}

#[test]
fn random_tiny_model_decodes() {
    let cfg = Qwen3OmniConfig::from_file(&model_dir().join("config.json")).unwrap();
    let m = Code2Wav::random(&cfg, 7, &Device::cpu(), DType::F32).unwrap();
    let q = m.num_quantizers();
    let codes: Vec<u32> = (0..5 * q as u32).map(|i| (i * 37) % 64).collect();
    let tr = m.decode_traced(&codes, 5).unwrap();
    let pre = tr.decoder_out.to_f32_vec().unwrap();
    assert_eq!(pre.len(), 1920 * 5 - 555);
    assert!(
        pre.iter().all(|v| v.is_finite()),
        "random decoder output is finite"
    );
    let wav = m.decode(&codes, 5).unwrap();
    assert!(wav.iter().all(|v| (-1.0..=1.0).contains(v)));
    // Same seed, same model.
    let m2 = Code2Wav::random(&cfg, 7, &Device::cpu(), DType::F32).unwrap();
    assert_eq!(m2.decode(&codes, 5).unwrap(), wav);
}

/// bf16 activations run the same graph; loose agreement with f32.
#[test]
fn bf16_decodes_close_to_f32() {
    let fx = Fixture::open("codes_7");
    let (codes, frames) = fx.codes();
    let m = Code2Wav::load_dir(&model_dir(), &Device::cpu(), DType::BF16).unwrap();
    let tr = m.decode_traced(&codes, frames).unwrap();
    let got = tr.pre_transformer.to_f32_vec().unwrap();
    let want = fx.f32("pre_transformer");
    let d = max_diff(&got, &want, "bf16 pre_transformer");
    eprintln!("bf16 pre_transformer max|Δ| = {d:.3e}");
    assert!(d < 0.1, "bf16 pre_transformer: {d}");
    let wav = m.decode(&codes, frames).unwrap();
    assert_eq!(wav.len(), 1920 * frames - 555);
    assert!(wav.iter().all(|v| v.is_finite()));
}

#[test]
fn missing_or_misshapen_weights_are_errors() {
    let cfg = Qwen3OmniConfig::from_file(&model_dir().join("config.json")).unwrap();
    let ckpt = Checkpoint::open(model_dir()).unwrap();
    // A config whose hidden size does not match the checkpoint.
    let mut bad = cfg.clone();
    let c2w = bad.code2wav_config.as_mut().unwrap();
    c2w["decoder_dim"] = serde_json::json!(48);
    let e = Code2Wav::load(&ckpt, &bad, &Device::cpu(), DType::F32)
        .err()
        .unwrap();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    // decoder_dim not divisible by 2^blocks
    let mut bad = cfg.clone();
    bad.code2wav_config.as_mut().unwrap()["decoder_dim"] = serde_json::json!(36);
    let e = Code2Wav::load(&ckpt, &bad, &Device::cpu(), DType::F32)
        .err()
        .unwrap();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    // unsupported dtype
    assert!(Code2Wav::load(&ckpt, &cfg, &Device::cpu(), DType::F16).is_err());
}

/// Every check above on another backend: the reference stages (isolated and
/// end to end), chunked decode, and streaming == chunked bit for bit there.
fn check_on_device(device: &Device) {
    let m = std::sync::Arc::new(
        Code2Wav::load_dir(&model_dir(), device, DType::F32).expect("load on device"),
    );
    for case in ["codes_7", "codes_11"] {
        check_isolated_stages(&m, case);
        check_stages(&m, case);
        let fx = Fixture::open(case);
        let (codes, frames) = fx.codes();
        let (chunk, left) = if case == "codes_7" { (3, 5) } else { (4, 2) };
        let key = format!("chunked_{chunk}_{left}");
        let got = m.chunked_decode(&codes, frames, chunk, left).unwrap();
        let got_t = Tensor::from_slice(&got, [got.len()], &Device::cpu()).unwrap();
        check(case, &got_t, &fx, &key);
        assert_eq!(stream_all(&m, &codes, chunk, left), got, "{case}: stream");
    }
}

/// The T-Head backend (RVV kernels, emulated on this host) on profile c920.
#[test]
fn thead_matches_reference() {
    check_on_device(&Device::thead("c920").expect("thead device"));
}

/// CUDA when a GPU is present (skipped otherwise).
#[cfg(feature = "cuda")]
#[test]
fn cuda_matches_reference() {
    match Device::cuda(0) {
        Ok(d) => check_on_device(&d),
        Err(e) => eprintln!("skipped: no usable NVIDIA GPU ({e})"),
    }
}
