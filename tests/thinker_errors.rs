//! Bad inputs and bad checkpoints give typed errors that say what is wrong;
//! nothing panics.

use std::path::{Path, PathBuf};

use omnirt::checkpoint::CheckpointError;
use omnirt::models::qwen3_omni::{LoadOptions, Qwen3OmniConfig, Thinker};
use omnirt::models::{CausalLm, LogitsFor};
use omnirt::{DType, Device, Error};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

fn model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/tiny-qwen3-omni")
}

fn load(dir: &Path) -> omnirt::Result<Thinker> {
    Thinker::load(dir, &LoadOptions::default())
}

fn tiny() -> Thinker {
    load(&model_dir()).unwrap()
}

fn tiny_config() -> Qwen3OmniConfig {
    Qwen3OmniConfig::from_file(&model_dir().join("config.json")).unwrap()
}

/// A copy of the tiny checkpoint whose `model.safetensors` went through `edit`
/// (tensor name, dtype, shape, bytes) -> replacement (None drops the tensor).
type Edited = (Dtype, Vec<usize>, Vec<u8>);
fn edited_checkpoint(
    edit: impl Fn(&str, Dtype, &[usize], &[u8]) -> Option<Edited>,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(model_dir().join(f), dir.path().join(f)).unwrap();
    }
    let bytes = std::fs::read(model_dir().join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<(String, Edited)> = st
        .tensors()
        .into_iter()
        .filter_map(|(name, view)| {
            edit(&name, view.dtype(), view.shape(), view.data()).map(|e| (name, e))
        })
        .collect();
    let views: Vec<(String, TensorView)> = kept
        .iter()
        .map(|(name, (dt, shape, data))| {
            (
                name.clone(),
                TensorView::new(*dt, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    let out = safetensors::serialize(views, None).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), out).unwrap();
    dir
}

fn keep(_: &str, dt: Dtype, shape: &[usize], data: &[u8]) -> Option<Edited> {
    Some((dt, shape.to_vec(), data.to_vec()))
}

fn message(e: &Error) -> String {
    e.to_string()
}

#[test]
fn unknown_token_id_is_an_invalid_argument() {
    let model = tiny();
    let mut cache = model.new_cache(8).unwrap();
    let err = model
        .forward(&[961, 1024, 5], &mut cache, LogitsFor::Last)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    let msg = message(&err);
    assert!(
        msg.contains("1024") && msg.contains("vocabulary of 1024"),
        "{msg}"
    );
    assert_eq!(cache.len(), 0, "a rejected call stores nothing");
    let err = model
        .forward(&[u32::MAX], &mut cache, LogitsFor::Last)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    // The cache is still usable.
    model
        .forward(&[961, 5], &mut cache, LogitsFor::Last)
        .unwrap();
    assert_eq!(cache.len(), 2);
}

#[test]
fn empty_prompt_is_an_invalid_argument() {
    let model = tiny();
    let mut cache = model.new_cache(8).unwrap();
    let err = model.forward(&[], &mut cache, LogitsFor::All).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(message(&err).contains("empty"), "{err}");
}

#[test]
fn prompt_over_the_cache_capacity_is_an_error() {
    let model = tiny();
    let mut cache = model.new_cache(8).unwrap();
    let ids: Vec<u32> = (0..9).collect();
    let err = model
        .forward(&ids, &mut cache, LogitsFor::Last)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(message(&err).contains("capacity of 8"), "{err}");
    // Filling it exactly works; one more token does not.
    model
        .forward(&ids[..8], &mut cache, LogitsFor::Last)
        .unwrap();
    let err = model
        .forward(&[1], &mut cache, LogitsFor::Last)
        .unwrap_err();
    assert!(message(&err).contains("capacity of 8"), "{err}");
}

#[test]
fn prompt_over_max_position_embeddings_is_an_error() {
    let mut config = tiny_config();
    config
        .thinker_config
        .text_config
        .as_mut()
        .unwrap()
        .max_position_embeddings = 6;
    let model = Thinker::random(&config, 1, &Device::cpu()).unwrap();
    assert_eq!(model.max_context(), 6);
    let err = model.new_cache(7).err().expect("over the limit");
    assert!(
        message(&err).contains("max_position_embeddings = 6"),
        "{err}"
    );
    let mut cache = model.new_cache(6).unwrap();
    let err = model
        .forward(&[1, 2, 3, 4, 5, 6, 7], &mut cache, LogitsFor::Last)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(
        message(&err).contains("max_position_embeddings = 6"),
        "{err}"
    );
}

#[test]
fn missing_tensor_names_it() {
    let gone = "thinker.model.layers.1.mlp.experts.3.up_proj.weight";
    let dir = edited_checkpoint(|name, dt, shape, data| {
        (name != gone).then(|| (dt, shape.to_vec(), data.to_vec()))
    });
    let err = load(dir.path()).err().expect("must fail");
    match &err {
        Error::Checkpoint(CheckpointError::TensorNotFound { tensor, .. }) => {
            assert_eq!(tensor, gone)
        }
        other => panic!("expected TensorNotFound, got {other:?}"),
    }
    assert!(message(&err).contains(gone));
}

#[test]
fn wrong_shape_names_tensor_and_shapes() {
    // A norm weight of the wrong length: config and checkpoint disagree.
    let dir = edited_checkpoint(|name, dt, shape, data| {
        if name == "thinker.model.norm.weight" {
            Some((dt, vec![32], data[..64].to_vec()))
        } else {
            keep(name, dt, shape, data)
        }
    });
    let err = load(dir.path()).err().expect("must fail");
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    let msg = message(&err);
    assert!(
        msg.contains("thinker.model.norm.weight") && msg.contains("[32]") && msg.contains("[64]"),
        "{msg}"
    );
    assert!(msg.contains("config.json"), "{msg}");

    // A transposed Linear weight is recognised as such.
    let dir = edited_checkpoint(|name, dt, shape, data| {
        if name == "thinker.model.layers.2.self_attn.o_proj.weight" {
            Some((dt, vec![shape[1], shape[0]], data.to_vec()))
        } else {
            keep(name, dt, shape, data)
        }
    });
    let err = load(dir.path()).err().expect("must fail");
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    assert!(message(&err).contains("transposed"), "{err}");
}

#[test]
fn wrong_dtype_is_a_dtype_error() {
    let dir = edited_checkpoint(|name, dt, shape, data| {
        if name == "thinker.model.layers.0.self_attn.k_norm.weight" {
            let n: usize = shape.iter().product();
            Some((Dtype::I64, shape.to_vec(), vec![0u8; n * 8]))
        } else {
            keep(name, dt, shape, data)
        }
    });
    let err = load(dir.path()).err().expect("must fail");
    match &err {
        Error::DType { dtype, .. } => assert_eq!(*dtype, DType::I64),
        other => panic!("expected a dtype error, got {other:?}"),
    }
    assert!(message(&err).contains("k_norm"), "{err}");
}

fn load_with_config(text: &str) -> Error {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), text).unwrap();
    std::fs::copy(
        model_dir().join("model.safetensors"),
        dir.path().join("model.safetensors"),
    )
    .unwrap();
    load(dir.path()).err().expect("must fail")
}

#[test]
fn malformed_config_names_the_field() {
    let good = std::fs::read_to_string(model_dir().join("config.json")).unwrap();

    let err = load_with_config("{ not json");
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(message(&err).contains("not valid JSON"), "{err}");

    let err = load_with_config(&good.replace("\"hidden_size\": 64", "\"hidden_size\": \"big\""));
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(
        message(&err).contains("thinker_config.text_config.hidden_size"),
        "{err}"
    );

    let err =
        load_with_config(&good.replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"));
    assert!(message(&err).contains("num_key_value_heads"), "{err}");

    let err =
        load_with_config(&good.replace("\"num_experts_per_tok\": 2", "\"num_experts_per_tok\": 9"));
    assert!(message(&err).contains("num_experts_per_tok"), "{err}");

    let err = load_with_config("{\"model_type\": \"qwen3_omni_moe\"}");
    assert!(message(&err).contains("thinker_config"), "{err}");

    // A config that parses but does not match the weights: a shape error.
    let err = load_with_config(&good.replace(
        "\"moe_intermediate_size\": 32",
        "\"moe_intermediate_size\": 48",
    ));
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");

    let empty = tempfile::tempdir().unwrap();
    let err = load(empty.path()).err().expect("no config.json");
    assert!(message(&err).contains("config.json"), "{err}");
}

#[test]
fn unsupported_load_options_are_rejected() {
    for (dtype, quant) in [
        (DType::I32, None),
        (DType::Q8_0, None),
        (DType::F32, Some(DType::BF16)),
    ] {
        let opts = LoadOptions {
            device: Device::cpu(),
            dtype,
            quant,
        };
        let err = Thinker::load(&model_dir(), &opts).err().expect("must fail");
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    }
}
