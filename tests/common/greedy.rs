//! Greedy decoding of the embedded tiny thinker on a device, for the tests that
//! compare a backend's tokens with the CPU's.

use std::path::PathBuf;

use omnirt::models::qwen3_omni::{LoadOptions, Thinker};
use omnirt::models::{CausalLm, LogitsFor};
use omnirt::{DType, Device};

/// A short ChatML-shaped prompt in the tiny model's vocabulary.
pub const PROMPT: [u32; 12] = [961, 872, 198, 40, 107, 264, 261, 313, 962, 198, 961, 77];

pub fn tiny_model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/tiny-qwen3-omni")
}

/// Index of the largest value (the first on ties).
pub fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

/// Loads the tiny thinker in f32 on `device` and decodes `steps` greedy tokens
/// after `prompt`; returns the ids and the last step's logits.
pub fn greedy(device: &Device, prompt: &[u32], steps: usize) -> (Vec<u32>, Vec<f32>) {
    let opts = LoadOptions {
        device: device.clone(),
        dtype: DType::F32,
        quant: None,
    };
    let model = Thinker::load(&tiny_model_dir(), &opts).expect("load thinker");
    let mut cache = model.new_cache(prompt.len() + steps).unwrap();
    let mut logits = model
        .forward(prompt, &mut cache, LogitsFor::Last)
        .unwrap()
        .to_f32_vec()
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..steps {
        let next = argmax(&logits);
        ids.push(next);
        logits = model
            .forward(&[next], &mut cache, LogitsFor::Last)
            .unwrap()
            .to_f32_vec()
            .unwrap();
    }
    (ids, logits)
}
