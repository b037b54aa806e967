//! The `Env` trait (Gymnasium 1.x's `reset`/`step`), what a step returns, and `Box` spaces.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::EnvError;
use crate::render::Frame;
use crate::seeding::standard_normal;

/// A single environment, mirroring `gymnasium.Env`.
///
/// Observations are `f64` (MuJoCo observations are float64 in Gymnasium; float32 observations
/// widen losslessly), actions are `f32` (Gymnasium's continuous action spaces are float32).
/// `Send` so that a vector env can step its members on threads.
pub trait Env: Send {
    /// The Gymnasium id, e.g. `Pendulum-v1`.
    fn id(&self) -> &str;

    fn observation_space(&self) -> &BoxSpace;

    fn action_space(&self) -> &BoxSpace;

    /// Starts an episode. `Some(seed)` reseeds the env's random stream (as `reset(seed=...)`
    /// does in Gymnasium); `None` continues it, or seeds from OS entropy on the first reset.
    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info);

    /// Starts an episode like `reset(seed)`, then replaces the drawn physical state with
    /// `state`, a JSON object whose keys depend on the env (`{"state": [theta, thetadot]}` for
    /// Pendulum, `{"state": [position, velocity]}` for MountainCarContinuous; MuJoCo envs take
    /// `{"qpos": [...], "qvel": [...]}`). Used by `--init-state` and the parity tests, which
    /// inject the state Gymnasium drew instead of reproducing NumPy's random streams.
    fn reset_to_state(
        &mut self,
        seed: Option<u64>,
        state: &serde_json::Value,
    ) -> Result<(Vec<f64>, Info), EnvError>;

    /// Advances one step. A wrong-length or non-finite action is an error, never clamped.
    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError>;

    /// A picture of the current state, for episode videos ([`crate::render`]). None for an env
    /// without a picture (the MuJoCo envs) and before the first reset. Wrappers forward it.
    fn render(&self) -> Option<Frame> {
        None
    }
}

/// What `Env::step` returns: Gymnasium's `(obs, reward, terminated, truncated, info)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub observation: Vec<f64>,
    pub reward: f64,
    /// The episode reached a terminal state: bootstrap with 0.
    pub terminated: bool,
    /// The episode was cut short (time limit): bootstrap from the value of `observation`.
    pub truncated: bool,
    pub info: Info,
}

impl Step {
    /// Whether the episode is over, for whatever reason. Use it to decide when to reset, never
    /// to decide how to bootstrap.
    pub fn is_done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// Gymnasium's `info` dict, typed: named numbers (reward components, positions) plus the
/// episode summary that `RecordEpisodeStatistics` adds on the step that ends an episode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Info {
    pub values: BTreeMap<String, f64>,
    pub episode: Option<EpisodeStatistics>,
}

/// Gymnasium's `info["episode"] = {"r": ..., "l": ...}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpisodeStatistics {
    /// Sum of the rewards the wrapper saw (undiscounted).
    pub episode_return: f64,
    pub length: usize,
}

/// The element type Gymnasium declares for a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DType {
    F32,
    F64,
}

/// Gymnasium's `spaces.Box(low, high, shape, dtype)`, flattened to one dimension.
///
/// Bounds are stored as `f64`; for an `F32` space they are the exact float32 values
/// (e.g. MountainCar's `-1.2` is stored as `-1.2000000476837158`, as NumPy holds it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoxSpace {
    pub low: Vec<f64>,
    pub high: Vec<f64>,
    pub shape: Vec<usize>,
    pub dtype: DType,
}

impl BoxSpace {
    /// A one-dimensional float32 box.
    pub fn new_f32(low: &[f32], high: &[f32]) -> Self {
        assert_eq!(low.len(), high.len(), "Box bounds of different lengths");
        Self {
            low: low.iter().map(|&x| f64::from(x)).collect(),
            high: high.iter().map(|&x| f64::from(x)).collect(),
            shape: vec![low.len()],
            dtype: DType::F32,
        }
    }

    /// A one-dimensional float32 box with the same bounds in every component.
    pub fn uniform_f32(low: f32, high: f32, dim: usize) -> Self {
        Self::new_f32(&vec![low; dim], &vec![high; dim])
    }

    /// Number of components.
    pub fn dim(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_bounded(&self) -> bool {
        self.low.iter().chain(&self.high).all(|b| b.is_finite())
    }

    pub fn contains(&self, x: &[f64]) -> bool {
        x.len() == self.dim()
            && x.iter()
                .zip(self.low.iter().zip(&self.high))
                .all(|(v, (lo, hi))| lo <= v && v <= hi)
    }

    /// A uniform sample, like `action_space.sample()` for a bounded box (random warm-up
    /// actions). Unbounded components are sampled from a standard normal, as Gymnasium does.
    pub fn sample(&self, rng: &mut impl Rng) -> Vec<f32> {
        self.low
            .iter()
            .zip(&self.high)
            .map(|(&lo, &hi)| {
                if lo.is_finite() && hi.is_finite() {
                    rng.random_range(lo..=hi) as f32
                } else {
                    standard_normal(rng) as f32
                }
            })
            .collect()
    }
}

/// Rejects actions of the wrong length or with a NaN/infinite component. Every env and every
/// action wrapper calls this before touching the action, so nothing silently clamps a NaN.
pub fn validate_action(env_id: &str, space: &BoxSpace, action: &[f32]) -> Result<(), EnvError> {
    if action.len() != space.dim() {
        return Err(EnvError::ActionLength {
            env_id: env_id.to_owned(),
            expected: space.dim(),
            got: action.len(),
        });
    }
    match action.iter().position(|a| !a.is_finite()) {
        Some(index) => Err(EnvError::NonFiniteAction {
            env_id: env_id.to_owned(),
            index,
            value: action[index],
        }),
        None => Ok(()),
    }
}

/// A boxed env is an env, so wrappers and the vector env work on `Box<dyn Env>` as well as on
/// concrete types.
impl<E: Env + ?Sized> Env for Box<E> {
    fn id(&self) -> &str {
        (**self).id()
    }

    fn observation_space(&self) -> &BoxSpace {
        (**self).observation_space()
    }

    fn action_space(&self) -> &BoxSpace {
        (**self).action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        (**self).reset(seed)
    }

    fn reset_to_state(
        &mut self,
        seed: Option<u64>,
        state: &serde_json::Value,
    ) -> Result<(Vec<f64>, Info), EnvError> {
        (**self).reset_to_state(seed, state)
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        (**self).step(action)
    }

    fn render(&self) -> Option<Frame> {
        (**self).render()
    }
}
