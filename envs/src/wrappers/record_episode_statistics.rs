//! `gymnasium.wrappers.RecordEpisodeStatistics`.

use std::collections::VecDeque;

use crate::env::{Env, EpisodeStatistics, Info, Step};
use crate::error::EnvError;

/// Gymnasium's default `buffer_length`.
pub const DEFAULT_BUFFER_LENGTH: usize = 100;

/// Adds `info.episode = {return, length}` on the step that ends an episode (terminated or
/// truncated), and keeps the last `buffer_length` of them. Place it inside the normalisers
/// so that it records the env's own rewards.
#[derive(Debug, Clone)]
pub struct RecordEpisodeStatistics<E> {
    env: E,
    episode_return: f64,
    episode_length: usize,
    episode_count: usize,
    recent_episodes: VecDeque<EpisodeStatistics>,
    buffer_length: usize,
}

super::inner_env_access!(RecordEpisodeStatistics);

impl<E: Env> RecordEpisodeStatistics<E> {
    pub fn new(env: E) -> Self {
        Self::with_buffer_length(env, DEFAULT_BUFFER_LENGTH)
    }

    pub fn with_buffer_length(env: E, buffer_length: usize) -> Self {
        Self {
            env,
            episode_return: 0.0,
            episode_length: 0,
            episode_count: 0,
            recent_episodes: VecDeque::with_capacity(buffer_length),
            buffer_length,
        }
    }

    /// Episodes finished since the wrapper was created.
    pub fn episode_count(&self) -> usize {
        self.episode_count
    }

    /// The last `buffer_length` finished episodes, oldest first.
    pub fn recent_episodes(&self) -> &VecDeque<EpisodeStatistics> {
        &self.recent_episodes
    }

    fn on_reset(&mut self, _seed: Option<u64>, reset: (Vec<f64>, Info)) -> (Vec<f64>, Info) {
        self.episode_return = 0.0;
        self.episode_length = 0;
        reset
    }
}

impl<E: Env> Env for RecordEpisodeStatistics<E> {
    crate::forward_env!(env: id, observation_space, action_space, render, resets);

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        let mut step = self.env.step(action)?;
        self.episode_return += step.reward;
        self.episode_length += 1;
        if step.is_done() {
            let statistics = EpisodeStatistics {
                episode_return: self.episode_return,
                length: self.episode_length,
            };
            step.info.episode = Some(statistics);
            self.episode_count += 1;
            if self.buffer_length > 0 {
                if self.recent_episodes.len() == self.buffer_length {
                    self.recent_episodes.pop_front();
                }
                self.recent_episodes.push_back(statistics);
            }
        }
        Ok(step)
    }
}
