//! What the agents share: networks and their optimiser, the critic machinery, entropy tuning,
//! the replay buffer and PPO's rollout buffer, the off- and on-policy training loops, evaluation
//! episodes, and moving numbers between the host and tensors.

pub mod adam;
pub mod critic;
pub mod cvar_regression;
pub mod entropy;
pub mod evaluation;
pub mod grad_clip;
pub mod host;
pub mod nets;
pub mod off_policy;
pub mod on_policy;
pub mod quantile;
pub mod replay;
pub mod rollout_buffer;
pub mod shared_normalizers;
pub mod training_session;
pub mod update_metrics;
