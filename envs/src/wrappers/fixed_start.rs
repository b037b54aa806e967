//! Every episode from one start state: a task whose evaluation return must spread only by its
//! own risk (the penalty coin), not by where the episode began.

use serde_json::Value;

use crate::env::{Env, Info};
use crate::error::EnvError;
use crate::render::Frame;

/// `reset(seed)` starts every episode from `state` (the env's `reset_to_state` form, checked
/// once here); the seed still reseeds the env's streams. `reset_to_state` is handed through, so
/// an evaluation can still ask for another start.
#[derive(Debug, Clone)]
pub struct FixedStart<E> {
    env: E,
    state: Value,
    /// The check in `new` resets the env; until the caller's first reset, `render` still
    /// answers None, as for any env that was never reset.
    reset_by_caller: bool,
}

super::inner_env_access!(FixedStart);

impl<E: Env> FixedStart<E> {
    /// An error if `env` does not accept `state`.
    pub fn new(mut env: E, state: Value) -> Result<Self, EnvError> {
        env.reset_to_state(Some(0), &state)?;
        Ok(Self {
            env,
            state,
            reset_by_caller: false,
        })
    }

    pub fn state(&self) -> &Value {
        &self.state
    }
}

impl<E: Env> Env for FixedStart<E> {
    crate::forward_env!(env: id, observation_space, action_space, step);

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        self.reset_by_caller = true;
        self.env
            .reset_to_state(seed, &self.state)
            .expect("the start state was accepted by this env when the wrapper was built")
    }

    fn reset_to_state(
        &mut self,
        seed: Option<u64>,
        state: &Value,
    ) -> Result<(Vec<f64>, Info), EnvError> {
        let reset = self.env.reset_to_state(seed, state)?;
        self.reset_by_caller = true;
        Ok(reset)
    }

    fn render(&self) -> Option<Frame> {
        if self.reset_by_caller {
            self.env.render()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classic::Pendulum;
    use serde_json::json;

    #[test]
    fn every_seed_starts_from_the_state_and_a_state_the_env_refuses_is_an_error() {
        let start = json!({"state": [1.0, 0.5]});
        let expected = Pendulum::new().reset_to_state(Some(0), &start).unwrap().0;
        let mut env = FixedStart::new(Pendulum::new(), start).unwrap();
        for seed in [Some(0), Some(9), None] {
            assert_eq!(env.reset(seed).0, expected, "{seed:?}");
        }
        let (observation, _) = env
            .reset_to_state(Some(1), &json!({"state": [0.0, 0.0]}))
            .unwrap();
        assert_eq!(observation, vec![1.0, 0.0, 0.0]);
        assert_ne!(Pendulum::new().reset(Some(9)).0, expected);
        assert!(FixedStart::new(Pendulum::new(), json!({"state": [1.0]})).is_err());
    }
}
