//! Where training writes what it measures: TensorBoard events, a metrics file, the terminal.
//!
//! Agents use [`RunLogger`], which sends every scalar to both files under CleanRL's tags
//! (`charts/episodic_return`, `charts/SPS`, `losses/qf1_loss`, ...) and keeps the progress line up
//! to date. A run directory ends up as
//!
//! ```text
//! runs/<run>/events.out.tfevents.<unix_secs>.<hostname>   TensorBoard
//! runs/<run>/metrics.jsonl                                 one JSON line per scalar
//! ```
//!
//! A training loop that stops cleanly on Ctrl-C:
//!
//! ```no_run
//! # use std::path::Path;
//! # use agents::logging::{InterruptFlag, RunLogger, RunLoggerOptions};
//! # fn main() -> anyhow::Result<()> {
//! # let settings = serde_json::json!({"env_id": "Hopper-v4"});
//! let interrupted = InterruptFlag::install()?;
//! let total_steps = 1_000_000;
//! let options = RunLoggerOptions::new(total_steps);
//! let mut logger = RunLogger::create(Path::new("runs/sac_hopper_1"), &settings, options)?;
//! for global_step in 0..total_steps {
//!     if interrupted.is_set() {
//!         break;
//!     }
//!     // act, step the env, store, update ...
//!     # let qf1_loss = 0.0;
//!     logger.scalar("losses/qf1_loss", qf1_loss, global_step)?;
//!     logger.progress(global_step);
//! }
//! // write the final checkpoint, then:
//! logger.close()?;
//! # Ok(())
//! # }
//! ```

mod error;
mod flush_timer;
mod hyperparameters;
pub mod interrupt;
pub mod metrics;
mod open_logs;
pub mod positions;
pub mod progress;
pub mod tensorboard;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

pub use error::LoggingError;
pub use flush_timer::DEFAULT_FLUSH_INTERVAL;
pub use hyperparameters::hyperparameters_markdown;
pub use interrupt::InterruptFlag;
pub use metrics::MetricsFile;
pub use open_logs::flush_open_logs;
pub use positions::LogPositions;
pub use progress::{ProgressConfig, ProgressLine};
pub use tensorboard::TensorBoardWriter;

pub const HYPERPARAMETERS_TAG: &str = "hyperparameters";
pub const EPISODIC_RETURN_TAG: &str = "charts/episodic_return";
pub const EPISODIC_LENGTH_TAG: &str = "charts/episodic_length";

/// How a [`RunLogger`] flushes and what it shows on the terminal.
#[derive(Debug, Clone)]
pub struct RunLoggerOptions {
    /// See [`DEFAULT_FLUSH_INTERVAL`].
    pub flush_interval: Duration,
    /// `None` for no progress line (tests, quiet runs).
    pub progress: Option<ProgressConfig>,
}

impl RunLoggerOptions {
    /// Defaults for a run of `total_steps` steps, with a progress line on stderr.
    pub fn new(total_steps: u64) -> Self {
        Self {
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            progress: Some(ProgressConfig::new(total_steps)),
        }
    }

    /// For a run resumed from a checkpoint at `step`, so SPS and ETA count from there.
    pub fn resuming_from(mut self, step: u64) -> Self {
        if let Some(progress) = &mut self.progress {
            progress.start_step = step;
        }
        self
    }

    pub fn with_flush_interval(mut self, flush_interval: Duration) -> Self {
        self.flush_interval = flush_interval;
        self
    }

    pub fn without_progress(mut self) -> Self {
        self.progress = None;
        self
    }
}

/// Everything a training run logs, in one place. Dropping it flushes both files and ends the
/// progress line (each part does so in its own `Drop`), on an error too; [`RunLogger::close`] also
/// syncs the files to disk and reports errors, so call it on the way out, Ctrl-C included. A
/// second Ctrl-C, which exits without destructors, flushes the files from the handler (see
/// `open_logs`), and [`RunLogger::checkpoint`] syncs them with every checkpoint.
pub struct RunLogger {
    run_dir: PathBuf,
    files: Arc<Mutex<open_logs::LogFiles>>,
    progress: Option<ProgressLine>,
}

impl RunLogger {
    /// Opens the event and metrics files in `run_dir` and logs the hyperparameters table, as
    /// CleanRL does at the start of a run. `hyperparameters` is typically the agent's config
    /// struct.
    pub fn create(
        run_dir: &Path,
        hyperparameters: &impl Serialize,
        options: RunLoggerOptions,
    ) -> Result<Self, LoggingError> {
        let hyperparameters =
            serde_json::to_value(hyperparameters).map_err(LoggingError::Hyperparameters)?;
        let mut tensorboard =
            TensorBoardWriter::create_with_flush_interval(run_dir, options.flush_interval)?;
        let metrics = MetricsFile::open_with_flush_interval(run_dir, options.flush_interval)?;
        tensorboard.add_text(
            HYPERPARAMETERS_TAG,
            &hyperparameters_markdown(&hyperparameters),
            0,
        )?;
        let files = Arc::new(Mutex::new(open_logs::LogFiles {
            tensorboard,
            metrics,
        }));
        open_logs::register(&files);
        Ok(Self {
            run_dir: run_dir.to_path_buf(),
            files,
            progress: options.progress.map(ProgressLine::to_stderr),
        })
    }

    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// Logs `value` under `tag` (any string; by convention CleanRL's `charts/...`,
    /// `losses/...`) to TensorBoard and to the metrics file.
    pub fn scalar(&mut self, tag: &str, value: f64, step: u64) -> Result<(), LoggingError> {
        let mut files = open_logs::lock(&self.files);
        files
            .tensorboard
            .add_scalar(tag, value, tensorboard_step(step))?;
        files.metrics.append(tag, value, step)
    }

    /// Logs markdown to TensorBoard's Text tab (not to the metrics file, which holds numbers).
    pub fn text(&mut self, tag: &str, markdown: &str, step: u64) -> Result<(), LoggingError> {
        open_logs::lock(&self.files)
            .tensorboard
            .add_text(tag, markdown, tensorboard_step(step))
    }

    /// Logs a finished episode as CleanRL does and feeds its return to the progress line.
    pub fn episode(
        &mut self,
        step: u64,
        episodic_return: f64,
        episodic_length: u64,
    ) -> Result<(), LoggingError> {
        self.scalar(EPISODIC_RETURN_TAG, episodic_return, step)?;
        self.scalar(EPISODIC_LENGTH_TAG, episodic_length as f64, step)?;
        if let Some(progress) = &mut self.progress {
            progress.record_episode_return(episodic_return);
            progress.update(step);
        }
        Ok(())
    }

    /// Tells the progress line that training reached `step`; cheap enough to call every step.
    pub fn progress(&mut self, step: u64) {
        if let Some(progress) = &mut self.progress {
            progress.update(step);
        }
    }

    pub fn flush(&mut self) -> Result<(), LoggingError> {
        open_logs::lock(&self.files).flush()
    }

    /// Flushes and syncs both files and returns where they stand, for a checkpoint to record:
    /// everything logged so far is on disk before the checkpoint counts, and a run resumed from
    /// it cuts the files back to there (see `positions`).
    pub fn checkpoint(&mut self) -> Result<LogPositions, LoggingError> {
        open_logs::lock(&self.files).sync()?;
        LogPositions::of_run_dir(&self.run_dir)
    }

    /// Ends the progress line, then flushes and syncs both files. Both are synced even when the
    /// first fails; the first error is returned.
    pub fn close(self) -> Result<(), LoggingError> {
        let Self {
            files, progress, ..
        } = self;
        if let Some(mut progress) = progress {
            progress.finish();
        }
        open_logs::lock(&files).sync()
    }
}

/// TensorBoard steps are i64; no run comes near the limit, so saturating is only a formality.
fn tensorboard_step(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

fn unix_time_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since_epoch| since_epoch.as_secs_f64())
}
