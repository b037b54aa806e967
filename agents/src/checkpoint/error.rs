//! What can be wrong with a checkpoint when it is read back. Every variant names the file; the
//! CLI reports all of them as bad input (exit 2) and points to the previous intact checkpoint.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file does not match what the checkpoint's manifest says it should be.
    #[error("checkpoint {} is damaged: {file} {problem}", checkpoint.display())]
    Damaged {
        checkpoint: PathBuf,
        file: String,
        problem: FileProblem,
    },
    /// A file passed the manifest (or the checkpoint has none) but cannot be decoded.
    #[error("checkpoint {} cannot be loaded: {file}: {reason}", checkpoint.display())]
    Unreadable {
        checkpoint: PathBuf,
        file: String,
        reason: String,
    },
    /// `--checkpoint STEP` names a step without a complete checkpoint.
    #[error(
        "{} has no complete checkpoint at step {step}; complete checkpoints: {}",
        run_dir.display(),
        list_steps(available)
    )]
    NoSuchStep {
        run_dir: PathBuf,
        step: u64,
        available: Vec<u64>,
    },
    /// Listing or writing checkpoint directories failed.
    #[error(transparent)]
    File(#[from] crate::checkpoint::file::CheckpointFileError),
    /// A file-system operation failed; `action` says which.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// How a file differs from its manifest entry.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    #[error("is missing (the manifest lists it)")]
    Missing,
    #[error("has {actual} bytes, the manifest says {expected}")]
    Size { expected: u64, actual: u64 },
    #[error("does not match its checksum (CRC32C) in the manifest: its bytes changed")]
    Checksum,
    /// The `COMPLETE` marker itself, which holds the manifest, is damaged.
    #[error("(the manifest) is damaged: {0}")]
    Manifest(String),
}

impl CheckpointError {
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// `file` of checkpoint directory `checkpoint` cannot be decoded for `reason`.
    pub fn unreadable(checkpoint: &Path, file: &str, reason: impl std::fmt::Display) -> Self {
        Self::Unreadable {
            checkpoint: checkpoint.to_path_buf(),
            file: file.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The checkpoint directory the error is about, if it is about one.
    pub fn checkpoint(&self) -> Option<&Path> {
        match self {
            Self::Damaged { checkpoint, .. } | Self::Unreadable { checkpoint, .. } => {
                Some(checkpoint)
            }
            Self::NoSuchStep { .. } | Self::File(_) | Self::Io { .. } => None,
        }
    }

    /// Whether the user can fix it (exit 2): everything but a failing file system.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Self::File(_) | Self::Io { .. })
    }
}

fn list_steps(steps: &[u64]) -> String {
    if steps.is_empty() {
        return "none".into();
    }
    steps
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
