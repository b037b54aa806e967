//! Gymnasium's `Reacher-v5` (`gymnasium/envs/mujoco/reacher_v5.py`, 1.4.0): move a two-joint
//! arm's fingertip to a random target; reward is minus the distance minus the control cost.
//! Never terminates; `make` adds the 50-step time limit.

use mujoco_rs::prelude::MjModel;
use rand_chacha::ChaCha8Rng;

use super::numpy::{norm, pairwise_sum};
use super::simulation::{Simulation, body_id, require_sizes};
use super::{Task, info, task_step, uniform_noise};
use crate::env::Step;
use crate::seeding::uniform;

const REWARD_DIST_WEIGHT: f64 = 1.0;
const REWARD_CONTROL_WEIGHT: f64 = 1.0;
const ARM_RESET_NOISE: f64 = 0.1;
const VELOCITY_RESET_NOISE: f64 = 0.005;
/// The target is drawn from U(-0.2, 0.2)^2 until it lies within 0.2 of the origin.
const TARGET_RANGE: f64 = 0.2;

pub(crate) struct Reacher {
    fingertip: usize,
    target: usize,
}

impl Reacher {
    /// `get_body_com("fingertip") - get_body_com("target")` (body frame positions).
    fn fingertip_to_target(&self, simulation: &Simulation) -> [f64; 3] {
        let xpos = simulation.data().xpos();
        let (tip, target) = (xpos[self.fingertip], xpos[self.target]);
        [tip[0] - target[0], tip[1] - target[1], tip[2] - target[2]]
    }
}

impl Task for Reacher {
    const ID: &'static str = "Reacher-v5";
    const MODEL_FILE: &'static str = "reacher.xml";
    const MODEL_XML: &'static str = include_str!("../../assets/mujoco/reacher.xml");
    const FRAME_SKIP: usize = 2;
    const MAX_EPISODE_STEPS: usize = 50;
    const REWARD_THRESHOLD: Option<f64> = Some(-3.75);
    const INIT_STATE_SHAPE: &'static str = r#"{"qpos": [4 numbers], "qvel": [4 numbers]}"#;

    fn new(model: &MjModel) -> Result<Self, String> {
        require_sizes(model, 4, 4)?;
        Ok(Self {
            fingertip: body_id(model, "fingertip")?,
            target: body_id(model, "target")?,
        })
    }

    /// Arm angles with uniform noise, a target uniform in the disc of radius 0.2 (in the last
    /// two coordinates), small arm velocities and a still target.
    fn reset_state(&self, simulation: &Simulation, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let mut qpos = uniform_noise(rng, simulation.init_qpos(), ARM_RESET_NOISE);
        let goal = loop {
            let goal = [
                uniform(rng, -TARGET_RANGE, TARGET_RANGE),
                uniform(rng, -TARGET_RANGE, TARGET_RANGE),
            ];
            if norm(&goal) < TARGET_RANGE {
                break goal;
            }
        };
        let nq = qpos.len();
        qpos[nq - 2..].copy_from_slice(&goal);
        let mut qvel = uniform_noise(rng, simulation.init_qvel(), VELOCITY_RESET_NOISE);
        let nv = qvel.len();
        qvel[nv - 2..].fill(0.0);
        (qpos, qvel)
    }

    /// `cos(qpos[:2])`, `sin(qpos[:2])`, `qpos[2:]` (the target), `qvel[:2]`, and the x-y
    /// offset from the target to the fingertip.
    fn observation(&self, simulation: &Simulation) -> Vec<f64> {
        let qpos = simulation.qpos();
        let angles = &qpos[..2];
        let offset = self.fingertip_to_target(simulation);
        angles
            .iter()
            .map(|a| a.cos())
            .chain(angles.iter().map(|a| a.sin()))
            .chain(qpos[2..].iter().copied())
            .chain(simulation.qvel()[..2].iter().copied())
            .chain(offset[..2].iter().copied())
            .collect()
    }

    fn step(&self, simulation: &mut Simulation, action: &[f32]) -> Step {
        simulation.do_simulation(action);
        let observation = self.observation(simulation);
        let reward_dist = -norm(&self.fingertip_to_target(simulation)) * REWARD_DIST_WEIGHT;
        // `-np.square(action).sum() * weight`: float32 throughout, like the other control costs.
        let squares: Vec<f32> = action.iter().map(|&a| a * a).collect();
        let reward_ctrl = f64::from(-pairwise_sum(&squares) * REWARD_CONTROL_WEIGHT as f32);
        let reward = reward_dist + reward_ctrl;
        task_step(
            observation,
            reward,
            false,
            info(&[("reward_dist", reward_dist), ("reward_ctrl", reward_ctrl)]),
        )
    }
}
