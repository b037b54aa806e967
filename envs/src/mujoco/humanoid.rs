//! Gymnasium's `Humanoid-v5` (`gymnasium/envs/mujoco/humanoid_v5.py`, 1.4.0): a 3D humanoid
//! rewarded for moving its centre of mass forward; the episode ends when the torso height
//! leaves (1, 2). The observation has every optional part on (the v5 defaults): `qpos[2:]`,
//! `qvel`, `cinert`, `cvel`, `qfrc_actuator[6:]` and `cfrc_ext`, the body arrays without the
//! world body: 22 + 23 + 130 + 78 + 17 + 78 = 348 numbers.

use mujoco_rs::prelude::MjModel;
use rand_chacha::ChaCha8Rng;

use super::numpy::{norm, pairwise_sum, sum_of_squares};
use super::rendering::CameraConfig;
use super::simulation::{Simulation, require_sizes};
use super::{Task, info, task_step, uniform_noise};
use crate::env::{Info, Step};

const FORWARD_REWARD_WEIGHT: f64 = 1.25;
const CTRL_COST_WEIGHT: f64 = 0.1;
const CONTACT_COST_WEIGHT: f64 = 5e-7;
/// `contact_cost_range = (-inf, 10.0)`: the contact cost is capped at 10.
const CONTACT_COST_MAX: f64 = 10.0;
const HEALTHY_REWARD: f64 = 5.0;
/// Open interval: healthy means `1 < qpos[2] < 2`.
const HEALTHY_Z_RANGE: (f64, f64) = (1.0, 2.0);
const RESET_NOISE_SCALE: f64 = 0.01;
/// The free joint of the torso: its 6 dofs have no actuator, so `qfrc_actuator[6:]`.
const ROOT_DOFS: usize = 6;

pub(crate) struct Humanoid {
    /// `model.body_mass.sum()` (NumPy's pairwise sum).
    total_mass: f64,
}

impl Humanoid {
    /// Gymnasium's `mass_center`: `np.einsum('b,bj->j', body_mass, xipos) / total mass`, x and
    /// y only. einsum accumulates the products in body order.
    fn mass_center_xy(&self, simulation: &Simulation) -> [f64; 2] {
        let masses = simulation.model().body_mass();
        let mut weighted = [0.0_f64; 2];
        for (&mass, position) in masses.iter().zip(simulation.data().xipos()) {
            weighted[0] += mass * position[0];
            weighted[1] += mass * position[1];
        }
        weighted.map(|w| w / self.total_mass)
    }

    fn is_healthy(simulation: &Simulation) -> bool {
        let z = simulation.qpos()[2];
        HEALTHY_Z_RANGE.0 < z && z < HEALTHY_Z_RANGE.1
    }
}

impl Task for Humanoid {
    const ID: &'static str = "Humanoid-v5";
    const MODEL_FILE: &'static str = "humanoid.xml";
    const MODEL_XML: &'static str = include_str!("../../assets/mujoco/humanoid.xml");
    const FRAME_SKIP: usize = 5;
    const MAX_EPISODE_STEPS: usize = 1000;
    const REWARD_THRESHOLD: Option<f64> = None;
    const INIT_STATE_SHAPE: &'static str = r#"{"qpos": [24 numbers], "qvel": [23 numbers]}"#;
    /// `DEFAULT_CAMERA_CONFIG` of `humanoid_v5.py` (its `trackbodyid` has no effect on a free camera).
    const CAMERA: CameraConfig = CameraConfig {
        distance: Some(4.0),
        lookat: Some([0.0, 0.0, 2.0]),
        elevation: Some(-20.0),
    };

    fn new(model: &MjModel) -> Result<Self, String> {
        require_sizes(model, 3, ROOT_DOFS)?;
        Ok(Self {
            total_mass: pairwise_sum(model.body_mass()),
        })
    }

    fn reset_state(&self, simulation: &Simulation, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let qpos = uniform_noise(rng, simulation.init_qpos(), RESET_NOISE_SCALE);
        let qvel = uniform_noise(rng, simulation.init_qvel(), RESET_NOISE_SCALE);
        (qpos, qvel)
    }

    fn observation(&self, simulation: &Simulation) -> Vec<f64> {
        let data = simulation.data();
        simulation.qpos()[2..]
            .iter()
            .chain(simulation.qvel())
            .chain(data.cinert()[1..].iter().flatten())
            .chain(data.cvel()[1..].iter().flatten())
            .chain(&data.qfrc_actuator()[ROOT_DOFS..])
            .chain(data.cfrc_ext()[1..].iter().flatten())
            .copied()
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
        let [x_before, y_before] = self.mass_center_xy(simulation);
        simulation.do_simulation(action);
        let [x_after, y_after] = self.mass_center_xy(simulation);
        let x_velocity = (x_after - x_before) / simulation.dt();
        let y_velocity = (y_after - y_before) / simulation.dt();

        let healthy = Self::is_healthy(simulation);
        let data = simulation.data();
        let forward_reward = FORWARD_REWARD_WEIGHT * x_velocity;
        let healthy_reward = if healthy { HEALTHY_REWARD } else { 0.0 };
        // Humanoid's control cost reads `data.ctrl` (float64), unlike the other envs' action.
        let ctrl_cost = CTRL_COST_WEIGHT * sum_of_squares(data.ctrl().iter().copied());
        // `np.clip(cost, -inf, 10)`: `clamp` keeps a NaN a NaN, as NumPy does.
        let contact_cost = (CONTACT_COST_WEIGHT
            * sum_of_squares(data.cfrc_ext().iter().flatten().copied()))
        .clamp(f64::NEG_INFINITY, CONTACT_COST_MAX);
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
                ("reward_survive", healthy_reward),
                ("reward_forward", forward_reward),
                ("reward_ctrl", -ctrl_cost),
                ("reward_contact", -contact_cost),
            ]),
        )
    }
}
