//! Gymnasium's `Pendulum-v1` (`gymnasium/envs/classic_control/pendulum.py`, 1.4.0).
//!
//! The state is float64, as in Gymnasium. The torque `u` is float32, and under NumPy 2's
//! promotion rules every term built only from `u` and Python floats stays float32
//! (`0.001 * u**2`, `3.0 * u`) before joining the float64 sums. We copy that rounding so
//! that the replayed Gymnasium fixtures match exactly rather than to ~1e-7.

use std::f64::consts::PI;

use serde_json::Value;

use crate::env::{BoxSpace, Env, Info, Step, validate_action};
use crate::error::EnvError;
use crate::initial_state::{StateField, parse_state_fields};
use crate::render::{Frame, scenes};
use crate::seeding::{ResetRng, uniform};

pub const ID: &str = "Pendulum-v1";
pub const MAX_EPISODE_STEPS: usize = 200;

const MAX_SPEED: f64 = 8.0;
const MAX_TORQUE: f32 = 2.0;
const DT: f64 = 0.05;
const G: f64 = 10.0;
const M: f64 = 1.0;
const L: f64 = 1.0;
/// `3 * g / (2 * l)`, the gravity term's coefficient (exactly 15 for the defaults).
const GRAVITY_COEFFICIENT: f64 = 3.0 * G / (2.0 * L);
/// `3.0 / (m * l**2)`: a Python float that multiplies the float32 torque, so it is applied in
/// float32.
const TORQUE_COEFFICIENT: f32 = (3.0 / (M * L * L)) as f32;
/// `0.001` applied to the float32 `u**2`: NumPy casts the Python float to float32 first.
const TORQUE_COST_WEIGHT: f32 = 0.001_f64 as f32;
const THETA_DOT_COST_WEIGHT: f64 = 0.1;
/// Reset draws theta from U(-pi, pi) and thetadot from U(-1, 1) (`DEFAULT_X`, `DEFAULT_Y`).
const RESET_THETA_HIGH: f64 = PI;
const RESET_THETA_DOT_HIGH: f64 = 1.0;

/// What `reset_to_state` accepts.
pub const INIT_STATE_SHAPE: &str = r#"{"state": [theta, thetadot]}"#;

/// `(theta, thetadot)`, float64 as Gymnasium keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PendulumState {
    theta: f64,
    theta_dot: f64,
}

/// The pendulum swing-up: torque on a pole hanging from a pivot; reward is highest upright.
/// Never terminates; `make("Pendulum-v1")` adds the 200-step time limit.
#[derive(Debug, Clone)]
pub struct Pendulum {
    state: Option<PendulumState>,
    reset_rng: ResetRng,
    observation_space: BoxSpace,
    action_space: BoxSpace,
}

impl Default for Pendulum {
    fn default() -> Self {
        Self::new()
    }
}

impl Pendulum {
    pub fn new() -> Self {
        Self {
            state: None,
            reset_rng: ResetRng::default(),
            observation_space: BoxSpace::new_f32(&[-1.0, -1.0, -8.0], &[1.0, 1.0, 8.0]),
            action_space: BoxSpace::uniform_f32(-MAX_TORQUE, MAX_TORQUE, 1),
        }
    }

    /// `[cos(theta), sin(theta), thetadot]`, computed in float64 and stored as float32.
    fn observation(state: PendulumState) -> Vec<f64> {
        [state.theta.cos(), state.theta.sin(), state.theta_dot]
            .iter()
            .map(|&x| f64::from(x as f32))
            .collect()
    }
}

/// Gymnasium's `angle_normalize`: `((x + pi) % (2 * pi)) - pi` into [-pi, pi).
fn angle_normalize(x: f64) -> f64 {
    python_mod(x + PI, 2.0 * PI) - PI
}

/// Python/NumPy `%` on floats (the result takes the divisor's sign), written as NumPy's
/// `npy_divmod` does it: `fmod`, then a correction. Rust's `%` is `fmod`.
fn python_mod(a: f64, b: f64) -> f64 {
    let remainder = a % b;
    if remainder == 0.0 {
        0.0_f64.copysign(b)
    } else if (b < 0.0) != (remainder < 0.0) {
        remainder + b
    } else {
        remainder
    }
}

impl Env for Pendulum {
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
        // Same draw order as `np_random.uniform(low=[-pi, -1], high=[pi, 1])`.
        let theta = uniform(rng, -RESET_THETA_HIGH, RESET_THETA_HIGH);
        let theta_dot = uniform(rng, -RESET_THETA_DOT_HIGH, RESET_THETA_DOT_HIGH);
        let state = PendulumState { theta, theta_dot };
        self.state = Some(state);
        (Self::observation(state), Info::default())
    }

    fn reset_to_state(
        &mut self,
        seed: Option<u64>,
        state: &Value,
    ) -> Result<(Vec<f64>, Info), EnvError> {
        let fields = [StateField {
            key: "state",
            len: 2,
            // Any finite angle (it is normalised); a speed past the clip overflows the cost.
            bounds: Some(&[(f64::MIN, f64::MAX), (-MAX_SPEED, MAX_SPEED)]),
        }];
        let parsed = parse_state_fields(ID, state, &fields, INIT_STATE_SHAPE)?;
        let [theta, theta_dot] = [parsed[0][0], parsed[0][1]];
        self.reset(seed);
        let state = PendulumState { theta, theta_dot };
        self.state = Some(state);
        Ok((Self::observation(state), Info::default()))
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        validate_action(ID, &self.action_space, action)?;
        let PendulumState { theta, theta_dot } = self.state.ok_or(EnvError::ResetNeeded {
            env_id: ID.to_owned(),
        })?;

        let torque = action[0].clamp(-MAX_TORQUE, MAX_TORQUE);
        // The cost uses the state before the update.
        let torque_cost = TORQUE_COST_WEIGHT * (torque * torque); // float32, as in NumPy 2
        let cost = angle_normalize(theta).powi(2)
            + THETA_DOT_COST_WEIGHT * theta_dot.powi(2)
            + f64::from(torque_cost);

        let angular_acceleration =
            GRAVITY_COEFFICIENT * theta.sin() + f64::from(TORQUE_COEFFICIENT * torque);
        let new_theta_dot = (theta_dot + angular_acceleration * DT).clamp(-MAX_SPEED, MAX_SPEED);
        let new_theta = theta + new_theta_dot * DT;

        let state = PendulumState {
            theta: new_theta,
            theta_dot: new_theta_dot,
        };
        self.state = Some(state);
        Ok(Step {
            observation: Self::observation(state),
            reward: -cost,
            terminated: false,
            truncated: false,
            info: Info::default(),
        })
    }

    fn render(&self) -> Option<Frame> {
        self.state.map(|state| scenes::pendulum(state.theta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_mod_takes_the_sign_of_the_divisor() {
        assert_eq!(python_mod(-1.0, 3.0), 2.0);
        assert_eq!(python_mod(4.0, 3.0), 1.0);
        assert_eq!(python_mod(-3.0, 3.0), 0.0);
        assert_eq!(python_mod(1.0, -3.0), -2.0);
    }

    #[test]
    fn angle_normalize_wraps_into_minus_pi_to_pi() {
        assert!((angle_normalize(3.0 * PI / 2.0) + PI / 2.0).abs() < 1e-12);
        assert!((angle_normalize(-3.0 * PI / 2.0) - PI / 2.0).abs() < 1e-12);
        assert_eq!(angle_normalize(0.0), 0.0);
    }

    #[test]
    fn reset_draws_from_gymnasium_ranges() {
        let mut env = Pendulum::new();
        for seed in 0..200 {
            env.reset(Some(seed));
            let state = env.state.unwrap();
            assert!(state.theta.abs() <= PI && state.theta_dot.abs() <= 1.0);
        }
    }

    #[test]
    fn torque_beyond_the_limit_is_clipped_like_gymnasium() {
        let mut a = Pendulum::new();
        let mut b = Pendulum::new();
        let state = serde_json::json!({"state": [0.3, -0.2]});
        a.reset_to_state(Some(0), &state).unwrap();
        b.reset_to_state(Some(0), &state).unwrap();
        assert_eq!(a.step(&[5.0]).unwrap(), b.step(&[2.0]).unwrap());
    }

    #[test]
    fn upright_and_still_costs_nothing() {
        let mut env = Pendulum::new();
        env.reset_to_state(None, &serde_json::json!({"state": [0.0, 0.0]}))
            .unwrap();
        let step = env.step(&[0.0]).unwrap();
        assert_eq!(step.reward, 0.0);
        assert_eq!(step.observation, vec![1.0, 0.0, 0.0]);
    }

    #[test]
    fn speeds_beyond_the_clip_are_refused() {
        let mut env = Pendulum::new();
        let message = env
            .reset_to_state(Some(0), &serde_json::json!({"state": [0.0, 1e200]}))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("outside the env's range [-8, 8]"),
            "{message}"
        );
        env.reset_to_state(Some(0), &serde_json::json!({"state": [1e300, 8.0]}))
            .unwrap();
        let step = env.step(&[0.0]).unwrap();
        assert!(step.reward.is_finite() && step.observation.iter().all(|x| x.is_finite()));
    }
}
