//! `gymnasium.wrappers.NormalizeReward`, plus CleanRL's clip to +-10.

use crate::env::{Env, Step};
use crate::error::EnvError;
use crate::wrappers::running_mean_std::RunningMeanStd;

pub const DEFAULT_EPSILON: f64 = 1e-8;
/// CleanRL's PPO clips normalised rewards to [-10, 10].
pub const DEFAULT_CLIP: f64 = 10.0;

/// Divides each reward by the running standard deviation of the discounted return
/// `G = gamma * G * (1 - terminated) + r` (not centred, see openai/baselines#538), then clips.
///
/// Gymnasium 1.x semantics, kept on purpose so that returns compare: `terminated` is that of
/// the current step, so a terminal step sets `G = r`; neither truncation nor `reset` clears
/// `G`, so the next episode continues from it. Statistics update while training; freeze them
/// with `set_training(false)`; save and restore them with `statistics` / `set_statistics`.
/// `set_enabled(false)` hands the rewards through untouched.
#[derive(Debug, Clone)]
pub struct NormalizeReward<E> {
    env: E,
    statistics: RunningMeanStd,
    discounted_return: f64,
    gamma: f64,
    epsilon: f64,
    clip: Option<f64>,
    training: bool,
    enabled: bool,
}

super::inner_env_access!(NormalizeReward);

impl<E: Env> NormalizeReward<E> {
    /// Epsilon 1e-8, clip 10.
    pub fn new(env: E, gamma: f64) -> Result<Self, EnvError> {
        Self::with_settings(env, gamma, DEFAULT_EPSILON, Some(DEFAULT_CLIP))
    }

    /// `clip: None` leaves the normalised reward unclipped (Gymnasium's own behaviour).
    pub fn with_settings(
        env: E,
        gamma: f64,
        epsilon: f64,
        clip: Option<f64>,
    ) -> Result<Self, EnvError> {
        let invalid = |what: String| {
            EnvError::InvalidArgument(format!("NormalizeReward on {}: {what}", env.id()))
        };
        if !(0.0..=1.0).contains(&gamma) {
            return Err(invalid(format!("gamma must be in [0, 1], got {gamma}")));
        }
        if !(epsilon > 0.0 && epsilon.is_finite()) {
            return Err(invalid(format!("epsilon must be positive, got {epsilon}")));
        }
        if let Some(clip) = clip.filter(|c| c.is_nan() || *c <= 0.0) {
            return Err(invalid(format!("clip must be positive, got {clip}")));
        }
        Ok(Self {
            env,
            statistics: RunningMeanStd::new(1),
            discounted_return: 0.0,
            gamma,
            epsilon,
            clip,
            training: true,
            enabled: true,
        })
    }

    /// Statistics of the discounted return (one component).
    pub fn statistics(&self) -> &RunningMeanStd {
        &self.statistics
    }

    pub fn set_statistics(&mut self, statistics: RunningMeanStd) -> Result<(), EnvError> {
        statistics.check_compatible(1, "NormalizeReward")?;
        self.statistics = statistics;
        Ok(())
    }

    /// `false` freezes the statistics (Gymnasium's `update_running_mean = False`).
    pub fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    pub fn is_training(&self) -> bool {
        self.training
    }

    /// `false` returns the inner env's rewards as they are, and neither the discounted return
    /// nor the statistics change.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The running discounted return `G` the statistics are fed with.
    pub fn discounted_return(&self) -> f64 {
        self.discounted_return
    }
}

impl<E: Env> Env for NormalizeReward<E> {
    crate::forward_env!(env: id, observation_space, action_space, reset, reset_to_state, render);

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        let mut step = self.env.step(action)?;
        if !self.enabled {
            return Ok(step);
        }
        let continuing = if step.terminated { 0.0 } else { 1.0 };
        self.discounted_return = self.discounted_return * self.gamma * continuing + step.reward;
        if self.training {
            self.statistics.update(&[self.discounted_return]);
        }
        let bound = self.clip.unwrap_or(f64::INFINITY);
        step.reward =
            (step.reward / (self.statistics.var[0] + self.epsilon).sqrt()).clamp(-bound, bound);
        Ok(step)
    }
}
