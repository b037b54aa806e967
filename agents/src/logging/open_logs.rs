//! The log files of the runs in this process, reachable from the Ctrl-C handler. A second Ctrl-C
//! exits at once (see `interrupt`), which runs no destructors: without this, whatever the writers
//! still buffered would be lost, and the metrics file and the event file would stop at different
//! episodes. The handler flushes them all first.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use super::LoggingError;
use super::metrics::MetricsFile;
use super::tensorboard::TensorBoardWriter;

/// The two files a run logs every scalar to. One lock over both, so that a flush from another
/// thread sees the same scalars in each.
pub(crate) struct LogFiles {
    pub(crate) tensorboard: TensorBoardWriter,
    pub(crate) metrics: MetricsFile,
}

impl LogFiles {
    /// Pushes both buffers to the OS (where they survive the process being killed).
    pub(crate) fn flush(&mut self) -> Result<(), LoggingError> {
        let tensorboard = self.tensorboard.flush();
        let metrics = self.metrics.flush();
        tensorboard.and(metrics)
    }

    /// Flushes both and syncs them to disk (where they survive the machine going down).
    pub(crate) fn sync(&mut self) -> Result<(), LoggingError> {
        let tensorboard = self.tensorboard.sync();
        let metrics = self.metrics.sync();
        tensorboard.and(metrics)
    }
}

/// Weak, so that a logger that is dropped or closed is simply skipped.
static OPEN: Mutex<Vec<Weak<Mutex<LogFiles>>>> = Mutex::new(Vec::new());

pub(crate) fn register(files: &Arc<Mutex<LogFiles>>) {
    let mut open = lock(&OPEN);
    open.retain(|files| files.strong_count() > 0);
    open.push(Arc::downgrade(files));
}

/// Flushes the log files of every open [`super::RunLogger`] of this process, ignoring errors
/// (there is nowhere left to report them): for the way out that skips destructors.
pub fn flush_open_logs() {
    for files in lock(&OPEN).iter().filter_map(Weak::upgrade) {
        let _ = lock(&files).flush();
    }
}

/// A writer that panicked mid-write leaves whole records behind (each is written under the
/// lock), so a poisoned lock is still worth flushing.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
