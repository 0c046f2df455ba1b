//! Corrupt and malicious checkpoints, in the spirit of llama.cpp's test-gguf:
//! start from a valid hand-written file, break one thing, and check that
//! opening it fails with the matching error variant (and never panics).

use std::fs;
use std::path::{Path, PathBuf};

use omnirt::checkpoint::{Checkpoint, CheckpointError, SafetensorsFile};
use proptest::prelude::*;

// ---------------------------------------------------------------- fixtures

/// 8-byte little-endian header length, header, data: the safetensors layout.
fn assemble(header: &str, data: &[u8]) -> Vec<u8> {
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(data);
    file
}

/// `a`: F32 [2,2] = 16 bytes, `b`: U8 [3] = 3 bytes, `c`: BF16 0-d = 2 bytes.
const VALID_HEADER: &str = concat!(
    r#"{"__metadata__":{"format":"pt"},"#,
    r#""a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"#,
    r#""b":{"dtype":"U8","shape":[3],"data_offsets":[16,19]},"#,
    r#""c":{"dtype":"BF16","shape":[],"data_offsets":[19,21]}}"#
);
const VALID_DATA_LEN: usize = 21;

fn valid_data() -> Vec<u8> {
    (0..VALID_DATA_LEN as u8).collect()
}

fn valid_file() -> Vec<u8> {
    assemble(VALID_HEADER, &valid_data())
}

/// The valid data under a different header.
fn with_header(header: &str) -> Vec<u8> {
    assemble(header, &valid_data())
}

/// A header whose entries are `a`, `b`, `c` as in the valid file, with `entry_b` replacing `b`.
fn with_entry_b(entry_b: &str) -> Vec<u8> {
    with_header(&format!(
        r#"{{"a":{{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}},"b":{entry_b},"c":{{"dtype":"BF16","shape":[],"data_offsets":[19,21]}}}}"#
    ))
}

fn open_bytes(bytes: &[u8]) -> Result<SafetensorsFile, CheckpointError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    fs::write(&path, bytes).unwrap();
    let result = SafetensorsFile::open(&path);
    // The directory path must give the same verdict.
    let through_checkpoint = Checkpoint::open(dir.path());
    assert_eq!(result.is_ok(), through_checkpoint.is_ok());
    result
}

fn expect_err(bytes: &[u8]) -> CheckpointError {
    match open_bytes(bytes) {
        Ok(file) => panic!("corrupt file accepted: {file:?}"),
        Err(error) => {
            // Every message names the file it is about.
            assert!(error.to_string().contains("model.safetensors"), "{error}");
            error
        }
    }
}

macro_rules! assert_variant {
    ($error:expr, $pattern:pat $(if $guard:expr)?) => {{
        let error = $error;
        assert!(
            matches!(&error, $pattern $(if $guard)?),
            "unexpected error: {error:?}\n{error}"
        );
    }};
}

// ---------------------------------------------------------------- the valid file

#[test]
fn the_valid_fixture_opens() {
    let file = open_bytes(&valid_file()).unwrap();
    let names: Vec<&str> = file.tensors().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(file.bytes("b").unwrap().bytes, &[16, 17, 18]);
    assert_eq!(file.metadata()["format"], "pt");
    safetensors::SafeTensors::deserialize(&valid_file()).unwrap();
}

// ---------------------------------------------------------------- length prefix

#[test]
fn empty_file() {
    assert_variant!(
        expect_err(&[]),
        CheckpointError::FileTooShort { len: 0, .. }
    );
}

#[test]
fn shorter_than_the_length_prefix() {
    assert_variant!(
        expect_err(&valid_file()[..7]),
        CheckpointError::FileTooShort { len: 7, .. }
    );
}

#[test]
fn zero_length_header() {
    assert_variant!(
        expect_err(&0u64.to_le_bytes()),
        CheckpointError::HeaderNotJson { .. }
    );
}

#[test]
fn header_length_u64_max() {
    let mut bytes = valid_file();
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_variant!(
        expect_err(&bytes),
        CheckpointError::HeaderTooLarge {
            header_len: u64::MAX,
            ..
        }
    );
}

#[test]
fn header_length_just_over_the_cap() {
    let mut bytes = valid_file();
    bytes[..8].copy_from_slice(&(omnirt::checkpoint::MAX_HEADER_LEN + 1).to_le_bytes());
    assert_variant!(expect_err(&bytes), CheckpointError::HeaderTooLarge { .. });
}

#[test]
fn header_length_beyond_the_file() {
    let mut bytes = valid_file();
    let too_long = bytes.len() as u64; // 8 + this > file length
    bytes[..8].copy_from_slice(&too_long.to_le_bytes());
    assert_variant!(expect_err(&bytes), CheckpointError::HeaderBeyondFile { .. });
}

#[test]
fn all_ff_garbage() {
    assert_variant!(
        expect_err(&[0xff; 64]),
        CheckpointError::HeaderTooLarge { .. }
    );
}

// ---------------------------------------------------------------- header text

#[test]
fn header_not_utf8() {
    let mut bytes = valid_file();
    bytes[8 + 3] = 0xff; // inside the first key
    assert_variant!(expect_err(&bytes), CheckpointError::HeaderNotUtf8 { .. });
}

#[test]
fn header_not_json() {
    assert_variant!(
        expect_err(&with_header("{not json")),
        CheckpointError::HeaderNotJson { .. }
    );
}

#[test]
fn header_json_nan_garbage() {
    assert_variant!(
        expect_err(&with_header("NaN")),
        CheckpointError::HeaderNotJson { .. }
    );
    assert_variant!(
        expect_err(&with_header(
            r#"{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,16]}}"#
        )),
        CheckpointError::HeaderNotJson { .. }
    );
}

#[test]
fn header_cut_short() {
    let cut = &VALID_HEADER[..VALID_HEADER.len() / 2];
    assert_variant!(
        expect_err(&with_header(cut)),
        CheckpointError::HeaderNotJson { .. }
    );
}

#[test]
fn header_is_an_array() {
    assert_variant!(
        expect_err(&with_header(r#"[{"dtype":"F32"}]"#)),
        CheckpointError::HeaderNotObject {
            found: "an array",
            ..
        }
    );
}

#[test]
fn duplicate_tensor_name() {
    // serde_json would silently keep the second `a`.
    let header = r#"{"a":{"dtype":"U8","shape":[16],"data_offsets":[0,16]},"b":{"dtype":"U8","shape":[5],"data_offsets":[16,21]},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
    let error = expect_err(&with_header(header));
    assert_variant!(&error, CheckpointError::DuplicateTensor { tensor, .. } if tensor == "a");
}

#[test]
fn duplicate_field_inside_an_entry() {
    let bytes = with_entry_b(r#"{"dtype":"U8","dtype":"I8","shape":[3],"data_offsets":[16,19]}"#);
    let error = expect_err(&bytes);
    assert!(
        error.to_string().contains("duplicate key `dtype`"),
        "{error}"
    );
    assert_variant!(error, CheckpointError::HeaderNotJson { .. });
}

#[test]
fn metadata_not_a_string_map() {
    for metadata in [
        r#"{"format":1}"#,
        r#"["pt"]"#,
        r#""pt""#,
        r#"{"nested":{"a":"b"}}"#,
    ] {
        let header = VALID_HEADER.replace(r#"{"format":"pt"}"#, metadata);
        assert_variant!(
            expect_err(&with_header(&header)),
            CheckpointError::MetadataNotStringMap { .. }
        );
    }
}

// ---------------------------------------------------------------- tensor entries

#[test]
fn entry_not_an_object() {
    assert_variant!(
        expect_err(&with_entry_b(r#"["U8",[3],[16,19]]"#)),
        CheckpointError::TensorEntryNotObject { tensor, .. } if tensor == "b"
    );
}

#[test]
fn entry_missing_a_field() {
    for (entry, missing) in [
        (r#"{"shape":[3],"data_offsets":[16,19]}"#, "dtype"),
        (r#"{"dtype":"U8","data_offsets":[16,19]}"#, "shape"),
        (r#"{"dtype":"U8","shape":[3]}"#, "data_offsets"),
    ] {
        assert_variant!(
            expect_err(&with_entry_b(entry)),
            CheckpointError::MissingField { tensor, field, .. } if tensor == "b" && *field == missing
        );
    }
}

#[test]
fn entry_field_of_the_wrong_json_type() {
    for (entry, bad_field) in [
        (r#"{"dtype":8,"shape":[3],"data_offsets":[16,19]}"#, "dtype"),
        (
            r#"{"dtype":"U8","shape":"3","data_offsets":[16,19]}"#,
            "shape",
        ),
        (
            r#"{"dtype":"U8","shape":[-3],"data_offsets":[16,19]}"#,
            "shape",
        ),
        (
            r#"{"dtype":"U8","shape":[3.0],"data_offsets":[16,19]}"#,
            "shape",
        ),
        (
            r#"{"dtype":"U8","shape":[3],"data_offsets":{"start":16}}"#,
            "data_offsets",
        ),
        (
            r#"{"dtype":"U8","shape":[3],"data_offsets":[16,19,22]}"#,
            "data_offsets",
        ),
        (
            r#"{"dtype":"U8","shape":[3],"data_offsets":[16]}"#,
            "data_offsets",
        ),
    ] {
        assert_variant!(
            expect_err(&with_entry_b(entry)),
            CheckpointError::WrongFieldType { tensor, field, .. } if tensor == "b" && *field == bad_field
        );
    }
}

#[test]
fn negative_offsets() {
    assert_variant!(
        expect_err(&with_entry_b(
            r#"{"dtype":"U8","shape":[3],"data_offsets":[-3,19]}"#
        )),
        CheckpointError::WrongFieldType {
            field: "data_offsets",
            ..
        }
    );
}

#[test]
fn float_offsets() {
    assert_variant!(
        expect_err(&with_entry_b(
            r#"{"dtype":"U8","shape":[3],"data_offsets":[16.0,19.5]}"#
        )),
        CheckpointError::WrongFieldType {
            field: "data_offsets",
            ..
        }
    );
    // Beyond u64: serde_json reads it as a float.
    assert_variant!(
        expect_err(&with_entry_b(
            r#"{"dtype":"U8","shape":[3],"data_offsets":[16,100000000000000000000000]}"#
        )),
        CheckpointError::WrongFieldType {
            field: "data_offsets",
            ..
        }
    );
}

#[test]
fn unknown_dtype() {
    let error = expect_err(&with_entry_b(
        r#"{"dtype":"Q4_K","shape":[3],"data_offsets":[16,19]}"#,
    ));
    assert_variant!(&error, CheckpointError::UnknownDType { tensor, dtype, .. } if tensor == "b" && dtype == "Q4_K");
    // Spelling is exact, like the safetensors crate.
    assert_variant!(
        expect_err(&with_entry_b(
            r#"{"dtype":"u8","shape":[3],"data_offsets":[16,19]}"#
        )),
        CheckpointError::UnknownDType { .. }
    );
}

#[test]
fn shape_product_overflows() {
    let dim = 1u64 << 62;
    let entry = format!(r#"{{"dtype":"U8","shape":[{dim},{dim}],"data_offsets":[16,19]}}"#);
    assert_variant!(
        expect_err(&with_entry_b(&entry)),
        CheckpointError::ShapeOverflow { .. }
    );
    // Element count fits but the byte count does not.
    let entry = format!(
        r#"{{"dtype":"F64","shape":[{}],"data_offsets":[16,19]}}"#,
        u64::MAX / 2
    );
    assert_variant!(
        expect_err(&with_entry_b(&entry)),
        CheckpointError::ShapeOverflow { .. }
    );
}

#[test]
fn shape_with_a_huge_dim() {
    let entry = format!(
        r#"{{"dtype":"U8","shape":[{}],"data_offsets":[16,19]}}"#,
        1u64 << 40
    );
    assert_variant!(
        expect_err(&with_entry_b(&entry)),
        CheckpointError::SizeMismatch { .. }
    );
}

#[test]
fn packed_dtype_not_filling_whole_bytes() {
    // 3 F4 elements are 12 bits.
    assert_variant!(
        expect_err(&with_entry_b(
            r#"{"dtype":"F4","shape":[3],"data_offsets":[16,19]}"#
        )),
        CheckpointError::PackedSizeNotWholeBytes { numel: 3, .. }
    );
}

#[test]
fn offsets_reversed() {
    assert_variant!(
        expect_err(&with_entry_b(
            r#"{"dtype":"U8","shape":[3],"data_offsets":[19,16]}"#
        )),
        CheckpointError::OffsetsReversed {
            start: 19,
            end: 16,
            ..
        }
    );
}

#[test]
fn size_does_not_match_shape_and_dtype() {
    let error = expect_err(&with_entry_b(
        r#"{"dtype":"U16","shape":[3],"data_offsets":[16,19]}"#,
    ));
    assert_variant!(
        &error,
        CheckpointError::SizeMismatch {
            expected: 6,
            actual: 3,
            ..
        }
    );
    assert!(error.to_string().contains("`b`"), "{error}");
}

#[test]
fn truncated_data() {
    let bytes = valid_file();
    assert_variant!(
        expect_err(&bytes[..bytes.len() - 1]),
        CheckpointError::OffsetsBeyondData { tensor, end: 21, data_len: 20, .. } if tensor == "c"
    );
}

#[test]
fn offsets_beyond_data_section() {
    let header = VALID_HEADER.replace("[19,21]", "[1000019,1000021]");
    assert_variant!(
        expect_err(&with_header(&header)),
        CheckpointError::OffsetsBeyondData { .. }
    );
}

#[test]
fn overlapping_tensors() {
    // b starts inside a; the total span still matches the data length.
    let header = r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"U8","shape":[5],"data_offsets":[12,17]},"c":{"dtype":"U8","shape":[4],"data_offsets":[17,21]}}"#;
    assert_variant!(
        expect_err(&with_header(header)),
        CheckpointError::OverlappingTensors { first, second, .. } if first == "a" && second == "b"
    );
}

#[test]
fn zero_sized_tensor_inside_another() {
    let header = r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"b":{"dtype":"U8","shape":[5],"data_offsets":[16,21]}}"#;
    assert_variant!(
        expect_err(&with_header(header)),
        CheckpointError::OverlappingTensors { .. }
    );
}

#[test]
fn gap_between_tensors() {
    let header = r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"U8","shape":[3],"data_offsets":[18,21]}}"#;
    assert_variant!(
        expect_err(&with_header(header)),
        CheckpointError::DataGap {
            start: 16,
            end: 18,
            ..
        }
    );
}

#[test]
fn gap_before_the_first_tensor() {
    let header = r#"{"b":{"dtype":"U8","shape":[20],"data_offsets":[1,21]}}"#;
    assert_variant!(
        expect_err(&with_header(header)),
        CheckpointError::DataGap {
            start: 0,
            end: 1,
            ..
        }
    );
}

#[test]
fn trailing_bytes_after_the_last_tensor() {
    let mut bytes = valid_file();
    bytes.extend_from_slice(b"junk");
    assert_variant!(
        expect_err(&bytes),
        CheckpointError::TrailingData {
            covered: 21,
            data_len: 25,
            ..
        }
    );
    // No tensors at all, but data.
    assert_variant!(
        expect_err(&with_header("{}")),
        CheckpointError::TrailingData { covered: 0, .. }
    );
}

// ---------------------------------------------------------------- sharded checkpoints

/// A shard holding `tensors`, each U8 of shape [len] with bytes `fill`.
fn shard(tensors: &[(&str, usize, u8)]) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut data = Vec::new();
    for &(name, len, fill) in tensors {
        let start = data.len();
        data.extend(std::iter::repeat_n(fill, len));
        entries.push(format!(
            r#""{name}":{{"dtype":"U8","shape":[{len}],"data_offsets":[{start},{}]}}"#,
            data.len()
        ));
    }
    assemble(&format!("{{{}}}", entries.join(",")), &data)
}

const SHARD_1: &str = "model-00001-of-00002.safetensors";
const SHARD_2: &str = "model-00002-of-00002.safetensors";
const INDEX: &str = "model.safetensors.index.json";

/// Two shards: x, y in the first, z in the second.
fn sharded_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(SHARD_1), shard(&[("x", 4, 1), ("y", 2, 2)])).unwrap();
    fs::write(dir.path().join(SHARD_2), shard(&[("z", 3, 3)])).unwrap();
    write_index(
        dir.path(),
        &format!(r#"{{"x":"{SHARD_1}","y":"{SHARD_1}","z":"{SHARD_2}"}}"#),
    );
    dir
}

fn write_index(dir: &Path, weight_map: &str) {
    let index = format!(r#"{{"metadata":{{"total_size":9}},"weight_map":{weight_map}}}"#);
    fs::write(dir.join(INDEX), index).unwrap();
}

fn expect_dir_err(dir: &Path) -> CheckpointError {
    match Checkpoint::open(dir) {
        Ok(checkpoint) => panic!("corrupt checkpoint accepted: {checkpoint:?}"),
        Err(error) => error,
    }
}

#[test]
fn the_valid_sharded_fixture_opens() {
    let dir = sharded_dir();
    let checkpoint = Checkpoint::open(dir.path()).unwrap();
    assert_eq!(checkpoint.names().collect::<Vec<_>>(), ["x", "y", "z"]);
    assert_eq!(checkpoint.bytes("z").unwrap().bytes, &[3, 3, 3]);
}

#[test]
fn index_not_json() {
    let dir = sharded_dir();
    fs::write(dir.path().join(INDEX), "{\"weight_map\": {").unwrap();
    assert_variant!(
        expect_dir_err(dir.path()),
        CheckpointError::IndexMalformed { .. }
    );
}

#[test]
fn index_not_an_object() {
    let dir = sharded_dir();
    fs::write(dir.path().join(INDEX), "[]").unwrap();
    assert_variant!(
        expect_dir_err(dir.path()),
        CheckpointError::IndexMalformed { .. }
    );
}

#[test]
fn index_without_weight_map() {
    let dir = sharded_dir();
    fs::write(dir.path().join(INDEX), r#"{"metadata":{}}"#).unwrap();
    let error = expect_dir_err(dir.path());
    assert!(error.to_string().contains(INDEX), "{error}");
    assert_variant!(error, CheckpointError::IndexMissingWeightMap { .. });
}

#[test]
fn index_weight_map_of_the_wrong_type() {
    let dir = sharded_dir();
    for weight_map in ["[]", r#"{"x":1}"#, r#"{"x":["a"]}"#] {
        write_index(dir.path(), weight_map);
        assert_variant!(
            expect_dir_err(dir.path()),
            CheckpointError::IndexMalformed { .. }
        );
    }
}

#[test]
fn index_lists_a_tensor_twice() {
    let dir = sharded_dir();
    write_index(
        dir.path(),
        &format!(r#"{{"x":"{SHARD_1}","y":"{SHARD_1}","z":"{SHARD_2}","x":"{SHARD_2}"}}"#),
    );
    let error = expect_dir_err(dir.path());
    assert!(error.to_string().contains("duplicate key `x`"), "{error}");
    assert_variant!(error, CheckpointError::IndexMalformed { .. });
}

#[test]
fn missing_shard() {
    let dir = sharded_dir();
    fs::remove_file(dir.path().join(SHARD_2)).unwrap();
    let error = expect_dir_err(dir.path());
    let message = error.to_string();
    assert!(
        message.contains(SHARD_2) && message.contains(INDEX),
        "{message}"
    );
    assert_variant!(error, CheckpointError::ShardMissing { shard, .. } if shard.ends_with(SHARD_2));
}

#[test]
fn index_names_a_tensor_missing_from_its_shard() {
    let dir = sharded_dir();
    write_index(
        dir.path(),
        &format!(r#"{{"x":"{SHARD_1}","y":"{SHARD_1}","z":"{SHARD_2}","w":"{SHARD_2}"}}"#),
    );
    assert_variant!(
        expect_dir_err(dir.path()),
        CheckpointError::IndexedTensorMissing { tensor, found_in: None, .. } if tensor == "w"
    );
}

#[test]
fn index_puts_a_tensor_in_the_wrong_shard() {
    let dir = sharded_dir();
    write_index(
        dir.path(),
        &format!(r#"{{"x":"{SHARD_1}","y":"{SHARD_2}","z":"{SHARD_2}"}}"#),
    );
    assert_variant!(
        expect_dir_err(dir.path()),
        CheckpointError::IndexedTensorMissing { tensor, found_in: Some(found), .. }
            if tensor == "y" && found.ends_with(SHARD_1)
    );
}

#[test]
fn tensor_present_in_two_shards() {
    let dir = sharded_dir();
    fs::write(dir.path().join(SHARD_2), shard(&[("y", 2, 9), ("z", 3, 3)])).unwrap();
    assert_variant!(
        expect_dir_err(dir.path()),
        CheckpointError::TensorInTwoShards { tensor, .. } if tensor == "y"
    );
}

#[test]
fn shard_path_escapes_the_directory() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("ckpt");
    fs::create_dir(&dir).unwrap();
    // A perfectly valid file outside: it must not be opened regardless.
    fs::write(
        outer.path().join("outside.safetensors"),
        shard(&[("x", 1, 0)]),
    )
    .unwrap();
    let absolute: PathBuf = outer.path().join("outside.safetensors");
    for shard_name in [
        "../outside.safetensors".to_owned(),
        absolute.display().to_string(),
    ] {
        write_index(&dir, &format!(r#"{{"x":"{shard_name}"}}"#));
        assert_variant!(
            expect_dir_err(&dir),
            CheckpointError::UnsafeShardPath { shard, .. } if *shard == shard_name
        );
    }
}

#[test]
fn corrupt_shard_is_reported_by_its_path() {
    let dir = sharded_dir();
    fs::write(dir.path().join(SHARD_2), [1, 2, 3]).unwrap();
    assert_variant!(
        expect_dir_err(dir.path()),
        CheckpointError::FileTooShort { path, len: 3 } if path.ends_with(SHARD_2)
    );
}

// ---------------------------------------------------------------- locating files

#[test]
fn path_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    assert_variant!(
        expect_dir_err(&dir.path().join("nope")),
        CheckpointError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound
    );
}

#[test]
fn directory_without_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("config.json"), "{}").unwrap();
    assert_variant!(
        expect_dir_err(dir.path()),
        CheckpointError::NoSafetensorsFound { .. }
    );
}

#[test]
fn directory_with_several_files_and_no_index() {
    let dir = sharded_dir();
    fs::remove_file(dir.path().join(INDEX)).unwrap();
    assert_variant!(
        expect_dir_err(dir.path()),
        CheckpointError::AmbiguousDirectory { candidates, .. } if candidates.len() == 2
    );
}

#[test]
fn unknown_tensor_suggests_similar_names() {
    let dir = sharded_dir();
    let checkpoint = Checkpoint::open(dir.path()).unwrap();
    let error = checkpoint.info("model.x").unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("tensor `model.x` not found in checkpoint"),
        "{message}"
    );
    assert!(
        message.contains("(3 tensors; similar names: x"),
        "{message}"
    );
    assert_variant!(error, CheckpointError::TensorNotFound { count: 3, .. });
    assert_variant!(
        checkpoint.bytes("nope").unwrap_err(),
        CheckpointError::TensorNotFound { .. }
    );
    assert_variant!(
        checkpoint.mapped("nope").unwrap_err(),
        CheckpointError::TensorNotFound { .. }
    );
}

// ---------------------------------------------------------------- fuzzing

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Flipping bytes or cutting the file never panics, and we accept exactly
    /// what the safetensors crate accepts (duplicates aside: names here have
    /// distinct lengths, so byte flips cannot create them).
    #[test]
    fn mutated_file_never_panics(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let header = VALID_HEADER.replace(r#""b":"#, r#""bb":"#).replace(r#""c":"#, r#""ccc":"#);
        let mut bytes = with_header(&header);
        for (position, value) in flips {
            let at = position.index(bytes.len());
            bytes[at] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let ours = open_bytes(&bytes);
        let theirs = safetensors::SafeTensors::deserialize(&bytes);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "ours: {:?}", ours.err());
        if let Ok(file) = ours {
            for info in file.tensors() {
                let view = theirs.as_ref().unwrap().tensor(&info.name).unwrap();
                prop_assert_eq!(view.data(), file.bytes(&info.name).unwrap().bytes);
            }
        }
    }

    /// A corrupted index never panics.
    #[test]
    fn mutated_index_never_panics(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let dir = sharded_dir();
        let mut index = fs::read(dir.path().join(INDEX)).unwrap();
        for (position, value) in flips {
            let at = position.index(index.len());
            index[at] = value;
        }
        fs::write(dir.path().join(INDEX), &index).unwrap();
        let _ = Checkpoint::open(dir.path());
    }
}
