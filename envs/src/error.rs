//! The one error type of the crate.
//!
//! Every message names the offending value and what would have been accepted, because these
//! errors reach users through `ordergrad rollout` (which exits with code 2 on any of them).

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum EnvError {
    #[error("unknown env id `{id}`{}; known ids: {}", did_you_mean(.suggestion), .known.join(", "))]
    UnknownEnvId {
        id: String,
        known: Vec<String>,
        /// A known id with the same name and another version, if there is one.
        suggestion: Option<String>,
    },

    #[error("{env_id}: action has {got} components, expected {expected}")]
    ActionLength {
        env_id: String,
        expected: usize,
        got: usize,
    },

    #[error("{env_id}: action[{index}] is {value}; actions must be finite numbers")]
    NonFiniteAction {
        env_id: String,
        index: usize,
        value: f32,
    },

    #[error("{env_id}: invalid initial state ({reason}); expected {expected}")]
    InvalidInitialState {
        env_id: String,
        reason: String,
        /// The accepted JSON shape, e.g. `{"state": [theta, thetadot]}`.
        expected: String,
    },

    /// A risky task's penalty parameter out of range (`envs::risky::coin::Penalty`).
    #[error("{env_id}: penalty {parameter} = {value} is out of range; it must be {accepted}")]
    InvalidRiskParameter {
        env_id: String,
        /// `probability` or `cost`.
        parameter: &'static str,
        value: f64,
        /// What the parameter accepts, e.g. `a number in [0, 1]`.
        accepted: &'static str,
    },

    #[error("{env_id}: step() called before reset()")]
    ResetNeeded { env_id: String },

    #[error(
        "vector env of {num_envs} envs with {action_dim}-dimensional actions needs \
         {expected} action values, got {got}"
    )]
    BatchLength {
        num_envs: usize,
        action_dim: usize,
        expected: usize,
        got: usize,
    },

    /// An error from one member of a vector env.
    #[error("vector env member {index}: {error}")]
    VectorMember { index: usize, error: Box<EnvError> },

    /// An error from one action of a rollout (counted from 0).
    #[error("rollout action {index}: {error}")]
    RolloutAction { index: usize, error: Box<EnvError> },

    /// A rollout whose output left the finite numbers (it would print as JSON null).
    #[error(
        "{env_id} returned a non-finite {what} {after}: the initial state is outside what the env \
         simulates (its reset draws states as Gymnasium does; see --init-state in \
         `ordergrad rollout --help`)"
    )]
    NonFiniteRollout {
        env_id: String,
        what: &'static str,
        /// "at reset" or "at action 3".
        after: String,
    },

    #[error(
        "invalid actions JSON ({reason}); expected an array of actions such as [[0.5], [-1.0]]"
    )]
    InvalidActionsJson { reason: String },

    /// A bad wrapper or vector-env setting, or statistics of the wrong shape.
    #[error("{0}")]
    InvalidArgument(String),

    /// A MuJoCo id in a build without the `mujoco` feature.
    #[error(
        "`{id}` is a MuJoCo env, and this build has no MuJoCo: run scripts/setup_mujoco.sh once, \
         then build with `--features mujoco` (e.g. `cargo run --release --features mujoco -- ...`)"
    )]
    MujocoNotBuilt { id: String },

    /// The MuJoCo library loaded at run time is not the one the bindings and fixtures are for.
    #[error(
        "the MuJoCo library loaded at run time is version {found}, but ordergrad needs {expected} \
         (mujoco-rs 7.0.0's bindings and the parity fixtures are for it); run \
         scripts/setup_mujoco.sh, unset any MUJOCO_DYNAMIC_LINK_DIR or LD_LIBRARY_PATH that points \
         at another MuJoCo, and rebuild"
    )]
    MujocoVersion { found: String, expected: String },

    /// A MuJoCo model that cannot be loaded or does not have what its env reads.
    #[error("{env_id}: cannot load the MuJoCo model {model}: {reason}; {hint}")]
    MujocoModel {
        env_id: String,
        /// The file (or the bundled model's name).
        model: String,
        reason: String,
        /// How to fix it.
        hint: String,
    },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(id) => format!(" (did you mean `{id}`?)"),
        None => String::new(),
    }
}
