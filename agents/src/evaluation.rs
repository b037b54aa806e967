//! Evaluation episodes shared by every agent: the same start states for every run (episode i is
//! reset with seed `seed + i`), so returns of different agents and seeds compare.

use envs::Env;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::host::to_f32;

/// Returns of `episodes` full episodes in `env`, episode i reset with seed `seed + i`; `act`
/// maps an observation to an action, drawing any policy noise from the RNG it is given (seeded
/// with `seed`, so a stochastic evaluation repeats too).
pub fn evaluate(
    env: &mut dyn Env,
    episodes: usize,
    seed: u64,
    mut act: impl FnMut(&[f32], &mut ChaCha8Rng) -> Vec<f32>,
) -> anyhow::Result<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..episodes as u64)
        .map(|episode| {
            let mut obs = to_f32(&env.reset(Some(seed + episode)).0);
            let mut total = 0.0;
            loop {
                let action = act(&obs, &mut rng);
                let outcome = env.step(&action)?;
                total += outcome.reward;
                if outcome.terminated || outcome.truncated {
                    return Ok(total);
                }
                obs = to_f32(&outcome.observation);
            }
        })
        .collect()
}
