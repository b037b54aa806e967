//! The local executor: at most `jobs` runs at a time, each a chain of child processes (see
//! [`super::runner`]), with a progress line per event and a clean stop on request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::layout::RunStatus;
use super::plan::RunEntry;
use super::runner::{Children, Outcome, RunContext, execute};

/// How often the coordinating thread checks for a stop request while runs are going.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Something a run did, reported as it happens.
#[derive(Debug)]
pub enum Event<'a> {
    Started {
        run: &'a RunEntry,
    },
    Ended {
        run: &'a RunEntry,
        outcome: &'a Outcome,
        /// How many runs have ended so far, this one included.
        ended: usize,
        total: usize,
    },
    /// The first stop request was seen; running runs are asked to checkpoint and stop.
    Stopping {
        running: usize,
    },
}

/// `RAYON_NUM_THREADS` per run: the cores shared out among the runs that run at once.
pub fn threads_per_run(cores: usize, jobs: usize) -> usize {
    (cores / jobs.max(1)).max(1)
}

/// Runs every run of `runs` (indices into the manifest with their entries) with at most `jobs`
/// at once, in order. `stop_requested` is polled; once it says yes no run starts and the running
/// ones get SIGINT. Returns the outcomes in the order of `runs`.
pub fn run_local(
    context: &RunContext,
    runs: &[&RunEntry],
    jobs: usize,
    stop_requested: &(dyn Fn() -> bool + Sync),
    on_event: &mut dyn FnMut(Event<'_>),
) -> Vec<Outcome> {
    let children = Children::new();
    let next = AtomicUsize::new(0);
    let total = runs.len();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; total];
    let (sender, receiver) = mpsc::channel::<(usize, Option<Outcome>)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, total.max(1)) {
            let sender = sender.clone();
            let (children, next) = (&children, &next);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(run) = runs.get(index) else { break };
                    if children.stopped() {
                        let _ = sender.send((index, Some(Outcome::Interrupted)));
                        continue;
                    }
                    // A run done before is reported only once, as ended.
                    if !matches!(context.dir.status(run), Ok(RunStatus::Evaluated)) {
                        let _ = sender.send((index, None));
                    }
                    let outcome = execute(context, run, children);
                    let _ = sender.send((index, Some(outcome)));
                }
            });
        }
        drop(sender);
        let (mut ended, mut running, mut stopping) = (0, 0usize, false);
        let mut started = vec![false; total];
        loop {
            if !stopping && stop_requested() {
                stopping = true;
                children.stop_all();
                on_event(Event::Stopping { running });
            }
            match receiver.recv_timeout(STOP_POLL) {
                Ok((index, None)) => {
                    running += 1;
                    started[index] = true;
                    on_event(Event::Started { run: runs[index] });
                }
                Ok((index, Some(outcome))) => {
                    if started[index] {
                        running -= 1;
                    }
                    ended += 1;
                    on_event(Event::Ended {
                        run: runs[index],
                        outcome: &outcome,
                        ended,
                        total,
                    });
                    outcomes[index] = Some(outcome);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
    outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or(Outcome::Interrupted))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_are_shared_out_with_at_least_one_thread_each() {
        assert_eq!(threads_per_run(16, 4), 4);
        assert_eq!(threads_per_run(2, 2), 1);
        assert_eq!(threads_per_run(2, 8), 1);
        assert_eq!(threads_per_run(3, 0), 3);
    }
}
