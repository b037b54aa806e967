//! Gymnasium's `MountainCarContinuous-v0`
//! (`gymnasium/envs/classic_control/continuous_mountain_car.py`, 1.4.0).
//!
//! Gymnasium's arithmetic here mixes Python floats, float32 and float64, and the precision
//! changes during an episode, so we follow it case by case:
//! - `reset` stores `np.array([uniform(-0.6, -0.4), 0])`, a float64 state; every `step` stores
//!   `np.array([position, velocity], dtype=np.float32)`. The first step of an episode is
//!   therefore computed in float64 and every later one in float32.
//! - Under NumPy 2 a Python float meeting a float32 is cast to float32 first (comparisons
//!   included), so `velocity > 0.07` on a float32 velocity compares with `f32(0.07)`.
//! - `min(max(action[0], -1.0), 1.0)` keeps the float32 action when it lies in [-1, 1] but
//!   returns the Python float bound when it does not, so a saturated force is float64.
//! - The reward uses the raw, unclipped action, in float64.

use serde_json::Value;

use crate::env::{BoxSpace, Env, Info, Step, validate_action};
use crate::error::EnvError;
use crate::initial_state::{StateField, parse_state_fields};
use crate::render::{Frame, scenes};
use crate::seeding::{ResetRng, uniform};

pub const ID: &str = "MountainCarContinuous-v0";
pub const MAX_EPISODE_STEPS: usize = 999;

const MIN_ACTION: f32 = -1.0;
const MAX_ACTION: f32 = 1.0;
const MIN_POSITION: f64 = -1.2;
const MAX_POSITION: f64 = 0.6;
const MAX_SPEED: f64 = 0.07;
const GOAL_POSITION: f64 = 0.45;
const GOAL_VELOCITY: f64 = 0.0;
const POWER: f64 = 0.0015;
/// Weight of the slope term `0.0025 * cos(3 * position)`.
const GRAVITY: f64 = 0.0025;
const GOAL_REWARD: f64 = 100.0;
const ACTION_COST_WEIGHT: f64 = 0.1;
const RESET_POSITION_LOW: f64 = -0.6;
const RESET_POSITION_HIGH: f64 = -0.4;

/// What `reset_to_state` accepts.
pub const INIT_STATE_SHAPE: &str = r#"{"state": [position, velocity]}"#;

/// Gymnasium's `self.state`, in whichever precision it currently has.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CarState {
    /// Right after reset (or an injected state): a float64 array.
    Float64 { position: f64, velocity: f64 },
    /// After any step: a float32 array.
    Float32 { position: f32, velocity: f32 },
}

impl CarState {
    /// `np.array(self.state, dtype=np.float32)`, the observation in both cases.
    fn observation(self) -> Vec<f64> {
        let (position, velocity) = match self {
            CarState::Float64 { position, velocity } => (position as f32, velocity as f32),
            CarState::Float32 { position, velocity } => (position, velocity),
        };
        vec![f64::from(position), f64::from(velocity)]
    }
}

/// An underpowered car in a valley must rock back and forth to reach the flag at 0.45.
/// `make("MountainCarContinuous-v0")` adds the 999-step time limit.
#[derive(Debug, Clone)]
pub struct MountainCarContinuous {
    state: Option<CarState>,
    reset_rng: ResetRng,
    observation_space: BoxSpace,
    action_space: BoxSpace,
}

impl Default for MountainCarContinuous {
    fn default() -> Self {
        Self::new()
    }
}

impl MountainCarContinuous {
    pub fn new() -> Self {
        Self {
            state: None,
            reset_rng: ResetRng::default(),
            observation_space: BoxSpace::new_f32(
                &[MIN_POSITION as f32, -MAX_SPEED as f32],
                &[MAX_POSITION as f32, MAX_SPEED as f32],
            ),
            action_space: BoxSpace::uniform_f32(MIN_ACTION, MAX_ACTION, 1),
        }
    }
}

/// The force as `min(max(action[0], -1.0), 1.0)` leaves it: the float32 action itself, or
/// (only when it lies outside the bounds) a Python float bound.
#[derive(Debug, Clone, Copy)]
enum Force {
    Float32(f32),
    Saturated(f64),
}

impl Force {
    fn from_action(action: f32) -> Self {
        if action < MIN_ACTION {
            Force::Saturated(f64::from(MIN_ACTION))
        } else if action > MAX_ACTION {
            Force::Saturated(f64::from(MAX_ACTION))
        } else {
            Force::Float32(action)
        }
    }

    /// `force * power - 0.0025 * cos(3 * position)` given the slope term (a Python float).
    /// In float32 when the force is float32; returned widened.
    fn acceleration(self, slope: f64) -> Acceleration {
        match self {
            Force::Float32(force) => Acceleration::Float32(force * POWER as f32 - slope as f32),
            Force::Saturated(force) => Acceleration::Float64(force * POWER - slope),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Acceleration {
    Float32(f32),
    Float64(f64),
}

/// One step from a float32 state: everything in float32 (Python floats cast to float32).
fn step_float32(position: f32, velocity: f32, force: Force) -> (f32, f32, bool) {
    let slope = GRAVITY * f64::from(3.0 * position).cos(); // 3 * float32 stays float32
    let mut velocity = match force.acceleration(slope) {
        Acceleration::Float32(acceleration) => velocity + acceleration,
        Acceleration::Float64(acceleration) => velocity + acceleration as f32,
    };
    velocity = velocity.clamp(-MAX_SPEED as f32, MAX_SPEED as f32);
    let position = (position + velocity).clamp(MIN_POSITION as f32, MAX_POSITION as f32);
    if position == MIN_POSITION as f32 && velocity < 0.0 {
        velocity = 0.0;
    }
    let terminated = position >= GOAL_POSITION as f32 && velocity >= GOAL_VELOCITY as f32;
    (position, velocity, terminated)
}

/// One step from the float64 state that reset leaves: float64, except the float32
/// acceleration of an in-range force (float32 minus a Python float stays float32).
fn step_float64(position: f64, velocity: f64, force: Force) -> (f64, f64, bool) {
    let slope = GRAVITY * (3.0 * position).cos();
    let mut velocity = match force.acceleration(slope) {
        Acceleration::Float32(acceleration) => velocity + f64::from(acceleration),
        Acceleration::Float64(acceleration) => velocity + acceleration,
    };
    velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
    let position = (position + velocity).clamp(MIN_POSITION, MAX_POSITION);
    if position == MIN_POSITION && velocity < 0.0 {
        velocity = 0.0;
    }
    let terminated = position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
    (position, velocity, terminated)
}

impl Env for MountainCarContinuous {
    fn id(&self) -> &str {
        ID
    }

    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }

    fn action_space(&self) -> &BoxSpace {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        let rng = self.reset_rng.for_reset(seed);
        let position = uniform(rng, RESET_POSITION_LOW, RESET_POSITION_HIGH);
        let state = CarState::Float64 {
            position,
            velocity: 0.0,
        };
        self.state = Some(state);
        (state.observation(), Info::default())
    }

    /// The injected state is float64, as Gymnasium's own reset leaves it.
    fn reset_to_state(
        &mut self,
        seed: Option<u64>,
        state: &Value,
    ) -> Result<(Vec<f64>, Info), EnvError> {
        let fields = [StateField {
            key: "state",
            len: 2,
            // The observation space: a position far outside makes cos(3 * position) NaN.
            bounds: Some(&[(MIN_POSITION, MAX_POSITION), (-MAX_SPEED, MAX_SPEED)]),
        }];
        let parsed = parse_state_fields(ID, state, &fields, INIT_STATE_SHAPE)?;
        self.reset(seed);
        let state = CarState::Float64 {
            position: parsed[0][0],
            velocity: parsed[0][1],
        };
        self.state = Some(state);
        Ok((state.observation(), Info::default()))
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        validate_action(ID, &self.action_space, action)?;
        let state = self.state.ok_or(EnvError::ResetNeeded {
            env_id: ID.to_owned(),
        })?;
        let force = Force::from_action(action[0]);
        let (position, velocity, terminated) = match state {
            CarState::Float64 { position, velocity } => {
                let (position, velocity, terminated) = step_float64(position, velocity, force);
                (position as f32, velocity as f32, terminated)
            }
            CarState::Float32 { position, velocity } => step_float32(position, velocity, force),
        };
        let new_state = CarState::Float32 { position, velocity };
        self.state = Some(new_state);

        let action = f64::from(action[0]);
        let goal_reward = if terminated { GOAL_REWARD } else { 0.0 };
        Ok(Step {
            observation: new_state.observation(),
            reward: goal_reward - action * action * ACTION_COST_WEIGHT,
            terminated,
            truncated: false,
            info: Info::default(),
        })
    }

    fn render(&self) -> Option<Frame> {
        let position = match self.state? {
            CarState::Float64 { position, .. } => position,
            CarState::Float32 { position, .. } => f64::from(position),
        };
        Some(scenes::mountain_car(position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn car_at(position: f64, velocity: f64) -> MountainCarContinuous {
        let mut env = MountainCarContinuous::new();
        env.reset_to_state(Some(0), &serde_json::json!({"state": [position, velocity]}))
            .unwrap();
        env
    }

    #[test]
    fn reset_draws_position_in_gymnasium_range_at_rest() {
        let mut env = MountainCarContinuous::new();
        for seed in 0..200 {
            let (observation, _) = env.reset(Some(seed));
            assert!((-0.6..=-0.4).contains(&(observation[0] as f32 as f64)));
            assert_eq!(observation[1], 0.0);
        }
    }

    #[test]
    fn reaching_the_flag_moving_forward_terminates_with_the_goal_bonus() {
        let mut env = car_at(0.44, 0.03);
        let step = env.step(&[0.0]).unwrap();
        assert!(step.terminated);
        assert_eq!(step.reward, 100.0);
    }

    #[test]
    fn hitting_the_left_wall_stops_the_car() {
        let mut env = car_at(-1.19, -0.05);
        let step = env.step(&[-1.0]).unwrap();
        assert_eq!(step.observation, vec![f64::from(-1.2_f32), 0.0]);
    }

    #[test]
    fn action_cost_uses_the_unclipped_action() {
        let mut env = car_at(-0.5, 0.0);
        let step = env.step(&[2.0]).unwrap();
        assert_eq!(step.reward, -0.4);
    }

    #[test]
    fn states_outside_the_observation_space_are_refused() {
        let mut env = MountainCarContinuous::new();
        for state in [[1e308, 0.0], [-1.3, 0.0], [0.0, 0.08]] {
            let message = env
                .reset_to_state(Some(0), &serde_json::json!({ "state": state }))
                .unwrap_err()
                .to_string();
            assert!(message.contains("outside the env's range"), "{message}");
        }
    }
}
