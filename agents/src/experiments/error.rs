use std::path::PathBuf;

use crate::checkpoint::file::CheckpointFileError;
use crate::config::ConfigError;

/// What can go wrong planning, running or reporting a sweep. [`SweepError::is_bad_input`] tells
/// the CLI which of these the user can fix (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(
        "--seeds {text:?}: {reason} (accepted: a range like 1-5, a list like 1,3,7, or both: 1-3,8)"
    )]
    Seeds { text: String, reason: String },
    #[error(
        "--grid {text:?}: {reason} (accepted: KEY=V1,V2,... e.g. sac.policy_lr=3e-4,1e-3; \
         separate values with ';' when one holds a comma)"
    )]
    Grid { text: String, reason: String },
    #[error("config {config} with {overrides}")]
    Config {
        config: PathBuf,
        overrides: String,
        #[source]
        source: ConfigError,
    },
    #[error(
        "`{key}` has no effect: {config} trains agent = \"{agent}\", which reads only the \
         [{agent}] table of agent settings"
    )]
    UnusedKey {
        key: String,
        config: PathBuf,
        agent: String,
    },
    #[error(
        "grid points {first} and {second} of {config} resolve to the same configuration \
         (the same value written twice?)"
    )]
    SamePoint {
        config: PathBuf,
        first: String,
        second: String,
    },
    #[error(
        "grid points '{first}' and '{second}' would share the folder name '{name}'; \
         write the values differently"
    )]
    NameClash {
        first: String,
        second: String,
        name: String,
    },
    #[error("{reason}")]
    Request { reason: String },
    #[error(
        "{dir} holds a sweep made with other settings ({what}); use another --out, or delete \
         that directory to start over"
    )]
    Changed { dir: PathBuf, what: String },
    #[error("{dir} has no {file}: is it a directory written by `ordergrad sweep`?")]
    NoManifest { dir: PathBuf, file: &'static str },
    #[error("run index {index} is out of range: {manifest} lists {runs} runs (0 to {last})", last = runs.saturating_sub(1))]
    NoSuchRun {
        manifest: PathBuf,
        index: usize,
        runs: usize,
    },
    #[error(
        "`sbatch` is not on PATH, so this machine cannot submit to Slurm; install Slurm's \
         client (Debian: apt-get install slurm-client) and run from a Slurm login node, \
         use --dry-run to only write the job script, or use --executor local"
    )]
    NoSbatch,
    #[error("--{flag} {value:?}: {reason}")]
    SlurmSetting {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("sbatch failed ({status}): {stderr}")]
    Sbatch { status: String, stderr: String },
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointFileError),
    #[error("could not draw {path}: {message}")]
    Plot { path: PathBuf, message: String },
}

impl SweepError {
    /// Errors in what the user asked for, as opposed to failures of the machine or the runs.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            SweepError::Seeds { .. }
                | SweepError::Grid { .. }
                | SweepError::Config { .. }
                | SweepError::UnusedKey { .. }
                | SweepError::SamePoint { .. }
                | SweepError::NameClash { .. }
                | SweepError::Request { .. }
                | SweepError::Changed { .. }
                | SweepError::NoManifest { .. }
                | SweepError::NoSuchRun { .. }
                | SweepError::NoSbatch
                | SweepError::SlurmSetting { .. }
        )
    }

    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> SweepError {
        let path = path.to_path_buf();
        move |source| SweepError::Io {
            action,
            path,
            source,
        }
    }
}
