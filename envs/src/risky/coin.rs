//! The penalty coin every risky task tosses: on a risky step, a cost drawn with a fixed chance
//! from a seeded stream of its own, reported in `info` under the same keys in every risky env, so
//! that evaluation and the training logs count risky steps and penalties the same way everywhere.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::env::Info;
use crate::error::EnvError;

/// `info` key: the penalty subtracted from this step's reward (0 when none was drawn).
pub const PENALTY_KEY: &str = "penalty";
/// `info` key: 1 when this step drew a penalty, else 0. Evaluation counts these.
pub const PENALTY_EVENT_KEY: &str = "penalty_event";
/// `info` key: 1 when the risk condition held on this step (whether or not a penalty was drawn).
pub const RISKY_STEP_KEY: &str = "risky_step";

/// Mixed into the reset seed so that the penalty draws are independent of an env's own reset
/// draws, which use the seed unchanged.
const PENALTY_STREAM: u64 = 0x005e_ed0f_5afe_c057;

/// What a risky step may cost: `cost` with chance `probability`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Penalty {
    /// Chance of the penalty on each risky step, in [0, 1] (0 turns the risk off).
    pub probability: f64,
    /// Subtracted from the reward when the penalty is drawn; finite and >= 0.
    pub cost: f64,
}

/// The parameters a risky task accepts, named as errors name them.
pub const PROBABILITY: &str = "probability";
pub const COST: &str = "cost";
const PROBABILITY_ACCEPTED: &str = "a number in [0, 1]";
const COST_ACCEPTED: &str = "a finite number >= 0";

impl Penalty {
    /// Refuses a chance outside [0, 1] and a negative or non-finite cost (NaN included), with
    /// an error naming `env_id`, the parameter and what it accepts.
    pub fn validate(&self, env_id: &str) -> Result<(), EnvError> {
        let refuse = |parameter: &'static str, value: f64, accepted: &'static str| {
            Err(EnvError::InvalidRiskParameter {
                env_id: env_id.to_owned(),
                parameter,
                value,
                accepted,
            })
        };
        if !(0.0..=1.0).contains(&self.probability) {
            return refuse(PROBABILITY, self.probability, PROBABILITY_ACCEPTED);
        }
        if !(self.cost >= 0.0 && self.cost.is_finite()) {
            return refuse(COST, self.cost, COST_ACCEPTED);
        }
        Ok(())
    }
}

/// A validated [`Penalty`] and the random stream its draws come from.
#[derive(Debug, Clone)]
pub struct PenaltyCoin {
    penalty: Penalty,
    rng: Option<ChaCha8Rng>,
}

impl PenaltyCoin {
    pub fn new(env_id: &str, penalty: Penalty) -> Result<Self, EnvError> {
        penalty.validate(env_id)?;
        Ok(Self { penalty, rng: None })
    }

    pub fn penalty(&self) -> Penalty {
        self.penalty
    }

    /// Gymnasium's seeding rule: `Some(seed)` restarts the stream, `None` continues it (or
    /// seeds it from OS entropy the first time).
    pub fn reseed(&mut self, seed: Option<u64>) {
        match seed {
            Some(seed) => self.rng = Some(ChaCha8Rng::seed_from_u64(seed ^ PENALTY_STREAM)),
            None => {
                self.rng.get_or_insert_with(ChaCha8Rng::from_os_rng);
            }
        }
    }

    /// Tosses the coin if the step was `risky`, records the outcome in `info` and returns the
    /// penalty to subtract from the step's reward (0 or the cost).
    pub fn charge(&mut self, risky: bool, info: &mut Info) -> f64 {
        // Draw only on risky steps: the stream then does not depend on how long the safe
        // stretches of an episode are.
        let rng = self.rng.get_or_insert_with(ChaCha8Rng::from_os_rng);
        let penalised = risky && rng.random::<f64>() < self.penalty.probability;
        let penalty = if penalised { self.penalty.cost } else { 0.0 };
        record(info, risky, penalty, penalised);
        penalty
    }

    /// Records a `risky` step on which the coin is not tossed (a task whose penalty strikes at
    /// most once per episode, after the strike): no penalty, and no draw from the stream.
    pub fn skip(&self, risky: bool, info: &mut Info) {
        record(info, risky, 0.0, false);
    }
}

fn record(info: &mut Info, risky: bool, penalty: f64, penalised: bool) {
    let values = &mut info.values;
    values.insert(PENALTY_KEY.into(), penalty);
    values.insert(PENALTY_EVENT_KEY.into(), f64::from(u8::from(penalised)));
    values.insert(RISKY_STEP_KEY.into(), f64::from(u8::from(risky)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_parameters_are_refused_by_name() {
        let bad = [
            (-0.1, 1.0, PROBABILITY),
            (1.5, 1.0, PROBABILITY),
            (f64::NAN, 1.0, PROBABILITY),
            (0.5, -1.0, COST),
            (0.5, f64::INFINITY, COST),
            (0.5, f64::NAN, COST),
        ];
        for (probability, cost, named) in bad {
            let error = PenaltyCoin::new("Risky-test", Penalty { probability, cost })
                .err()
                .unwrap();
            match &error {
                EnvError::InvalidRiskParameter { parameter, .. } => assert_eq!(*parameter, named),
                other => panic!("{other:?}"),
            }
            let message = error.to_string();
            assert!(message.contains("Risky-test"), "{message}");
            assert!(message.contains(named), "{message}");
        }
    }

    #[test]
    fn the_ends_of_the_ranges_are_accepted() {
        for (probability, cost) in [(0.0, 0.0), (1.0, 1e6)] {
            PenaltyCoin::new("Risky-test", Penalty { probability, cost }).unwrap();
        }
    }

    #[test]
    fn a_safe_step_draws_nothing_and_a_certain_penalty_always_strikes() {
        let mut coin = PenaltyCoin::new(
            "Risky-test",
            Penalty {
                probability: 1.0,
                cost: 5.0,
            },
        )
        .unwrap();
        coin.reseed(Some(0));
        let mut info = Info::default();
        assert_eq!(coin.charge(false, &mut info), 0.0);
        assert_eq!(info.values[RISKY_STEP_KEY], 0.0);
        assert_eq!(info.values[PENALTY_EVENT_KEY], 0.0);
        assert_eq!(coin.charge(true, &mut info), 5.0);
        assert_eq!(info.values[RISKY_STEP_KEY], 1.0);
        assert_eq!(info.values[PENALTY_EVENT_KEY], 1.0);
        assert_eq!(info.values[PENALTY_KEY], 5.0);
    }
}
