//! Potential-based shaping for learners that rank whole episodes (PPO's episode groups).
//!
//! Such a learner compares episode returns, not per-step rewards, so the shaping it can use
//! without moving any optimum is the undiscounted sum of F = Phi(s') - Phi(s) over the episode,
//! which telescopes to Phi(s_T) - Phi(s_0) (Phi = 0 after a terminal step). From a fixed start
//! every episode that terminates gets the same constant added, so their order is untouched; only
//! episodes cut by the time limit are ordered among themselves by how far they got, which gives a
//! group of all-timeout episodes something to rank.

use super::ShapingPotential;
use crate::env::{Env, Info, Step};
use crate::error::EnvError;

/// The `info` key of the step that ends an episode: the episode's shaping Phi(s_T) - Phi(s_0).
pub const EPISODE_SHAPING_KEY: &str = "episode_shaping";

/// Leaves observations and rewards as they are; on the step that ends an episode (terminated or
/// truncated) it adds [`EPISODE_SHAPING_KEY`] to `info`. Wrap it inside any observation
/// normaliser: the potential reads the env's own observation.
#[derive(Debug, Clone)]
pub struct EpisodeShaping<E> {
    env: E,
    potential: ShapingPotential,
    start_potential: f64,
}

impl<E: Env> EpisodeShaping<E> {
    pub fn new(env: E, potential: ShapingPotential) -> Self {
        Self {
            env,
            potential,
            start_potential: 0.0,
        }
    }

    fn on_reset(&mut self, _seed: Option<u64>, reset: (Vec<f64>, Info)) -> (Vec<f64>, Info) {
        self.start_potential = (self.potential)(&reset.0);
        reset
    }
}

impl<E: Env> Env for EpisodeShaping<E> {
    crate::forward_env!(env: id, observation_space, action_space, render, resets);

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        let mut step = self.env.step(action)?;
        if step.terminated || step.truncated {
            let end_potential = if step.terminated {
                0.0
            } else {
                (self.potential)(&step.observation)
            };
            step.info.values.insert(
                EPISODE_SHAPING_KEY.to_string(),
                end_potential - self.start_potential,
            );
        }
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risky::{car, crossing, shaping_potential};

    fn shaped(id: &str) -> EpisodeShaping<Box<dyn Env>> {
        EpisodeShaping::new(crate::make(id).unwrap(), shaping_potential(id).unwrap())
    }

    #[test]
    fn a_terminated_episode_carries_minus_the_start_potential_and_no_other_step_carries_any() {
        // The crossing's direct path: 7 steps up from (0.1, 0.1) to the goal (0.1, 0.8).
        let mut env = shaped(crossing::ID);
        let (start, _) = env.reset(Some(3));
        let start_potential = crossing::shaping_potential(&start);
        assert!(
            start_potential < -7.0,
            "start is 0.8 from the goal: {start_potential}"
        );
        for step_index in 0..7 {
            let step = env.step(&[0.0, 1.0]).unwrap();
            let ended = step.terminated || step.truncated;
            assert_eq!(
                ended,
                step_index == 6,
                "the goal is reached at the 7th step"
            );
            match step.info.values.get(EPISODE_SHAPING_KEY) {
                Some(&shaping) => assert_eq!(shaping, -start_potential),
                None => assert!(!ended),
            }
        }
    }

    #[test]
    fn a_truncated_episode_is_credited_with_how_far_it_got() {
        // Standing still until the time limit: the car's potential is 100 x, x stays 0.
        let mut env = shaped(car::ID);
        env.reset(Some(1));
        let mut last = None;
        for _ in 0..100 {
            let step = env.step(&[0.0]).unwrap();
            if step.truncated {
                last = Some(step);
                break;
            }
        }
        let last = last.expect("the car's time limit is 100 steps");
        assert_eq!(last.info.values[EPISODE_SHAPING_KEY], 0.0);

        // Crawling forward: credited with 100 x at the cut.
        env.reset(Some(1));
        let mut crawled = None;
        for step_index in 0..100 {
            let action = if step_index == 0 { 0.1 } else { 0.0 };
            let step = env.step(&[action]).unwrap();
            if step.truncated {
                crawled = Some(step);
                break;
            }
        }
        let crawled = crawled.unwrap();
        let shaping = crawled.info.values[EPISODE_SHAPING_KEY];
        let expected = car::shaping_potential(&crawled.observation);
        assert!(
            shaping > 0.0 && (shaping - expected).abs() < 1e-9,
            "{shaping} vs {expected}"
        );
    }
}
