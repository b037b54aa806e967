//! Gymnasium's `InvertedDoublePendulum-v5`
//! (`gymnasium/envs/mujoco/inverted_double_pendulum_v5.py`, 1.4.0): balance two stacked poles
//! on a cart; 10 per step alive minus distance and velocity penalties, and the episode ends when
//! the tip (site 0) drops to y <= 1.

use mujoco_rs::prelude::MjModel;
use rand_chacha::ChaCha8Rng;

use super::numpy::numpy_square;
use super::rendering::CameraConfig;
use super::simulation::{Simulation, require_sizes};
use super::{Task, clip, info, normal_noise, task_step, uniform_noise};
use crate::env::Step;

const HEALTHY_REWARD: f64 = 10.0;
const RESET_NOISE_SCALE: f64 = 0.1;
const CLIP: f64 = 10.0;
/// The episode ends when the tip's height is at most this.
const MIN_TIP_HEIGHT: f64 = 1.0;

pub(crate) struct InvertedDoublePendulum;

impl Task for InvertedDoublePendulum {
    const ID: &'static str = "InvertedDoublePendulum-v5";
    const MODEL_FILE: &'static str = "inverted_double_pendulum.xml";
    const MODEL_XML: &'static str =
        include_str!("../../assets/mujoco/inverted_double_pendulum.xml");
    const FRAME_SKIP: usize = 5;
    const MAX_EPISODE_STEPS: usize = 1000;
    const REWARD_THRESHOLD: Option<f64> = Some(9100.0);
    const INIT_STATE_SHAPE: &'static str = r#"{"qpos": [3 numbers], "qvel": [3 numbers]}"#;
    /// `DEFAULT_CAMERA_CONFIG` of `inverted_double_pendulum_v5.py` (its `trackbodyid` has no effect on a free camera).
    const CAMERA: CameraConfig = CameraConfig {
        distance: Some(4.1225),
        lookat: Some([0.0, 0.0, 0.12250000000000005]),
        ..CameraConfig::FREE
    };

    fn new(model: &MjModel) -> Result<Self, String> {
        if model.ffi().nsite < 1 {
            return Err("it has no site (site 0 is the tip)".to_owned());
        }
        require_sizes(model, 1, 3)?;
        Ok(Self)
    }

    /// qpos: uniform noise; qvel: normal noise.
    fn reset_state(&self, simulation: &Simulation, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let qpos = uniform_noise(rng, simulation.init_qpos(), RESET_NOISE_SCALE);
        let qvel = normal_noise(rng, simulation.init_qvel(), RESET_NOISE_SCALE);
        (qpos, qvel)
    }

    /// `qpos[:1]`, `sin(qpos[1:])`, `cos(qpos[1:])`, `clip(qvel, -10, 10)`,
    /// `clip(qfrc_constraint, -10, 10)[:1]`.
    fn observation(&self, simulation: &Simulation) -> Vec<f64> {
        let qpos = simulation.qpos();
        let angles = &qpos[1..];
        std::iter::once(qpos[0])
            .chain(angles.iter().map(|a| a.sin()))
            .chain(angles.iter().map(|a| a.cos()))
            .chain(simulation.qvel().iter().map(|&v| clip(v, CLIP)))
            .chain(std::iter::once(clip(
                simulation.data().qfrc_constraint()[0],
                CLIP,
            )))
            .collect()
    }

    fn step(&self, simulation: &mut Simulation, action: &[f32]) -> Step {
        simulation.do_simulation(action);
        let [x, _, y] = simulation.data().site_xpos()[0];
        let observation = self.observation(simulation);
        let terminated = y <= MIN_TIP_HEIGHT;
        let (v1, v2) = (simulation.qvel()[1], simulation.qvel()[2]);
        // `x ** 2` on NumPy float64 scalars is the C library's pow (see `numpy_square`).
        let distance_penalty = 0.01 * numpy_square(x) + numpy_square(y - 2.0);
        let velocity_penalty = 0.001 * numpy_square(v1) + 0.005 * numpy_square(v2);
        let alive_bonus = if terminated { 0.0 } else { HEALTHY_REWARD };
        let reward = alive_bonus - distance_penalty - velocity_penalty;
        task_step(
            observation,
            reward,
            terminated,
            info(&[
                ("reward_survive", alive_bonus),
                ("distance_penalty", -distance_penalty),
                ("velocity_penalty", -velocity_penalty),
            ]),
        )
    }
}
