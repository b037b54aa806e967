//! The flush policy shared by the event file and the metrics file: buffer writes, and push them to
//! the OS when a write arrives more than an interval after the last flush.

use std::time::{Duration, Instant};

/// How long buffered records may wait before a write pushes them to the file. Two seconds keeps a
/// live TensorBoard current without a system call per scalar (SAC logs several every step).
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(2);

/// Remembers when a file was last flushed and says when the next write should flush again.
#[derive(Debug, Clone)]
pub(crate) struct FlushTimer {
    interval: Duration,
    last_flush: Instant,
}

impl FlushTimer {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_flush: Instant::now(),
        }
    }

    pub(crate) fn is_due(&self) -> bool {
        self.last_flush.elapsed() >= self.interval
    }

    pub(crate) fn restart(&mut self) {
        self.last_flush = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_interval_is_always_due() {
        assert!(FlushTimer::new(Duration::ZERO).is_due());
    }

    #[test]
    fn long_interval_is_not_due_right_after_a_flush() {
        let mut timer = FlushTimer::new(Duration::from_secs(3600));
        timer.restart();
        assert!(!timer.is_due());
    }
}
