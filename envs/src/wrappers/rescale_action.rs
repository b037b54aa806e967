//! `gymnasium.wrappers.RescaleAction`.

use crate::env::{BoxSpace, DType, Env, Step, validate_action};
use crate::error::EnvError;

/// Maps actions from `[min_action, max_action]` (e.g. a tanh policy's [-1, 1]) affinely onto
/// the wrapped env's bounds: `low + (high - low) * (a - min) / (max - min)`, computed in
/// float64 and rounded to float32. Like Gymnasium, it does not clip: an action outside
/// `[min, max]` maps outside `[low, high]` and the env decides what to do with it.
#[derive(Debug, Clone)]
pub struct RescaleAction<E> {
    env: E,
    action_space: BoxSpace,
}

super::inner_env_access!(RescaleAction);

impl<E: Env> RescaleAction<E> {
    /// The same `[min_action, max_action]` for every component.
    pub fn new(env: E, min_action: f32, max_action: f32) -> Result<Self, EnvError> {
        let inner = env.action_space();
        if !inner.is_bounded() {
            return Err(EnvError::InvalidArgument(format!(
                "RescaleAction on {}: the action space must be bounded, got {inner:?}",
                env.id()
            )));
        }
        if !(min_action.is_finite() && max_action.is_finite() && min_action < max_action) {
            return Err(EnvError::InvalidArgument(format!(
                "RescaleAction on {}: need finite min_action < max_action, got [{min_action}, {max_action}]",
                env.id()
            )));
        }
        let action_space = BoxSpace {
            low: vec![f64::from(min_action); inner.dim()],
            high: vec![f64::from(max_action); inner.dim()],
            shape: inner.shape.clone(),
            dtype: DType::F32,
        };
        Ok(Self { env, action_space })
    }

    /// The wrapped env's action for the agent's `action`.
    pub fn rescale(&self, action: &[f32]) -> Vec<f32> {
        let target = self.env.action_space();
        action
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                let (min, max) = (self.action_space.low[i], self.action_space.high[i]);
                let (low, high) = (target.low[i], target.high[i]);
                (low + (high - low) * (f64::from(a) - min) / (max - min)) as f32
            })
            .collect()
    }
}

impl<E: Env> Env for RescaleAction<E> {
    crate::forward_env!(env: id, observation_space, reset, reset_to_state, render);

    fn action_space(&self) -> &BoxSpace {
        &self.action_space
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        validate_action(self.env.id(), &self.action_space, action)?;
        let rescaled = self.rescale(action);
        self.env.step(&rescaled)
    }
}
