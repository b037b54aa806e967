//! Gymnasium's `InvertedPendulum-v5` (`gymnasium/envs/mujoco/inverted_pendulum_v5.py`, 1.4.0):
//! balance a pole on a cart; +1 per step, and the episode ends when the pole leans more than
//! 0.2 rad or the state stops being finite.

use mujoco_rs::prelude::MjModel;
use rand_chacha::ChaCha8Rng;

use super::rendering::CameraConfig;
use super::simulation::{Simulation, require_sizes};
use super::{Task, info, task_step, uniform_noise};
use crate::env::Step;

const RESET_NOISE_SCALE: f64 = 0.01;
/// The episode ends when `abs(pole angle) > 0.2`.
const MAX_POLE_ANGLE: f64 = 0.2;

pub(crate) struct InvertedPendulum;

impl Task for InvertedPendulum {
    const ID: &'static str = "InvertedPendulum-v5";
    const MODEL_FILE: &'static str = "inverted_pendulum.xml";
    const MODEL_XML: &'static str = include_str!("../../assets/mujoco/inverted_pendulum.xml");
    const FRAME_SKIP: usize = 2;
    const MAX_EPISODE_STEPS: usize = 1000;
    const REWARD_THRESHOLD: Option<f64> = Some(950.0);
    const INIT_STATE_SHAPE: &'static str = r#"{"qpos": [2 numbers], "qvel": [2 numbers]}"#;
    /// `DEFAULT_CAMERA_CONFIG` of `inverted_pendulum_v5.py` (its `trackbodyid` has no effect on a free camera).
    const CAMERA: CameraConfig = CameraConfig {
        distance: Some(2.04),
        ..CameraConfig::FREE
    };

    fn new(model: &MjModel) -> Result<Self, String> {
        require_sizes(model, 2, 0)?;
        Ok(Self)
    }

    fn reset_state(&self, simulation: &Simulation, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let qpos = uniform_noise(rng, simulation.init_qpos(), RESET_NOISE_SCALE);
        let qvel = uniform_noise(rng, simulation.init_qvel(), RESET_NOISE_SCALE);
        (qpos, qvel)
    }

    /// `qpos` (cart position, pole angle), then `qvel`.
    fn observation(&self, simulation: &Simulation) -> Vec<f64> {
        simulation
            .qpos()
            .iter()
            .chain(simulation.qvel())
            .copied()
            .collect()
    }

    fn step(&self, simulation: &mut Simulation, action: &[f32]) -> Step {
        simulation.do_simulation(action);
        let observation = self.observation(simulation);
        let terminated =
            !observation.iter().all(|x| x.is_finite()) || observation[1].abs() > MAX_POLE_ANGLE;
        let reward = if terminated { 0.0 } else { 1.0 };
        task_step(
            observation,
            reward,
            terminated,
            info(&[("reward_survive", reward)]),
        )
    }
}
