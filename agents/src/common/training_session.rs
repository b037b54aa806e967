//! What the off- and on-policy training loops open and do the same way around their own steps:
//! the run's logger, the Ctrl-C flag, the checkpoint schedule, the SPS chart and writing a
//! checkpoint. Each loop keeps its own counters ([`TrainingState`]) and RNG and hands them in.

use std::path::Path;
use std::time::Instant;

use rand_chacha::ChaCha8Rng;

use crate::checkpoint::{self, RngState, RunRecord, TrainingState};
use crate::config::TrainConfig;
use crate::logging::{InterruptFlag, RunLogger};

pub struct TrainingSession<'a> {
    config: &'a TrainConfig,
    run_dir: &'a Path,
    pub logger: RunLogger,
    pub interrupted: InterruptFlag,
    /// The step from which the next periodic checkpoint is due.
    next_checkpoint: u64,
    started: Instant,
    start_step: u64,
}

impl<'a> TrainingSession<'a> {
    /// Opens the run's logs (continuing them from `state.next_step` on a resumed run) and
    /// installs the Ctrl-C flag.
    pub fn open(
        config: &'a TrainConfig,
        run_dir: &'a Path,
        state: &TrainingState,
    ) -> anyhow::Result<Self> {
        let logger = RunLogger::create(
            run_dir,
            &config.resolved(),
            config.logger_options(state.next_step),
        )?;
        let interrupted = InterruptFlag::install()?;
        let mut session = Self {
            config,
            run_dir,
            logger,
            interrupted,
            next_checkpoint: 0,
            started: Instant::now(),
            start_step: state.next_step,
        };
        session.schedule_next_checkpoint(state.next_step);
        Ok(session)
    }

    /// Whether `checkpoint.every` steps have passed since the last checkpoint (or the run's
    /// start) at `state.next_step`.
    pub fn checkpoint_due(&self, state: &TrainingState) -> bool {
        state.next_step >= self.next_checkpoint
    }

    /// Logs `charts/SPS` at `step`: the env steps per second of this session once
    /// `steps_done` steps of the run are done.
    pub fn log_steps_per_second(&mut self, steps_done: u64, step: u64) -> anyhow::Result<()> {
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-9);
        let steps_per_second = ((steps_done - self.start_step) as f64 / elapsed).floor();
        Ok(self.logger.scalar("charts/SPS", steps_per_second, step)?)
    }

    /// Writes a checkpoint for `state.next_step` with the RNG where `rng` stands, after
    /// flushing the logs so that it records where they stand; `write_agent` puts the agent's
    /// files into the checkpoint directory. The next periodic one is due `checkpoint.every`
    /// steps on.
    pub fn save_checkpoint(
        &mut self,
        state: &mut TrainingState,
        rng: &ChaCha8Rng,
        write_agent: impl FnOnce(&Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        state.rng = RngState::capture(rng);
        let logs = self.logger.checkpoint()?;
        let run = RunRecord {
            state,
            config: &self.config.to_toml(),
            logs: &logs,
        };
        checkpoint::save(self.run_dir, run, write_agent)?;
        self.schedule_next_checkpoint(state.next_step);
        Ok(())
    }

    /// Flushes and closes the logs.
    pub fn close(self) -> anyhow::Result<()> {
        Ok(self.logger.close()?)
    }

    fn schedule_next_checkpoint(&mut self, step: u64) {
        let every = self.config.checkpoint.every;
        self.next_checkpoint = (step / every + 1) * every;
    }
}
