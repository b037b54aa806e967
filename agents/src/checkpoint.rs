//! What a checkpoint holds besides the agent's own files: the step counters, the run's RNG
//! position and, for the off-policy agents, optionally the replay buffer. A checkpoint directory
//! counts only once its `COMPLETE` marker exists (see `checkpoint_file`), so a crash mid-write
//! loses nothing older.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::prelude::*;
use burn::record::{BinFileRecorder, FileRecorder, FullPrecisionSettings, Record, Recorder};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::checkpoint_file::{
    begin_checkpoint, latest_complete_checkpoint, mark_checkpoint_complete, write_json_atomically,
};
use crate::replay::ReplayBuffer;

const STATE_FILE: &str = "state.json";
const REPLAY_FILE: &str = "replay.bin";

/// The loop's counters at a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    /// The env step the resumed run performs first.
    pub next_step: u64,
    pub episodes_done: u64,
    /// True when the run stopped inside an episode (Ctrl-C or the end of training); a resumed
    /// run then starts a new episode, so it differs from one that was never stopped.
    pub mid_episode: bool,
    pub rng: RngState,
}

impl TrainingState {
    pub fn new(seed: u64) -> Self {
        Self {
            next_step: 0,
            episodes_done: 0,
            mid_episode: false,
            rng: RngState::capture(&ChaCha8Rng::seed_from_u64(seed)),
        }
    }
}

/// Where a resumed run picks up.
pub struct Resume {
    pub checkpoint_dir: std::path::PathBuf,
    pub state: TrainingState,
}

/// The exact position of the run's ChaCha8 stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RngState {
    seed: [u8; 32],
    stream: u64,
    /// u128 as a decimal string: JSON numbers cannot hold it exactly.
    word_pos: String,
}

impl RngState {
    pub fn capture(rng: &ChaCha8Rng) -> Self {
        Self {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// The stream at the captured position; an error if `word_pos` is not a number (a
    /// hand-edited or corrupted state.json).
    pub fn restore(&self) -> anyhow::Result<ChaCha8Rng> {
        let word_pos: u128 = self.word_pos.parse().with_context(|| {
            format!(
                "state.json: rng.word_pos '{}' is not an unsigned integer",
                self.word_pos
            )
        })?;
        let mut rng = ChaCha8Rng::from_seed(self.seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(word_pos);
        Ok(rng)
    }
}

/// Writes a Burn record (module or optimiser state) at full precision as `dir/name.bin`.
pub fn save_record<B: Backend, R: Record<B>>(
    dir: &Path,
    name: &str,
    record: R,
) -> anyhow::Result<()> {
    BinFileRecorder::<FullPrecisionSettings>::new()
        .record(record, dir.join(name))
        .with_context(|| format!("writing {name} into {}", dir.display()))
}

pub fn load_record<B: Backend, R: Record<B>>(
    dir: &Path,
    name: &str,
    device: &B::Device,
) -> anyhow::Result<R> {
    BinFileRecorder::<FullPrecisionSettings>::new()
        .load(dir.join(name), device)
        .with_context(|| format!("reading {name} from {}", dir.display()))
}

/// The file [`save_record`] writes for `name` in `dir`.
pub fn record_file<B: Backend>(dir: &Path, name: &str) -> PathBuf {
    let extension = <BinFileRecorder<FullPrecisionSettings> as FileRecorder<B>>::file_extension();
    dir.join(name).with_extension(extension)
}

/// Writes a complete checkpoint for `state.next_step` under `run_dir/checkpoints/`:
/// `write_agent` puts the agent's own files (networks, optimisers, normalisers) into the
/// checkpoint directory it is given, then the state file and the completion marker follow.
pub fn save(
    run_dir: &Path,
    state: &TrainingState,
    write_agent: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = begin_checkpoint(run_dir, state.next_step)?;
    write_agent(&dir)?;
    write_json_atomically(&dir.join(STATE_FILE), state)?;
    mark_checkpoint_complete(&dir)?;
    Ok(())
}

/// The latest complete checkpoint of a run, if any.
pub fn latest(run_dir: &Path) -> anyhow::Result<Option<Resume>> {
    let Some(checkpoint) = latest_complete_checkpoint(run_dir)? else {
        return Ok(None);
    };
    let path = checkpoint.dir.join(STATE_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let state =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(Some(Resume {
        checkpoint_dir: checkpoint.dir,
        state,
    }))
}

/// Writes a replay buffer into a checkpoint directory.
pub fn save_replay(checkpoint_dir: &Path, buffer: &ReplayBuffer) -> anyhow::Result<()> {
    buffer.save(&checkpoint_dir.join(REPLAY_FILE))
}

/// The replay buffer stored in a checkpoint directory, if it has one.
pub fn load_replay(checkpoint_dir: &Path) -> anyhow::Result<Option<ReplayBuffer>> {
    let path = checkpoint_dir.join(REPLAY_FILE);
    if path.exists() {
        ReplayBuffer::load(&path).map(Some)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn rng_state_resumes_the_same_stream() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let _: Vec<u32> = (0..1001).map(|_| rng.random()).collect();
        let state = RngState::capture(&rng);
        let json = serde_json::to_string(&state).unwrap();
        let mut restored = serde_json::from_str::<RngState>(&json)
            .unwrap()
            .restore()
            .unwrap();
        for _ in 0..100 {
            assert_eq!(rng.random::<u64>(), restored.random::<u64>());
        }
    }
}
