//! Valid checkpoints round-trip: names, dtypes, shapes and exact bytes,
//! for single files and sharded directories.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use half::{bf16, f16};
use omnirt::checkpoint::{Checkpoint, DiskDType, MappedBytes, SafetensorsFile};

/// A tensor to write: name, dtype, shape and its little-endian bytes.
#[derive(Clone)]
struct Spec {
    name: &'static str,
    dtype: DiskDType,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn spec(name: &'static str, dtype: DiskDType, shape: &[usize], bytes: Vec<u8>) -> Spec {
    Spec {
        name,
        dtype,
        shape: shape.to_vec(),
        bytes,
    }
}

fn le_bytes<T, const N: usize>(values: &[T], to_le: fn(&T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(to_le).collect()
}

/// f32, f16, bf16, i64, u8, a 0-d tensor and a zero-sized one.
fn sample_tensors() -> Vec<Spec> {
    let f32s = [1.5f32, -2.25, 3.0e-8, f32::MAX, -0.0, 7.0];
    let f16s = [
        f16::from_f32(0.5),
        f16::from_f32(-65504.0),
        f16::from_f32(1e-3),
    ];
    let bf16s = [bf16::from_f32(3.140625), bf16::from_f32(-1e30)];
    let i64s = [i64::MIN, -1, 0, i64::MAX];
    vec![
        spec(
            "model.embed.weight",
            DiskDType::F32,
            &[2, 3],
            le_bytes(&f32s, |v| v.to_le_bytes()),
        ),
        spec(
            "model.norm.weight",
            DiskDType::F16,
            &[3],
            le_bytes(&f16s, |v| v.to_le_bytes()),
        ),
        spec(
            "lm_head.weight",
            DiskDType::BF16,
            &[1, 2],
            le_bytes(&bf16s, |v| v.to_le_bytes()),
        ),
        spec(
            "positions",
            DiskDType::I64,
            &[4],
            le_bytes(&i64s, |v| v.to_le_bytes()),
        ),
        spec("mask", DiskDType::U8, &[5], vec![0, 1, 127, 128, 255]),
        spec(
            "scale",
            DiskDType::F32,
            &[],
            0.125f32.to_le_bytes().to_vec(),
        ),
        spec("empty.bias", DiskDType::F16, &[0, 3], Vec::new()),
    ]
}

/// Writes the safetensors layout by hand, padding the header with spaces to
/// a multiple of 8 as the reference writer does.
fn file_bytes(tensors: &[Spec], metadata: Option<&BTreeMap<&str, &str>>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if let Some(metadata) = metadata {
        header.insert("__metadata__".into(), serde_json::json!(metadata));
    }
    let mut data = Vec::new();
    for tensor in tensors {
        let start = data.len();
        data.extend_from_slice(&tensor.bytes);
        header.insert(
            tensor.name.into(),
            serde_json::json!({
                "dtype": tensor.dtype.safetensors_name(),
                "shape": tensor.shape,
                "data_offsets": [start, data.len()],
            }),
        );
    }
    let mut header = serde_json::Value::Object(header).to_string();
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&data);
    file
}

fn assert_round_trip(checkpoint: &Checkpoint, expected: &[Spec]) {
    let mut expected_names: Vec<&str> = expected.iter().map(|t| t.name).collect();
    expected_names.sort_unstable();
    assert_eq!(checkpoint.names().collect::<Vec<_>>(), expected_names);
    assert_eq!(checkpoint.len(), expected.len());
    for want in expected {
        let info = checkpoint.info(want.name).unwrap();
        assert_eq!(info.dtype, want.dtype, "{}", want.name);
        assert_eq!(info.shape, want.shape, "{}", want.name);
        assert_eq!(info.num_bytes(), want.bytes.len(), "{}", want.name);

        let bytes = checkpoint.bytes(want.name).unwrap();
        assert_eq!(bytes.name, want.name);
        assert_eq!(bytes.dtype, want.dtype);
        assert_eq!(bytes.shape, want.shape.as_slice());
        assert_eq!(bytes.bytes, want.bytes.as_slice(), "{}", want.name);
        assert_eq!(bytes.numel(), want.shape.iter().product::<usize>());

        let mapped = checkpoint.mapped(want.name).unwrap();
        assert_eq!(mapped.as_bytes(), bytes.bytes);
        assert_eq!(&*bytes.to_mapped(), bytes.bytes);
        assert_eq!(mapped.file_offset(), info.byte_range.start);
    }
    let total: usize = expected.iter().map(|t| t.bytes.len()).sum();
    assert_eq!(checkpoint.total_bytes(), total as u64);
}

#[test]
fn single_file_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = sample_tensors();
    let metadata = BTreeMap::from([("format", "pt")]);
    let path = dir.path().join("model.safetensors");
    fs::write(&path, file_bytes(&tensors, Some(&metadata))).unwrap();

    for opened_as in [dir.path(), path.as_path()] {
        let checkpoint = Checkpoint::open(opened_as).unwrap();
        assert_round_trip(&checkpoint, &tensors);
        assert_eq!(
            checkpoint.metadata().get("format").map(String::as_str),
            Some("pt")
        );
        assert_eq!(checkpoint.index_path(), None);
        assert_eq!(checkpoint.files().len(), 1);
        assert!(checkpoint.unindexed_tensors().is_empty());
        assert_eq!(checkpoint.path(), opened_as);
    }
}

#[test]
fn values_decode_as_written() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("model.safetensors"),
        file_bytes(&sample_tensors(), None),
    )
    .unwrap();
    let checkpoint = Checkpoint::open(dir.path()).unwrap();

    let scale = checkpoint.bytes("scale").unwrap();
    assert!(scale.shape.is_empty());
    assert_eq!(f32::from_le_bytes(scale.bytes.try_into().unwrap()), 0.125);
    let head = checkpoint.bytes("lm_head.weight").unwrap();
    let first = bf16::from_le_bytes(head.bytes[..2].try_into().unwrap());
    assert_eq!(first.to_f32(), 3.140625);
    let empty = checkpoint.bytes("empty.bias").unwrap();
    assert!(empty.bytes.is_empty() && empty.numel() == 0);
    assert!(checkpoint.metadata().is_empty());
}

#[test]
fn any_single_safetensors_file_in_a_directory_is_found() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("weights.safetensors"),
        file_bytes(&sample_tensors(), None),
    )
    .unwrap();
    fs::write(dir.path().join("config.json"), "{}").unwrap();
    assert_round_trip(&Checkpoint::open(dir.path()).unwrap(), &sample_tensors());
}

/// Three shards and an index, as `save_pretrained` writes them.
fn write_sharded(dir: &Path, index_name: &str) -> Vec<Spec> {
    let tensors = sample_tensors();
    let shards: [&[Spec]; 3] = [&tensors[..3], &tensors[3..5], &tensors[5..]];
    let mut weight_map = serde_json::Map::new();
    for (number, shard) in shards.iter().enumerate() {
        let shard_name = format!("model-{:05}-of-00003.safetensors", number + 1);
        let metadata = BTreeMap::from([("format", "pt")]);
        fs::write(dir.join(&shard_name), file_bytes(shard, Some(&metadata))).unwrap();
        for tensor in *shard {
            weight_map.insert(tensor.name.into(), shard_name.clone().into());
        }
    }
    let total: usize = tensors.iter().map(|t| t.bytes.len()).sum();
    let index = serde_json::json!({"metadata": {"total_size": total}, "weight_map": weight_map});
    fs::write(
        dir.join(index_name),
        serde_json::to_string_pretty(&index).unwrap(),
    )
    .unwrap();
    tensors
}

#[test]
fn three_shards_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = write_sharded(dir.path(), "model.safetensors.index.json");
    let index = dir.path().join("model.safetensors.index.json");

    for opened_as in [dir.path(), index.as_path()] {
        let checkpoint = Checkpoint::open(opened_as).unwrap();
        assert_round_trip(&checkpoint, &tensors);
        assert_eq!(checkpoint.files().len(), 3);
        assert_eq!(checkpoint.index_path(), Some(index.as_path()));
        let total: usize = tensors.iter().map(|t| t.bytes.len()).sum();
        assert_eq!(checkpoint.metadata()["total_size"], total.to_string());
        assert_eq!(checkpoint.files()[0].metadata()["format"], "pt");
        assert!(checkpoint
            .file_of("positions")
            .unwrap()
            .path()
            .ends_with("model-00002-of-00003.safetensors"));
    }
}

#[test]
fn a_non_standard_index_name_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = write_sharded(dir.path(), "diffusion_pytorch_model.safetensors.index.json");
    assert_round_trip(&Checkpoint::open(dir.path()).unwrap(), &tensors);
}

#[cfg(unix)]
#[test]
fn hugging_face_cache_symlinks_are_followed() {
    // snapshots/<rev>/<shard> -> ../../blobs/<hash>: the names are safe even
    // though the targets live outside the snapshot directory.
    let root = tempfile::tempdir().unwrap();
    let blobs = root.path().join("blobs");
    let snapshot = root.path().join("snapshots").join("abc123");
    fs::create_dir_all(&blobs).unwrap();
    fs::create_dir_all(&snapshot).unwrap();
    let tensors = write_sharded(&blobs, "model.safetensors.index.json");
    for entry in fs::read_dir(&blobs).unwrap() {
        let name = entry.unwrap().file_name();
        let target = Path::new("../../blobs").join(&name);
        std::os::unix::fs::symlink(target, snapshot.join(&name)).unwrap();
    }
    assert_round_trip(&Checkpoint::open(&snapshot).unwrap(), &tensors);
}

#[test]
fn tensors_missing_from_the_index_are_loaded_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = write_sharded(dir.path(), "model.safetensors.index.json");
    let index_path = dir.path().join("model.safetensors.index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&fs::read(&index_path).unwrap()).unwrap();
    index["weight_map"].as_object_mut().unwrap().remove("mask");
    fs::write(&index_path, index.to_string()).unwrap();

    let checkpoint = Checkpoint::open(dir.path()).unwrap();
    assert_eq!(checkpoint.unindexed_tensors(), ["mask"]);
    assert_round_trip(&checkpoint, &tensors);
}

#[test]
fn files_written_by_the_safetensors_crate_are_read() {
    use safetensors::tensor::TensorView;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let tensors = sample_tensors();
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|t| {
            let dtype: safetensors::Dtype =
                serde_json::from_value(serde_json::json!(t.dtype.safetensors_name())).unwrap();
            (
                t.name.to_owned(),
                TensorView::new(dtype, t.shape.clone(), &t.bytes).unwrap(),
            )
        })
        .collect();
    let metadata = Some(std::collections::HashMap::from([(
        "format".to_owned(),
        "pt".to_owned(),
    )]));
    safetensors::serialize_to_file(views, metadata, &path).unwrap();

    let checkpoint = Checkpoint::open(&path).unwrap();
    assert_round_trip(&checkpoint, &tensors);
    assert_eq!(checkpoint.metadata()["format"], "pt");
}

#[test]
fn every_dtype_is_accepted() {
    let tensors: Vec<Spec> = DiskDType::ALL
        .iter()
        .map(|&dtype| {
            // Four elements fill whole bytes even for the 4- and 6-bit types.
            let len = dtype.storage_bytes(4).unwrap();
            let name: &'static str = Box::leak(format!("t_{dtype}").into_boxed_str());
            spec(name, dtype, &[2, 2], vec![0xA5; len])
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.safetensors");
    fs::write(&path, file_bytes(&tensors, None)).unwrap();
    let file = SafetensorsFile::open(&path).unwrap();
    assert_eq!(file.tensors().len(), DiskDType::ALL.len());
    for tensor in &tensors {
        assert_eq!(file.info(tensor.name).unwrap().dtype, tensor.dtype);
        assert_eq!(
            file.bytes(tensor.name).unwrap().bytes,
            tensor.bytes.as_slice()
        );
        assert_eq!(
            file.mapped(tensor.name).unwrap().as_bytes(),
            tensor.bytes.as_slice()
        );
    }
}

#[test]
fn an_empty_file_without_tensors_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    fs::write(&path, file_bytes(&[], None)).unwrap();
    let checkpoint = Checkpoint::open(&path).unwrap();
    assert!(checkpoint.is_empty());
    assert_eq!(checkpoint.total_bytes(), 0);
}

#[test]
fn mapped_bytes_outlive_the_checkpoint_and_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MappedBytes>();
    assert_send_sync::<Checkpoint>();
    assert_send_sync::<SafetensorsFile>();

    let dir = tempfile::tempdir().unwrap();
    let tensors = sample_tensors();
    fs::write(
        dir.path().join("model.safetensors"),
        file_bytes(&tensors, None),
    )
    .unwrap();
    let mapped = {
        let checkpoint = Checkpoint::open(dir.path()).unwrap();
        checkpoint.mapped("positions").unwrap()
    };
    let copy = mapped.clone();
    let from_thread = std::thread::spawn(move || copy.to_vec()).join().unwrap();
    assert_eq!(from_thread, tensors[3].bytes);
    assert_eq!(mapped.len(), 32);
    assert!(mapped.is_aligned_to(1));
    assert!(format!("{mapped:?}").contains("len: 32"));
}
