//! The `*.safetensors.index.json` file of a sharded checkpoint.
//!
//! ```json
//! {"metadata": {"total_size": 123}, "weight_map": {"tensor.name": "model-00001-of-00003.safetensors", ...}}
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::error::CheckpointError;
use super::json::{describe, kind_of, TopLevel};

/// Real indexes are a few MB even for the largest models.
const MAX_INDEX_LEN: u64 = 100_000_000;

pub(crate) struct ShardIndex {
    /// The `metadata` object, non-string values kept as JSON text (e.g. `total_size`).
    pub metadata: BTreeMap<String, String>,
    /// Tensor name -> shard file name as written in the index.
    pub weight_map: BTreeMap<String, String>,
}

pub(crate) fn read(index: &Path) -> Result<ShardIndex, CheckpointError> {
    let malformed = |detail: String| CheckpointError::IndexMalformed {
        index: index.to_path_buf(),
        detail,
    };
    let len = fs::metadata(index)
        .map_err(|e| CheckpointError::io(index, e))?
        .len();
    if len > MAX_INDEX_LEN {
        return Err(malformed(format!(
            "it is {len} bytes, over the {MAX_INDEX_LEN}-byte limit"
        )));
    }
    let text = fs::read(index).map_err(|e| CheckpointError::io(index, e))?;
    let entries = match serde_json::from_slice::<TopLevel>(&text) {
        Ok(TopLevel::Object(entries)) => entries,
        Ok(TopLevel::Other(found)) => {
            return Err(malformed(format!("it is {found}, expected a JSON object")))
        }
        Err(error) => return Err(malformed(error.to_string())),
    };

    let mut seen = HashSet::new();
    let mut metadata = BTreeMap::new();
    let mut weight_map = None;
    for (key, value) in entries {
        if !seen.insert(key.clone()) {
            return Err(malformed(format!("key `{key}` appears twice")));
        }
        match key.as_str() {
            "metadata" => metadata = parse_metadata(value).map_err(malformed)?,
            "weight_map" => weight_map = Some(parse_weight_map(value).map_err(malformed)?),
            _ => {} // Unknown keys are tolerated, as transformers does.
        }
    }
    let weight_map = weight_map.ok_or_else(|| CheckpointError::IndexMissingWeightMap {
        index: index.to_path_buf(),
    })?;
    Ok(ShardIndex {
        metadata,
        weight_map,
    })
}

fn parse_metadata(value: Value) -> Result<BTreeMap<String, String>, String> {
    match value {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => Ok(map
            .into_iter()
            .map(|(key, value)| match value {
                Value::String(text) => (key, text),
                other => (key, other.to_string()),
            })
            .collect()),
        other => Err(format!(
            "`metadata` is {}, expected an object",
            kind_of(&other)
        )),
    }
}

fn parse_weight_map(value: Value) -> Result<BTreeMap<String, String>, String> {
    // Duplicate tensor names were already rejected while parsing (strict JSON).
    let Value::Object(map) = value else {
        return Err(format!(
            "`weight_map` is {}, expected an object",
            kind_of(&value)
        ));
    };
    map.into_iter()
        .map(|(tensor, shard)| match shard {
            Value::String(shard) => Ok((tensor, shard)),
            other => Err(format!(
                "`weight_map` maps `{tensor}` to {}, expected a shard file name",
                describe(&other)
            )),
        })
        .collect()
}

/// Joins a shard name to the index's directory, refusing anything that could
/// point outside it: absolute paths, `..`, drive prefixes, empty names.
///
/// Only the name is checked, not where symlinks lead: Hugging Face caches
/// store shards as symlinks into a shared blob directory, which is fine.
pub(crate) fn shard_path(index: &Path, shard: &str) -> Result<PathBuf, CheckpointError> {
    let relative = Path::new(shard);
    let plain = !shard.is_empty()
        && relative
            .components()
            .all(|part| matches!(part, Component::Normal(_) | Component::CurDir))
        && relative
            .components()
            .any(|part| matches!(part, Component::Normal(_)));
    // On Unix `\` is an ordinary character, so `..\x` would pass the component
    // check; reject it anyway so an index means the same thing on every OS.
    let windows_style_escape = shard.contains('\\') || shard.contains(':');
    if !plain || windows_style_escape {
        return Err(CheckpointError::UnsafeShardPath {
            index: index.to_path_buf(),
            shard: shard.to_owned(),
        });
    }
    Ok(index_dir(index).join(relative))
}

pub(crate) fn index_dir(index: &Path) -> &Path {
    index.parent().unwrap_or(Path::new(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names_must_stay_inside_the_directory() {
        let index = Path::new("/ckpt/model.safetensors.index.json");
        assert_eq!(
            shard_path(index, "model-00001-of-00002.safetensors").unwrap(),
            Path::new("/ckpt/model-00001-of-00002.safetensors")
        );
        assert!(shard_path(index, "sub/shard.safetensors").is_ok());
        for bad in [
            "",
            ".",
            "../x.safetensors",
            "a/../../x.safetensors",
            "/etc/passwd",
            "..\\x.safetensors",
            "C:\\x.safetensors",
            "c:x.safetensors",
        ] {
            assert!(
                matches!(
                    shard_path(index, bad),
                    Err(CheckpointError::UnsafeShardPath { .. })
                ),
                "{bad:?} accepted"
            );
        }
    }
}
