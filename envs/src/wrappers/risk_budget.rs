//! The remaining risk budget of a static-CVaR agent, appended to the observation.
//!
//! CVaR_beta of the return G from the start is max over b of b - E[(b - G)^+] / beta (Rockafellar
//! and Uryasev). For a fixed b, the shortfall E[(b - G)^+] is an expected cost of the episode's
//! end in an MDP whose state carries c_t, with c_0 = b and c_{t+1} = (c_t - r_t) / gamma, since
//! (c_t - G_t)^+ = gamma (c_{t+1} - G_{t+1})^+ (Bäuerle and Ott 2011). A policy of (s, c) can
//! then be optimal for the CVaR of the whole episode, which no policy of s alone is in general:
//! it must act differently once it has been struck. This wrapper keeps c and hands the agent
//! (observation, c).
//!
//! With a shaping potential Phi the budget follows the shaped reward r + gamma Phi(s') - Phi(s),
//! the one a shaped agent learns from; the shaped return from s is the return minus Phi(s)
//! (Phi is 0 after a terminal step), so the shortfall of the shaped return at c is the shortfall
//! of the return at c + Phi(s), and nothing is lost.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::env::{BoxSpace, Env, Info, Step};
use crate::error::EnvError;
use crate::risky::{ShapingPotential, shaped_reward};

/// Where an episode's budget c_0 comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StartBudget {
    /// The same b in every episode (evaluation, at the b that maximises the critic's CVaR).
    Fixed(f64),
    /// Drawn uniformly from [low, high) at each reset, from the reset's seed (training).
    Uniform { low: f64, high: f64 },
}

impl StartBudget {
    fn check(self) -> Result<Self, EnvError> {
        let ok = match self {
            Self::Fixed(budget) => budget.is_finite(),
            Self::Uniform { low, high } => low.is_finite() && high.is_finite() && low < high,
        };
        if ok {
            Ok(self)
        } else {
            Err(EnvError::InvalidArgument(format!(
                "RiskBudget: the start budget must be a finite number or a finite range with \
                 low < high, got {self:?}"
            )))
        }
    }
}

/// Appends the remaining budget c to every observation: c_0 from [`StartBudget`] at each reset,
/// c_{t+1} = (c_t - r_t) / gamma after each step, r_t the (shaped, with a potential) reward.
#[derive(Debug, Clone)]
pub struct RiskBudget<E> {
    env: E,
    gamma: f64,
    potential: Option<ShapingPotential>,
    start: StartBudget,
    budget: f64,
    /// The inner env's last observation, for the shaped reward.
    last_observation: Vec<f64>,
    /// Draws c_0 for a reset without a seed (seeded resets draw from their seed).
    rng: ChaCha8Rng,
    observation_space: BoxSpace,
}

super::inner_env_access!(RiskBudget);

impl<E: Env> RiskBudget<E> {
    pub fn new(
        env: E,
        gamma: f64,
        potential: Option<ShapingPotential>,
        start: StartBudget,
    ) -> Result<Self, EnvError> {
        if !(gamma > 0.0 && gamma <= 1.0) {
            return Err(EnvError::InvalidArgument(format!(
                "RiskBudget on {}: gamma must lie in (0, 1], got {gamma}",
                env.id()
            )));
        }
        let inner = env.observation_space();
        let mut low = inner.low.clone();
        let mut high = inner.high.clone();
        low.push(f64::NEG_INFINITY);
        high.push(f64::INFINITY);
        let observation_space = BoxSpace {
            shape: vec![low.len()],
            low,
            high,
            dtype: inner.dtype,
        };
        Ok(Self {
            env,
            gamma,
            potential,
            start: start.check()?,
            budget: 0.0,
            last_observation: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(0),
            observation_space,
        })
    }

    /// The budget of the episodes that start after this (the running one keeps its own).
    pub fn set_start(&mut self, start: StartBudget) -> Result<(), EnvError> {
        self.start = start.check()?;
        Ok(())
    }

    /// The remaining budget c_t.
    pub fn budget(&self) -> f64 {
        self.budget
    }

    fn with_budget(&self, mut observation: Vec<f64>) -> Vec<f64> {
        observation.push(self.budget);
        observation
    }

    fn on_reset(&mut self, seed: Option<u64>, reset: (Vec<f64>, Info)) -> (Vec<f64>, Info) {
        self.budget = match self.start {
            StartBudget::Fixed(budget) => budget,
            StartBudget::Uniform { low, high } => {
                // Its own stream from the seed: the inner env's draws are left as they were.
                let mut rng = match seed {
                    Some(seed) => ChaCha8Rng::seed_from_u64(seed ^ 0x6275_6467_6574),
                    None => ChaCha8Rng::from_rng(&mut self.rng),
                };
                rng.random_range(low..high)
            }
        };
        let (observation, info) = reset;
        self.last_observation = observation.clone();
        (self.with_budget(observation), info)
    }
}

impl<E: Env> Env for RiskBudget<E> {
    crate::forward_env!(env: id, action_space, render, resets);

    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        let mut step = self.env.step(action)?;
        let reward = match self.potential {
            Some(potential) => shaped_reward(potential, self.gamma, &self.last_observation, &step),
            None => step.reward,
        };
        self.budget = (self.budget - reward) / self.gamma;
        self.last_observation = step.observation.clone();
        step.observation = self.with_budget(step.observation);
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classic::Pendulum;

    #[test]
    fn the_budget_follows_the_rewards_and_the_shortfall_identity_holds() {
        let gamma = 0.9;
        let mut plain = Pendulum::new();
        let mut env =
            RiskBudget::new(Pendulum::new(), gamma, None, StartBudget::Fixed(-3.0)).unwrap();
        assert_eq!(env.observation_space().dim(), 4);
        let (first, _) = env.reset(Some(5));
        assert_eq!(&first[..3], plain.reset(Some(5)).0.as_slice());
        assert_eq!(first[3], -3.0);
        let mut rewards = Vec::new();
        let mut budgets = vec![-3.0];
        for _ in 0..20 {
            let step = env.step(&[0.7]).unwrap();
            assert_eq!(
                &step.observation[..3],
                plain.step(&[0.7]).unwrap().observation
            );
            rewards.push(step.reward);
            budgets.push(step.observation[3]);
        }
        // (c_0 - G_0)^+ = gamma^T (c_T - G_T)^+ with G_T = 0 after the last reward counted.
        let discounted: f64 = rewards
            .iter()
            .enumerate()
            .map(|(t, r)| gamma.powi(t as i32) * r)
            .sum();
        let last = budgets[20] * gamma.powi(20);
        assert!(((-3.0 - discounted) - last).abs() < 1e-9, "{last}");
    }

    #[test]
    fn drawn_budgets_repeat_with_the_seed_and_lie_in_the_range() {
        let start = StartBudget::Uniform {
            low: -2.0,
            high: 5.0,
        };
        let mut env = RiskBudget::new(Pendulum::new(), 0.99, None, start).unwrap();
        let draws: Vec<f64> = (0..50).map(|seed| env.reset(Some(seed)).0[3]).collect();
        let again: Vec<f64> = (0..50).map(|seed| env.reset(Some(seed)).0[3]).collect();
        assert_eq!(draws, again);
        assert!(draws.iter().all(|b| (-2.0..5.0).contains(b)));
        assert!(draws.iter().any(|&b| b < 0.0) && draws.iter().any(|&b| b > 2.0));
        // The inner env's own draws are those of an unwrapped env.
        assert_eq!(
            env.reset(Some(3)).0[..3],
            Pendulum::new().reset(Some(3)).0[..]
        );
    }

    #[test]
    fn a_bad_gamma_or_start_is_an_error() {
        let fixed = StartBudget::Fixed(0.0);
        assert!(RiskBudget::new(Pendulum::new(), 0.0, None, fixed).is_err());
        assert!(RiskBudget::new(Pendulum::new(), 1.5, None, fixed).is_err());
        let reversed = StartBudget::Uniform {
            low: 1.0,
            high: 1.0,
        };
        assert!(RiskBudget::new(Pendulum::new(), 0.9, None, reversed).is_err());
        let mut env = RiskBudget::new(Pendulum::new(), 0.9, None, fixed).unwrap();
        assert!(env.set_start(StartBudget::Fixed(f64::NAN)).is_err());
    }
}
