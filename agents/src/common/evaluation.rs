//! Evaluation episodes shared by every agent: the same start states for every run (episode i is
//! reset with seed `seed + i`), so returns of different agents and seeds compare.

use std::collections::BTreeMap;

use envs::wrappers::stochastic_penalty::{PENALTY_EVENT_KEY, RISKY_STEP_KEY};
use envs::{Env, Step};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::common::host::to_f32;

/// The prefix of the info keys that carry a term of the reward, as Gymnasium's MuJoCo v5 envs
/// report them (`reward_forward`, `reward_ctrl`, `reward_contact`, `reward_survive`, ...).
pub const REWARD_TERM_PREFIX: &str = "reward_";

/// What one evaluation episode gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub episode_return: f64,
    pub length: u64,
    /// Steps that drew a penalty, on a risky env (`StochasticPenalty`); None on other envs.
    pub penalty_events: Option<u64>,
    /// Steps on which the risk condition held, on a risky env.
    pub risky_steps: Option<u64>,
    /// The episode's sum of each reward term the env reports in its info (keys starting with
    /// [`REWARD_TERM_PREFIX`]); empty where it reports none.
    pub reward_terms: BTreeMap<String, f64>,
}

/// `episodes` full episodes in `env`, episode i reset with seed `seed + i` (and, with
/// `initial_state`, then put into that state: the spread of the returns is then the env's and
/// the policy's randomness alone, not the start's); `act` maps an observation to an action,
/// drawing any policy noise from the RNG it is given (seeded with `seed`, so a stochastic
/// evaluation repeats too).
pub fn evaluate(
    env: &mut dyn Env,
    episodes: usize,
    seed: u64,
    initial_state: Option<&serde_json::Value>,
    act: impl FnMut(&[f32], &mut ChaCha8Rng) -> Vec<f32>,
) -> anyhow::Result<Vec<Episode>> {
    evaluate_observed(env, episodes, seed, initial_state, act, |_, _, _| Ok(()))
}

/// [`evaluate`], calling `observe(env, i, None)` after episode i's reset and
/// `observe(env, i, Some(&step))` after each of its steps (e.g. to record a video).
pub fn evaluate_observed(
    env: &mut dyn Env,
    episodes: usize,
    seed: u64,
    initial_state: Option<&serde_json::Value>,
    mut act: impl FnMut(&[f32], &mut ChaCha8Rng) -> Vec<f32>,
    mut observe: impl FnMut(&dyn Env, usize, Option<&Step>) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<Episode>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..episodes as u64)
        .map(|episode| {
            let episode_seed = Some(seed + episode);
            let start = match initial_state {
                Some(state) => env.reset_to_state(episode_seed, state)?.0,
                None => env.reset(episode_seed).0,
            };
            observe(&*env, episode as usize, None)?;
            let mut obs = to_f32(&start);
            let mut result = Episode {
                episode_return: 0.0,
                length: 0,
                penalty_events: None,
                risky_steps: None,
                reward_terms: BTreeMap::new(),
            };
            loop {
                let action = act(&obs, &mut rng);
                let outcome = env.step(&action)?;
                observe(&*env, episode as usize, Some(&outcome))?;
                result.episode_return += outcome.reward;
                result.length += 1;
                let count = |key: &str, total: &mut Option<u64>| {
                    if let Some(&flag) = outcome.info.values.get(key) {
                        *total.get_or_insert(0) += u64::from(flag > 0.0);
                    }
                };
                count(PENALTY_EVENT_KEY, &mut result.penalty_events);
                count(RISKY_STEP_KEY, &mut result.risky_steps);
                for (key, value) in &outcome.info.values {
                    if key.starts_with(REWARD_TERM_PREFIX) {
                        *result.reward_terms.entry(key.clone()).or_insert(0.0) += value;
                    }
                }
                if outcome.terminated || outcome.truncated {
                    return Ok(result);
                }
                obs = to_f32(&outcome.observation);
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use envs::{BoxSpace, EnvError, Info};

    /// Episodes of `length` steps whose info carries two reward terms (1 and -0.25 a step) and
    /// one other value, as a MuJoCo v5 env reports `reward_forward` beside `x_position`.
    struct TermsEnv {
        space: BoxSpace,
        length: u64,
        steps: u64,
    }

    impl Env for TermsEnv {
        fn id(&self) -> &str {
            "Terms-v0"
        }
        fn observation_space(&self) -> &BoxSpace {
            &self.space
        }
        fn action_space(&self) -> &BoxSpace {
            &self.space
        }
        fn reset(&mut self, _seed: Option<u64>) -> (Vec<f64>, Info) {
            self.steps = 0;
            (vec![0.0], Info::default())
        }
        fn reset_to_state(
            &mut self,
            seed: Option<u64>,
            _state: &serde_json::Value,
        ) -> Result<(Vec<f64>, Info), EnvError> {
            Ok(self.reset(seed))
        }
        fn step(&mut self, _action: &[f32]) -> Result<Step, EnvError> {
            self.steps += 1;
            let mut info = Info::default();
            info.values.insert("reward_forward".into(), 1.0);
            info.values.insert("reward_ctrl".into(), -0.25);
            info.values.insert("x_position".into(), 7.0);
            Ok(Step {
                observation: vec![0.0],
                reward: 0.75,
                terminated: self.steps == self.length,
                truncated: false,
                info,
            })
        }
    }

    #[test]
    fn an_episode_sums_the_reward_terms_of_its_info_and_nothing_else() {
        let mut env = TermsEnv {
            space: BoxSpace::new_f32(&[-1.0], &[1.0]),
            length: 4,
            steps: 0,
        };
        let episodes = evaluate(&mut env, 2, 0, None, |_, _| vec![0.0]).unwrap();
        for episode in episodes {
            assert_eq!(episode.episode_return, 3.0);
            let terms: Vec<(&str, f64)> = episode
                .reward_terms
                .iter()
                .map(|(key, total)| (key.as_str(), *total))
                .collect();
            assert_eq!(terms, [("reward_ctrl", -1.0), ("reward_forward", 4.0)]);
            assert_eq!(episode.penalty_events, None);
        }
    }
}
