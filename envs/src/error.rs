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

    #[error(
        "invalid actions JSON ({reason}); expected an array of actions such as [[0.5], [-1.0]]"
    )]
    InvalidActionsJson { reason: String },

    /// A bad wrapper or vector-env setting, or statistics of the wrong shape.
    #[error("{0}")]
    InvalidArgument(String),
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(id) => format!(" (did you mean `{id}`?)"),
        None => String::new(),
    }
}
