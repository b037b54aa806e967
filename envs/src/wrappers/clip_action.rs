//! `gymnasium.wrappers.ClipAction`.

use crate::env::{BoxSpace, DType, Env, Step, validate_action};
use crate::error::EnvError;

/// Clips each action component into the wrapped env's action bounds, so a policy with an
/// unbounded output (e.g. PPO's Gaussian) can act. The exposed action space is unbounded.
/// A NaN or infinite component is still an error: clipping would hide a broken policy.
#[derive(Debug, Clone)]
pub struct ClipAction<E> {
    env: E,
    action_space: BoxSpace,
}

super::inner_env_access!(ClipAction);

impl<E: Env> ClipAction<E> {
    pub fn new(env: E) -> Self {
        let inner = env.action_space();
        let action_space = BoxSpace {
            low: vec![f64::NEG_INFINITY; inner.dim()],
            high: vec![f64::INFINITY; inner.dim()],
            shape: inner.shape.clone(),
            dtype: DType::F32,
        };
        Self { env, action_space }
    }
}

impl<E: Env> Env for ClipAction<E> {
    crate::forward_env!(env: id, observation_space, reset, reset_to_state, render);

    fn action_space(&self) -> &BoxSpace {
        &self.action_space
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        validate_action(self.env.id(), &self.action_space, action)?;
        let bounds = self.env.action_space();
        let clipped: Vec<f32> = action
            .iter()
            .zip(bounds.low.iter().zip(&bounds.high))
            .map(|(&a, (&low, &high))| a.clamp(low as f32, high as f32))
            .collect();
        self.env.step(&clipped)
    }
}
