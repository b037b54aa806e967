//! `gymnasium.wrappers.TimeLimit`.

use crate::env::{Env, Info, Step};
use crate::error::EnvError;

/// Sets `truncated` on the step that reaches `max_episode_steps` (and on any later step, if
/// the caller keeps stepping). Never touches `terminated`: an episode that ends at the limit
/// because of the limit must bootstrap from its last observation.
#[derive(Debug, Clone)]
pub struct TimeLimit<E> {
    env: E,
    max_episode_steps: usize,
    elapsed_steps: usize,
}

super::inner_env_access!(TimeLimit);

impl<E: Env> TimeLimit<E> {
    pub fn new(env: E, max_episode_steps: usize) -> Result<Self, EnvError> {
        if max_episode_steps == 0 {
            return Err(EnvError::InvalidArgument(format!(
                "TimeLimit on {}: max_episode_steps must be positive, got 0",
                env.id()
            )));
        }
        Ok(Self {
            env,
            max_episode_steps,
            elapsed_steps: 0,
        })
    }

    pub fn max_episode_steps(&self) -> usize {
        self.max_episode_steps
    }

    /// Steps taken since the last reset.
    pub fn elapsed_steps(&self) -> usize {
        self.elapsed_steps
    }

    fn on_reset(&mut self, _seed: Option<u64>, reset: (Vec<f64>, Info)) -> (Vec<f64>, Info) {
        self.elapsed_steps = 0;
        reset
    }
}

impl<E: Env> Env for TimeLimit<E> {
    crate::forward_env!(env: id, observation_space, action_space, render, resets);

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        let mut step = self.env.step(action)?;
        self.elapsed_steps += 1;
        if self.elapsed_steps >= self.max_episode_steps {
            step.truncated = true;
        }
        Ok(step)
    }
}
