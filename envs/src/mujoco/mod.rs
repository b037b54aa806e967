//! Gymnasium 1.4.0's MuJoCo v5 envs on MuJoCo 3.17.0 (cargo feature `mujoco`).
//!
//! Each env is Gymnasium's `*_v5.py` with its default arguments: the same bundled model
//! (`envs/assets/mujoco/`, copied verbatim), frame skip, observation layout, reward terms,
//! health and termination rules and reset noise. Parity tests replay episodes recorded from
//! Gymnasium and match its observations exactly.
//!
//! What differs between the envs is a `Task`; `MujocoEnv` is the `Env` around one, and a
//! `Simulation` is Gymnasium's `MujocoEnv` base class (one `MjData` over a shared `MjModel`).
//! The model of each id is compiled once per process and shared by every env of that id, so a
//! vector env of N copies holds one model and N data.

mod ant;
mod half_cheetah;
mod hopper;
mod humanoid;
mod inverted_double_pendulum;
mod inverted_pendulum;
mod numpy;
mod reacher;
pub mod rendering;
mod runtime;
mod simulation;
mod swimmer;
mod walker2d;

use std::path::Path;
use std::sync::Arc;

use mujoco_rs::prelude::MjModel;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::env::{BoxSpace, DType, Env, Info, Step, validate_action};
use crate::error::EnvError;
use crate::initial_state::{StateField, parse_state_fields};
use crate::registry::EnvSpec;
use crate::render::Frame;
use crate::seeding::{ResetRng, standard_normal, uniform};
use crate::wrappers::TimeLimit;
use rendering::CameraConfig;
use simulation::Simulation;

use ant::Ant;
use half_cheetah::HalfCheetah;
use hopper::Hopper;
use humanoid::Humanoid;
use inverted_double_pendulum::InvertedDoublePendulum;
use inverted_pendulum::InvertedPendulum;
use reacher::Reacher;
use swimmer::Swimmer;
use walker2d::Walker2d;

/// What one MuJoCo env adds to the shared machinery: Gymnasium's `reset_model`, `_get_obs` and
/// `step` for its model.
pub(crate) trait Task: Sized + Send + 'static {
    /// The Gymnasium id, e.g. `HalfCheetah-v5`.
    const ID: &'static str;
    /// The bundled model's file name in `envs/assets/mujoco/`.
    const MODEL_FILE: &'static str;
    /// The bundled model itself.
    const MODEL_XML: &'static str;
    /// MuJoCo steps per env step.
    const FRAME_SKIP: usize;
    /// The time limit of Gymnasium's registration.
    const MAX_EPISODE_STEPS: usize;
    /// Gymnasium's `reward_threshold`, where it registers one.
    const REWARD_THRESHOLD: Option<f64>;
    /// What `reset_to_state` accepts, for messages and `--help`.
    const INIT_STATE_SHAPE: &'static str;
    /// Gymnasium's `DEFAULT_CAMERA_CONFIG` for the task's `rgb_array` pictures.
    const CAMERA: CameraConfig = CameraConfig::FREE;

    /// Looks up what the task reads in `model` (body ids, sites); a reason if it cannot.
    fn new(model: &MjModel) -> Result<Self, String>;

    /// Gymnasium's `reset_model` draw: the episode's start `(qpos, qvel)`.
    fn reset_state(&self, simulation: &Simulation, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>);

    /// Gymnasium's `_get_obs`.
    fn observation(&self, simulation: &Simulation) -> Vec<f64>;

    /// Gymnasium's `_get_reset_info`.
    fn reset_info(&self, _simulation: &Simulation) -> Info {
        Info::default()
    }

    /// Gymnasium's `step` for a valid action: simulate, observe, reward, terminate.
    /// `truncated` is always false here (the time limit is a wrapper).
    fn step(&self, simulation: &mut Simulation, action: &[f32]) -> Step;
}

/// A MuJoCo env: a `Task` on its own `Simulation`.
pub(crate) struct MujocoEnv<T: Task> {
    task: T,
    simulation: Simulation,
    reset_rng: ResetRng,
    observation_space: BoxSpace,
    action_space: BoxSpace,
    /// `{"qpos": [nq numbers], "qvel": [nv numbers]}` for this model.
    init_state_shape: String,
    has_reset: bool,
}

impl<T: Task> MujocoEnv<T> {
    /// The env on its bundled v5 model (shared with every other env of this id).
    pub(crate) fn new() -> Result<Self, EnvError> {
        let model = runtime::bundled_model(T::ID, T::MODEL_FILE, T::MODEL_XML)?;
        Self::with_model(model, &format!("{} (bundled)", T::MODEL_FILE))
    }

    /// The env on another model file, like Gymnasium's `xml_file=` argument. The model must
    /// have what the env reads (e.g. Reacher's `fingertip` and `target` bodies).
    pub(crate) fn from_model_file(path: impl AsRef<Path>) -> Result<Self, EnvError> {
        let path = path.as_ref();
        let model = runtime::model_from_file(T::ID, path)?;
        Self::with_model(model, &path.display().to_string())
    }

    fn with_model(model: Arc<MjModel>, model_name: &str) -> Result<Self, EnvError> {
        let unusable = |reason: String| EnvError::MujocoModel {
            env_id: T::ID.to_owned(),
            model: model_name.to_owned(),
            reason,
            hint: format!(
                "{} needs a model shaped like Gymnasium's {}",
                T::ID,
                T::MODEL_FILE
            ),
        };
        let task = T::new(&model).map_err(unusable)?;
        let action_space = action_space(&model);
        let simulation = Simulation::new(model, T::FRAME_SKIP).map_err(unusable)?;
        // Gymnasium sizes the observation space from the model, as `_get_obs` will fill it.
        let observation_dim = task.observation(&simulation).len();
        let init_state_shape = format!(
            r#"{{"qpos": [{} numbers], "qvel": [{} numbers]}}"#,
            simulation.nq(),
            simulation.nv()
        );
        Ok(Self {
            task,
            simulation,
            reset_rng: ResetRng::default(),
            observation_space: BoxSpace {
                low: vec![f64::NEG_INFINITY; observation_dim],
                high: vec![f64::INFINITY; observation_dim],
                shape: vec![observation_dim],
                dtype: DType::F64,
            },
            action_space,
            init_state_shape,
            has_reset: false,
        })
    }

    fn start_episode(&mut self, qpos: &[f64], qvel: &[f64]) -> (Vec<f64>, Info) {
        self.simulation.reset_to(qpos, qvel);
        self.has_reset = true;
        (
            self.task.observation(&self.simulation),
            self.task.reset_info(&self.simulation),
        )
    }
}

/// Gymnasium's `_set_action_space`: the actuators' `ctrlrange`, as float32.
fn action_space(model: &MjModel) -> BoxSpace {
    let (low, high): (Vec<f32>, Vec<f32>) = model
        .actuator_ctrlrange()
        .iter()
        .map(|&[low, high]| (low as f32, high as f32))
        .unzip();
    BoxSpace::new_f32(&low, &high)
}

impl<T: Task> Env for MujocoEnv<T> {
    fn id(&self) -> &str {
        T::ID
    }

    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }

    fn action_space(&self) -> &BoxSpace {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        let rng = self.reset_rng.for_reset(seed);
        let (qpos, qvel) = self.task.reset_state(&self.simulation, rng);
        self.start_episode(&qpos, &qvel)
    }

    fn reset_to_state(
        &mut self,
        seed: Option<u64>,
        state: &Value,
    ) -> Result<(Vec<f64>, Info), EnvError> {
        let qpos_bounds = vec![(-MUJOCO_MAX_VALUE, MUJOCO_MAX_VALUE); self.simulation.nq()];
        let qvel_bounds = vec![(-MUJOCO_MAX_VALUE, MUJOCO_MAX_VALUE); self.simulation.nv()];
        let fields = [
            StateField {
                key: "qpos",
                len: self.simulation.nq(),
                bounds: Some(&qpos_bounds),
            },
            StateField {
                key: "qvel",
                len: self.simulation.nv(),
                bounds: Some(&qvel_bounds),
            },
        ];
        let parsed = parse_state_fields(T::ID, state, &fields, &self.init_state_shape)?;
        // Advance the reset stream as a plain reset would, so that later resets do not depend
        // on whether this one was injected.
        self.reset(seed);
        Ok(self.start_episode(&parsed[0], &parsed[1]))
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        validate_action(T::ID, &self.action_space, action)?;
        if !self.has_reset {
            return Err(EnvError::ResetNeeded {
                env_id: T::ID.to_owned(),
            });
        }
        Ok(self.task.step(&mut self.simulation, action))
    }

    /// MuJoCo's own picture (`rendering`); None before the first reset and where the
    /// renderer cannot start (`rendering::last_failure` says why).
    fn render(&self) -> Option<Frame> {
        if !self.has_reset {
            return None;
        }
        rendering::render(
            T::ID,
            self.simulation.shared_model(),
            self.simulation.qpos(),
            self.simulation.qvel(),
            T::CAMERA,
        )
    }
}

/// MuJoCo's `mjMAXVAL`: `mj_step` treats a position or velocity beyond it as diverged and resets
/// the simulation with a warning, so an injected state beyond it could never be stepped from.
const MUJOCO_MAX_VALUE: f64 = 1e10;

/// The registration of a task, as `gymnasium.register` records it.
const fn spec<T: Task>() -> EnvSpec {
    EnvSpec {
        id: T::ID,
        max_episode_steps: Some(T::MAX_EPISODE_STEPS),
        reward_threshold: T::REWARD_THRESHOLD,
        initial_state_shape: T::INIT_STATE_SHAPE,
        make_unwrapped: make_bundled::<T>,
        needs_mujoco: true,
    }
}

fn make_bundled<T: Task>() -> Result<Box<dyn Env>, EnvError> {
    Ok(Box::new(MujocoEnv::<T>::new()?))
}

/// The MuJoCo ids in the order of `registry::MUJOCO_IDS`.
pub(crate) const SPECS: &[EnvSpec] = &[
    spec::<HalfCheetah>(),
    spec::<Hopper>(),
    spec::<Walker2d>(),
    spec::<Ant>(),
    spec::<InvertedPendulum>(),
    spec::<InvertedDoublePendulum>(),
    spec::<Reacher>(),
    spec::<Swimmer>(),
    spec::<Humanoid>(),
];

/// `gymnasium.make(id, xml_file=path)`: a MuJoCo env on another model file, in its registered
/// time limit.
pub fn make_with_model_file(id: &str, path: impl AsRef<Path>) -> Result<Box<dyn Env>, EnvError> {
    fn boxed<T: Task>(path: &Path) -> Result<Box<dyn Env>, EnvError> {
        let env = MujocoEnv::<T>::from_model_file(path)?;
        Ok(Box::new(TimeLimit::new(env, T::MAX_EPISODE_STEPS)?))
    }
    let path = path.as_ref();
    match id {
        HalfCheetah::ID => boxed::<HalfCheetah>(path),
        Hopper::ID => boxed::<Hopper>(path),
        Walker2d::ID => boxed::<Walker2d>(path),
        Ant::ID => boxed::<Ant>(path),
        InvertedPendulum::ID => boxed::<InvertedPendulum>(path),
        InvertedDoublePendulum::ID => boxed::<InvertedDoublePendulum>(path),
        Reacher::ID => boxed::<Reacher>(path),
        Swimmer::ID => boxed::<Swimmer>(path),
        Humanoid::ID => boxed::<Humanoid>(path),
        _ => {
            // Not a MuJoCo id: the registry's message (known ids, did you mean).
            crate::registry::spec(id)?;
            Err(EnvError::InvalidArgument(format!(
                "`{id}` is not a MuJoCo env, so it takes no model file"
            )))
        }
    }
}

/// `init + U(-scale, scale)` per component (`init + np_random.uniform(-scale, scale, n)`).
fn uniform_noise(rng: &mut ChaCha8Rng, init: &[f64], scale: f64) -> Vec<f64> {
    init.iter()
        .map(|&x| x + uniform(rng, -scale, scale))
        .collect()
}

/// `init + scale * N(0, 1)` per component (`init + scale * np_random.standard_normal(n)`).
fn normal_noise(rng: &mut ChaCha8Rng, init: &[f64], scale: f64) -> Vec<f64> {
    init.iter()
        .map(|&x| x + scale * standard_normal(rng))
        .collect()
}

/// An `Info` from named values.
fn info(values: &[(&str, f64)]) -> Info {
    Info {
        values: values
            .iter()
            .map(|&(name, value)| (name.to_owned(), value))
            .collect(),
        episode: None,
    }
}

/// `np.clip(x, -limit, limit)`.
fn clip(x: f64, limit: f64) -> f64 {
    x.clamp(-limit, limit)
}

/// A step of a task that never truncates by itself.
fn task_step(observation: Vec<f64>, reward: f64, terminated: bool, info: Info) -> Step {
    Step {
        observation,
        reward,
        terminated,
        truncated: false,
        info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envs_of_one_id_share_one_model_and_own_their_data() {
        let a = MujocoEnv::<Hopper>::new().unwrap();
        let b = MujocoEnv::<Hopper>::new().unwrap();
        assert!(std::ptr::eq(a.simulation.model(), b.simulation.model()));
        assert!(!std::ptr::eq(
            a.simulation.data().ffi(),
            b.simulation.data().ffi()
        ));
        let other = MujocoEnv::<Walker2d>::new().unwrap();
        assert!(!std::ptr::eq(
            a.simulation.model(),
            other.simulation.model()
        ));
    }

    #[test]
    fn dt_is_frame_skip_times_the_model_timestep() {
        // Gymnasium's v5 table: frame_skip x timestep.
        let dt = |env: &Simulation| env.dt();
        assert_eq!(
            dt(&MujocoEnv::<HalfCheetah>::new().unwrap().simulation),
            5.0 * 0.01
        );
        assert_eq!(
            dt(&MujocoEnv::<Hopper>::new().unwrap().simulation),
            4.0 * 0.002
        );
        assert_eq!(
            dt(&MujocoEnv::<Humanoid>::new().unwrap().simulation),
            5.0 * 0.003
        );
        assert_eq!(
            dt(&MujocoEnv::<InvertedPendulum>::new().unwrap().simulation),
            2.0 * 0.02
        );
    }
}
