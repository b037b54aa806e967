//! A tiny deterministic env for wrapper and vector-env tests.

use envs::{BoxSpace, Env, EnvError, Info, Step, validate_action};
use serde_json::Value;

/// Observation `[t, seed]` after `t` steps; reward = the action's first component; terminates
/// after `terminate_after` steps. Resets count in `resets`.
pub struct Counter {
    pub terminate_after: usize,
    pub t: usize,
    pub seed: Option<u64>,
    pub resets: usize,
    observation_space: BoxSpace,
    action_space: BoxSpace,
}

impl Counter {
    pub fn new(terminate_after: usize) -> Self {
        Self {
            terminate_after,
            t: 0,
            seed: None,
            resets: 0,
            observation_space: BoxSpace::new_f32(&[0.0, 0.0], &[1e6, 1e6]),
            action_space: BoxSpace::new_f32(&[-1.0, 0.0], &[1.0, 4.0]),
        }
    }

    fn observation(&self) -> Vec<f64> {
        vec![self.t as f64, self.seed.unwrap_or(0) as f64]
    }
}

impl Env for Counter {
    fn id(&self) -> &str {
        "Counter-v0"
    }

    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }

    fn action_space(&self) -> &BoxSpace {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        if seed.is_some() {
            self.seed = seed;
        }
        self.t = 0;
        self.resets += 1;
        (self.observation(), Info::default())
    }

    fn reset_to_state(
        &mut self,
        seed: Option<u64>,
        state: &Value,
    ) -> Result<(Vec<f64>, Info), EnvError> {
        self.reset(seed);
        self.t = state["t"].as_u64().unwrap() as usize;
        Ok((self.observation(), Info::default()))
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        validate_action(self.id(), &self.action_space, action)?;
        self.t += 1;
        let mut info = Info::default();
        info.values
            .insert("action_1".to_owned(), f64::from(action[1]));
        Ok(Step {
            observation: self.observation(),
            reward: f64::from(action[0]),
            terminated: self.t >= self.terminate_after,
            truncated: false,
            info,
        })
    }
}
