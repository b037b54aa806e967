//! Risky tasks: a step that meets a condition may cost a large penalty, with a fixed chance, so
//! that the risk-neutral and the risk-averse optimum differ.
//!
//! - [`crossing`] (`RiskyCrossing-v0`) and [`car`] (`RiskyCar-v0`): small tasks written for it,
//!   with a fixed start, deterministic dynamics and both optima known exactly (see each module).
//! - `RiskyPendulum-v1` and (feature `mujoco`) `RiskyHalfCheetah-v5`: registered envs with a
//!   [`StochasticPenalty`] on a condition, under an id of their own. Each keeps its base env's
//!   time limit. `RiskyPendulum-v1` runs in pure Rust, so a risk-averse experiment takes
//!   minutes; `RiskyHalfCheetah-v5` is a locomotion task built to the same rules as the small
//!   tasks (fixed start, one large event per episode; see [`risky_half_cheetah_penalty`]).
//!
//! All of them toss the same [`coin`], so `info` reports risky steps and penalties under the same
//! keys everywhere.

pub mod car;
pub mod coin;
pub mod crossing;
pub mod episode_shaping;

pub use car::RiskyCar;
pub use coin::{Penalty, PenaltyCoin};
pub use crossing::RiskyCrossing;
pub use episode_shaping::{EPISODE_SHAPING_KEY, EpisodeShaping};

use crate::env::Env;
use crate::error::EnvError;
use crate::registry::EnvSpec;
#[cfg(feature = "mujoco")]
use crate::wrappers::FixedStart;
use crate::wrappers::stochastic_penalty::{PenaltySpec, RiskCondition, StochasticPenalty};

pub const RISKY_PENDULUM_ID: &str = "RiskyPendulum-v1";
pub const RISKY_HALF_CHEETAH_ID: &str = "RiskyHalfCheetah-v5";

/// Positions and speeds of the risky tasks are sums of tenths in f64 (0.1 + 7 * 0.1 is
/// 0.7999999999999999): their boundaries are compared with this slack, so that a path on the
/// grid of tenths arrives, or touches a band, where the arithmetic on paper says it does.
pub(crate) const POSITION_TOLERANCE: f64 = 1e-9;

/// A potential over observations for potential-based reward shaping (training only).
pub type ShapingPotential = fn(&[f64]) -> f64;

/// `step`'s reward plus F = gamma Phi(s') - Phi(s) (Ng, Harada and Russell 1999), s the
/// `observation` the step started from. Phi is 0 after a terminal step, so every optimal policy
/// is kept.
pub fn shaped_reward(
    potential: ShapingPotential,
    gamma: f64,
    observation: &[f64],
    step: &crate::Step,
) -> f64 {
    let next_potential = if step.terminated {
        0.0
    } else {
        potential(&step.observation)
    };
    step.reward + gamma * next_potential - potential(observation)
}

/// Exploring starts (training only): where a training episode starts, drawn from its reset
/// seed: None for the task's fixed start (half the episodes), else the `reset_to_state` value of
/// a state anywhere in the region the task's behaviours pass through, so that the critic learns
/// the returns of states off the path the policy takes now (the detour's, the slow car's),
/// which a risk-averse actor needs before it can turn to them. None for every seed on a task
/// without exploring starts ([`has_exploring_starts`]).
pub fn exploring_start(env_id: &str, reset_seed: u64) -> Option<serde_json::Value> {
    use rand::{Rng, SeedableRng};
    let (low, high): ([f64; 2], [f64; 2]) = match env_id {
        // The whole square.
        crossing::ID => ([0.0, 0.0], [1.0, 1.0]),
        // Short of the goal, at rest up to beyond full acceleration's top speed (about 2.3).
        car::ID => ([0.0, 0.0], [2.4, 2.4]),
        _ => return None,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(reset_seed);
    if rng.random_bool(0.5) {
        return None;
    }
    let state = [0, 1].map(|axis| rng.random_range(low[axis]..high[axis]));
    Some(serde_json::json!({ "state": state }))
}

pub fn has_exploring_starts(env_id: &str) -> bool {
    EXPLORING_START_IDS.contains(&env_id)
}

/// The ids [`exploring_start`] knows, for messages.
pub const EXPLORING_START_IDS: [&str; 2] = [crossing::ID, car::ID];

/// The shaping potential a task offers its learners, if any: the two tasks written for risk,
/// whose rewards are too sparse to be met by chance early in training.
pub fn shaping_potential(env_id: &str) -> Option<ShapingPotential> {
    match env_id {
        crossing::ID => Some(crossing::shaping_potential),
        car::ID => Some(car::shaping_potential),
        _ => None,
    }
}

/// The ids [`shaping_potential`] knows, for messages.
pub const SHAPED_IDS: [&str; 2] = [crossing::ID, car::ID];

/// Pendulum-v1 that may cost 100 on a step ending faster than 6 rad/s (the speed limit is 8).
/// A swing-up from the bottom that wastes no time passes the bottom at about 7.7 rad/s, while
/// one that pushes through its whole ascent needs only about 4.7 rad/s there: safety costs time.
/// At 5 % per risky step, the expected cost of a risky step (5) is small next to its spread.
pub fn risky_pendulum_penalty() -> PenaltySpec {
    PenaltySpec {
        condition: RiskCondition::ObservationMagnitudeAbove {
            index: 2,
            threshold: 6.0,
        },
        probability: 0.05,
        cost: 100.0,
        once_per_episode: false,
    }
}

/// `RiskyHalfCheetah-v5`'s speed limit on `info["x_velocity"]`, in m/s.
pub const HALF_CHEETAH_SPEED_LIMIT: f64 = 3.0;
/// The chance that a step above the speed limit strikes (while the episode has not been struck).
pub const HALF_CHEETAH_HAZARD: f64 = 0.00025;
/// What the strike costs, once per episode.
pub const HALF_CHEETAH_STRIKE_COST: f64 = 8000.0;

/// HalfCheetah-v5 where each step faster than 3 m/s strikes with chance 0.00025, at most once
/// per episode, for 8000. The literature's version (Urpí, Curi and Krause 2021: 100 with chance
/// 0.05 on every step above 4 m/s) charges so many small penalties over 1000 steps that their sum
/// is near-Gaussian and CVaR_0.1 hardly differs from the mean. Here the whole risk is one event:
/// an episode with n fast steps is struck with chance 1 - (1 - 0.00025)^n, 0.22 when all 1000
/// steps are fast, above alpha = 0.1, so the worst tenth of a fast runner's episodes are all
/// struck. Running at v m/s earns about 1000 v before control costs, so against staying at the
/// limit (at most 3000, for mean and CVaR alike) a fast runner's mean gains about 1000 (v - 3) -
/// 0.22 * 8000 and its CVaR_0.1 about 1000 (v - 3) - 8000: for 5 to 11 m/s the mean prefers
/// running and CVaR_0.1 the limit. A step over the limit costs the mean about 2 (0.00025 * 8000)
/// and, while the episode's strike chance is below 0.1, CVaR_0.1 about 20, more than any speed
/// earns, so the CVaR optimum keeps every step under the limit. `docs/results-risk.md` works
/// the oracle out for several speeds.
pub fn risky_half_cheetah_penalty() -> PenaltySpec {
    PenaltySpec {
        condition: RiskCondition::InfoAbove {
            key: "x_velocity",
            threshold: HALF_CHEETAH_SPEED_LIMIT,
        },
        probability: HALF_CHEETAH_HAZARD,
        cost: HALF_CHEETAH_STRIKE_COST,
        once_per_episode: true,
    }
}

/// Where every `RiskyHalfCheetah-v5` episode starts: HalfCheetah-v5's initial state without its
/// reset noise (at rest, every joint at 0), so that the only noise in a deterministic policy's
/// return is the strike.
pub fn risky_half_cheetah_start() -> serde_json::Value {
    let at_rest = [0.0; 9];
    serde_json::json!({ "qpos": at_rest, "qvel": at_rest })
}

fn make_risky(
    base_id: &str,
    risky_id: &str,
    penalty: PenaltySpec,
) -> Result<Box<dyn Env>, EnvError> {
    let base = (crate::registry::spec(base_id)?.make_unwrapped)()?;
    Ok(Box::new(StochasticPenalty::new(base, risky_id, penalty)?))
}

pub(crate) const RISKY_PENDULUM: EnvSpec = EnvSpec {
    id: RISKY_PENDULUM_ID,
    max_episode_steps: Some(crate::classic::pendulum::MAX_EPISODE_STEPS),
    reward_threshold: None,
    initial_state_shape: crate::classic::pendulum::INIT_STATE_SHAPE,
    make_unwrapped: || {
        make_risky(
            crate::classic::pendulum::ID,
            RISKY_PENDULUM_ID,
            risky_pendulum_penalty(),
        )
    },
    needs_mujoco: false,
};

#[cfg(feature = "mujoco")]
pub(crate) const RISKY_HALF_CHEETAH: EnvSpec = EnvSpec {
    id: RISKY_HALF_CHEETAH_ID,
    max_episode_steps: Some(1000),
    reward_threshold: None,
    initial_state_shape: r#"{"qpos": [9 numbers], "qvel": [9 numbers]}"#,
    make_unwrapped: || {
        let base = (crate::registry::spec("HalfCheetah-v5")?.make_unwrapped)()?;
        let fixed_start = FixedStart::new(base, risky_half_cheetah_start())?;
        Ok(Box::new(StochasticPenalty::new(
            fixed_start,
            RISKY_HALF_CHEETAH_ID,
            risky_half_cheetah_penalty(),
        )?))
    },
    needs_mujoco: true,
};

#[cfg(test)]
mod tests {
    use super::{EXPLORING_START_IDS, exploring_start, has_exploring_starts};
    use crate::wrappers::stochastic_penalty::{PENALTY_EVENT_KEY, RISKY_STEP_KEY};

    #[test]
    fn risky_pendulum_is_registered_with_pendulums_time_limit() {
        let mut env = crate::make(super::RISKY_PENDULUM_ID).unwrap();
        assert_eq!(env.id(), super::RISKY_PENDULUM_ID);
        env.reset(Some(0));
        let mut steps = 0;
        let mut risky_steps = 0.0;
        loop {
            let step = env.step(&[2.0]).unwrap();
            steps += 1;
            risky_steps += step.info.values[RISKY_STEP_KEY];
            assert!(step.info.values.contains_key(PENALTY_EVENT_KEY));
            if step.truncated {
                break;
            }
        }
        assert_eq!(steps, 200);
        assert!(
            risky_steps > 0.0,
            "full torque spins the pendulum past 6 rad/s"
        );
    }

    #[test]
    fn exploring_starts_repeat_per_seed_take_the_fixed_start_half_the_time_and_are_accepted() {
        for id in EXPLORING_START_IDS {
            let mut env = crate::make(id).unwrap();
            let starts: Vec<_> = (0..400u64).map(|seed| exploring_start(id, seed)).collect();
            assert_eq!(starts[7], exploring_start(id, 7), "{id}");
            let mut at_fixed_start = 0;
            for start in &starts {
                match start {
                    Some(start) => {
                        env.reset_to_state(Some(1), start).unwrap();
                    }
                    None => at_fixed_start += 1,
                }
            }
            // Binomial(400, 0.5): within 5 standard deviations (10).
            assert!(
                (150..=250).contains(&at_fixed_start),
                "{id}: {at_fixed_start}"
            );
        }
        assert!(!has_exploring_starts("Pendulum-v1"));
        assert!((0..100).all(|seed| exploring_start("Pendulum-v1", seed).is_none()));
    }
}
