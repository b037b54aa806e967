//! What can go wrong while logging a run.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// A file-system operation on a log file or directory failed; `action` says which.
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The hyperparameters given to `RunLogger::create` do not serialise to JSON.
    #[error("could not turn the hyperparameters into JSON for the table: {0}")]
    Hyperparameters(#[source] serde_json::Error),
}

impl LoggingError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
