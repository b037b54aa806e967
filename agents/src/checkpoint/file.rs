//! Checkpoint files that are never half-written. Single files are replaced atomically (temp file,
//! fsync, rename, fsync the directory); a checkpoint made of several files lives in its own
//! directory `run_dir/checkpoints/step_{step:012}/` and counts only once a `COMPLETE` marker has
//! been written into it last. A crash at any moment leaves either the previous content or the new
//! one, and at worst an incomplete directory or a stray temp file that the readers here ignore.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

pub const CHECKPOINTS_DIR: &str = "checkpoints";
pub const COMPLETE_MARKER: &str = "COMPLETE";
const STEP_DIR_PREFIX: &str = "step_";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointFileError {
    /// A file-system operation failed; `action` says which.
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not serialise JSON for {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} does not name a file to write")]
    NotAFilePath { path: PathBuf },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CheckpointFileError {
    let path = path.to_path_buf();
    move |source| CheckpointFileError::Io {
        action,
        path,
        source,
    }
}

/// Replaces `path` with `bytes` so that readers, and the disk after a crash, see either the old
/// content or the new, never a mix. The parent directory must exist.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CheckpointFileError> {
    let (Some(parent), Some(file_name)) = (path.parent(), path.file_name()) else {
        return Err(CheckpointFileError::NotAFilePath {
            path: path.to_path_buf(),
        });
    };
    // rename is atomic only within one file system, hence the temp file beside the target.
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let temp_path = parent.join(temp_file_name(file_name));
    let written = write_and_sync(&temp_path, bytes)
        .and_then(|()| fs::rename(&temp_path, path).map_err(io_error("rename into place", path)));
    if written.is_err() {
        let _ = fs::remove_file(&temp_path);
    }
    written?;
    sync_directory(parent)
}

/// [`write_atomically`] of `value` as pretty-printed JSON, readable by people and by serde.
pub fn write_json_atomically(
    path: &Path,
    value: &impl Serialize,
) -> Result<(), CheckpointFileError> {
    let mut json =
        serde_json::to_vec_pretty(value).map_err(|source| CheckpointFileError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    json.push(b'\n');
    write_atomically(path, &json)
}

/// `run_dir/checkpoints/step_{step:012}`: zero-padded so that names sort like steps.
pub fn checkpoint_dir(run_dir: &Path, step: u64) -> PathBuf {
    run_dir
        .join(CHECKPOINTS_DIR)
        .join(format!("{STEP_DIR_PREFIX}{step:012}"))
}

/// Creates an empty directory for the checkpoint at `step`. A directory already there is left
/// from an attempt that crashed (or from a run being redone) and is removed first, so that none of
/// its files mix into the new checkpoint.
pub fn begin_checkpoint(run_dir: &Path, step: u64) -> Result<PathBuf, CheckpointFileError> {
    let dir = checkpoint_dir(run_dir, step);
    match fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(io_error("remove old checkpoint directory", &dir)(error)),
    }
    fs::create_dir_all(&dir).map_err(io_error("create checkpoint directory", &dir))?;
    Ok(dir)
}

/// Makes a checkpoint directory count: syncs everything in it to disk (Burn's recorders write
/// with plain `File::create`, without fsync), then writes the `COMPLETE` marker atomically with
/// `manifest` (the files' sizes and checksums, see `checkpoint_manifest`) as its content. Call it
/// after the last file of the checkpoint is written.
pub fn mark_checkpoint_complete(
    checkpoint_dir: &Path,
    manifest: &[u8],
) -> Result<(), CheckpointFileError> {
    sync_tree(checkpoint_dir)?;
    if let Some(checkpoints) = checkpoint_dir.parent() {
        // Makes the new step directory's own entry durable.
        sync_directory(checkpoints)?;
    }
    write_atomically(&checkpoint_dir.join(COMPLETE_MARKER), manifest)
}

/// A checkpoint directory with its `COMPLETE` marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteCheckpoint {
    pub step: u64,
    pub dir: PathBuf,
}

/// The complete checkpoints of a run, oldest step first; empty when there are none yet.
pub fn complete_checkpoints(
    run_dir: &Path,
) -> Result<Vec<CompleteCheckpoint>, CheckpointFileError> {
    Ok(step_dirs(run_dir)?
        .into_iter()
        .filter(|(_, dir)| dir.join(COMPLETE_MARKER).is_file())
        .map(|(step, dir)| CompleteCheckpoint { step, dir })
        .collect())
}

/// Every `step_*` directory of a run as (step, path), complete or not, oldest step first.
pub fn step_dirs(run_dir: &Path) -> Result<Vec<(u64, PathBuf)>, CheckpointFileError> {
    let checkpoints = run_dir.join(CHECKPOINTS_DIR);
    let entries = match fs::read_dir(&checkpoints) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error("list", &checkpoints)(error)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error("list", &checkpoints))?;
        let Some(step) = entry.file_name().to_str().and_then(parse_step_dir_name) else {
            continue;
        };
        dirs.push((step, entry.path()));
    }
    dirs.sort_by_key(|(step, _)| *step);
    Ok(dirs)
}

/// Moves the checkpoint directory `dir` aside to `superseded-step_*` (a name the readers here
/// ignore), for a run resumed from an earlier checkpoint: its later checkpoints belong to a
/// history the resumed run replaces, and must not be picked up as its latest. Returns the new
/// path.
pub fn set_aside(dir: &Path) -> Result<PathBuf, CheckpointFileError> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(CheckpointFileError::NotAFilePath {
            path: dir.to_path_buf(),
        });
    };
    let name = name.to_string_lossy();
    for attempt in 0u32.. {
        let target = match attempt {
            0 => parent.join(format!("superseded-{name}")),
            n => parent.join(format!("superseded-{name}.{n}")),
        };
        if target.exists() {
            continue;
        }
        fs::rename(dir, &target).map_err(io_error("move aside", dir))?;
        sync_directory(parent)?;
        return Ok(target);
    }
    unreachable!("u32 suffixes ran out while looking for a free name")
}

/// The checkpoint to resume from: the highest step whose directory is complete.
pub fn latest_complete_checkpoint(
    run_dir: &Path,
) -> Result<Option<CompleteCheckpoint>, CheckpointFileError> {
    Ok(complete_checkpoints(run_dir)?.pop())
}

/// `step_000000012345` -> 12345; anything else (temp files, other names) -> None.
fn parse_step_dir_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(STEP_DIR_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `.{name}.tmp-{pid}-{n}`: hidden, and unique between processes and between threads.
fn temp_file_name(file_name: &std::ffi::OsStr) -> String {
    static NEXT_TEMP_ID: AtomicU64 = AtomicU64::new(0);
    let temp_id = NEXT_TEMP_ID.fetch_add(1, Ordering::Relaxed);
    format!(
        ".{}.tmp-{}-{temp_id}",
        file_name.to_string_lossy(),
        std::process::id()
    )
}

fn write_and_sync(path: &Path, bytes: &[u8]) -> Result<(), CheckpointFileError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_error("create", path))?;
    file.write_all(bytes).map_err(io_error("write", path))?;
    file.sync_all().map_err(io_error("sync", path))
}

fn sync_tree(dir: &Path) -> Result<(), CheckpointFileError> {
    let entries = fs::read_dir(dir).map_err(io_error("list", dir))?;
    for entry in entries {
        let entry = entry.map_err(io_error("list", dir))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(io_error("inspect", &path))?;
        if file_type.is_dir() {
            sync_tree(&path)?;
        } else if file_type.is_file() {
            File::open(&path)
                .and_then(|file| file.sync_all())
                .map_err(io_error("sync", &path))?;
        }
    }
    sync_directory(dir)
}

/// A rename or a new file is durable only once its directory is synced too (POSIX).
#[cfg(unix)]
fn sync_directory(dir: &Path) -> Result<(), CheckpointFileError> {
    File::open(dir)
        .and_then(|directory| directory.sync_all())
        .map_err(io_error("sync directory", dir))
}

/// Windows cannot open a directory as a file; its renames are journaled by NTFS.
#[cfg(not(unix))]
fn sync_directory(_dir: &Path) -> Result<(), CheckpointFileError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_dir_names_round_trip_and_others_are_rejected() {
        let dir = checkpoint_dir(Path::new("run"), 12_345);
        assert_eq!(dir, Path::new("run/checkpoints/step_000000012345"));
        let name = dir.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_step_dir_name(name), Some(12_345));
        for other in [
            "step_",
            "step_12a",
            ".step_000000000001.tmp-1-0",
            "steps_1",
            "step_-1",
        ] {
            assert_eq!(parse_step_dir_name(other), None, "{other}");
        }
    }
}
