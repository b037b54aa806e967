//! A uniform replay buffer in plain host memory (never on the autodiff graph). It stores the true
//! next observation of every transition, the final one at a truncation included, and only
//! `terminated` as the end flag: a time-limit truncation bootstraps from the next state's value.
//! A transition may span several env steps (`n_step`): its reward is then their discounted sum,
//! its next observation the state after the last of them, and it records how many they were.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::Context;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The longest header line a replay file may have; a real one is under 100 bytes, and a
/// damaged file without a newline must not be read whole into memory to find out.
const MAX_HEADER_BYTES: usize = 4096;

/// The file format [`ReplayBuffer::save`] writes: 2 added the bootstrap steps of each
/// transition; a file of format 1 (no `format` in its header) loads with 1 step everywhere.
const FORMAT: u32 = 2;

/// Why a replay file cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ReplayFileError {
    #[error("could not read it: {0}")]
    Io(#[from] std::io::Error),
    #[error("its header is damaged: {0}")]
    Header(String),
    /// The header is well-formed but does not fit the run or the file.
    #[error("{0}")]
    Mismatch(String),
}

/// The buffer a run expects to load: its config's buffer_size and its env's spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayShape {
    pub capacity: usize,
    pub obs_dim: usize,
    pub action_dim: usize,
}

/// One transition as the training loop produces it: `bootstrap_steps` env steps from `obs`
/// to `next_obs` (1 but for n-step targets), `reward` their discounted reward.
pub struct Transition<'a> {
    pub obs: &'a [f32],
    pub action: &'a [f32],
    pub reward: f32,
    pub next_obs: &'a [f32],
    pub terminated: bool,
    pub bootstrap_steps: u32,
}

/// A sampled mini-batch, row-major: `obs` is [batch, obs_dim], `terminated` is 1.0 or 0.0,
/// `bootstrap_steps` the env steps each transition spans (its target bootstraps with
/// gamma to that power).
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub size: usize,
    pub obs: Vec<f32>,
    pub actions: Vec<f32>,
    pub rewards: Vec<f32>,
    pub next_obs: Vec<f32>,
    pub terminated: Vec<f32>,
    pub bootstrap_steps: Vec<f32>,
}

impl Batch {
    /// Appends `transition` as the batch's last row.
    pub fn push(&mut self, transition: Transition<'_>) {
        self.obs.extend_from_slice(transition.obs);
        self.actions.extend_from_slice(transition.action);
        self.rewards.push(transition.reward);
        self.next_obs.extend_from_slice(transition.next_obs);
        self.terminated
            .push(if transition.terminated { 1.0 } else { 0.0 });
        self.bootstrap_steps.push(transition.bootstrap_steps as f32);
        self.size += 1;
    }

    /// gamma to the power of each transition's bootstrap steps, the discount of its next
    /// state's value.
    pub fn discounts(&self, gamma: f64) -> Vec<f32> {
        self.bootstrap_steps
            .iter()
            .map(|&steps| gamma.powi(steps as i32) as f32)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layout {
    #[serde(default = "first_format")]
    format: u32,
    capacity: usize,
    obs_dim: usize,
    action_dim: usize,
    len: usize,
    next_slot: usize,
}

fn first_format() -> u32 {
    1
}

#[derive(Debug, Clone)]
pub struct ReplayBuffer {
    layout: Layout,
    obs: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    next_obs: Vec<f32>,
    terminated: Vec<f32>,
    bootstrap_steps: Vec<f32>,
}

impl ReplayBuffer {
    /// Storage grows with use up to `capacity` transitions, then the oldest are overwritten.
    pub fn new(capacity: usize, obs_dim: usize, action_dim: usize) -> Self {
        Self {
            layout: Layout {
                format: FORMAT,
                capacity,
                obs_dim,
                action_dim,
                len: 0,
                next_slot: 0,
            },
            obs: Vec::new(),
            actions: Vec::new(),
            rewards: Vec::new(),
            next_obs: Vec::new(),
            terminated: Vec::new(),
            bootstrap_steps: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.layout.len
    }

    pub fn is_empty(&self) -> bool {
        self.layout.len == 0
    }

    pub fn push(&mut self, transition: Transition<'_>) {
        let Layout {
            capacity,
            obs_dim,
            action_dim,
            len,
            next_slot,
            ..
        } = self.layout;
        debug_assert_eq!(transition.obs.len(), obs_dim);
        debug_assert_eq!(transition.action.len(), action_dim);
        let terminated = if transition.terminated { 1.0 } else { 0.0 };
        let bootstrap_steps = transition.bootstrap_steps as f32;
        if len < capacity {
            self.obs.extend_from_slice(transition.obs);
            self.actions.extend_from_slice(transition.action);
            self.rewards.push(transition.reward);
            self.next_obs.extend_from_slice(transition.next_obs);
            self.terminated.push(terminated);
            self.bootstrap_steps.push(bootstrap_steps);
            self.layout.len += 1;
        } else {
            let slot = next_slot;
            self.obs[slot * obs_dim..(slot + 1) * obs_dim].copy_from_slice(transition.obs);
            self.actions[slot * action_dim..(slot + 1) * action_dim]
                .copy_from_slice(transition.action);
            self.rewards[slot] = transition.reward;
            self.next_obs[slot * obs_dim..(slot + 1) * obs_dim]
                .copy_from_slice(transition.next_obs);
            self.terminated[slot] = terminated;
            self.bootstrap_steps[slot] = bootstrap_steps;
        }
        self.layout.next_slot = (next_slot + 1) % capacity;
    }

    /// `batch_size` transitions drawn uniformly with replacement, as SB3 and CleanRL do.
    pub fn sample(&self, batch_size: usize, rng: &mut impl Rng, batch: &mut Batch) {
        let Layout {
            obs_dim,
            action_dim,
            len,
            ..
        } = self.layout;
        assert!(len > 0, "cannot sample from an empty replay buffer");
        batch.size = batch_size;
        for buffer in [
            &mut batch.obs,
            &mut batch.actions,
            &mut batch.rewards,
            &mut batch.next_obs,
            &mut batch.terminated,
            &mut batch.bootstrap_steps,
        ] {
            buffer.clear();
        }
        for _ in 0..batch_size {
            let i = rng.random_range(0..len);
            batch
                .obs
                .extend_from_slice(&self.obs[i * obs_dim..(i + 1) * obs_dim]);
            batch
                .actions
                .extend_from_slice(&self.actions[i * action_dim..(i + 1) * action_dim]);
            batch.rewards.push(self.rewards[i]);
            batch
                .next_obs
                .extend_from_slice(&self.next_obs[i * obs_dim..(i + 1) * obs_dim]);
            batch.terminated.push(self.terminated[i]);
            batch.bootstrap_steps.push(self.bootstrap_steps[i]);
        }
    }

    /// Writes the buffer as a JSON header line followed by the raw little-endian f32 arrays.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = BufWriter::new(file);
        serde_json::to_writer(&mut out, &self.layout)?;
        out.write_all(b"\n")?;
        for array in self.arrays() {
            for value in array {
                out.write_all(&value.to_le_bytes())?;
            }
        }
        out.flush()
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// Reads a buffer [`ReplayBuffer::save`] wrote. The header is checked against `expected`
    /// and against the file's size before anything is allocated, so a damaged or foreign file
    /// is an error, never a panic or an allocation the size of a corrupted count.
    pub fn load(path: &Path, expected: ReplayShape) -> Result<Self, ReplayFileError> {
        let file = File::open(path)?;
        let file_size = file.metadata()?.len();
        let mut input = BufReader::new(file);
        let mut header = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            if input.read(&mut byte)? == 0 {
                return Err(ReplayFileError::Header(
                    "it ends before its first newline".into(),
                ));
            }
            if byte[0] == b'\n' {
                break;
            }
            header.push(byte[0]);
            if header.len() > MAX_HEADER_BYTES {
                return Err(ReplayFileError::Header(format!(
                    "no newline in its first {MAX_HEADER_BYTES} bytes"
                )));
            }
        }
        let layout: Layout = serde_json::from_slice(&header)
            .map_err(|error| ReplayFileError::Header(error.to_string()))?;
        let payload_bytes = layout.check(expected)?;
        let available = file_size.saturating_sub(header.len() as u64 + 1);
        if available != payload_bytes {
            return Err(ReplayFileError::Mismatch(format!(
                "its header says {} transitions ({payload_bytes} bytes), but {available} bytes follow it",
                layout.len
            )));
        }
        let mut read_array = |count: usize| -> Result<Vec<f32>, ReplayFileError> {
            let mut bytes = vec![0u8; count * 4];
            input.read_exact(&mut bytes)?;
            Ok(bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        };
        let len = layout.len;
        let obs = read_array(len * layout.obs_dim)?;
        let actions = read_array(len * layout.action_dim)?;
        let rewards = read_array(len)?;
        let next_obs = read_array(len * layout.obs_dim)?;
        let terminated = read_array(len)?;
        let bootstrap_steps = match layout.format {
            1 => vec![1.0; len],
            _ => read_array(len)?,
        };
        Ok(Self {
            obs,
            actions,
            rewards,
            next_obs,
            terminated,
            bootstrap_steps,
            // Written back in today's format.
            layout: Layout {
                format: FORMAT,
                ..layout
            },
        })
    }

    /// Every stored transition in slot order, as one batch (for tests elsewhere in the crate).
    #[cfg(test)]
    pub(crate) fn all(&self) -> Batch {
        Batch {
            size: self.layout.len,
            obs: self.obs.clone(),
            actions: self.actions.clone(),
            rewards: self.rewards.clone(),
            next_obs: self.next_obs.clone(),
            terminated: self.terminated.clone(),
            bootstrap_steps: self.bootstrap_steps.clone(),
        }
    }

    fn arrays(&self) -> [&[f32]; 6] {
        [
            &self.obs,
            &self.actions,
            &self.rewards,
            &self.next_obs,
            &self.terminated,
            &self.bootstrap_steps,
        ]
    }
}

impl Layout {
    /// Checks a loaded header against the run's buffer and against itself; returns the number
    /// of data bytes that must follow it.
    fn check(&self, expected: ReplayShape) -> Result<u64, ReplayFileError> {
        let mismatch = |message: String| Err(ReplayFileError::Mismatch(message));
        if !(1..=FORMAT).contains(&self.format) {
            return mismatch(format!(
                "it is in format {}, and this build reads formats 1 to {FORMAT} (a newer \
                 ordergrad wrote it?)",
                self.format
            ));
        }
        if self.capacity != expected.capacity {
            return mismatch(format!(
                "it holds a buffer of capacity {}, but the run's buffer_size is {}",
                self.capacity, expected.capacity
            ));
        }
        if (self.obs_dim, self.action_dim) != (expected.obs_dim, expected.action_dim) {
            return mismatch(format!(
                "it holds observations of size {} and actions of size {}, but the env has {} and {}",
                self.obs_dim, self.action_dim, expected.obs_dim, expected.action_dim
            ));
        }
        if self.len > self.capacity {
            return mismatch(format!(
                "its header says {} transitions in a buffer of capacity {}",
                self.len, self.capacity
            ));
        }
        // While filling, the next slot is the end; once full, it cycles through the buffer.
        let slot_fits = if self.len < self.capacity {
            self.next_slot == self.len
        } else {
            self.next_slot < self.capacity
        };
        if !slot_fits {
            return mismatch(format!(
                "its header's next_slot {} does not fit {} transitions in a buffer of capacity {}",
                self.next_slot, self.len, self.capacity
            ));
        }
        // Per transition: obs and next_obs, the action, the reward, the end flag and (from
        // format 2) the bootstrap steps, as f32.
        let per_step_floats = if self.format == 1 { 2 } else { 3 };
        let floats = (2 * self.obs_dim + self.action_dim + per_step_floats) as u64;
        (self.len as u64).checked_mul(floats * 4).map_or_else(
            || mismatch(format!("its length {} overflows", self.len)),
            Ok,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn push(buffer: &mut ReplayBuffer, value: f32, terminated: bool) {
        buffer.push(Transition {
            obs: &[value, value],
            action: &[-value],
            reward: value,
            next_obs: &[value + 0.5, value + 0.5],
            terminated,
            bootstrap_steps: 1 + value as u32 % 3,
        });
    }

    #[test]
    fn overwrites_the_oldest_transition_when_full() {
        let mut buffer = ReplayBuffer::new(3, 2, 1);
        for value in 0..5 {
            push(&mut buffer, value as f32, value == 4);
        }
        assert_eq!(buffer.len(), 3);
        assert_eq!(buffer.rewards, vec![3.0, 4.0, 2.0]);
        assert_eq!(buffer.terminated, vec![0.0, 1.0, 0.0]);
        assert_eq!(buffer.next_obs[2..4], [4.5, 4.5]);
    }

    #[test]
    fn samples_keep_fields_of_one_transition_together() {
        let mut buffer = ReplayBuffer::new(100, 2, 1);
        for value in 0..50 {
            push(&mut buffer, value as f32, value % 7 == 0);
        }
        let mut batch = Batch::default();
        buffer.sample(64, &mut ChaCha8Rng::seed_from_u64(3), &mut batch);
        for row in 0..64 {
            let value = batch.rewards[row];
            assert_eq!(batch.obs[row * 2], value);
            assert_eq!(batch.actions[row], -value);
            assert_eq!(batch.next_obs[row * 2 + 1], value + 0.5);
            assert_eq!(
                batch.terminated[row] == 1.0,
                (value as usize).is_multiple_of(7)
            );
            assert_eq!(batch.bootstrap_steps[row], (1 + value as u32 % 3) as f32);
        }
        for (discount, steps) in batch.discounts(0.5).into_iter().zip(&batch.bootstrap_steps) {
            assert_eq!(discount, 0.5f32.powi(*steps as i32));
        }
    }

    const SHAPE: ReplayShape = ReplayShape {
        capacity: 4,
        obs_dim: 2,
        action_dim: 1,
    };

    #[test]
    fn save_and_load_round_trip() {
        let dir = std::env::temp_dir().join(format!("ordergrad-replay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("replay.bin");
        let mut buffer = ReplayBuffer::new(4, 2, 1);
        for value in 0..6 {
            push(&mut buffer, value as f32 * 0.25, value == 2);
        }
        buffer.save(&path).unwrap();
        let loaded = ReplayBuffer::load(&path, SHAPE).unwrap();
        assert_eq!(loaded.layout, buffer.layout);
        assert_eq!(loaded.arrays(), buffer.arrays());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file written before the bootstrap steps were stored (format 1: no `format` in the
    /// header, no steps column) loads with one step per transition, and is saved again in
    /// today's format.
    #[test]
    fn a_format_1_file_loads_with_one_step_each() {
        let dir = std::env::temp_dir().join(format!("ordergrad-replay-v1-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("replay.bin");
        let mut buffer = ReplayBuffer::new(4, 2, 1);
        for value in 0..3 {
            push(&mut buffer, value as f32, value == 1);
        }
        let mut file =
            br#"{"capacity":4,"obs_dim":2,"action_dim":1,"len":3,"next_slot":3}"#.to_vec();
        file.push(b'\n');
        for array in &buffer.arrays()[..5] {
            for value in *array {
                file.extend_from_slice(&value.to_le_bytes());
            }
        }
        std::fs::write(&path, file).unwrap();
        let loaded = ReplayBuffer::load(&path, SHAPE).unwrap();
        assert_eq!(loaded.arrays()[..5], buffer.arrays()[..5]);
        assert_eq!(loaded.bootstrap_steps, vec![1.0; 3]);
        assert_eq!(loaded.layout.format, FORMAT);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The header is checked before anything is allocated: foreign capacities and sizes, and
    /// counts that do not fit the file, are errors that say which.
    #[test]
    fn a_header_that_does_not_fit_is_an_error() {
        let dir = std::env::temp_dir().join(format!("ordergrad-replay-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("replay.bin");
        let mut buffer = ReplayBuffer::new(4, 2, 1);
        for value in 0..3 {
            push(&mut buffer, value as f32, false);
        }
        buffer.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let newline = bytes.iter().position(|&b| b == b'\n').unwrap();
        let header = std::str::from_utf8(&bytes[..newline]).unwrap().to_string();
        let data = &bytes[newline..];
        for (edited, expected) in [
            (
                header.replace("\"capacity\":4", "\"capacity\":0"),
                "capacity 0",
            ),
            (
                header.replace("\"capacity\":4", "\"capacity\":10"),
                "capacity 10",
            ),
            (header.replace("\"len\":3", "\"len\":5"), "5 transitions"),
            (
                header.replace("\"len\":3", "\"len\":2"),
                "next_slot 3 does not fit 2",
            ),
            (
                header.replace("\"len\":3", "\"len\":18446744073709551615"),
                "transitions",
            ),
            (
                header.replace("\"obs_dim\":2", "\"obs_dim\":3"),
                "observations of size 3",
            ),
            (header.replace("\"format\":2", "\"format\":3"), "format 3"),
            ("{\"capacity\":".to_string(), "header is damaged"),
        ] {
            assert_ne!(edited, header);
            let mut file = edited.into_bytes();
            file.extend_from_slice(data);
            std::fs::write(&path, file).unwrap();
            let error = ReplayBuffer::load(&path, SHAPE).unwrap_err().to_string();
            assert!(error.contains(expected), "{expected}: {error}");
        }
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let error = ReplayBuffer::load(&path, SHAPE).unwrap_err().to_string();
        assert!(error.contains("bytes follow"), "{error}");
        std::fs::write(&path, vec![0u8; 10_000]).unwrap();
        let error = ReplayBuffer::load(&path, SHAPE).unwrap_err().to_string();
        assert!(error.contains("no newline"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
