//! A uniform replay buffer in plain host memory (never on the autodiff graph). It stores the true
//! next observation of every transition, the final one at a truncation included, and only
//! `terminated` as the end flag: a time-limit truncation bootstraps from the next state's value.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, bail};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One transition as the training loop produces it.
pub struct Transition<'a> {
    pub obs: &'a [f32],
    pub action: &'a [f32],
    pub reward: f32,
    pub next_obs: &'a [f32],
    pub terminated: bool,
}

/// A sampled mini-batch, row-major: `obs` is [batch, obs_dim], `terminated` is 1.0 or 0.0.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub size: usize,
    pub obs: Vec<f32>,
    pub actions: Vec<f32>,
    pub rewards: Vec<f32>,
    pub next_obs: Vec<f32>,
    pub terminated: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Layout {
    capacity: usize,
    obs_dim: usize,
    action_dim: usize,
    len: usize,
    next_slot: usize,
}

#[derive(Debug, Clone)]
pub struct ReplayBuffer {
    layout: Layout,
    obs: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    next_obs: Vec<f32>,
    terminated: Vec<f32>,
}

impl ReplayBuffer {
    /// Storage grows with use up to `capacity` transitions, then the oldest are overwritten.
    pub fn new(capacity: usize, obs_dim: usize, action_dim: usize) -> Self {
        Self {
            layout: Layout {
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
        } = self.layout;
        debug_assert_eq!(transition.obs.len(), obs_dim);
        debug_assert_eq!(transition.action.len(), action_dim);
        let terminated = if transition.terminated { 1.0 } else { 0.0 };
        if len < capacity {
            self.obs.extend_from_slice(transition.obs);
            self.actions.extend_from_slice(transition.action);
            self.rewards.push(transition.reward);
            self.next_obs.extend_from_slice(transition.next_obs);
            self.terminated.push(terminated);
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

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut input = BufReader::new(file);
        let mut header = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            input.read_exact(&mut byte)?;
            if byte[0] == b'\n' {
                break;
            }
            header.push(byte[0]);
        }
        let layout: Layout = serde_json::from_slice(&header)
            .with_context(|| format!("reading the header of {}", path.display()))?;
        let mut read_array = |count: usize| -> anyhow::Result<Vec<f32>> {
            let mut bytes = vec![0u8; count * 4];
            input
                .read_exact(&mut bytes)
                .with_context(|| format!("{} is truncated", path.display()))?;
            Ok(bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        };
        let len = layout.len;
        let buffer = Self {
            obs: read_array(len * layout.obs_dim)?,
            actions: read_array(len * layout.action_dim)?,
            rewards: read_array(len)?,
            next_obs: read_array(len * layout.obs_dim)?,
            terminated: read_array(len)?,
            layout,
        };
        if input.read(&mut byte)? != 0 {
            bail!(
                "{} has trailing bytes after the replay data",
                path.display()
            );
        }
        Ok(buffer)
    }

    fn arrays(&self) -> [&[f32]; 5] {
        [
            &self.obs,
            &self.actions,
            &self.rewards,
            &self.next_obs,
            &self.terminated,
        ]
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
        }
    }

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
        let loaded = ReplayBuffer::load(&path).unwrap();
        assert_eq!(loaded.layout, buffer.layout);
        assert_eq!(loaded.arrays(), buffer.arrays());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
