//! Ctrl-C as a request to stop training cleanly: the handler only sets a flag, and the training
//! loop polls it between steps, writes a final checkpoint and closes its logger.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Exit status of a process ended by SIGINT, by the shell convention 128 + 2.
const EXIT_CODE_INTERRUPTED: i32 = 130;

/// ctrlc refuses a second `set_handler`, so the handler is installed once per process and every
/// `InterruptFlag::install` hands out the same flag. The error is kept as text because
/// `ctrlc::Error` is not `Clone`.
static CTRL_C_REQUESTED: OnceLock<Result<Arc<AtomicBool>, String>> = OnceLock::new();

#[derive(Debug, thiserror::Error)]
#[error("could not install the Ctrl-C handler: {reason}")]
pub struct InterruptError {
    reason: String,
}

/// Set once the user asked the run to stop. Clones share the flag.
#[derive(Debug, Clone)]
pub struct InterruptFlag {
    requested: Arc<AtomicBool>,
}

impl InterruptFlag {
    /// The process-wide flag set by Ctrl-C (SIGINT), installing the handler on first use. Safe to
    /// call any number of times. A second Ctrl-C while the first is still being handled exits at
    /// once with status 130, for a user who will not wait for the final checkpoint; it flushes
    /// the open logs first.
    pub fn install() -> Result<Self, InterruptError> {
        let installed = CTRL_C_REQUESTED.get_or_init(|| {
            let requested = Arc::new(AtomicBool::new(false));
            let set_by_handler = Arc::clone(&requested);
            ctrlc::set_handler(move || {
                if set_by_handler.swap(true, Ordering::SeqCst) {
                    // exit runs no destructors: the logs' buffers are pushed out here, so that
                    // the metrics file and the event file end at the same scalar.
                    super::flush_open_logs();
                    std::process::exit(EXIT_CODE_INTERRUPTED);
                }
                eprintln!(
                    "\nCtrl-C: stopping after this step and saving a checkpoint \
                     (press Ctrl-C again to quit at once)"
                );
            })
            .map(|()| requested)
            .map_err(|error| error.to_string())
        });
        match installed {
            Ok(requested) => Ok(Self {
                requested: Arc::clone(requested),
            }),
            Err(reason) => Err(InterruptError {
                reason: reason.clone(),
            }),
        }
    }

    /// A flag no signal sets, for tests and for code that stops runs itself.
    pub fn detached() -> Self {
        Self {
            requested: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether a stop was requested; cheap enough to poll every step.
    pub fn is_set(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Requests a stop as Ctrl-C would.
    pub fn set(&self) {
        self.requested.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detached_flags_share_state_only_with_their_clones() {
        let flag = InterruptFlag::detached();
        let clone = flag.clone();
        let other = InterruptFlag::detached();
        clone.set();
        assert!(flag.is_set());
        assert!(!other.is_set());
    }
}
