//! Everything that can go wrong while opening or reading a checkpoint.
//!
//! Each variant names the file (and the tensor where there is one) and its
//! message ends with what to do next. Offsets in header errors are relative
//! to the start of the data section, exactly as written in the header.

use std::io;
use std::path::{Path, PathBuf};
use std::str::Utf8Error;

use super::dtype::DiskDType;

const REDOWNLOAD: &str =
    "the file is corrupt or was not fully downloaded; re-download it and compare its size and sha256 with the source";
const REEXPORT: &str =
    "the file was written by a broken exporter; re-export it with the `safetensors` library";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot read {}: {source}; check that the path exists and is readable", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "no safetensors checkpoint in directory {}: expected model.safetensors.index.json, model.safetensors or a single *.safetensors file; point to the directory that holds the weights",
        dir.display()
    )]
    NoSafetensorsFound { dir: PathBuf },

    #[error(
        "directory {} holds several candidate files ({}) and no model.safetensors.index.json; open one of them (or the index) directly",
        dir.display(),
        list_paths(candidates)
    )]
    AmbiguousDirectory {
        dir: PathBuf,
        candidates: Vec<PathBuf>,
    },

    #[error("{} is {len} bytes, too short for a safetensors file (at least 8 bytes); {REDOWNLOAD}", path.display())]
    FileTooShort { path: PathBuf, len: u64 },

    #[error(
        "{} declares a {header_len}-byte header, over the {limit}-byte limit; this is not a safetensors file or {REDOWNLOAD}",
        path.display()
    )]
    HeaderTooLarge {
        path: PathBuf,
        header_len: u64,
        limit: u64,
    },

    #[error(
        "{} declares a {header_len}-byte header but the file is only {file_len} bytes; {REDOWNLOAD}",
        path.display()
    )]
    HeaderBeyondFile {
        path: PathBuf,
        header_len: u64,
        file_len: u64,
    },

    #[error("header of {} is not valid UTF-8 ({source}); {REDOWNLOAD}", path.display())]
    HeaderNotUtf8 {
        path: PathBuf,
        #[source]
        source: Utf8Error,
    },

    #[error("header of {} ({header_len} bytes) is not valid JSON: {source}; {REDOWNLOAD}", path.display())]
    HeaderNotJson {
        path: PathBuf,
        header_len: u64,
        #[source]
        source: serde_json::Error,
    },

    #[error("header of {} is {found}, expected a JSON object; {REDOWNLOAD}", path.display())]
    HeaderNotObject { path: PathBuf, found: &'static str },

    #[error("header of {} lists tensor `{tensor}` more than once; {REEXPORT}", path.display())]
    DuplicateTensor { path: PathBuf, tensor: String },

    #[error("`__metadata__` in {} must map strings to strings, but {detail}; {REEXPORT}", path.display())]
    MetadataNotStringMap { path: PathBuf, detail: String },

    #[error("entry for tensor `{tensor}` in {} is {found}, expected an object with dtype, shape and data_offsets; {REDOWNLOAD}", path.display())]
    TensorEntryNotObject {
        path: PathBuf,
        tensor: String,
        found: &'static str,
    },

    #[error("tensor `{tensor}` in {} has no `{field}`; {REEXPORT}", path.display())]
    MissingField {
        path: PathBuf,
        tensor: String,
        field: &'static str,
    },

    #[error("`{field}` of tensor `{tensor}` in {} is {found}, expected {expected}; {REDOWNLOAD}", path.display())]
    WrongFieldType {
        path: PathBuf,
        tensor: String,
        field: &'static str,
        expected: &'static str,
        found: String,
    },

    #[error(
        "tensor `{tensor}` in {} has dtype \"{dtype}\", which safetensors does not define; convert the checkpoint to a standard dtype (F32, F16, BF16, ...)",
        path.display()
    )]
    UnknownDType {
        path: PathBuf,
        tensor: String,
        dtype: String,
    },

    #[error("shape {shape:?} of tensor `{tensor}` in {} overflows when multiplied out; {REDOWNLOAD}", path.display())]
    ShapeOverflow {
        path: PathBuf,
        tensor: String,
        shape: Vec<u64>,
    },

    #[error(
        "tensor `{tensor}` in {} holds {numel} elements of packed dtype {dtype}, which do not fill whole bytes; {REEXPORT}",
        path.display()
    )]
    PackedSizeNotWholeBytes {
        path: PathBuf,
        tensor: String,
        dtype: DiskDType,
        numel: usize,
    },

    #[error("tensor `{tensor}` in {} has data_offsets [{start}, {end}] with start after end; {REDOWNLOAD}", path.display())]
    OffsetsReversed {
        path: PathBuf,
        tensor: String,
        start: u64,
        end: u64,
    },

    #[error(
        "tensor `{tensor}` in {} ({dtype}, shape {shape:?}) needs {expected} bytes but its data_offsets span {actual}; {REDOWNLOAD}",
        path.display()
    )]
    SizeMismatch {
        path: PathBuf,
        tensor: String,
        dtype: DiskDType,
        shape: Vec<usize>,
        expected: usize,
        actual: u64,
    },

    #[error(
        "tensor `{tensor}` in {} ends at byte {end} but the data section has only {data_len} bytes (file truncated?); {REDOWNLOAD}",
        path.display()
    )]
    OffsetsBeyondData {
        path: PathBuf,
        tensor: String,
        end: u64,
        data_len: u64,
    },

    #[error("tensors `{first}` and `{second}` overlap in {}; {REDOWNLOAD}", path.display())]
    OverlappingTensors {
        path: PathBuf,
        first: String,
        second: String,
    },

    #[error("bytes {start}..{end} of the data section of {} belong to no tensor; {REDOWNLOAD}", path.display())]
    DataGap { path: PathBuf, start: u64, end: u64 },

    #[error(
        "tensors of {} cover only {covered} of its {data_len} data bytes (trailing bytes after the last tensor); {REDOWNLOAD}",
        path.display()
    )]
    TrailingData {
        path: PathBuf,
        covered: u64,
        data_len: u64,
    },

    #[error("the safetensors library rejects {}: {reason}; {REDOWNLOAD}", path.display())]
    RejectedBySafetensors { path: PathBuf, reason: String },

    #[error("index {} is malformed: {detail}; re-download it", index.display())]
    IndexMalformed { index: PathBuf, detail: String },

    #[error("index {} has no `weight_map` object; re-download it", index.display())]
    IndexMissingWeightMap { index: PathBuf },

    #[error(
        "index {} names shard \"{shard}\", which is not a plain relative path inside the checkpoint directory; refusing to open it",
        index.display()
    )]
    UnsafeShardPath { index: PathBuf, shard: String },

    #[error("shard {} named by index {} does not exist; download the missing shard", shard.display(), index.display())]
    ShardMissing { index: PathBuf, shard: PathBuf },

    #[error(
        "index {} puts tensor `{tensor}` in {}, but that shard does not contain it{}; the index and the shards come from different versions, re-download them together",
        index.display(),
        shard.display(),
        found_in.as_deref().map(|p| format!(" (it is in {})", p.display())).unwrap_or_default()
    )]
    IndexedTensorMissing {
        index: PathBuf,
        tensor: String,
        shard: PathBuf,
        found_in: Option<PathBuf>,
    },

    #[error(
        "tensor `{tensor}` is stored in both {} and {}; the shards come from different versions, re-download them together",
        first.display(),
        second.display()
    )]
    TensorInTwoShards {
        tensor: String,
        first: PathBuf,
        second: PathBuf,
    },

    #[error(
        "tensor `{tensor}` not found in checkpoint {} ({count} tensors; {}); check the model architecture or the weight-name prefix",
        checkpoint.display(),
        similar_hint(similar)
    )]
    TensorNotFound {
        tensor: String,
        checkpoint: PathBuf,
        count: usize,
        similar: Vec<String>,
    },
}

impl CheckpointError {
    pub(crate) fn io(path: &Path, source: io::Error) -> CheckpointError {
        CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn list_paths(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

fn similar_hint(similar: &[String]) -> String {
    if similar.is_empty() {
        "no similar names".to_owned()
    } else {
        format!("similar names: {}", similar.join(", "))
    }
}
