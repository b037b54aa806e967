//! `RiskyCrossing-v0`: a point mass crosses a square to a goal straight above its start, through
//! a band that may cost 20, or goes round the band's open end at the cost of 8 more steps.
//!
//! Built so that its two optimal behaviours are known exactly and differ by a clear margin
//! (undiscounted returns):
//! - direct path, 7 steps, exactly one band step (the band is as wide as the step cap, so it
//!   cannot be jumped): -7 with chance 0.8, -27 with 0.2: mean -11, CVaR_0.1 -27;
//! - detour past x = 0.8, 15 steps, no band step: -15 always: mean -15, CVaR_0.1 -15.
//!
//! The mean-optimal agent takes the band, the CVaR_0.1-optimal one goes round, each by at least 4.
//! The start is fixed and the dynamics deterministic, so the penalty coin is the only randomness
//! in a deterministic policy's return.

use serde_json::Value;

use super::POSITION_TOLERANCE;
use super::coin::{Penalty, PenaltyCoin};
use crate::env::{BoxSpace, Env, Info, Step, validate_action};
use crate::error::EnvError;
use crate::initial_state::{StateField, parse_state_fields};
use crate::registry::EnvSpec;
use crate::render::Frame;
use crate::render::scenes::{self, CrossingScene};

pub const ID: &str = "RiskyCrossing-v0";
/// Longer than the detour (15 steps) by far, so a timeout (-50 or worse) is never worth it.
pub const MAX_EPISODE_STEPS: usize = 50;
/// What `reset_to_state` accepts.
pub const INIT_STATE_SHAPE: &str = r#"{"state": [x, y]} with x and y in [0, 1]"#;

/// The default penalty: 20 with chance 0.2 per band step. Its expected cost (4) is below the
/// detour's extra cost (8 steps), which is below the penalty itself (20).
pub const PENALTY: Penalty = Penalty {
    probability: 0.2,
    cost: 20.0,
};

/// Where every episode starts.
pub const START: [f64; 2] = [0.1, 0.1];
const GOAL: [f64; 2] = [0.1, 0.9];
/// A step ending within this (Euclidean) distance of the goal ends the episode.
const GOAL_RADIUS: f64 = 0.1;
/// The move per axis at action +-1.
const STEP_CAP: f64 = 0.1;
/// The band: 0.45 <= y <= 0.55 and x <= 0.8 (x >= 0 always holds), judged after the move.
const BAND_Y_LOW: f64 = 0.45;
const BAND_Y_HIGH: f64 = 0.55;
const BAND_X_HIGH: f64 = 0.8;
const STEP_REWARD: f64 = -1.0;

/// The point mass on [0, 1]^2. Never truncates itself; `make` adds the 50-step limit.
#[derive(Debug, Clone)]
pub struct RiskyCrossing {
    /// (x, y) in f64: positions are sums of tenths, compared with a tolerance.
    position: Option<[f64; 2]>,
    /// The positions of the episode so far (the current one last), for `render`.
    trail: Vec<[f64; 2]>,
    coin: PenaltyCoin,
    observation_space: BoxSpace,
    action_space: BoxSpace,
}

impl RiskyCrossing {
    /// The task with its default penalty.
    pub fn new() -> Self {
        Self::with_penalty(PENALTY).expect("the default penalty is valid")
    }

    /// The task with another penalty (e.g. to check where the optima swap); refuses a chance
    /// outside [0, 1] and a negative or non-finite cost.
    pub fn with_penalty(penalty: Penalty) -> Result<Self, EnvError> {
        Ok(Self {
            position: None,
            trail: Vec::new(),
            coin: PenaltyCoin::new(ID, penalty)?,
            observation_space: BoxSpace::uniform_f32(0.0, 1.0, 2),
            action_space: BoxSpace::uniform_f32(-1.0, 1.0, 2),
        })
    }

    pub fn penalty(&self) -> Penalty {
        self.coin.penalty()
    }

    /// The position, as float32 values like every classic-control observation.
    fn observation(position: [f64; 2]) -> Vec<f64> {
        position.iter().map(|&x| f64::from(x as f32)).collect()
    }

    fn start(&mut self, seed: Option<u64>, position: [f64; 2]) -> (Vec<f64>, Info) {
        self.coin.reseed(seed);
        self.position = Some(position);
        self.trail.clear();
        self.trail.push(position);
        (Self::observation(position), Info::default())
    }
}

impl Default for RiskyCrossing {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a step ending at `position` crosses the band.
fn in_band(position: [f64; 2]) -> bool {
    let [x, y] = position;
    x <= BAND_X_HIGH + POSITION_TOLERANCE
        && (BAND_Y_LOW - POSITION_TOLERANCE..=BAND_Y_HIGH + POSITION_TOLERANCE).contains(&y)
}

fn at_goal(position: [f64; 2]) -> bool {
    let distance = (position[0] - GOAL[0]).hypot(position[1] - GOAL[1]);
    distance <= GOAL_RADIUS + POSITION_TOLERANCE
}

impl Env for RiskyCrossing {
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
        let position = [parsed[0][0], parsed[0][1]];
        if let Some(axis) = position.iter().position(|c| !(0.0..=1.0).contains(c)) {
            return Err(EnvError::InvalidInitialState {
                env_id: ID.to_owned(),
                reason: format!(
                    "`state[{axis}]` is {}, outside the square [0, 1]",
                    position[axis]
                ),
                expected: INIT_STATE_SHAPE.to_owned(),
            });
        }
        Ok(self.start(seed, position))
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        validate_action(ID, &self.action_space, action)?;
        let [x, y] = self.position.ok_or(EnvError::ResetNeeded {
            env_id: ID.to_owned(),
        })?;
        // Actions beyond +-1 are clipped, as Gymnasium's classic-control envs clip theirs.
        let moved = |coordinate: f64, push: f32| {
            (coordinate + STEP_CAP * f64::from(push.clamp(-1.0, 1.0))).clamp(0.0, 1.0)
        };
        let position = [moved(x, action[0]), moved(y, action[1])];
        self.position = Some(position);
        self.trail.push(position);

        let mut info = Info::default();
        let penalty = self.coin.charge(in_band(position), &mut info);
        Ok(Step {
            observation: Self::observation(position),
            reward: STEP_REWARD - penalty,
            terminated: at_goal(position),
            truncated: false,
            info,
        })
    }

    fn render(&self) -> Option<Frame> {
        self.position?;
        Some(scenes::crossing(&CrossingScene {
            band_x_high: BAND_X_HIGH,
            band_y: (BAND_Y_LOW, BAND_Y_HIGH),
            goal: GOAL,
            goal_radius: GOAL_RADIUS,
            trail: &self.trail,
        }))
    }
}

/// The training-only shaping potential Phi(p) = -10 |p - goal| of an observation p (Ng, Harada
/// and Russell 1999). A learner that adds F = gamma Phi(p') - Phi(p) to each reward (with
/// Phi = 0 after the terminal step) keeps every optimal policy, both the direct and the detour
/// path, but finds the goal at all: -1 a step alone gives no direction until the goal is met by
/// chance, which a random walk from the start almost never does within 50 steps.
pub fn shaping_potential(observation: &[f64]) -> f64 {
    let distance = (observation[0] - GOAL[0]).hypot(observation[1] - GOAL[1]);
    -10.0 * distance
}

pub(crate) const SPEC: EnvSpec = EnvSpec {
    id: ID,
    max_episode_steps: Some(MAX_EPISODE_STEPS),
    reward_threshold: None,
    initial_state_shape: INIT_STATE_SHAPE,
    make_unwrapped: || Ok(Box::new(RiskyCrossing::new())),
    needs_mujoco: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_and_the_goal_include_their_edges_within_the_tolerance() {
        assert!(in_band([0.8, 0.45]) && in_band([0.0, 0.55]) && in_band([0.1 + 0.7, 0.5]));
        assert!(!in_band([0.8 + 1e-6, 0.5]) && !in_band([0.5, 0.44]) && !in_band([0.5, 0.56]));
        // 0.1 + 7 * 0.1 is 0.7999999999999999 in f64: the direct path must still arrive.
        let y = (0..7).fold(0.1, |y, _| y + 0.1);
        assert!(y < 0.8 && at_goal([0.1, y]));
        assert!(at_goal([0.2, 0.9]) && !at_goal([0.2, 0.8]));
    }

    #[test]
    fn moves_are_capped_and_stay_in_the_square() {
        let mut env = RiskyCrossing::new();
        env.reset_to_state(Some(0), &serde_json::json!({"state": [0.95, 0.02]}))
            .unwrap();
        let step = env.step(&[1.0, -1.0]).unwrap();
        assert_eq!(step.observation, vec![1.0, 0.0]);
        let step = env.step(&[-7.0, 0.5]).unwrap();
        assert_eq!(
            step.observation,
            vec![f64::from(0.9_f32), f64::from(0.05_f32)]
        );
    }

    #[test]
    fn initial_states_outside_the_square_or_not_finite_are_refused() {
        let mut env = RiskyCrossing::new();
        for state in [
            serde_json::json!({"state": [1.2, 0.5]}),
            serde_json::json!({"state": [0.5, -0.1]}),
            serde_json::json!({"state": [0.5, "NaN"]}),
            serde_json::json!({"state": [0.5]}),
            serde_json::json!({"position": [0.5, 0.5]}),
        ] {
            let error = env.reset_to_state(Some(0), &state).unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, EnvError::InvalidInitialState { .. }),
                "{message}"
            );
            assert!(message.contains(INIT_STATE_SHAPE), "{message}");
        }
    }
}
