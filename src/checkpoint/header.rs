//! Parsing and validating a safetensors header against the bytes that follow it.
//!
//! Layout: 8-byte little-endian header length `n`, `n` bytes of UTF-8 JSON,
//! then the data section. Every tensor's `data_offsets` are relative to the
//! data section, and together the tensors must tile it exactly: no
//! overlaps, no gaps, no trailing bytes (the safetensors rule).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde_json::Value;

use super::dtype::DiskDType;
use super::error::CheckpointError;
use super::json::{describe, kind_of, TopLevel};
use super::tensor_info::TensorInfo;

/// Same cap as the safetensors crate, so both accept the same files.
pub(crate) const MAX_HEADER_LEN: u64 = 100_000_000;
const LEN_PREFIX: usize = 8;
const METADATA_KEY: &str = "__metadata__";

pub(crate) struct Header {
    /// Sorted by name.
    pub tensors: Vec<TensorInfo>,
    pub metadata: BTreeMap<String, String>,
}

/// Validates the whole of `file` (header and data layout); `path` only names it in errors.
pub(crate) fn parse(path: &Path, file: &[u8]) -> Result<Header, CheckpointError> {
    let file_len = file.len() as u64;
    let Some(prefix) = file.first_chunk::<LEN_PREFIX>() else {
        return Err(CheckpointError::FileTooShort {
            path: path.to_path_buf(),
            len: file_len,
        });
    };
    let header_len = u64::from_le_bytes(*prefix);
    if header_len > MAX_HEADER_LEN {
        return Err(CheckpointError::HeaderTooLarge {
            path: path.to_path_buf(),
            header_len,
            limit: MAX_HEADER_LEN,
        });
    }
    // Both terms are small (<= file length or <= the cap), so no overflow.
    let data_start = LEN_PREFIX as u64 + header_len;
    if data_start > file_len {
        return Err(CheckpointError::HeaderBeyondFile {
            path: path.to_path_buf(),
            header_len,
            file_len,
        });
    }
    let data_start = data_start as usize;
    let data_len = file_len - data_start as u64;

    let text = std::str::from_utf8(&file[LEN_PREFIX..data_start]).map_err(|source| {
        CheckpointError::HeaderNotUtf8 {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let entries = match serde_json::from_str::<TopLevel>(text) {
        Ok(TopLevel::Object(entries)) => entries,
        Ok(TopLevel::Other(found)) => {
            return Err(CheckpointError::HeaderNotObject {
                path: path.to_path_buf(),
                found,
            })
        }
        Err(source) => {
            return Err(CheckpointError::HeaderNotJson {
                path: path.to_path_buf(),
                header_len,
                source,
            })
        }
    };
    reject_duplicate_names(path, &entries)?;

    let mut metadata = BTreeMap::new();
    let mut tensors = Vec::with_capacity(entries.len());
    for (name, value) in entries {
        if name == METADATA_KEY {
            metadata = parse_metadata(path, value)?;
        } else {
            tensors.push(parse_tensor(path, name, value, data_start, data_len)?);
        }
    }
    check_tiling(path, &tensors, data_start, data_len)?;

    // Defence in depth: never accept a file the reference implementation
    // rejects, should the checks above ever miss a rule it enforces.
    safetensors::SafeTensors::read_metadata(file).map_err(|error| {
        CheckpointError::RejectedBySafetensors {
            path: path.to_path_buf(),
            reason: error.to_string(),
        }
    })?;

    tensors.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(Header { tensors, metadata })
}

fn reject_duplicate_names(path: &Path, entries: &[(String, Value)]) -> Result<(), CheckpointError> {
    let mut seen = HashSet::with_capacity(entries.len());
    for (name, _) in entries {
        if !seen.insert(name.as_str()) {
            return Err(CheckpointError::DuplicateTensor {
                path: path.to_path_buf(),
                tensor: name.clone(),
            });
        }
    }
    Ok(())
}

fn parse_metadata(path: &Path, value: Value) -> Result<BTreeMap<String, String>, CheckpointError> {
    let bad = |detail: String| CheckpointError::MetadataNotStringMap {
        path: path.to_path_buf(),
        detail,
    };
    match value {
        // The safetensors crate reads `"__metadata__": null` as "no metadata".
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => map
            .into_iter()
            .map(|(key, value)| match value {
                Value::String(text) => Ok((key, text)),
                other => Err(bad(format!("the value of `{key}` is {}", describe(&other)))),
            })
            .collect(),
        other => Err(bad(format!("it is {}", kind_of(&other)))),
    }
}

fn parse_tensor(
    path: &Path,
    name: String,
    value: Value,
    data_start: usize,
    data_len: u64,
) -> Result<TensorInfo, CheckpointError> {
    let Value::Object(mut fields) = value else {
        return Err(CheckpointError::TensorEntryNotObject {
            path: path.to_path_buf(),
            found: kind_of(&value),
            tensor: name,
        });
    };
    let mut take = |field: &'static str| {
        fields
            .remove(field)
            .ok_or_else(|| CheckpointError::MissingField {
                path: path.to_path_buf(),
                tensor: name.clone(),
                field,
            })
    };
    let dtype_value = take("dtype")?;
    let shape_value = take("shape")?;
    let offsets_value = take("data_offsets")?;

    let wrong_type = |field: &'static str, expected: &'static str, found: &Value| {
        CheckpointError::WrongFieldType {
            path: path.to_path_buf(),
            tensor: name.clone(),
            field,
            expected,
            found: describe(found),
        }
    };

    let Value::String(dtype_name) = &dtype_value else {
        return Err(wrong_type(
            "dtype",
            "a string such as \"F32\"",
            &dtype_value,
        ));
    };
    let dtype = DiskDType::from_safetensors_name(dtype_name).ok_or_else(|| {
        CheckpointError::UnknownDType {
            path: path.to_path_buf(),
            tensor: name.clone(),
            dtype: dtype_name.clone(),
        }
    })?;

    const SHAPE_EXPECTED: &str = "an array of non-negative integers";
    let dims = unsigned_array(&shape_value)
        .ok_or_else(|| wrong_type("shape", SHAPE_EXPECTED, &shape_value))?;

    const OFFSETS_EXPECTED: &str = "an array of two non-negative integers [start, end]";
    let (start, end) = match unsigned_array(&offsets_value).as_deref() {
        Some(&[start, end]) => (start, end),
        _ => return Err(wrong_type("data_offsets", OFFSETS_EXPECTED, &offsets_value)),
    };

    let overflow = || CheckpointError::ShapeOverflow {
        path: path.to_path_buf(),
        tensor: name.clone(),
        shape: dims.clone(),
    };
    let shape: Vec<usize> = dims
        .iter()
        .map(|&dim| usize::try_from(dim).map_err(|_| overflow()))
        .collect::<Result<_, _>>()?;
    let numel = shape
        .iter()
        .try_fold(1usize, |acc, &dim| acc.checked_mul(dim))
        .ok_or_else(overflow)?;
    let bits = numel.checked_mul(dtype.bit_size()).ok_or_else(overflow)?;
    if bits % 8 != 0 {
        return Err(CheckpointError::PackedSizeNotWholeBytes {
            path: path.to_path_buf(),
            tensor: name,
            dtype,
            numel,
        });
    }
    let expected = bits / 8;

    if start > end {
        return Err(CheckpointError::OffsetsReversed {
            path: path.to_path_buf(),
            tensor: name,
            start,
            end,
        });
    }
    if end - start != expected as u64 {
        return Err(CheckpointError::SizeMismatch {
            path: path.to_path_buf(),
            tensor: name,
            dtype,
            shape,
            expected,
            actual: end - start,
        });
    }
    if end > data_len {
        return Err(CheckpointError::OffsetsBeyondData {
            path: path.to_path_buf(),
            tensor: name,
            end,
            data_len,
        });
    }
    // end <= data_len, and data_start + data_len is the file length, a usize.
    let byte_range = data_start + start as usize..data_start + end as usize;
    Ok(TensorInfo {
        name,
        dtype,
        shape,
        byte_range,
    })
}

/// `Some` only for an array whose every item is an integer in `0..=u64::MAX`
/// (negative numbers and floats such as `8.0` are rejected, like the safetensors crate does).
fn unsigned_array(value: &Value) -> Option<Vec<u64>> {
    value.as_array()?.iter().map(Value::as_u64).collect()
}

/// Checks that the tensors tile the data section exactly.
fn check_tiling(
    path: &Path,
    tensors: &[TensorInfo],
    data_start: usize,
    data_len: u64,
) -> Result<(), CheckpointError> {
    let relative = |absolute: usize| (absolute - data_start) as u64;
    let mut by_position: Vec<&TensorInfo> = tensors.iter().collect();
    by_position.sort_unstable_by_key(|t| (t.byte_range.start, t.byte_range.end));

    let mut covered_to = data_start;
    let mut last_name: Option<&str> = None;
    for tensor in by_position {
        let range = &tensor.byte_range;
        if range.start < covered_to {
            return Err(CheckpointError::OverlappingTensors {
                path: path.to_path_buf(),
                // covered_to > data_start only once a tensor was seen.
                first: last_name.unwrap_or_default().to_owned(),
                second: tensor.name.clone(),
            });
        }
        if range.start > covered_to {
            return Err(CheckpointError::DataGap {
                path: path.to_path_buf(),
                start: relative(covered_to),
                end: relative(range.start),
            });
        }
        covered_to = range.end;
        last_name = Some(&tensor.name);
    }
    let covered = relative(covered_to);
    if covered != data_len {
        return Err(CheckpointError::TrailingData {
            path: path.to_path_buf(),
            covered,
            data_len,
        });
    }
    Ok(())
}
