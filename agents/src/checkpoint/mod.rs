//! What a checkpoint holds besides the agent's own files: the step counters, the run's RNG
//! position, the resolved config it was trained with, where the run's logs stood and, for the
//! off-policy agents, optionally the replay buffer. A checkpoint directory counts only once its
//! `COMPLETE` marker exists (see `checkpoint_file`), so a crash mid-write loses nothing older; the
//! marker holds a manifest of the files' sizes and checksums (see `checkpoint_manifest`), and
//! [`open`] verifies a checkpoint against it before anything reads its files.

pub mod error;
pub mod file;
pub mod manifest;
pub mod resume_config;
pub mod run_lock;

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;
use burn::record::{BinFileRecorder, FileRecorder, FullPrecisionSettings, Record, Recorder};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::checkpoint::error::CheckpointError;
use crate::checkpoint::file::{
    begin_checkpoint, complete_checkpoints, mark_checkpoint_complete, step_dirs, write_atomically,
    write_json_atomically,
};
use crate::checkpoint::manifest::{Manifest, Marker};
use crate::common::replay::{ReplayBuffer, ReplayShape};
use crate::logging::LogPositions;

const STATE_FILE: &str = "state.json";
pub const REPLAY_FILE: &str = "replay.bin";
/// The resolved config the checkpoint was trained with; a resume compares the run's config
/// against it (see `resume_config`).
pub const CONFIG_FILE: &str = "config.toml";
/// Where the run's metrics and event files stood when the checkpoint was taken.
const LOGS_FILE: &str = "logs.json";

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

/// A checkpoint verified and ready to load: where a resumed run picks up, or what eval loads.
#[derive(Debug)]
pub struct Resume {
    pub checkpoint_dir: PathBuf,
    pub state: TrainingState,
    /// The resolved config (TOML) the checkpoint was trained with; None in checkpoints written
    /// before it was kept.
    pub config: Option<String>,
    /// Where the logs stood at the checkpoint; None in checkpoints written before it was kept.
    pub logs: Option<LogPositions>,
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

/// Reads the record [`save_record`] wrote for `name`; a file Burn cannot decode is a
/// [`CheckpointError::Unreadable`] naming it.
pub fn load_record<B: Backend, R: Record<B>>(
    dir: &Path,
    name: &str,
    device: &B::Device,
) -> Result<R, CheckpointError> {
    let unreadable =
        |reason| CheckpointError::unreadable(dir, &record_file_name::<B>(name), reason);
    let loaded = without_panics(|| {
        BinFileRecorder::<FullPrecisionSettings>::new().load(dir.join(name), device)
    })
    .map_err(unreadable)?;
    loaded.map_err(|error| unreadable(error.to_string()))
}

/// Runs `load` and turns a panic into its message. Burn panics on some records it cannot decode
/// (a zero-filled file in a checkpoint without a manifest to catch it first); the default hook,
/// which would print the panic and a backtrace, is silenced meanwhile.
fn without_panics<T>(load: impl FnOnce() -> T) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(load));
    std::panic::set_hook(hook);
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
            .unwrap_or_default();
        let message: Vec<&str> = message
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("==="))
            .take(3)
            .collect();
        format!("Burn could not decode it ({})", message.join("; "))
    })
}

/// `module` with the parameters of record `name`, which must have the shapes `module` was built
/// with. Burn does not compare them itself: a record of other networks would load and fail at
/// the first forward pass instead.
pub fn load_module<B: Backend, M: Module<B>>(
    dir: &Path,
    name: &str,
    module: M,
    device: &B::Device,
) -> Result<M, CheckpointError> {
    let expected = parameter_shapes(&module);
    let loaded = module.load_record(load_record(dir, name, device)?);
    let actual = parameter_shapes(&loaded);
    if actual != expected {
        return Err(CheckpointError::unreadable(
            dir,
            &record_file_name::<B>(name),
            format!(
                "its parameters have the shapes {actual:?}, but the config's network has {expected:?}"
            ),
        ));
    }
    Ok(loaded)
}

fn parameter_shapes<B: Backend>(module: &impl Module<B>) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl<B: Backend> ModuleVisitor<B> for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            // lazy_shape: the shape without initialising a parameter that is not yet.
            self.0.push(param.lazy_shape().as_slice().to_vec());
        }
    }
    let mut shapes = Shapes(Vec::new());
    module.visit(&mut shapes);
    shapes.0
}

fn record_file_name<B: Backend>(name: &str) -> String {
    record_file::<B>(Path::new(""), name)
        .to_string_lossy()
        .into_owned()
}

/// The file [`save_record`] writes for `name` in `dir`.
pub fn record_file<B: Backend>(dir: &Path, name: &str) -> PathBuf {
    let extension = <BinFileRecorder<FullPrecisionSettings> as FileRecorder<B>>::file_extension();
    dir.join(name).with_extension(extension)
}

/// What a checkpoint records about its run besides the agent's own files.
pub struct RunRecord<'a> {
    pub state: &'a TrainingState,
    /// The run's resolved config as TOML.
    pub config: &'a str,
    /// Where the logs stood, flushed and synced just before (see `RunLogger::checkpoint`).
    pub logs: &'a LogPositions,
}

/// Writes a complete checkpoint for `run.state.next_step` under `run_dir/checkpoints/`:
/// `write_agent` puts the agent's own files (networks, optimisers, normalisers) into the
/// checkpoint directory it is given, then the state, config and log positions follow, and last
/// the completion marker with the manifest of them all.
pub fn save(
    run_dir: &Path,
    run: RunRecord<'_>,
    write_agent: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = begin_checkpoint(run_dir, run.state.next_step)?;
    write_agent(&dir)?;
    write_json_atomically(&dir.join(STATE_FILE), run.state)?;
    write_atomically(&dir.join(CONFIG_FILE), run.config.as_bytes())?;
    write_json_atomically(&dir.join(LOGS_FILE), run.logs)?;
    let manifest = Manifest::of_dir(&dir)?;
    mark_checkpoint_complete(&dir, &manifest.to_json())?;
    Ok(())
}

/// The checkpoint at `step` (None: the latest complete one), verified against its manifest and
/// with its state read; Ok(None) when the run has no complete checkpoint and none was asked for.
/// A checkpoint without a manifest (written before they existed) is loaded with a warning.
pub fn open(run_dir: &Path, step: Option<u64>) -> Result<Option<Resume>, CheckpointError> {
    let complete = complete_checkpoints(run_dir)?;
    let chosen = match step {
        Some(step) => complete
            .iter()
            .find(|checkpoint| checkpoint.step == step)
            .ok_or_else(|| CheckpointError::NoSuchStep {
                run_dir: run_dir.to_path_buf(),
                step,
                available: complete.iter().map(|checkpoint| checkpoint.step).collect(),
            })?,
        None => {
            let Some(latest) = complete.last() else {
                return Ok(None);
            };
            for (later, dir) in step_dirs(run_dir)? {
                if later > latest.step {
                    eprintln!(
                        "note: {} has no COMPLETE marker (the run stopped while writing it); \
                         using the checkpoint at step {}",
                        dir.display(),
                        latest.step
                    );
                }
            }
            latest
        }
    };
    let dir = &chosen.dir;
    if verify(dir)? == Verified::NoManifest {
        eprintln!(
            "warning: {} has no manifest (written before checkpoints checked themselves), so its \
             files cannot be verified; loading it as it is",
            dir.display()
        );
    }
    Ok(Some(Resume {
        checkpoint_dir: dir.clone(),
        state: read_json(dir, STATE_FILE)?,
        config: read_optional_text(dir, CONFIG_FILE)?,
        logs: if dir.join(LOGS_FILE).is_file() {
            Some(read_json(dir, LOGS_FILE)?)
        } else {
            None
        },
    }))
}

/// The step of the newest complete checkpoint before `step` that passes verification (or has
/// no manifest to verify against), if any: what to fall back on when the one at `step` is
/// damaged.
pub fn previous_intact(run_dir: &Path, step: u64) -> Option<u64> {
    let complete = complete_checkpoints(run_dir).ok()?;
    complete
        .iter()
        .rev()
        .filter(|checkpoint| checkpoint.step < step)
        .find(|checkpoint| {
            verify(&checkpoint.dir).is_ok()
                && read_json::<TrainingState>(&checkpoint.dir, STATE_FILE).is_ok()
        })
        .map(|checkpoint| checkpoint.step)
}

/// The step of a checkpoint directory `step_{step:012}`.
pub fn step_of(checkpoint_dir: &Path) -> Option<u64> {
    checkpoint_dir
        .file_name()?
        .to_str()?
        .strip_prefix("step_")?
        .parse()
        .ok()
}

#[derive(Debug, PartialEq, Eq)]
enum Verified {
    Manifest,
    NoManifest,
}

fn verify(dir: &Path) -> Result<Verified, CheckpointError> {
    match manifest::read(dir)? {
        Marker::Manifest(manifest) => {
            manifest.verify(dir)?;
            Ok(Verified::Manifest)
        }
        Marker::Legacy => Ok(Verified::NoManifest),
    }
}

fn read_json<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<T, CheckpointError> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|error| CheckpointError::unreadable(dir, name, error))?;
    serde_json::from_str(&text).map_err(|error| CheckpointError::unreadable(dir, name, error))
}

fn read_optional_text(dir: &Path, name: &str) -> Result<Option<String>, CheckpointError> {
    match std::fs::read_to_string(dir.join(name)) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(CheckpointError::unreadable(dir, name, error)),
    }
}

/// Writes a replay buffer into a checkpoint directory.
pub fn save_replay(checkpoint_dir: &Path, buffer: &ReplayBuffer) -> anyhow::Result<()> {
    buffer.save(&checkpoint_dir.join(REPLAY_FILE))
}

/// The replay buffer stored in a checkpoint directory, if it has one, checked against the
/// `expected` shape (the run's buffer_size and the env's spaces).
pub fn load_replay(
    checkpoint_dir: &Path,
    expected: ReplayShape,
) -> Result<Option<ReplayBuffer>, CheckpointError> {
    let path = checkpoint_dir.join(REPLAY_FILE);
    if !path.exists() {
        return Ok(None);
    }
    ReplayBuffer::load(&path, expected)
        .map(Some)
        .map_err(|error| CheckpointError::unreadable(checkpoint_dir, REPLAY_FILE, error))
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
