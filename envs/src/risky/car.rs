//! `RiskyCar-v0`: a car on a line drives from rest to a goal 2.5 ahead; every step costs 10, the
//! arrival pays 370, and every step faster than 1 may cost 40 more.
//!
//! Built so that its two optimal behaviours are known exactly and differ by a clear margin
//! (undiscounted returns):
//! - full acceleration arrives in 23 steps, 13 of them faster than 1: 150 minus 40 per penalty
//!   (Binomial(13, 0.1) penalties): mean 98, CVaR_0.1 about 13.3;
//! - never faster than 1 (accelerate for 10 steps, then coast) arrives in 30 steps: 80 always.
//!
//! A timeout (100 steps, -1000) is far worse than either. The start is fixed and the dynamics
//! deterministic, so the penalty coin is the only randomness in a deterministic policy's return.

use serde_json::Value;

use super::POSITION_TOLERANCE;
use super::coin::{Penalty, PenaltyCoin};
use crate::env::{BoxSpace, Env, Info, Step, validate_action};
use crate::error::EnvError;
use crate::initial_state::{StateField, parse_state_fields};
use crate::registry::EnvSpec;
use crate::render::Frame;
use crate::render::scenes::{self, CarScene};

pub const ID: &str = "RiskyCar-v0";
pub const MAX_EPISODE_STEPS: usize = 100;
/// What `reset_to_state` accepts.
pub const INIT_STATE_SHAPE: &str = r#"{"state": [x, v]} with x in [-50, 2.5) and v in [-10, 10]"#;

/// The default penalty: 40 with chance 0.1 per speeding step.
pub const PENALTY: Penalty = Penalty {
    probability: 0.1,
    cost: 40.0,
};

/// Where every episode starts: at rest at the origin.
pub const START: [f64; 2] = [0.0, 0.0];
/// A step ending at or past this position ends the episode.
const GOAL_POSITION: f64 = 2.5;
/// A step ending faster than this is risky.
const SPEED_LIMIT: f64 = 1.0;
const DT: f64 = 0.1;
/// DT^2 / 2, written out: 0.5 * 0.1 * 0.1 is not exactly 0.005 in f64.
const HALF_DT_SQUARED: f64 = 0.005;
const STEP_REWARD: f64 = -10.0;
/// Paid instead of the step reward on the step that arrives.
const GOAL_REWARD: f64 = 370.0;
/// The speed 100 steps of full acceleration reach from rest, and (about) the distance they
/// cover: the states an episode can reach, and so the initial states accepted.
const REACHABLE_SPEED: f64 = 10.0;
const REACHABLE_DISTANCE: f64 = 50.0;

/// The car. Never truncates itself; `make` adds the 100-step limit.
#[derive(Debug, Clone)]
pub struct RiskyCar {
    /// (position, velocity) in f64, compared with a tolerance.
    state: Option<[f64; 2]>,
    coin: PenaltyCoin,
    observation_space: BoxSpace,
    action_space: BoxSpace,
}

impl RiskyCar {
    /// The task with its default penalty.
    pub fn new() -> Self {
        Self::with_penalty(PENALTY).expect("the default penalty is valid")
    }

    /// The task with another penalty; refuses a chance outside [0, 1] and a negative or
    /// non-finite cost.
    pub fn with_penalty(penalty: Penalty) -> Result<Self, EnvError> {
        Ok(Self {
            state: None,
            coin: PenaltyCoin::new(ID, penalty)?,
            // Unbounded like Gymnasium's spaces for quantities without a hard limit.
            observation_space: BoxSpace::uniform_f32(f32::NEG_INFINITY, f32::INFINITY, 2),
            action_space: BoxSpace::uniform_f32(-1.0, 1.0, 1),
        })
    }

    pub fn penalty(&self) -> Penalty {
        self.coin.penalty()
    }

    /// (x, v) as float32 values like every classic-control observation.
    fn observation(state: [f64; 2]) -> Vec<f64> {
        state.iter().map(|&x| f64::from(x as f32)).collect()
    }

    fn start(&mut self, seed: Option<u64>, state: [f64; 2]) -> (Vec<f64>, Info) {
        self.coin.reseed(seed);
        self.state = Some(state);
        (Self::observation(state), Info::default())
    }
}

impl Default for RiskyCar {
    fn default() -> Self {
        Self::new()
    }
}

impl Env for RiskyCar {
    fn id(&self) -> &str {
        ID
    }

    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }

    fn action_space(&self) -> &BoxSpace {
        &self.action_space
    }

    /// Always the fixed start; the seed only restarts the penalty coin.
    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        self.start(seed, START)
    }

    fn reset_to_state(
        &mut self,
        seed: Option<u64>,
        state: &Value,
    ) -> Result<(Vec<f64>, Info), EnvError> {
        let fields = [StateField {
            key: "state",
            len: 2,
            // Checked below, with messages that name the task's geometry.
            bounds: None,
        }];
        let parsed = parse_state_fields(ID, state, &fields, INIT_STATE_SHAPE)?;
        let [x, v] = [parsed[0][0], parsed[0][1]];
        let refuse = |reason: String| EnvError::InvalidInitialState {
            env_id: ID.to_owned(),
            reason,
            expected: INIT_STATE_SHAPE.to_owned(),
        };
        // A car at the goal has already arrived: its episode is over.
        if !(-REACHABLE_DISTANCE..GOAL_POSITION).contains(&x) {
            return Err(refuse(format!(
                "x = {x} is outside [-{REACHABLE_DISTANCE}, {GOAL_POSITION})"
            )));
        }
        if !(-REACHABLE_SPEED..=REACHABLE_SPEED).contains(&v) {
            return Err(refuse(format!(
                "v = {v} is outside [-{REACHABLE_SPEED}, {REACHABLE_SPEED}]"
            )));
        }
        Ok(self.start(seed, [x, v]))
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        validate_action(ID, &self.action_space, action)?;
        let [x, v] = self.state.ok_or(EnvError::ResetNeeded {
            env_id: ID.to_owned(),
        })?;
        // Actions beyond +-1 are clipped, as Gymnasium's classic-control envs clip theirs.
        let acceleration = f64::from(action[0].clamp(-1.0, 1.0));
        // Exact constant-acceleration motion over one step of DT.
        let position = x + DT * v + HALF_DT_SQUARED * acceleration;
        let velocity = v + DT * acceleration;
        self.state = Some([position, velocity]);

        let arrived = position >= GOAL_POSITION - POSITION_TOLERANCE;
        let speeding = velocity > SPEED_LIMIT + POSITION_TOLERANCE;
        let mut info = Info::default();
        let penalty = self.coin.charge(speeding, &mut info);
        let reward = if arrived { GOAL_REWARD } else { STEP_REWARD };
        Ok(Step {
            observation: Self::observation([position, velocity]),
            reward: reward - penalty,
            terminated: arrived,
            truncated: false,
            info,
        })
    }

    fn render(&self) -> Option<Frame> {
        let [position, velocity] = self.state?;
        Some(scenes::car(&CarScene {
            position,
            velocity,
            goal_position: GOAL_POSITION,
            speed_limit: SPEED_LIMIT,
        }))
    }
}

/// The training-only shaping potential Phi(x, v) = 100 x of an observation (Ng, Harada and
/// Russell 1999): driving at v = 1 then earns back the 10 a step costs, so a learner that adds
/// F = gamma Phi(s') - Phi(s) to each reward (Phi = 0 after the terminal step) is drawn towards
/// the goal long before it has arrived often, and both optimal behaviours are kept.
pub fn shaping_potential(observation: &[f64]) -> f64 {
    100.0 * observation[0]
}

pub(crate) const SPEC: EnvSpec = EnvSpec {
    id: ID,
    max_episode_steps: Some(MAX_EPISODE_STEPS),
    reward_threshold: None,
    initial_state_shape: INIT_STATE_SHAPE,
    make_unwrapped: || Ok(Box::new(RiskyCar::new())),
    needs_mujoco: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_step_follows_the_constant_acceleration_update() {
        let mut env = RiskyCar::new();
        env.reset_to_state(Some(0), &serde_json::json!({"state": [1.0, 0.5]}))
            .unwrap();
        let step = env.step(&[-1.0]).unwrap();
        let [x, v] = env.state.unwrap();
        assert!((x - (1.0 + 0.05 - 0.005)).abs() < 1e-12, "{x}");
        assert!((v - 0.4).abs() < 1e-12, "{v}");
        assert_eq!(
            step.observation,
            vec![f64::from(x as f32), f64::from(v as f32)]
        );
        assert_eq!(step.reward, -10.0);
        assert!(!step.terminated);
    }

    #[test]
    fn arriving_pays_the_goal_reward_and_ends_the_episode() {
        let mut env = RiskyCar::new();
        env.reset_to_state(Some(0), &serde_json::json!({"state": [2.45, 0.5]}))
            .unwrap();
        let step = env.step(&[0.0]).unwrap();
        assert!(step.terminated);
        assert_eq!(step.reward, 370.0);
        assert_eq!(step.info.values[super::super::coin::RISKY_STEP_KEY], 0.0);
    }

    #[test]
    fn initial_states_out_of_range_or_not_finite_are_refused() {
        let mut env = RiskyCar::new();
        for state in [
            serde_json::json!({"state": [2.5, 0.0]}),
            serde_json::json!({"state": [-60.0, 0.0]}),
            serde_json::json!({"state": [0.0, 11.0]}),
            serde_json::json!({"state": [0.0, "inf"]}),
            serde_json::json!({"state": [0.0, 0.0, 0.0]}),
        ] {
            let error = env.reset_to_state(Some(0), &state).unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, EnvError::InvalidInitialState { .. }),
                "{message}"
            );
            assert!(message.contains("[x, v]"), "{message}");
        }
    }
}
