//! A risky task from any env: while a condition on the state holds, each step costs a large
//! penalty with a small probability. The expected cost of a risky step is small next to its
//! spread, so a risk-neutral agent and a risk-averse one want different policies: the standard
//! construction of risk-averse RL benchmarks (e.g. HalfCheetah penalised above a forward speed,
//! Urpí, Curi and Krause 2021).

use crate::env::{Env, Info, Step};
use crate::error::EnvError;
pub use crate::risky::coin::{PENALTY_EVENT_KEY, PENALTY_KEY, RISKY_STEP_KEY};
use crate::risky::coin::{Penalty, PenaltyCoin};

/// When a step is risky, judged on the state the step leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum RiskCondition {
    /// `|observation[index]| > threshold` (e.g. Pendulum's angular velocity, index 2).
    ObservationMagnitudeAbove { index: usize, threshold: f64 },
    /// `info[key] > threshold` (e.g. HalfCheetah's `x_velocity`).
    InfoAbove { key: &'static str, threshold: f64 },
}

impl RiskCondition {
    fn holds(&self, step: &Step) -> Result<bool, EnvError> {
        match *self {
            RiskCondition::ObservationMagnitudeAbove { index, threshold } => step
                .observation
                .get(index)
                .map(|value| value.abs() > threshold)
                .ok_or_else(|| {
                    EnvError::InvalidArgument(format!(
                        "StochasticPenalty: observation index {index} is out of range for an \
                     observation of {} values",
                        step.observation.len()
                    ))
                }),
            RiskCondition::InfoAbove { key, threshold } => step
                .info
                .values
                .get(key)
                .map(|value| *value > threshold)
                .ok_or_else(|| {
                    EnvError::InvalidArgument(format!(
                        "StochasticPenalty: the env's info has no '{key}'; it has: {}",
                        step.info
                            .values
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }),
        }
    }
}

/// The penalty's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct PenaltySpec {
    pub condition: RiskCondition,
    /// Chance of a penalty on each risky step, in [0, 1].
    pub probability: f64,
    /// Subtracted from the reward when the penalty is drawn; finite and >= 0.
    pub cost: f64,
    /// After a strike, the rest of the episode draws no more penalties (its risky steps are
    /// still counted): one large event per episode keeps a long episode's tail a tail, where a
    /// penalty on every risky step would add up to a near-Gaussian sum.
    pub once_per_episode: bool,
}

impl PenaltySpec {
    fn penalty(&self) -> Penalty {
        Penalty {
            probability: self.probability,
            cost: self.cost,
        }
    }
}

/// Subtracts `spec.cost` from the reward with probability `spec.probability` on every step
/// whose resulting state meets `spec.condition` (until the first strike if
/// `spec.once_per_episode`), and reports it in `info` ([`PENALTY_KEY`], [`PENALTY_EVENT_KEY`],
/// [`RISKY_STEP_KEY`]). The draws come from a stream of their own, reseeded by `reset(seed)`
/// like the env's, so a seeded episode repeats exactly.
#[derive(Debug, Clone)]
pub struct StochasticPenalty<E> {
    env: E,
    id: String,
    spec: PenaltySpec,
    coin: PenaltyCoin,
    /// A penalty was drawn in this episode.
    struck: bool,
}

super::inner_env_access!(StochasticPenalty);

impl<E: Env> StochasticPenalty<E> {
    /// Wraps `env`, which then reports `id` (e.g. `RiskyPendulum-v1`). A probability outside
    /// [0, 1] or a negative or non-finite cost is an `EnvError::InvalidRiskParameter`.
    pub fn new(env: E, id: impl Into<String>, spec: PenaltySpec) -> Result<Self, EnvError> {
        let id = id.into();
        let coin = PenaltyCoin::new(&id, spec.penalty())?;
        Ok(Self {
            env,
            id,
            spec,
            coin,
            struck: false,
        })
    }

    /// A new episode: the coin restarts from the reset's seed, and nothing has struck yet.
    fn on_reset(&mut self, seed: Option<u64>, reset: (Vec<f64>, Info)) -> (Vec<f64>, Info) {
        self.coin.reseed(seed);
        self.struck = false;
        reset
    }

    pub fn spec(&self) -> &PenaltySpec {
        &self.spec
    }
}

impl<E: Env> Env for StochasticPenalty<E> {
    crate::forward_env!(env: observation_space, action_space, render, resets);

    fn id(&self) -> &str {
        &self.id
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        let mut step = self.env.step(action)?;
        let risky = self.spec.condition.holds(&step)?;
        if self.struck && self.spec.once_per_episode {
            self.coin.skip(risky, &mut step.info);
        } else {
            step.reward -= self.coin.charge(risky, &mut step.info);
            self.struck |= step.info.values[PENALTY_EVENT_KEY] > 0.0;
        }
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classic::Pendulum;

    fn risky_pendulum(
        probability: f64,
        threshold: f64,
        once_per_episode: bool,
    ) -> StochasticPenalty<Pendulum> {
        StochasticPenalty::new(
            Pendulum::new(),
            "RiskyPendulum-test",
            PenaltySpec {
                condition: RiskCondition::ObservationMagnitudeAbove {
                    index: 2,
                    threshold,
                },
                probability,
                cost: 100.0,
                once_per_episode,
            },
        )
        .unwrap()
    }

    /// Rewards and penalties of `steps` steps of full torque from a seeded reset.
    fn run(env: &mut StochasticPenalty<Pendulum>, seed: u64, steps: usize) -> Vec<(f64, f64)> {
        env.reset(Some(seed));
        (0..steps)
            .map(|_| {
                let step = env.step(&[2.0]).unwrap();
                (step.reward, step.info.values[PENALTY_KEY])
            })
            .collect()
    }

    #[test]
    fn a_certain_penalty_is_charged_on_every_risky_step_and_only_there() {
        let mut plain = Pendulum::new();
        let mut risky = risky_pendulum(1.0, 1.0, false);
        plain.reset(Some(3));
        risky.reset(Some(3));
        let mut risky_steps = 0;
        for _ in 0..100 {
            let expected = plain.step(&[2.0]).unwrap();
            let step = risky.step(&[2.0]).unwrap();
            let is_risky = expected.observation[2].abs() > 1.0;
            risky_steps += usize::from(is_risky);
            let penalty = if is_risky { 100.0 } else { 0.0 };
            assert_eq!(step.observation, expected.observation);
            assert_eq!(step.reward, expected.reward - penalty);
            assert_eq!(
                step.info.values[RISKY_STEP_KEY],
                f64::from(u8::from(is_risky))
            );
            assert_eq!(
                step.info.values[PENALTY_EVENT_KEY],
                f64::from(u8::from(is_risky))
            );
        }
        assert!(risky_steps > 10, "the test must cross the threshold");
    }

    #[test]
    fn penalties_follow_the_probability_and_repeat_with_the_seed() {
        let mut env = risky_pendulum(0.25, 0.0, false);
        let first = run(&mut env, 7, 2000);
        assert_eq!(run(&mut env, 7, 2000), first, "same seed, same draws");
        assert_ne!(run(&mut env, 8, 2000), first, "another seed, other draws");
        let events = first.iter().filter(|(_, penalty)| *penalty > 0.0).count();
        // Binomial(2000, 0.25): mean 500, sd 19.4; 5 sd either side.
        assert!((403..=597).contains(&events), "{events} events");
    }

    #[test]
    fn a_once_per_episode_penalty_strikes_once_and_still_counts_the_risky_steps() {
        let mut env = risky_pendulum(1.0, 1.0, true);
        for seed in [3, 4] {
            env.reset(Some(seed));
            let (mut risky_steps, mut events, mut penalty_sum) = (0.0, 0.0, 0.0);
            for _ in 0..100 {
                let values = env.step(&[2.0]).unwrap().info.values;
                risky_steps += values[RISKY_STEP_KEY];
                events += values[PENALTY_EVENT_KEY];
                penalty_sum += values[PENALTY_KEY];
            }
            assert!(risky_steps > 10.0, "the test must cross the threshold");
            assert_eq!((events, penalty_sum), (1.0, 100.0), "seed {seed}");
        }
    }

    #[test]
    fn a_once_per_episode_hazard_strikes_an_episode_with_the_chance_of_any_strike() {
        // Full torque from rest: every step of an episode is risky at threshold 0 but the
        // first few, so the chance that an episode is struck is 1 - (1 - h)^n.
        let hazard = 0.01;
        let mut env = risky_pendulum(hazard, 0.0, true);
        let (episodes, steps) = (1000, 100);
        let (mut struck, mut risky_steps) = (0, 0.0);
        for seed in 0..episodes {
            env.reset(Some(seed));
            let mut events = 0.0;
            for _ in 0..steps {
                let values = env.step(&[2.0]).unwrap().info.values;
                events += values[PENALTY_EVENT_KEY];
                risky_steps += values[RISKY_STEP_KEY];
            }
            assert!(events <= 1.0, "seed {seed}: {events} strikes");
            struck += usize::from(events == 1.0);
        }
        let risky_per_episode = risky_steps / episodes as f64;
        let chance = 1.0 - (1.0 - hazard).powf(risky_per_episode);
        let expected = chance * episodes as f64;
        let sd = (expected * (1.0 - chance)).sqrt();
        assert!(
            (struck as f64 - expected).abs() < 5.0 * sd,
            "{struck} struck episodes, expected {expected:.1} +- {sd:.1}"
        );
    }

    #[test]
    fn bad_parameters_and_a_missing_info_key_are_errors() {
        let spec = |probability, cost| PenaltySpec {
            condition: RiskCondition::ObservationMagnitudeAbove {
                index: 2,
                threshold: 1.0,
            },
            probability,
            cost,
            once_per_episode: false,
        };
        for (probability, cost) in [(-0.5, 1.0), (1.5, 1.0), (f64::NAN, 1.0), (0.5, -1.0)] {
            let error = StochasticPenalty::new(Pendulum::new(), "x", spec(probability, cost))
                .err()
                .unwrap();
            assert!(
                matches!(error, EnvError::InvalidRiskParameter { ref env_id, .. } if env_id == "x"),
                "{error}"
            );
        }
        let mut env = StochasticPenalty::new(
            Pendulum::new(),
            "x",
            PenaltySpec {
                condition: RiskCondition::InfoAbove {
                    key: "x_velocity",
                    threshold: 1.0,
                },
                probability: 0.5,
                cost: 1.0,
                once_per_episode: false,
            },
        )
        .unwrap();
        env.reset(Some(0));
        let message = env.step(&[0.0]).err().unwrap().to_string();
        assert!(message.contains("x_velocity"), "{message}");
    }
}
