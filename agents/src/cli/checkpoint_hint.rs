//! A damaged checkpoint reported with the way out: the previous intact checkpoint of the run and
//! the command that uses it.

use std::path::Path;

use super::BadInput;
use crate::checkpoint;
use crate::checkpoint::error::CheckpointError;

/// The command a hint offers, with the run directory and a step filled in.
#[derive(Debug, Clone, Copy)]
pub enum Retry {
    Resume,
    Eval,
}

impl Retry {
    fn command(self, run_dir: &Path, step: u64) -> String {
        let run_dir = run_dir.display();
        match self {
            Retry::Resume => format!("ordergrad train --resume {run_dir} --checkpoint {step}"),
            Retry::Eval => format!("ordergrad eval --run {run_dir} --checkpoint {step}"),
        }
    }
}

/// `error` as bad input (exit 2) with a hint naming the previous intact checkpoint, when it is
/// about a damaged or unreadable checkpoint of `run_dir`; any other error unchanged.
pub fn with_fallback_hint(error: anyhow::Error, run_dir: &Path, retry: Retry) -> anyhow::Error {
    let Some(damaged) = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<CheckpointError>())
    else {
        return error;
    };
    if !damaged.is_bad_input() {
        return error;
    }
    let Some(step) = damaged.checkpoint().and_then(checkpoint::step_of) else {
        return error;
    };
    let hint = match checkpoint::previous_intact(run_dir, step) {
        Some(previous) => format!(
            "the previous checkpoint of the run, at step {previous}, is intact; to use it: {}",
            retry.command(run_dir, previous)
        ),
        None => "the run has no earlier intact checkpoint; it has to be trained anew".to_string(),
    };
    BadInput(format!("{error:#}\n{hint}")).into()
}
