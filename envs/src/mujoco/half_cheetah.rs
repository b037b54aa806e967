//! Gymnasium's `HalfCheetah-v5` (`gymnasium/envs/mujoco/half_cheetah_v5.py`, 1.4.0): a planar
//! cheetah rewarded for running forward. Never terminates.

use mujoco_rs::prelude::MjModel;
use rand_chacha::ChaCha8Rng;

use super::numpy::float32_control_cost;
use super::rendering::CameraConfig;
use super::simulation::{Simulation, require_sizes};
use super::{Task, info, normal_noise, task_step, uniform_noise};
use crate::env::{Info, Step};

const FORWARD_REWARD_WEIGHT: f64 = 1.0;
const CTRL_COST_WEIGHT: f64 = 0.1;
const RESET_NOISE_SCALE: f64 = 0.1;

pub(crate) struct HalfCheetah;

impl Task for HalfCheetah {
    const ID: &'static str = "HalfCheetah-v5";
    const MODEL_FILE: &'static str = "half_cheetah.xml";
    const MODEL_XML: &'static str = include_str!("../../assets/mujoco/half_cheetah.xml");
    const FRAME_SKIP: usize = 5;
    const MAX_EPISODE_STEPS: usize = 1000;
    const REWARD_THRESHOLD: Option<f64> = Some(4800.0);
    const INIT_STATE_SHAPE: &'static str = r#"{"qpos": [9 numbers], "qvel": [9 numbers]}"#;
    /// `DEFAULT_CAMERA_CONFIG` of `half_cheetah_v5.py` (its `trackbodyid` has no effect on a free camera).
    const CAMERA: CameraConfig = CameraConfig {
        distance: Some(4.0),
        ..CameraConfig::FREE
    };

    fn new(model: &MjModel) -> Result<Self, String> {
        require_sizes(model, 1, 0)?;
        Ok(Self)
    }

    /// qpos: uniform noise; qvel: normal noise.
    fn reset_state(&self, simulation: &Simulation, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let qpos = uniform_noise(rng, simulation.init_qpos(), RESET_NOISE_SCALE);
        let qvel = normal_noise(rng, simulation.init_qvel(), RESET_NOISE_SCALE);
        (qpos, qvel)
    }

    /// `qpos[1:]` (the x position is excluded), then `qvel`.
    fn observation(&self, simulation: &Simulation) -> Vec<f64> {
        let qpos = &simulation.qpos()[1..];
        qpos.iter().chain(simulation.qvel()).copied().collect()
    }

    fn reset_info(&self, simulation: &Simulation) -> Info {
        info(&[("x_position", simulation.qpos()[0])])
    }

    fn step(&self, simulation: &mut Simulation, action: &[f32]) -> Step {
        let x_before = simulation.qpos()[0];
        simulation.do_simulation(action);
        let x_after = simulation.qpos()[0];
        let x_velocity = (x_after - x_before) / simulation.dt();

        let forward_reward = FORWARD_REWARD_WEIGHT * x_velocity;
        let ctrl_cost = float32_control_cost(CTRL_COST_WEIGHT, action);
        let reward = forward_reward - ctrl_cost;
        task_step(
            self.observation(simulation),
            reward,
            false,
            info(&[
                ("x_position", x_after),
                ("x_velocity", x_velocity),
                ("reward_forward", forward_reward),
                ("reward_ctrl", -ctrl_cost),
            ]),
        )
    }
}
