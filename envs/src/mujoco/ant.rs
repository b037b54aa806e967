//! Gymnasium's `Ant-v5` (`gymnasium/envs/mujoco/ant_v5.py`, 1.4.0): a four-legged robot
//! rewarded for walking in +x; the episode ends when the torso leaves [0.2, 1.0] in height or
//! the state stops being finite. The observation includes the clipped external contact forces
//! (`include_cfrc_ext_in_observation=True`, the v5 default), hence 105 numbers.

use mujoco_rs::prelude::MjModel;
use rand_chacha::ChaCha8Rng;

use super::numpy::{float32_control_cost, norm, sum_of_squares};
use super::rendering::CameraConfig;
use super::simulation::{Simulation, require_sizes};
use super::{Task, info, normal_noise, task_step, uniform_noise};
use crate::env::{Info, Step};

const FORWARD_REWARD_WEIGHT: f64 = 1.0;
const CTRL_COST_WEIGHT: f64 = 0.5;
const CONTACT_COST_WEIGHT: f64 = 5e-4;
const HEALTHY_REWARD: f64 = 1.0;
/// Closed interval: healthy means `low <= z <= high`.
const HEALTHY_Z_RANGE: (f64, f64) = (0.2, 1.0);
/// `contact_force_range`: each component of `cfrc_ext` is clipped to it.
const CONTACT_FORCE_LIMIT: f64 = 1.0;
const RESET_NOISE_SCALE: f64 = 0.1;
/// `main_body=1`: the torso, whose x-y displacement is the forward motion.
const MAIN_BODY: usize = 1;

pub(crate) struct Ant;

impl Ant {
    /// `np.clip(data.cfrc_ext, -1, 1)`, flattened (body-major), from `first_body` on.
    fn contact_forces(simulation: &Simulation, first_body: usize) -> impl Iterator<Item = f64> {
        simulation.data().cfrc_ext()[first_body..]
            .iter()
            .flatten()
            .map(|&f| f.clamp(-CONTACT_FORCE_LIMIT, CONTACT_FORCE_LIMIT))
    }

    fn is_healthy(simulation: &Simulation) -> bool {
        let finite = simulation
            .qpos()
            .iter()
            .chain(simulation.qvel())
            .all(|x| x.is_finite());
        let z = simulation.qpos()[2];
        finite && HEALTHY_Z_RANGE.0 <= z && z <= HEALTHY_Z_RANGE.1
    }

    fn main_body_xy(simulation: &Simulation) -> [f64; 2] {
        let [x, y, _] = simulation.data().xpos()[MAIN_BODY];
        [x, y]
    }
}

impl Task for Ant {
    const ID: &'static str = "Ant-v5";
    const MODEL_FILE: &'static str = "ant.xml";
    const MODEL_XML: &'static str = include_str!("../../assets/mujoco/ant.xml");
    const FRAME_SKIP: usize = 5;
    const MAX_EPISODE_STEPS: usize = 1000;
    const REWARD_THRESHOLD: Option<f64> = Some(6000.0);
    const INIT_STATE_SHAPE: &'static str = r#"{"qpos": [15 numbers], "qvel": [14 numbers]}"#;
    /// `DEFAULT_CAMERA_CONFIG` of `ant_v5.py` (its `trackbodyid` has no effect on a free camera).
    const CAMERA: CameraConfig = CameraConfig {
        distance: Some(4.0),
        ..CameraConfig::FREE
    };

    fn new(model: &MjModel) -> Result<Self, String> {
        if model.ffi().nbody <= MAIN_BODY as i64 {
            return Err("it has no body 1 (the torso)".to_owned());
        }
        require_sizes(model, 3, 0)?;
        Ok(Self)
    }

    /// qpos: uniform noise; qvel: normal noise.
    fn reset_state(&self, simulation: &Simulation, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let qpos = uniform_noise(rng, simulation.init_qpos(), RESET_NOISE_SCALE);
        let qvel = normal_noise(rng, simulation.init_qvel(), RESET_NOISE_SCALE);
        (qpos, qvel)
    }

    /// `qpos[2:]`, `qvel`, then the clipped `cfrc_ext` of every body but the world.
    fn observation(&self, simulation: &Simulation) -> Vec<f64> {
        simulation.qpos()[2..]
            .iter()
            .chain(simulation.qvel())
            .copied()
            .chain(Self::contact_forces(simulation, 1))
            .collect()
    }

    fn reset_info(&self, simulation: &Simulation) -> Info {
        let qpos = simulation.qpos();
        info(&[
            ("x_position", qpos[0]),
            ("y_position", qpos[1]),
            ("distance_from_origin", norm(&qpos[..2])),
        ])
    }

    fn step(&self, simulation: &mut Simulation, action: &[f32]) -> Step {
        let [x_before, y_before] = Self::main_body_xy(simulation);
        simulation.do_simulation(action);
        let [x_after, y_after] = Self::main_body_xy(simulation);
        let x_velocity = (x_after - x_before) / simulation.dt();
        let y_velocity = (y_after - y_before) / simulation.dt();

        let healthy = Self::is_healthy(simulation);
        let forward_reward = x_velocity * FORWARD_REWARD_WEIGHT;
        let healthy_reward = if healthy { HEALTHY_REWARD } else { 0.0 };
        let ctrl_cost = float32_control_cost(CTRL_COST_WEIGHT, action);
        // The world body's row is included here (it is always zero), as in Gymnasium.
        let contact_cost =
            CONTACT_COST_WEIGHT * sum_of_squares(Self::contact_forces(simulation, 0));
        let reward = (forward_reward + healthy_reward) - (ctrl_cost + contact_cost);
        let qpos = simulation.qpos();
        task_step(
            self.observation(simulation),
            reward,
            !healthy,
            info(&[
                ("x_position", qpos[0]),
                ("y_position", qpos[1]),
                ("distance_from_origin", norm(&qpos[..2])),
                ("x_velocity", x_velocity),
                ("y_velocity", y_velocity),
                ("reward_forward", forward_reward),
                ("reward_ctrl", -ctrl_cost),
                ("reward_contact", -contact_cost),
                ("reward_survive", healthy_reward),
            ]),
        )
    }
}
