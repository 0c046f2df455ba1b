//! A whole checkpoint: one safetensors file or a set of shards behind an index.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use super::error::CheckpointError;
use super::file::SafetensorsFile;
use super::index;
use super::locate::{locate, Layout};
use super::mapped::MappedBytes;
use super::suggest::similar_names;
use super::tensor_bytes::TensorBytes;
use super::tensor_info::TensorInfo;

const SUGGESTIONS: usize = 3;

/// All tensors of a checkpoint, each validated and memory-mapped, looked up by name.
///
/// Sharded checkpoints are checked against their index: every shard it
/// names must exist, every tensor it lists must be in the shard it says,
/// and no tensor may be stored twice. A tensor that a shard holds but the
/// index does not list is accepted (transformers loads whole shards, so it
/// is usable) and reported by [`Checkpoint::unindexed_tensors`], for the
/// caller to warn about.
#[derive(Debug)]
pub struct Checkpoint {
    path: PathBuf,
    index_path: Option<PathBuf>,
    /// Sorted by path.
    files: Vec<SafetensorsFile>,
    locations: BTreeMap<String, Location>,
    metadata: BTreeMap<String, String>,
    unindexed: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct Location {
    file: usize,
    slot: usize,
}

impl Checkpoint {
    /// Opens a directory (see the module docs for which file it picks), a
    /// `.safetensors` file or a `*.safetensors.index.json`, validating every
    /// file before returning.
    pub fn open(path: impl AsRef<Path>) -> Result<Checkpoint, CheckpointError> {
        let path = path.as_ref();
        match locate(path)? {
            Layout::Single(file) => Checkpoint::from_single(path, &file),
            Layout::Sharded { index } => Checkpoint::from_index(path, &index),
        }
    }

    fn from_single(path: &Path, file: &Path) -> Result<Checkpoint, CheckpointError> {
        let file = SafetensorsFile::open(file)?;
        let metadata = file.metadata().clone();
        let locations = (0..file.tensors().len())
            .map(|slot| {
                (
                    file.tensors()[slot].name.clone(),
                    Location { file: 0, slot },
                )
            })
            .collect();
        Ok(Checkpoint {
            path: path.to_path_buf(),
            index_path: None,
            files: vec![file],
            locations,
            metadata,
            unindexed: Vec::new(),
        })
    }

    fn from_index(path: &Path, index_path: &Path) -> Result<Checkpoint, CheckpointError> {
        let index = index::read(index_path)?;
        let shard_names: BTreeSet<&str> = index.weight_map.values().map(String::as_str).collect();
        // Check every name before touching the file system for any of them.
        let shard_paths = shard_names
            .iter()
            .map(|&name| index::shard_path(index_path, name))
            .collect::<Result<Vec<_>, _>>()?;

        let mut files = Vec::with_capacity(shard_paths.len());
        for shard_path in &shard_paths {
            files.push(open_shard(index_path, shard_path)?);
        }

        let mut locations: BTreeMap<String, Location> = BTreeMap::new();
        for (file_number, file) in files.iter().enumerate() {
            for (slot, tensor) in file.tensors().iter().enumerate() {
                match locations.entry(tensor.name.clone()) {
                    Entry::Vacant(vacant) => {
                        vacant.insert(Location {
                            file: file_number,
                            slot,
                        });
                    }
                    Entry::Occupied(occupied) => {
                        return Err(CheckpointError::TensorInTwoShards {
                            tensor: tensor.name.clone(),
                            first: files[occupied.get().file].path().to_path_buf(),
                            second: file.path().to_path_buf(),
                        })
                    }
                }
            }
        }

        // `shard_names` is sorted and `files` follows it, so a binary search maps name -> file.
        let shard_names: Vec<&str> = shard_names.into_iter().collect();
        for (tensor, shard) in &index.weight_map {
            let expected = shard_names
                .binary_search(&shard.as_str())
                .expect("every shard name was opened");
            let found = locations.get(tensor).map(|location| location.file);
            if found != Some(expected) {
                return Err(CheckpointError::IndexedTensorMissing {
                    index: index_path.to_path_buf(),
                    tensor: tensor.clone(),
                    shard: shard_paths[expected].clone(),
                    found_in: found.map(|file| files[file].path().to_path_buf()),
                });
            }
        }
        let unindexed = locations
            .keys()
            .filter(|name| !index.weight_map.contains_key(*name))
            .cloned()
            .collect();

        Ok(Checkpoint {
            path: path.to_path_buf(),
            index_path: Some(index_path.to_path_buf()),
            files,
            locations,
            metadata: index.metadata,
            unindexed,
        })
    }

    /// The path given to [`Checkpoint::open`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The index file, for a sharded checkpoint.
    pub fn index_path(&self) -> Option<&Path> {
        self.index_path.as_deref()
    }

    /// The opened files (one, or every shard), sorted by path.
    pub fn files(&self) -> &[SafetensorsFile] {
        &self.files
    }

    pub fn len(&self) -> usize {
        self.locations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.locations.is_empty()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.locations.contains_key(name)
    }

    /// All tensor names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.locations.keys().map(String::as_str)
    }

    /// All tensors, sorted by name.
    pub fn tensors(&self) -> impl Iterator<Item = &TensorInfo> {
        self.locations
            .values()
            .map(|&location| self.info_at(location))
    }

    pub fn info(&self, name: &str) -> Result<&TensorInfo, CheckpointError> {
        Ok(self.info_at(self.locate(name)?))
    }

    pub fn bytes(&self, name: &str) -> Result<TensorBytes<'_>, CheckpointError> {
        let location = self.locate(name)?;
        Ok(self.files[location.file].bytes_at(location.slot))
    }

    /// An owned, zero-copy handle on the tensor's bytes; it keeps its file
    /// mapped even after this `Checkpoint` is dropped.
    pub fn mapped(&self, name: &str) -> Result<MappedBytes, CheckpointError> {
        Ok(self.bytes(name)?.to_mapped())
    }

    /// The file that stores `name`.
    pub fn file_of(&self, name: &str) -> Result<&SafetensorsFile, CheckpointError> {
        Ok(&self.files[self.locate(name)?.file])
    }

    /// For a single file, its `__metadata__`; for a sharded checkpoint, the
    /// index's `metadata` (non-string values such as `total_size` as JSON text).
    /// Each shard's own `__metadata__` is in [`Checkpoint::files`].
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Sum of the byte sizes of all tensors.
    pub fn total_bytes(&self) -> u64 {
        self.files
            .iter()
            .map(SafetensorsFile::tensor_bytes_total)
            .sum()
    }

    /// Tensors present in a shard but absent from the index, sorted; always
    /// empty for a single file. They are loadable; callers may want to warn.
    pub fn unindexed_tensors(&self) -> &[String] {
        &self.unindexed
    }

    fn info_at(&self, location: Location) -> &TensorInfo {
        &self.files[location.file].tensors()[location.slot]
    }

    fn locate(&self, name: &str) -> Result<Location, CheckpointError> {
        self.locations
            .get(name)
            .copied()
            .ok_or_else(|| CheckpointError::TensorNotFound {
                tensor: name.to_owned(),
                checkpoint: self.path.clone(),
                count: self.locations.len(),
                similar: similar_names(name, self.names(), SUGGESTIONS),
            })
    }
}

/// Opens one shard, reporting a missing file as a missing shard of `index`.
fn open_shard(index: &Path, shard: &Path) -> Result<SafetensorsFile, CheckpointError> {
    SafetensorsFile::open(shard).map_err(|error| match error {
        CheckpointError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
            CheckpointError::ShardMissing {
                index: index.to_path_buf(),
                shard: shard.to_path_buf(),
            }
        }
        other => other,
    })
}
