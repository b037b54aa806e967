//! Gymnasium's `Hopper-v5` (`gymnasium/envs/mujoco/hopper_v5.py`, 1.4.0): a one-legged planar
//! robot rewarded for hopping forward; the episode ends when it is no longer healthy.

use mujoco_rs::prelude::MjModel;
use rand_chacha::ChaCha8Rng;

use super::numpy::float32_control_cost;
use super::rendering::CameraConfig;
use super::simulation::{Simulation, require_sizes};
use super::{Task, clip, info, task_step, uniform_noise};
use crate::env::{Info, Step};

const FORWARD_REWARD_WEIGHT: f64 = 1.0;
const CTRL_COST_WEIGHT: f64 = 0.001;
const HEALTHY_REWARD: f64 = 1.0;
/// Open intervals: healthy means `low < value < high`.
const HEALTHY_STATE_RANGE: (f64, f64) = (-100.0, 100.0);
const HEALTHY_Z_RANGE: (f64, f64) = (0.7, f64::INFINITY);
const HEALTHY_ANGLE_RANGE: (f64, f64) = (-0.2, 0.2);
const RESET_NOISE_SCALE: f64 = 0.005;
const VELOCITY_CLIP: f64 = 10.0;

pub(crate) struct Hopper;

/// `low < x < high`; false for NaN.
fn inside(x: f64, (low, high): (f64, f64)) -> bool {
    low < x && x < high
}

impl Hopper {
    /// Torso height and angle in range, and every other coordinate (`state_vector()[2:]`:
    /// `qpos[2:]` and all of `qvel`) within +-100.
    fn is_healthy(simulation: &Simulation) -> bool {
        let qpos = simulation.qpos();
        let (z, angle) = (qpos[1], qpos[2]);
        let state_healthy = qpos[2..]
            .iter()
            .chain(simulation.qvel())
            .all(|&x| inside(x, HEALTHY_STATE_RANGE));
        state_healthy && inside(z, HEALTHY_Z_RANGE) && inside(angle, HEALTHY_ANGLE_RANGE)
    }
}

impl Task for Hopper {
    const ID: &'static str = "Hopper-v5";
    const MODEL_FILE: &'static str = "hopper.xml";
    const MODEL_XML: &'static str = include_str!("../../assets/mujoco/hopper.xml");
    const FRAME_SKIP: usize = 4;
    const MAX_EPISODE_STEPS: usize = 1000;
    const REWARD_THRESHOLD: Option<f64> = Some(3800.0);
    const INIT_STATE_SHAPE: &'static str = r#"{"qpos": [6 numbers], "qvel": [6 numbers]}"#;
    /// `DEFAULT_CAMERA_CONFIG` of `hopper_v5.py` (its `trackbodyid` has no effect on a free camera).
    const CAMERA: CameraConfig = CameraConfig {
        distance: Some(3.0),
        lookat: Some([0.0, 0.0, 1.15]),
        elevation: Some(-20.0),
    };

    fn new(model: &MjModel) -> Result<Self, String> {
        require_sizes(model, 3, 0)?;
        Ok(Self)
    }

    fn reset_state(&self, simulation: &Simulation, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let qpos = uniform_noise(rng, simulation.init_qpos(), RESET_NOISE_SCALE);
        let qvel = uniform_noise(rng, simulation.init_qvel(), RESET_NOISE_SCALE);
        (qpos, qvel)
    }

    /// `qpos[1:]`, then `clip(qvel, -10, 10)`.
    fn observation(&self, simulation: &Simulation) -> Vec<f64> {
        let velocities = simulation.qvel().iter().map(|&v| clip(v, VELOCITY_CLIP));
        simulation.qpos()[1..]
            .iter()
            .copied()
            .chain(velocities)
            .collect()
    }

    fn reset_info(&self, simulation: &Simulation) -> Info {
        let qpos = simulation.qpos();
        info(&[
            ("x_position", qpos[0]),
            (
                "z_distance_from_origin",
                qpos[1] - simulation.init_qpos()[1],
            ),
        ])
    }

    fn step(&self, simulation: &mut Simulation, action: &[f32]) -> Step {
        let x_before = simulation.qpos()[0];
        simulation.do_simulation(action);
        let x_after = simulation.qpos()[0];
        let x_velocity = (x_after - x_before) / simulation.dt();

        let healthy = Self::is_healthy(simulation);
        let forward_reward = FORWARD_REWARD_WEIGHT * x_velocity;
        let healthy_reward = if healthy { HEALTHY_REWARD } else { 0.0 };
        let ctrl_cost = float32_control_cost(CTRL_COST_WEIGHT, action);
        let reward = (forward_reward + healthy_reward) - ctrl_cost;
        let z_distance = simulation.qpos()[1] - simulation.init_qpos()[1];
        task_step(
            self.observation(simulation),
            reward,
            !healthy,
            info(&[
                ("x_position", x_after),
                ("z_distance_from_origin", z_distance),
                ("x_velocity", x_velocity),
                ("reward_forward", forward_reward),
                ("reward_ctrl", -ctrl_cost),
                ("reward_survive", healthy_reward),
            ]),
        )
    }
}
