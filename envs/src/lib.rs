//! Gymnasium-compatible continuous-control environments for ordergrad.
//!
//! - [`Env`]: Gymnasium 1.x's `reset(seed) -> (obs, info)` and `step(action) -> Step`
//!   (`observation, reward, terminated, truncated, info`), with [`BoxSpace`] spaces.
//! - [`make`]: an env by its Gymnasium id, wrapped in its registered time limit, exactly
//!   as `gymnasium.make` does; [`registered_ids`] lists the ids.
//! - [`classic`]: `Pendulum-v1` and `MountainCarContinuous-v0`, matching Gymnasium 1.4.0
//!   step for step (checked against recorded fixtures in `tests/`).
//! - `mujoco` (cargo feature `mujoco`): Gymnasium's nine MuJoCo v5 envs (`HalfCheetah-v5`, ...)
//!   on MuJoCo 3.17.0, also checked against fixtures; `make` knows their ids.
//! - [`wrappers`]: TimeLimit, ClipAction, RescaleAction, NormalizeObservation,
//!   NormalizeReward, RecordEpisodeStatistics, StochasticPenalty (risky tasks).
//! - [`risky`]: `RiskyCrossing-v0` and `RiskyCar-v0` (risky tasks whose optima are known
//!   exactly), `RiskyPendulum-v1` and (feature `mujoco`) `RiskyHalfCheetah-v5`.
//! - [`VectorEnv`]: N envs stepped as a batch with same-step autoreset.
//! - [`render`]: pictures of the classic-control and risky envs' states (`Env::render`), for
//!   episode videos.
//! - [`rollout()`]: replays a list of actions (the `ordergrad rollout` command).

pub mod classic;
pub mod env;
pub mod error;
mod initial_state;
#[cfg(feature = "mujoco")]
pub mod mujoco;
pub mod registry;
pub mod render;
pub mod risky;
pub mod rollout;
mod seeding;
pub mod vector;
pub mod wrappers;

pub use env::{BoxSpace, DType, Env, EpisodeStatistics, Info, Step, validate_action};
pub use error::EnvError;
pub use registry::{EnvSpec, make, registered_ids, spec};
pub use rollout::{Rollout, parse_actions, rollout, rollout_from_json};
pub use vector::{VectorEnv, VectorStep};
