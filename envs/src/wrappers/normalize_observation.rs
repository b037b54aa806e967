//! `gymnasium.wrappers.NormalizeObservation`, plus CleanRL's clip to +-10.

use crate::env::{BoxSpace, DType, Env, Info, Step};
use crate::error::EnvError;
use crate::wrappers::running_mean_std::RunningMeanStd;

pub const DEFAULT_EPSILON: f64 = 1e-8;
/// CleanRL's PPO clips normalised observations to [-10, 10].
pub const DEFAULT_CLIP: f64 = 10.0;

/// Returns `clip((obs - mean) / sqrt(var + epsilon))` with running per-component statistics,
/// updated with every observation (reset ones included, as Gymnasium's `ObservationWrapper`
/// does) while training. Like Gymnasium, the result is rounded to float32. Freeze the
/// statistics with `set_training(false)` for evaluation; save and restore them with
/// `statistics` / `set_statistics` (they belong in a checkpoint). `set_enabled(false)` hands the
/// observations through untouched, so that an agent's env stack keeps one type whether it
/// normalises or not.
#[derive(Debug, Clone)]
pub struct NormalizeObservation<E> {
    env: E,
    statistics: RunningMeanStd,
    epsilon: f64,
    clip: Option<f64>,
    training: bool,
    enabled: bool,
    observation_space: BoxSpace,
}

super::inner_env_access!(NormalizeObservation);

impl<E: Env> NormalizeObservation<E> {
    /// Epsilon 1e-8, clip 10.
    pub fn new(env: E) -> Self {
        Self::with_settings(env, DEFAULT_EPSILON, Some(DEFAULT_CLIP))
            .expect("the default settings are valid")
    }

    /// `clip: None` leaves the normalised observation unclipped (Gymnasium's own behaviour).
    pub fn with_settings(env: E, epsilon: f64, clip: Option<f64>) -> Result<Self, EnvError> {
        if !(epsilon > 0.0 && epsilon.is_finite()) {
            return Err(EnvError::InvalidArgument(format!(
                "NormalizeObservation on {}: epsilon must be positive, got {epsilon}",
                env.id()
            )));
        }
        if let Some(clip) = clip.filter(|c| c.is_nan() || *c <= 0.0) {
            return Err(EnvError::InvalidArgument(format!(
                "NormalizeObservation on {}: clip must be positive, got {clip}",
                env.id()
            )));
        }
        let dim = env.observation_space().dim();
        let bound = clip.unwrap_or(f64::INFINITY);
        let observation_space = BoxSpace {
            low: vec![-bound; dim],
            high: vec![bound; dim],
            shape: env.observation_space().shape.clone(),
            dtype: DType::F32,
        };
        Ok(Self {
            env,
            statistics: RunningMeanStd::new(dim),
            epsilon,
            clip,
            training: true,
            enabled: true,
            observation_space,
        })
    }

    pub fn statistics(&self) -> &RunningMeanStd {
        &self.statistics
    }

    /// Restores statistics saved from an env with the same observation space.
    pub fn set_statistics(&mut self, statistics: RunningMeanStd) -> Result<(), EnvError> {
        statistics.check_compatible(self.statistics.dim(), "NormalizeObservation")?;
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

    /// `false` returns the inner env's observations (and observation space) as they are, and
    /// leaves the statistics alone.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    fn on_reset(&mut self, _seed: Option<u64>, reset: (Vec<f64>, Info)) -> (Vec<f64>, Info) {
        let (observation, info) = reset;
        (self.normalize(observation), info)
    }

    fn normalize(&mut self, observation: Vec<f64>) -> Vec<f64> {
        if !self.enabled {
            return observation;
        }
        if self.training {
            self.statistics.update(&observation);
        }
        let bound = self.clip.unwrap_or(f64::INFINITY);
        observation
            .iter()
            .zip(self.statistics.mean.iter().zip(&self.statistics.var))
            .map(|(&x, (&mean, &var))| {
                let normalized = ((x - mean) / (var + self.epsilon).sqrt()).clamp(-bound, bound);
                f64::from(normalized as f32)
            })
            .collect()
    }
}

impl<E: Env> Env for NormalizeObservation<E> {
    crate::forward_env!(env: id, action_space, render, resets);

    fn observation_space(&self) -> &BoxSpace {
        if self.enabled {
            &self.observation_space
        } else {
            self.env.observation_space()
        }
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        let mut step = self.env.step(action)?;
        step.observation = self.normalize(step.observation);
        Ok(step)
    }
}
