//! The engine on a small mock `CausalLm`: event order, stop/length/cancel,
//! KV budget admission and release, concurrency, bad requests, scoring.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use omnirt::engine::{
    Engine, EngineConfig, Event, FinishReason, GenerateRequest, KvSpec, SamplingParams,
    ScoreOptions,
};
use omnirt::models::{CausalLm, KvCache, LogitsFor};
use omnirt::preprocess::{SpecialTokens, TextTokenizer};
use omnirt::{DType, Device, Error, Result, Tensor};

#[derive(Clone, Copy)]
enum Mode {
    /// The next token is `last + 1` (mod vocab), with a large margin.
    Next,
    /// Pseudo-random logits from (last id, position): real sampling work.
    Random,
}

struct MockLm {
    vocab: usize,
    max_context: usize,
    mode: Mode,
    /// Forward fails when asked to process this position.
    fail_at: Option<usize>,
    calls: Mutex<Vec<usize>>,
    forwards: AtomicUsize,
}

impl MockLm {
    fn new(vocab: usize, max_context: usize, mode: Mode) -> MockLm {
        MockLm {
            vocab,
            max_context,
            mode,
            fail_at: None,
            calls: Mutex::new(Vec::new()),
            forwards: AtomicUsize::new(0),
        }
    }

    fn row(&self, last: u32, pos: usize) -> Vec<f32> {
        match self.mode {
            Mode::Next => {
                let mut r = vec![0.0; self.vocab];
                r[(last as usize + 1) % self.vocab] = 10.0;
                r
            }
            Mode::Random => (0..self.vocab)
                .map(|j| {
                    let h = splitmix((last as u64) << 40 ^ (pos as u64) << 20 ^ j as u64);
                    (h >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0
                })
                .collect(),
        }
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const KV: KvSpec = KvSpec {
    layers: 1,
    kv_heads: 1,
    head_dim: 2,
    dtype: DType::F32,
};
/// 2 (k, v) x 2 floats x 4 bytes.
const BYTES_PER_POS: usize = 16;

impl CausalLm for MockLm {
    fn vocab_size(&self) -> usize {
        self.vocab
    }
    fn max_context(&self) -> usize {
        self.max_context
    }
    fn new_cache(&self, capacity: usize) -> Result<KvCache> {
        KvCache::new(
            KV.layers,
            KV.kv_heads,
            KV.head_dim,
            capacity,
            KV.dtype,
            &Device::cpu(),
        )
    }
    fn forward(&self, ids: &[u32], cache: &mut KvCache, want: LogitsFor) -> Result<Tensor> {
        self.forwards.fetch_add(1, Ordering::SeqCst);
        self.calls.lock().unwrap().push(ids.len());
        let start = cache.len();
        if let Some(p) = self.fail_at {
            if (start..start + ids.len()).contains(&p) {
                return Err(Error::Unsupported(format!("mock failure at position {p}")));
            }
        }
        let n = ids.len();
        let dev = Device::cpu();
        let zeros = Tensor::zeros([1, 1, n, 2], DType::F32, &dev)?;
        cache.append(0, &zeros, &zeros)?;
        cache.advance(n)?;
        let rows: Vec<(u32, usize)> = ids
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, start + i))
            .collect();
        let rows = match want {
            LogitsFor::Last => &rows[n - 1..],
            LogitsFor::All => &rows[..],
        };
        let data: Vec<f32> = rows.iter().flat_map(|&(id, p)| self.row(id, p)).collect();
        Tensor::from_slice(&data, [rows.len(), self.vocab], &dev)
    }
}

fn special() -> SpecialTokens {
    SpecialTokens {
        im_start: 61,
        im_end: 62,
        endoftext: 60,
    }
}

fn engine_with(model: MockLm, config: EngineConfig) -> (Engine, Arc<MockLm>) {
    let model = Arc::new(model);
    let engine = Engine::new(model.clone(), KV, special(), None, config).unwrap();
    (engine, model)
}

fn engine(mode: Mode) -> (Engine, Arc<MockLm>) {
    engine_with(MockLm::new(64, 256, mode), EngineConfig::default())
}

fn tokens(events: &[Event]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Token { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

fn collect(engine: &Engine, req: GenerateRequest) -> Vec<Event> {
    engine
        .generate(req)
        .unwrap()
        .collect::<Result<Vec<_>>>()
        .unwrap()
}

#[test]
fn events_stream_in_order() {
    let (e, _) = engine(Mode::Next);
    let ev = collect(&e, GenerateRequest::ids(vec![1, 2, 3]).max_new_tokens(5));
    assert_eq!(tokens(&ev), [4, 5, 6, 7, 8]);
    assert_eq!(ev.len(), 7);
    for t in &ev[..5] {
        let Event::Token { logprob, .. } = t else {
            panic!("{t:?}")
        };
        assert!(*logprob <= 0.0 && *logprob > -0.01, "{logprob}");
    }
    match &ev[5] {
        Event::Usage {
            prompt_tokens,
            completion_tokens,
            prefill_seconds,
            decode_seconds,
        } => {
            assert_eq!((*prompt_tokens, *completion_tokens), (3, 5));
            assert!(*prefill_seconds >= 0.0 && *decode_seconds >= 0.0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ev[6], Event::Finished(FinishReason::Length));
    assert_eq!(e.kv_bytes_in_use(), 0);
    assert_eq!(e.active_requests(), 0);
}

#[test]
fn stops_on_model_and_user_stop_ids() {
    let (e, _) = engine(Mode::Next);
    // im_end (62) from the special tokens.
    let ev = collect(&e, GenerateRequest::ids(vec![59]).max_new_tokens(10));
    assert_eq!(tokens(&ev), [60], "endoftext (60) stops too");
    let ev = collect(&e, GenerateRequest::ids(vec![10, 60]).max_new_tokens(10));
    assert_eq!(tokens(&ev), [61, 62]);
    assert_eq!(ev.last(), Some(&Event::Finished(FinishReason::Stop)));
    // A user stop id.
    let ev = collect(
        &e,
        GenerateRequest::ids(vec![1])
            .max_new_tokens(10)
            .stop_ids(vec![4]),
    );
    assert_eq!(tokens(&ev), [2, 3, 4]);
    assert_eq!(ev.last(), Some(&Event::Finished(FinishReason::Stop)));
}

#[test]
fn max_new_tokens_is_respected() {
    let (e, _) = engine(Mode::Random);
    for n in [1, 2, 17] {
        let ev = collect(
            &e,
            GenerateRequest::ids(vec![1, 2])
                .max_new_tokens(n)
                .stop_ids(vec![])
                .sampling(SamplingParams::sample(1.0, 5)),
        );
        let toks = tokens(&ev);
        let stopped = ev.last() == Some(&Event::Finished(FinishReason::Stop));
        assert!(toks.len() == n || stopped, "{n} {toks:?}");
    }
    assert!(e
        .generate(GenerateRequest::ids(vec![1]).max_new_tokens(0))
        .is_err());
}

#[test]
fn cancel_mid_stream() {
    let (e, _) = engine(Mode::Next);
    let mut s = e
        .generate(GenerateRequest::ids(vec![1]).max_new_tokens(20))
        .unwrap();
    let handle = s.cancel_handle();
    assert!(matches!(s.next(), Some(Ok(Event::Token { id: 2, .. }))));
    assert!(matches!(s.next(), Some(Ok(Event::Token { id: 3, .. }))));
    std::thread::spawn(move || handle.cancel()).join().unwrap();
    let rest: Vec<Event> = s.by_ref().map(|r| r.unwrap()).collect();
    assert!(
        matches!(
            rest[0],
            Event::Usage {
                completion_tokens: 2,
                ..
            }
        ),
        "{rest:?}"
    );
    assert_eq!(rest.last(), Some(&Event::Finished(FinishReason::Cancelled)));
    assert_eq!(e.kv_bytes_in_use(), 0, "finished stream released its cache");
    assert!(s.next().is_none());
}

#[test]
fn cancel_before_prefill_does_no_work() {
    let (e, m) = engine(Mode::Next);
    let s = e
        .generate(GenerateRequest::ids(vec![1, 2]).max_new_tokens(4))
        .unwrap();
    s.cancel_handle().cancel();
    let ev: Vec<Event> = s.map(|r| r.unwrap()).collect();
    assert!(tokens(&ev).is_empty());
    assert_eq!(ev.last(), Some(&Event::Finished(FinishReason::Cancelled)));
    assert_eq!(m.forwards.load(Ordering::SeqCst), 0);
}

#[test]
fn dropping_a_stream_releases_its_reservation() {
    let (e, _) = engine(Mode::Next);
    let mut s = e
        .generate(GenerateRequest::ids(vec![1, 2, 3]).max_new_tokens(7))
        .unwrap();
    assert_eq!(e.kv_bytes_in_use(), 10 * BYTES_PER_POS);
    assert_eq!(e.active_requests(), 1);
    s.next().unwrap().unwrap();
    drop(s);
    assert_eq!(e.kv_bytes_in_use(), 0);
    assert_eq!(e.active_requests(), 0);
}

#[test]
fn over_budget_is_an_error_and_others_still_complete() {
    let config = EngineConfig {
        kv_budget_bytes: 20 * BYTES_PER_POS,
        ..EngineConfig::default()
    };
    let (e, _) = engine_with(MockLm::new(64, 256, Mode::Next), config);
    let req = || GenerateRequest::ids(vec![1, 2, 3]).max_new_tokens(10); // 13 positions
    let a = e.generate(req()).unwrap();
    let err = e
        .generate(req())
        .err()
        .expect("second request does not fit");
    assert!(err.to_string().contains("KV budget"), "{err}");
    // Larger than the whole budget: says so.
    let err = e
        .generate(GenerateRequest::ids(vec![1]).max_new_tokens(100))
        .err()
        .unwrap();
    assert!(err.to_string().contains("kv_budget_bytes"), "{err}");
    let ev: Vec<Event> = a.map(|r| r.unwrap()).collect();
    assert_eq!(tokens(&ev), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    // Room again.
    assert_eq!(tokens(&collect(&e, req())).len(), 10);
}

#[test]
fn max_concurrent_is_enforced() {
    let config = EngineConfig {
        max_concurrent: 2,
        ..EngineConfig::default()
    };
    let (e, _) = engine_with(MockLm::new(64, 256, Mode::Next), config);
    let a = e.generate(GenerateRequest::ids(vec![1])).unwrap();
    let _b = e.generate(GenerateRequest::ids(vec![1])).unwrap();
    assert!(e.generate(GenerateRequest::ids(vec![1])).is_err());
    drop(a);
    assert!(e.generate(GenerateRequest::ids(vec![1])).is_ok());
}

#[test]
fn concurrent_requests_match_sequential_runs() {
    let (e, _) = engine(Mode::Random);
    let req = |i: u64| {
        GenerateRequest::ids(vec![1 + i as u32, 7, 9])
            .max_new_tokens(24)
            .stop_ids(vec![])
            .sampling(SamplingParams {
                top_k: 20,
                top_p: 0.9,
                repetition_penalty: 1.1,
                ..SamplingParams::sample(0.8, 1000 + i)
            })
    };
    let sequential: Vec<Vec<u32>> = (0..8).map(|i| tokens(&collect(&e, req(i)))).collect();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let e = e.clone();
            std::thread::spawn(move || tokens(&collect(&e, req(i))))
        })
        .collect();
    let parallel: Vec<Vec<u32>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(sequential, parallel);
    // Different seeds really gave different samples.
    assert_ne!(sequential[0], sequential[1]);
    assert_eq!(e.kv_bytes_in_use(), 0);
}

#[test]
fn prompt_over_context_fails_before_any_work() {
    let (e, m) = engine_with(MockLm::new(64, 32, Mode::Next), EngineConfig::default());
    let err = e
        .generate(GenerateRequest::ids(vec![1; 30]).max_new_tokens(5))
        .err()
        .unwrap();
    assert!(err.to_string().contains("context"), "{err}");
    assert_eq!(m.forwards.load(Ordering::SeqCst), 0);
    assert_eq!(e.kv_bytes_in_use(), 0);
    assert!(e
        .generate(GenerateRequest::ids(vec![1; 27]).max_new_tokens(5))
        .is_ok());
}

#[test]
fn bad_token_id_is_an_error_and_the_engine_keeps_serving() {
    let (e, _) = engine(Mode::Next);
    let err = e
        .generate(GenerateRequest::ids(vec![1, 9999]))
        .err()
        .unwrap();
    assert!(err.to_string().contains("9999"), "{err}");
    assert!(e.generate(GenerateRequest::ids(vec![])).is_err());
    assert!(e.score(&[1, 64]).is_err());
    let ev = collect(&e, GenerateRequest::ids(vec![1]).max_new_tokens(2));
    assert_eq!(tokens(&ev), [2, 3]);
}

#[test]
fn a_failing_forward_ends_only_that_stream() {
    let mut m = MockLm::new(64, 256, Mode::Next);
    m.fail_at = Some(5);
    let (e, _) = engine_with(m, EngineConfig::default());
    let mut s = e
        .generate(GenerateRequest::ids(vec![1, 2]).max_new_tokens(10))
        .unwrap();
    let other = e
        .generate(GenerateRequest::ids(vec![1]).max_new_tokens(3))
        .unwrap();
    let mut seen_err = false;
    for r in s.by_ref() {
        if r.is_err() {
            seen_err = true;
        }
    }
    assert!(seen_err);
    assert!(s.next().is_none());
    let ev: Vec<Event> = other.map(|r| r.unwrap()).collect();
    assert_eq!(tokens(&ev), [2, 3, 4]);
    assert_eq!(e.kv_bytes_in_use(), 0);
}

#[test]
fn long_prompts_are_prefilled_in_chunks() {
    let config = EngineConfig {
        prefill_chunk: 4,
        ..EngineConfig::default()
    };
    let (e, m) = engine_with(MockLm::new(64, 256, Mode::Next), config);
    let ev = collect(
        &e,
        GenerateRequest::ids((1..=10).collect()).max_new_tokens(3),
    );
    assert_eq!(tokens(&ev), [11, 12, 13]);
    assert_eq!(*m.calls.lock().unwrap(), [4, 4, 2, 1, 1]);
}

#[test]
fn score_is_teacher_forced() {
    let (e, _) = engine(Mode::Next);
    let r = e.score(&[1, 2, 3, 4]).unwrap();
    assert_eq!(r.token_logprobs.len(), 3);
    assert!(r.token_logprobs.iter().all(|&l| l > -0.01));
    assert!(r.perplexity < 1.01);
    assert!(r.logits.is_none());
    let bad = e.score(&[1, 5, 9]).unwrap();
    assert!(bad.perplexity > 100.0, "{}", bad.perplexity);
    let config = EngineConfig {
        prefill_chunk: 3,
        ..EngineConfig::default()
    };
    let (e2, _) = engine_with(MockLm::new(64, 256, Mode::Random), config);
    let (e1, _) = engine(Mode::Random);
    let ids: Vec<u32> = (0..10).collect();
    let opts = ScoreOptions { keep_logits: true };
    let a = e1.score_with(&ids, &opts).unwrap();
    let b = e2.score_with(&ids, &opts).unwrap();
    assert_eq!(
        a.token_logprobs, b.token_logprobs,
        "chunking does not change scores"
    );
    assert_eq!(a.logits.unwrap().dims(), &[10, 64]);
    assert!(e.score(&[1]).is_err());
    assert_eq!(e.kv_bytes_in_use(), 0);
}

#[test]
fn chat_prompts_use_the_tokenizer_and_stream_text() {
    let tok = TextTokenizer::from_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/tiny-qwen3-omni"
    ))
    .unwrap();
    let model = Arc::new(MockLm::new(1024, 4096, Mode::Next));
    let sp = SpecialTokens {
        im_start: 961,
        im_end: 962,
        endoftext: 960,
    };
    let e = Engine::new(model, KV, sp, Some(tok.clone()), EngineConfig::default()).unwrap();
    let mut s = e
        .generate(GenerateRequest::text("w5 w17 w42").max_new_tokens(3))
        .unwrap();
    assert_eq!(
        s.prompt_ids(),
        [961, 872, 198, 5, 17, 42, 962, 198, 961, 291, 198]
    );
    let ev: Vec<Event> = s.by_ref().map(|r| r.unwrap()).collect();
    let toks = tokens(&ev);
    assert_eq!(toks, [199, 200, 201]);
    let text: String = ev
        .iter()
        .filter_map(|e| match e {
            Event::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, tok.decode(&toks, true).unwrap());
    // Each token's text follows its Token event.
    assert!(matches!(ev[0], Event::Token { id: 199, .. }));
    assert_eq!(ev[1], Event::TextDelta("w199".into()));
    // Without a tokenizer a chat prompt is a clear error.
    let (plain, _) = engine(Mode::Next);
    let err = plain.generate(GenerateRequest::text("hi")).err().unwrap();
    assert!(err.to_string().contains("tokenizer"), "{err}");
}

#[test]
fn engine_and_stream_are_thread_safe_types() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Engine>();
    send::<omnirt::engine::GenerationStream>();
}

/// End to end: the engine on the real tiny checkpoint reproduces the greedy
/// tokens `transformers` recorded (chat_short, chat_long).
#[test]
fn tiny_thinker_greedy_matches_fixture() {
    use omnirt::models::qwen3_omni::{LoadOptions, Thinker};
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/tiny-qwen3-omni"
    ));
    let thinker = Thinker::load(dir, &LoadOptions::default()).unwrap();
    let kv = KvSpec::for_thinker(&thinker);
    let special = SpecialTokens::from_config(thinker.config());
    let tok = TextTokenizer::from_dir(dir).unwrap();
    let config = EngineConfig {
        prefill_chunk: 7, // exercise chunked prefill on the real model too
        ..EngineConfig::default()
    };
    let e = Engine::new(Arc::new(thinker), kv, special, Some(tok), config).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/fixtures/thinker_text/manifest.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let ids = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect()
    };
    for name in ["chat_short", "chat_long"] {
        let case = &manifest["cases"][name];
        let want = ids(&case["gen_ids"][0]);
        let by_ids = collect(
            &e,
            GenerateRequest::ids(ids(&case["input_ids"][0])).max_new_tokens(want.len()),
        );
        assert_eq!(tokens(&by_ids), want, "{name} from ids");
        let msgs = case["conversations"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                omnirt::preprocess::Message::new(
                    m["role"].as_str().unwrap(),
                    m["content"].as_str().unwrap(),
                )
            })
            .collect();
        let by_text = collect(&e, GenerateRequest::chat(msgs).max_new_tokens(want.len()));
        assert_eq!(tokens(&by_text), want, "{name} from chat text");
        assert!(by_text.iter().any(|e| matches!(e, Event::TextDelta(_))));
    }
    // Scoring the prompt + greedy reply: every greedy token is the argmax.
    let case = &manifest["cases"]["chat_short"];
    let mut seq = ids(&case["input_ids"][0]);
    let prompt_len = seq.len();
    seq.extend(ids(&case["gen_ids"][0]));
    let r = e
        .score_with(&seq, &ScoreOptions { keep_logits: true })
        .unwrap();
    let logits = r.logits.unwrap().to_f32_vec().unwrap();
    let vocab = 1024;
    for i in prompt_len - 1..seq.len() - 1 {
        let row = &logits[i * vocab..(i + 1) * vocab];
        let best = omnirt::engine::sampling::argmax(row).unwrap();
        assert_eq!(best, seq[i + 1], "position {i}");
    }
    assert!(r.perplexity.is_finite());
}
