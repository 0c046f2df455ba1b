//! Deciding which file(s) a user-supplied checkpoint path refers to.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::CheckpointError;

pub(crate) enum Layout {
    Single(PathBuf),
    Sharded { index: PathBuf },
}

const INDEX_NAME: &str = "model.safetensors.index.json";
const SINGLE_NAME: &str = "model.safetensors";
const INDEX_SUFFIX: &str = ".safetensors.index.json";
const FILE_SUFFIX: &str = ".safetensors";

/// A directory resolves, in order of preference, to `model.safetensors.index.json`,
/// `model.safetensors`, its only `*.safetensors.index.json`, or its only
/// `*.safetensors`. A `.json` file is an index; any other file is read as safetensors.
pub(crate) fn locate(path: &Path) -> Result<Layout, CheckpointError> {
    let meta = fs::metadata(path).map_err(|e| CheckpointError::io(path, e))?;
    if !meta.is_dir() {
        let is_json = path.extension().is_some_and(|ext| ext == "json");
        return Ok(if is_json {
            Layout::Sharded {
                index: path.to_path_buf(),
            }
        } else {
            Layout::Single(path.to_path_buf())
        });
    }

    let preferred_index = path.join(INDEX_NAME);
    if preferred_index.is_file() {
        return Ok(Layout::Sharded {
            index: preferred_index,
        });
    }
    let preferred_single = path.join(SINGLE_NAME);
    if preferred_single.is_file() {
        return Ok(Layout::Single(preferred_single));
    }

    let mut indexes = Vec::new();
    let mut singles = Vec::new();
    for entry in fs::read_dir(path).map_err(|e| CheckpointError::io(path, e))? {
        let entry = entry.map_err(|e| CheckpointError::io(path, e))?;
        let file_path = entry.path();
        let Some(name) = file_path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // `is_file` follows symlinks, as Hugging Face snapshot directories need.
        if name.ends_with(INDEX_SUFFIX) && file_path.is_file() {
            indexes.push(file_path);
        } else if name.ends_with(FILE_SUFFIX) && file_path.is_file() {
            singles.push(file_path);
        }
    }
    let choose = |mut found: Vec<PathBuf>| -> Result<Option<PathBuf>, CheckpointError> {
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => {
                found.sort();
                Err(CheckpointError::AmbiguousDirectory {
                    dir: path.to_path_buf(),
                    candidates: found,
                })
            }
        }
    };
    if let Some(index) = choose(indexes)? {
        return Ok(Layout::Sharded { index });
    }
    if let Some(single) = choose(singles)? {
        return Ok(Layout::Single(single));
    }
    Err(CheckpointError::NoSafetensorsFound {
        dir: path.to_path_buf(),
    })
}
