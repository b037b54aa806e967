//! Where a run's log files stood at a checkpoint, and the rewind of a resumed run to there.
//!
//! Whatever a run logged after its last checkpoint is logged again by the run resumed from it
//! (SAC, distributional SAC and ReMAC replay the same steps exactly). So that every episode is
//! in the logs exactly once, each checkpoint records the length of `metrics.jsonl` and of every
//! TensorBoard event file, flushed and synced just before; a resumed run cuts the files back to
//! those lengths and deletes event files created after the checkpoint, before it logs anything.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::LoggingError;
use super::metrics::METRICS_FILE_NAME;

/// The prefix of TensorBoard event file names (`events.out.tfevents.{secs}.{host}[.n]`).
pub const EVENT_FILE_PREFIX: &str = "events.out.tfevents.";

/// Byte lengths of a run's log files at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogPositions {
    /// Length of `metrics.jsonl`.
    pub metrics: u64,
    /// Length of each event file in the run directory, by file name.
    pub events: BTreeMap<String, u64>,
}

/// What [`LogPositions::rewind`] did, for the message a resumed run prints.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rewound {
    /// Bytes cut from the ends of the files.
    pub bytes_cut: u64,
    /// Event files written after the checkpoint, deleted.
    pub files_removed: usize,
}

impl LogPositions {
    /// The current lengths of the log files in `run_dir` (flush them first).
    pub fn of_run_dir(run_dir: &Path) -> Result<Self, LoggingError> {
        let metrics = length(&run_dir.join(METRICS_FILE_NAME))?;
        let mut events = BTreeMap::new();
        for name in event_file_names(run_dir)? {
            let size = length(&run_dir.join(&name))?;
            events.insert(name, size);
        }
        Ok(Self { metrics, events })
    }

    /// Cuts the log files of `run_dir` back to these positions: longer files are truncated,
    /// event files not listed (created after the checkpoint) are deleted. Shorter files are
    /// left as they are (nothing to cut).
    pub fn rewind(&self, run_dir: &Path) -> Result<Rewound, LoggingError> {
        let mut rewound = Rewound {
            bytes_cut: truncate(&run_dir.join(METRICS_FILE_NAME), self.metrics)?,
            files_removed: 0,
        };
        for name in event_file_names(run_dir)? {
            let path = run_dir.join(&name);
            match self.events.get(&name) {
                Some(&size) => rewound.bytes_cut += truncate(&path, size)?,
                None => {
                    fs::remove_file(&path).map_err(LoggingError::io("remove", &path))?;
                    rewound.files_removed += 1;
                }
            }
        }
        Ok(rewound)
    }
}

fn event_file_names(run_dir: &Path) -> Result<Vec<String>, LoggingError> {
    let entries = match fs::read_dir(run_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(LoggingError::io("list", run_dir)(error)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(LoggingError::io("list", run_dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(EVENT_FILE_PREFIX) && entry.path().is_file() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The length of `path`, 0 when it does not exist.
fn length(path: &Path) -> Result<u64, LoggingError> {
    match fs::metadata(path) {
        Ok(metadata) => Ok(metadata.len()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(error) => Err(LoggingError::io("inspect", path)(error)),
    }
}

/// Truncates `path` to `size` if it is longer; returns the bytes cut.
fn truncate(path: &Path, size: u64) -> Result<u64, LoggingError> {
    let current = length(path)?;
    if current <= size {
        return Ok(0);
    }
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(LoggingError::io("open", path))?;
    file.set_len(size)
        .and_then(|()| file.sync_all())
        .map_err(LoggingError::io("truncate", path))?;
    Ok(current - size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewind_cuts_files_back_and_removes_later_event_files() {
        let dir = std::env::temp_dir().join(format!("ordergrad-positions-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let metrics = dir.join(METRICS_FILE_NAME);
        let first = dir.join(format!("{EVENT_FILE_PREFIX}1.host"));
        fs::write(&metrics, "a\nb\n").unwrap();
        fs::write(&first, b"1234").unwrap();
        let positions = LogPositions::of_run_dir(&dir).unwrap();
        assert_eq!(positions.metrics, 4);

        fs::write(&metrics, "a\nb\nc\n").unwrap();
        fs::write(&first, b"123456").unwrap();
        let later = dir.join(format!("{EVENT_FILE_PREFIX}2.host"));
        fs::write(&later, b"xy").unwrap();
        let rewound = positions.rewind(&dir).unwrap();
        assert_eq!(
            rewound,
            Rewound {
                bytes_cut: 4,
                files_removed: 1
            }
        );
        assert_eq!(fs::read_to_string(&metrics).unwrap(), "a\nb\n");
        assert_eq!(fs::read(&first).unwrap(), b"1234");
        assert!(!later.exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
