//! Tokenizer, ChatML and streaming detokenization.

use omnirt::models::qwen3_omni::Qwen3OmniConfig;
use omnirt::preprocess::chat::chatml_user;
use omnirt::preprocess::{chatml, Message, SpecialTokens, StreamDecoder, TextTokenizer};

const TINY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/tiny-qwen3-omni");

fn tiny() -> TextTokenizer {
    TextTokenizer::from_dir(TINY).expect("tiny tokenizer loads")
}

fn manifest() -> serde_json::Value {
    let p = format!(
        "{}/models/fixtures/thinker_text/manifest.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ids_of(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn tiny_tokenizer_matches_recorded_example() {
    let tok = tiny();
    let ids = tok
        .encode("<|im_start|>user\nw5 w17<|im_end|>\n<|im_start|>assistant\n")
        .unwrap();
    assert_eq!(ids, [961, 872, 198, 5, 17, 962, 198, 961, 291, 198]);
    let m = manifest();
    for (text, want) in m["checkpoint"]["token_examples"].as_object().unwrap() {
        assert_eq!(tok.encode(text).unwrap(), ids_of(want), "{text:?}");
    }
}

#[test]
fn chatml_reproduces_every_fixture_prompt() {
    let tok = tiny();
    let m = manifest();
    let mut checked = 0;
    for (name, case) in m["cases"].as_object().unwrap() {
        let convs = case["conversations"].as_array().unwrap();
        for (b, conv) in convs.iter().enumerate() {
            let msgs: Vec<Message> = conv
                .as_array()
                .unwrap()
                .iter()
                .map(|m| Message::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
                .collect();
            let text = chatml(&msgs);
            assert_eq!(text, case["prompt_texts"][b].as_str().unwrap(), "{name}");
            // Drop the left padding (pad = <|endoftext|>) of batched cases.
            let ids = ids_of(&case["input_ids"][b]);
            let mask = match case.get("attention_mask") {
                Some(m) => ids_of(&m[b]),
                None => vec![1; ids.len()],
            };
            let want: Vec<u32> = ids
                .into_iter()
                .zip(mask)
                .filter(|&(_, m)| m == 1)
                .map(|(id, _)| id)
                .collect();
            assert_eq!(tok.encode(&text).unwrap(), want, "{name}[{b}]");
            checked += 1;
        }
    }
    assert!(checked >= 4);
}

#[test]
fn chatml_user_with_optional_system() {
    assert_eq!(
        chatml_user(None, "hi"),
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(
        chatml_user(Some("be brief"), "hi"),
        "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn special_tokens_come_from_the_config() {
    let cfg: Qwen3OmniConfig =
        serde_json::from_str(&std::fs::read_to_string(format!("{TINY}/config.json")).unwrap())
            .unwrap();
    let sp = SpecialTokens::from_config(&cfg).with_tokenizer(&tiny());
    assert_eq!((sp.im_start, sp.im_end, sp.endoftext), (961, 962, 960));
    assert!(sp.stop_ids().contains(&962));
    assert!(sp.stop_ids().contains(&960));
}

#[test]
fn missing_tokenizer_says_what_to_do() {
    let err = TextTokenizer::from_dir("/nonexistent-dir")
        .unwrap_err()
        .to_string();
    assert!(err.contains("tokenizer.json"), "{err}");
    assert!(TextTokenizer::from_json("{not json").is_err());
}

#[test]
fn tiny_stream_decoder_matches_full_decode() {
    let tok = tiny();
    let ids = [5u32, 17, 42, 198, 7, 962, 100];
    let mut dec = StreamDecoder::new();
    let mut out = String::new();
    for &id in &ids {
        if let Some(d) = dec.push(&tok, id).unwrap() {
            out.push_str(&d);
        }
    }
    if let Some(d) = dec.finish(&tok).unwrap() {
        out.push_str(&d);
    }
    assert_eq!(out, tok.decode(&ids, true).unwrap());
}

/// GPT-2's byte -> printable char map (what byte-level BPE vocabularies use).
fn bytes_to_unicode() -> Vec<char> {
    let mut printable: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + n);
            n += 1;
        }
    }
    let mut map = vec!['\0'; 256];
    for (b, c) in printable.into_iter().zip(chars) {
        map[b as usize] = char::from_u32(c).unwrap();
    }
    map
}

/// A byte-level BPE tokenizer with one token per byte (every multi-byte
/// character is split across tokens), built in memory.
fn byte_level_tokenizer() -> TextTokenizer {
    let map = bytes_to_unicode();
    let vocab: serde_json::Map<String, serde_json::Value> = (0..256)
        .map(|b| (map[b].to_string(), serde_json::Value::from(b)))
        .collect();
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                  "ignore_merges": false, "vocab": vocab, "merges": []}
    });
    TextTokenizer::from_json(&json.to_string()).expect("byte-level tokenizer builds")
}

#[test]
fn stream_decoder_never_splits_a_character() {
    let tok = byte_level_tokenizer();
    let text = "héllo wörld 你好 😀!";
    let ids = tok.encode(text).unwrap();
    assert_eq!(ids.len(), text.len(), "one token per byte");
    let mut dec = StreamDecoder::new();
    let mut deltas = Vec::new();
    for &id in &ids {
        if let Some(d) = dec.push(&tok, id).unwrap() {
            deltas.push(d);
        }
    }
    if let Some(d) = dec.finish(&tok).unwrap() {
        deltas.push(d);
    }
    for d in &deltas {
        assert!(
            !d.contains('\u{FFFD}'),
            "delta {d:?} holds a broken character"
        );
    }
    assert_eq!(deltas.concat(), text);
    // The emoji's four bytes come out as one delta.
    assert!(deltas.iter().any(|d| d.contains('😀')));
}

#[test]
fn stream_decoder_flushes_a_truncated_character_at_the_end() {
    let tok = byte_level_tokenizer();
    let ids = tok.encode("a😀").unwrap();
    let mut dec = StreamDecoder::new();
    let mut out = String::new();
    for &id in &ids[..3] {
        if let Some(d) = dec.push(&tok, id).unwrap() {
            out.push_str(&d);
        }
    }
    assert_eq!(out, "a", "incomplete character held back");
    let rest = dec.finish(&tok).unwrap().unwrap();
    assert!(rest.contains('\u{FFFD}'));
}
