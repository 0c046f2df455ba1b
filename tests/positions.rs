//! Placeholder expansion and 3-D M-RoPE positions vs transformers 5.24
//! (`models/fixtures/positions/cases.json`, made by
//! scripts/fixtures/make_position_fixtures.py from the real processor and the
//! tiny checkpoint's `get_rope_index`).

use std::path::PathBuf;

use omnirt::error::Error;
use omnirt::models::qwen3_omni::multimodal::{
    decode_positions, expand_placeholders, rope_index, GridThw, MediaSizes, MultimodalSpec,
    VideoItem,
};
use omnirt::models::qwen3_omni::Qwen3OmniConfig;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec() -> MultimodalSpec {
    let cfg =
        Qwen3OmniConfig::from_file(&root().join("models/tiny-qwen3-omni/config.json")).unwrap();
    MultimodalSpec::from_thinker(&cfg.thinker_config).unwrap()
}

fn fixtures() -> Value {
    let text =
        std::fs::read_to_string(root().join("models/fixtures/positions/cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn rows(v: &Value) -> [Vec<f32>; 3] {
    let r: Vec<Vec<f32>> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    [r[0].clone(), r[1].clone(), r[2].clone()]
}

fn grid(v: &Value) -> GridThw {
    let g: Vec<usize> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    GridThw::new(g[0], g[1], g[2])
}

fn media(case: &Value) -> MediaSizes {
    MediaSizes {
        images: case["image_grid_thw"]
            .as_array()
            .unwrap()
            .iter()
            .map(grid)
            .collect(),
        videos: case["videos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| VideoItem {
                grid: grid(&v["grid_thw"]),
                second_per_grid: v["second_per_grid"].as_f64().unwrap(),
                audio_tokens: v["audio_tokens"].as_u64().map(|n| n as usize),
            })
            .collect(),
        audios: case["audio_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect(),
    }
}

#[test]
fn special_ids_come_from_the_config() {
    let f = fixtures();
    let s = spec();
    let ids = &f["special_ids"];
    assert_eq!(
        s.tokens.image_pad as u64,
        ids["image_pad"].as_u64().unwrap()
    );
    assert_eq!(
        s.tokens.video_pad as u64,
        ids["video_pad"].as_u64().unwrap()
    );
    assert_eq!(
        s.tokens.audio_pad as u64,
        ids["audio_pad"].as_u64().unwrap()
    );
    assert_eq!(
        s.tokens.vision_start as u64,
        ids["vision_start"].as_u64().unwrap()
    );
    assert_eq!(
        s.tokens.vision_end as u64,
        ids["vision_end"].as_u64().unwrap()
    );
    assert_eq!(
        s.tokens.audio_start as u64,
        ids["audio_start"].as_u64().unwrap()
    );
    assert_eq!(
        s.tokens.audio_end as u64,
        ids["audio_end"].as_u64().unwrap()
    );
    assert_eq!(
        s.spatial_merge_size as u64,
        f["spatial_merge_size"].as_u64().unwrap()
    );
    assert_eq!(
        s.position_id_per_seconds,
        f["position_id_per_seconds"].as_f64().unwrap()
    );
}

#[test]
fn expansion_and_positions_match_transformers() {
    let f = fixtures();
    let s = spec();
    let cases = f["cases"].as_object().unwrap();
    assert!(cases.len() >= 10, "{} cases", cases.len());
    for (name, case) in cases {
        let m = media(case);
        let expanded = expand_placeholders(&ids(&case["unexpanded_ids"]), &m, &s).unwrap();
        assert_eq!(expanded, ids(&case["expanded_ids"]), "{name}: expanded ids");
        let r = rope_index(&expanded, &m, &s).unwrap();
        let want = rows(&case["position_ids"]);
        for (row, (got, want)) in r.positions.iter().zip(&want).enumerate() {
            assert_eq!(got.len(), want.len(), "{name}: row {row} length");
            for (i, (a, b)) in got.iter().zip(want).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "{name}: position [{row}][{i}] = {a}, want {b}"
                );
            }
        }
        let delta = case["rope_delta"].as_f64().unwrap() as f32;
        assert_eq!(
            r.rope_delta.to_bits(),
            delta.to_bits(),
            "{name}: rope_delta {} want {delta}",
            r.rope_delta
        );
        let dec = decode_positions(expanded.len(), r.rope_delta, 3);
        assert_eq!(
            dec,
            rows(&case["decode_positions"]),
            "{name}: decode positions"
        );
    }
}

fn assert_invalid<T: std::fmt::Debug>(r: omnirt::error::Result<T>, needles: &[&str]) {
    match r {
        Err(Error::InvalidArgument(msg)) => {
            for n in needles {
                assert!(msg.contains(n), "message {msg:?} lacks {n:?}");
            }
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

fn case(name: &str) -> (Vec<u32>, Vec<u32>, MediaSizes) {
    let f = fixtures();
    let c = &f["cases"][name];
    (ids(&c["unexpanded_ids"]), ids(&c["expanded_ids"]), media(c))
}

#[test]
fn placeholder_count_mismatch_is_a_typed_error() {
    let s = spec();
    let (raw, expanded, m) = case("two_images");
    let mut one = m.clone();
    one.images.pop();
    assert_invalid(expand_placeholders(&raw, &one, &s), &["2", "1", "image"]);
    assert_invalid(rope_index(&expanded, &one, &s), &["image"]);
    let mut three = m.clone();
    three.images.push(GridThw::new(1, 2, 2));
    assert_invalid(expand_placeholders(&raw, &three, &s), &["2", "3"]);
    assert_invalid(rope_index(&expanded, &three, &s), &["2 image", "3"]);

    let (raw, expanded, m) = case("mixed");
    let mut none = m.clone();
    none.audios.clear();
    assert_invalid(expand_placeholders(&raw, &none, &s), &["audio", "1", "0"]);
    assert_invalid(rope_index(&expanded, &none, &s), &["audio"]);
    // wrong per-item size: the pad run does not match the grid
    let mut bigger = m.clone();
    bigger.audios[0] += 1;
    assert_invalid(rope_index(&expanded, &bigger, &s), &["audio"]);

    let (_, expanded, m) = case("audio_in_video");
    let mut plain = m.clone();
    plain.videos[0].audio_tokens = None;
    assert_invalid(rope_index(&expanded, &plain, &s), &["video 0"]);
}

#[test]
fn bad_grids_are_typed_errors() {
    let s = spec();
    let (raw, expanded, m) = case("image");
    for g in [
        GridThw::new(0, 4, 6),
        GridThw::new(1, 0, 6),
        GridThw::new(1, 4, 0),
    ] {
        let mut bad = m.clone();
        bad.images[0] = g;
        assert_invalid(expand_placeholders(&raw, &bad, &s), &["zero"]);
        assert_invalid(rope_index(&expanded, &bad, &s), &["zero"]);
    }
    for g in [GridThw::new(1, 3, 6), GridThw::new(1, 4, 5)] {
        let mut bad = m.clone();
        bad.images[0] = g;
        assert_invalid(expand_placeholders(&raw, &bad, &s), &["merge size"]);
        assert_invalid(rope_index(&expanded, &bad, &s), &["merge size"]);
    }
    let (raw, _, m) = case("video");
    let mut bad = m.clone();
    bad.videos[0].grid = GridThw::new(2, 4, 3);
    assert_invalid(
        expand_placeholders(&raw, &bad, &s),
        &["video 0", "merge size"],
    );
    let (raw, _, m) = case("audio");
    let mut bad = m.clone();
    bad.audios[0] = 0;
    assert_invalid(expand_placeholders(&raw, &bad, &s), &["0 audio tokens"]);
}
