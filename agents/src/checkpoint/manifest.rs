//! The manifest that makes a checkpoint check itself: every file of the checkpoint directory with
//! its size and CRC32C, and a checksum of the list itself. It is the content of the `COMPLETE`
//! marker, so one atomic write both makes the checkpoint count and describes it; a checkpoint is
//! verified against it before any of its files reaches Burn or the replay loader.
//!
//! Checkpoints written before manifests existed have an empty marker: [`read`] reports them as
//! [`Marker::Legacy`] and callers load them with a warning (see docs/usage.md, Checkpoints).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint::error::{CheckpointError, FileProblem};
use crate::checkpoint::file::COMPLETE_MARKER;

/// Bumped when the manifest's layout changes.
const FORMAT: u32 = 1;

/// Size and checksum of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub size: u64,
    pub crc32c: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    format: u32,
    /// File name (relative to the checkpoint directory) -> entry; sorted, so the checksum below
    /// is over a canonical text.
    files: BTreeMap<String, FileEntry>,
    /// CRC32C of `files` as compact JSON: a flipped digit in a size or checksum is reported as
    /// a damaged manifest, not as a damaged data file.
    files_crc32c: u32,
}

/// What a checkpoint's `COMPLETE` marker holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    Manifest(Manifest),
    /// Empty: written before checkpoints had manifests; nothing to verify against.
    Legacy,
}

impl Manifest {
    /// Describes every regular file of `dir` except the marker and hidden (temp) files. Reads
    /// the files back, so what is described is what the disk holds.
    pub fn of_dir(dir: &Path) -> Result<Self, CheckpointError> {
        let entries =
            fs::read_dir(dir).map_err(|source| CheckpointError::io("list", dir, source))?;
        let mut files = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(|source| CheckpointError::io("list", dir, source))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let is_file = entry
                .file_type()
                .map_err(|source| CheckpointError::io("inspect", &path, source))?
                .is_file();
            if !is_file || name == COMPLETE_MARKER || name.starts_with('.') {
                continue;
            }
            let entry =
                describe(&path).map_err(|source| CheckpointError::io("read", &path, source))?;
            files.insert(name, entry);
        }
        let files_crc32c = files_checksum(&files);
        Ok(Self {
            format: FORMAT,
            files,
            files_crc32c,
        })
    }

    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    pub fn contains(&self, file: &str) -> bool {
        self.files.contains_key(file)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        json.push(b'\n');
        json
    }

    /// Checks every listed file of `dir` against its entry: present, same size, same CRC32C.
    /// The first mismatch (in file-name order) is the error.
    pub fn verify(&self, dir: &Path) -> Result<(), CheckpointError> {
        for (name, expected) in &self.files {
            let path = dir.join(name);
            let damaged = |problem| CheckpointError::Damaged {
                checkpoint: dir.to_path_buf(),
                file: name.clone(),
                problem,
            };
            let actual = match describe(&path) {
                Ok(actual) => actual,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    return Err(damaged(FileProblem::Missing));
                }
                Err(source) => return Err(CheckpointError::io("read", &path, source)),
            };
            if actual.size != expected.size {
                return Err(damaged(FileProblem::Size {
                    expected: expected.size,
                    actual: actual.size,
                }));
            }
            if actual.crc32c != expected.crc32c {
                return Err(damaged(FileProblem::Checksum));
            }
        }
        Ok(())
    }
}

/// Reads and checks the `COMPLETE` marker of checkpoint directory `dir`.
pub fn read(dir: &Path) -> Result<Marker, CheckpointError> {
    let path = dir.join(COMPLETE_MARKER);
    let bytes = fs::read(&path).map_err(|source| CheckpointError::io("read", &path, source))?;
    if bytes.is_empty() {
        return Ok(Marker::Legacy);
    }
    let damaged = |reason: String| CheckpointError::Damaged {
        checkpoint: dir.to_path_buf(),
        file: COMPLETE_MARKER.to_string(),
        problem: FileProblem::Manifest(reason),
    };
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|error| damaged(format!("not a manifest ({error})")))?;
    if manifest.format != FORMAT {
        return Err(damaged(format!(
            "manifest format {} (this build reads format {FORMAT})",
            manifest.format
        )));
    }
    if files_checksum(&manifest.files) != manifest.files_crc32c {
        return Err(damaged(
            "the list of files does not match its checksum".into(),
        ));
    }
    Ok(Marker::Manifest(manifest))
}

/// Size and CRC32C of one file, read in chunks so that a large replay buffer is not held twice.
fn describe(path: &Path) -> io::Result<FileEntry> {
    let mut file = File::open(path)?;
    let mut buffer = vec![0u8; 1 << 20];
    let (mut size, mut crc) = (0u64, 0u32);
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        crc = crc32c::crc32c_append(crc, &buffer[..read]);
        size += read as u64;
    }
    Ok(FileEntry { size, crc32c: crc })
}

fn files_checksum(files: &BTreeMap<String, FileEntry>) -> u32 {
    crc32c::crc32c(&serde_json::to_vec(files).expect("file entries always serialise"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ordergrad-manifest-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_changed_byte_a_shorter_file_and_a_missing_file_are_named() {
        let dir = scratch("verify");
        fs::write(dir.join("a.bin"), b"hello").unwrap();
        fs::write(dir.join("b.json"), b"{}").unwrap();
        fs::write(dir.join(".b.json.tmp-1-0"), b"ignored").unwrap();
        let manifest = Manifest::of_dir(&dir).unwrap();
        assert_eq!(manifest.files().collect::<Vec<_>>(), ["a.bin", "b.json"]);
        manifest.verify(&dir).unwrap();

        fs::write(dir.join("a.bin"), b"hellO").unwrap();
        let error = manifest.verify(&dir).unwrap_err().to_string();
        assert!(
            error.contains("a.bin") && error.contains("checksum"),
            "{error}"
        );
        fs::write(dir.join("a.bin"), b"hell").unwrap();
        let error = manifest.verify(&dir).unwrap_err().to_string();
        assert!(error.contains("4 bytes") && error.contains("5"), "{error}");
        fs::remove_file(dir.join("a.bin")).unwrap();
        let error = manifest.verify(&dir).unwrap_err().to_string();
        assert!(
            error.contains("a.bin") && error.contains("missing"),
            "{error}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_marker_round_trips_and_a_damaged_one_is_reported() {
        let dir = scratch("marker");
        fs::write(dir.join("a.bin"), b"hello").unwrap();
        let manifest = Manifest::of_dir(&dir).unwrap();
        fs::write(dir.join(COMPLETE_MARKER), manifest.to_json()).unwrap();
        assert_eq!(read(&dir).unwrap(), Marker::Manifest(manifest.clone()));

        let text = String::from_utf8(manifest.to_json()).unwrap();
        let edited = text.replacen("\"size\": 5", "\"size\": 6", 1);
        assert_ne!(edited, text);
        fs::write(dir.join(COMPLETE_MARKER), edited).unwrap();
        let error = read(&dir).unwrap_err().to_string();
        assert!(error.contains(COMPLETE_MARKER), "{error}");

        fs::write(dir.join(COMPLETE_MARKER), b"").unwrap();
        assert_eq!(read(&dir).unwrap(), Marker::Legacy);
        fs::remove_dir_all(&dir).unwrap();
    }
}
