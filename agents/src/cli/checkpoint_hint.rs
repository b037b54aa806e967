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
    // A config that passed its manifest but does not load was written by another build (one
    // with the `mujoco` feature, or a newer ordergrad): every checkpoint of the run has it, and
    // the error says what this build lacks.
    if let CheckpointError::Unreadable { file, .. } = damaged
        && file == checkpoint::CONFIG_FILE
    {
        return BadInput(format!("{error:#}")).into();
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn unreadable(file: &str) -> anyhow::Error {
        CheckpointError::Unreadable {
            checkpoint: PathBuf::from("/nonexistent-run/checkpoints/step_000000000100"),
            file: file.to_string(),
            reason: "config key `env`: RiskyHalfCheetah-v5 needs the mujoco feature".to_string(),
        }
        .into()
    }

    #[test]
    fn a_config_this_build_cannot_read_is_bad_input_without_a_retraining_hint() {
        let run = Path::new("/nonexistent-run");
        let error = with_fallback_hint(unreadable(checkpoint::CONFIG_FILE), run, Retry::Eval);
        let message = error.downcast_ref::<BadInput>().unwrap().to_string();
        assert!(message.contains("mujoco feature"), "{message}");
        assert!(!message.contains("trained anew"), "{message}");
        // An undecodable weights file is damage: the hint names the way out.
        let error = with_fallback_hint(unreadable("critics.bin"), run, Retry::Eval);
        let message = error.downcast_ref::<BadInput>().unwrap().to_string();
        assert!(message.contains("trained anew"), "{message}");
    }
}
