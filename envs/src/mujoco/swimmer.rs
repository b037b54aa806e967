//! Gymnasium's `Swimmer-v5` (`gymnasium/envs/mujoco/swimmer_v5.py`, 1.4.0): a three-link
//! swimmer in a viscous fluid rewarded for moving forward. Never terminates.

use mujoco_rs::prelude::MjModel;
use rand_chacha::ChaCha8Rng;

use super::numpy::{float32_control_cost, norm};
use super::simulation::{Simulation, require_sizes};
use super::{Task, info, task_step, uniform_noise};
use crate::env::{Info, Step};

const FORWARD_REWARD_WEIGHT: f64 = 1.0;
const CTRL_COST_WEIGHT: f64 = 1e-4;
const RESET_NOISE_SCALE: f64 = 0.1;

pub(crate) struct Swimmer;

impl Task for Swimmer {
    const ID: &'static str = "Swimmer-v5";
    const MODEL_FILE: &'static str = "swimmer.xml";
    const MODEL_XML: &'static str = include_str!("../../assets/mujoco/swimmer.xml");
    const FRAME_SKIP: usize = 4;
    const MAX_EPISODE_STEPS: usize = 1000;
    const REWARD_THRESHOLD: Option<f64> = Some(360.0);
    const INIT_STATE_SHAPE: &'static str = r#"{"qpos": [5 numbers], "qvel": [5 numbers]}"#;

    fn new(model: &MjModel) -> Result<Self, String> {
        require_sizes(model, 2, 0)?;
        Ok(Self)
    }

    fn reset_state(&self, simulation: &Simulation, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let qpos = uniform_noise(rng, simulation.init_qpos(), RESET_NOISE_SCALE);
        let qvel = uniform_noise(rng, simulation.init_qvel(), RESET_NOISE_SCALE);
        (qpos, qvel)
    }

    /// `qpos[2:]` (the x and y positions are excluded), then `qvel`.
    fn observation(&self, simulation: &Simulation) -> Vec<f64> {
        let qpos = &simulation.qpos()[2..];
        qpos.iter().chain(simulation.qvel()).copied().collect()
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
        let [x_before, y_before] = [simulation.qpos()[0], simulation.qpos()[1]];
        simulation.do_simulation(action);
        let [x_after, y_after] = [simulation.qpos()[0], simulation.qpos()[1]];
        let x_velocity = (x_after - x_before) / simulation.dt();
        let y_velocity = (y_after - y_before) / simulation.dt();

        let forward_reward = FORWARD_REWARD_WEIGHT * x_velocity;
        let ctrl_cost = float32_control_cost(CTRL_COST_WEIGHT, action);
        let reward = forward_reward - ctrl_cost;
        task_step(
            self.observation(simulation),
            reward,
            false,
            info(&[
                ("x_position", x_after),
                ("y_position", y_after),
                ("distance_from_origin", norm(&[x_after, y_after])),
                ("x_velocity", x_velocity),
                ("y_velocity", y_velocity),
                ("reward_forward", forward_reward),
                ("reward_ctrl", -ctrl_cost),
            ]),
        )
    }
}
