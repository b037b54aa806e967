//! Evaluation episodes shared by every agent: the same start states for every run (episode i is
//! reset with seed `seed + i`), so returns of different agents and seeds compare.

use envs::wrappers::stochastic_penalty::{PENALTY_EVENT_KEY, RISKY_STEP_KEY};
use envs::{Env, Step};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::common::host::to_f32;

/// What one evaluation episode gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Episode {
    pub episode_return: f64,
    pub length: u64,
    /// Steps that drew a penalty, on a risky env (`StochasticPenalty`); None on other envs.
    pub penalty_events: Option<u64>,
    /// Steps on which the risk condition held, on a risky env.
    pub risky_steps: Option<u64>,
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
                if outcome.terminated || outcome.truncated {
                    return Ok(result);
                }
                obs = to_f32(&outcome.observation);
            }
        })
        .collect()
}
