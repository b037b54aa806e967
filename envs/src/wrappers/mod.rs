//! Gymnasium's wrappers, one per file. Each wraps any `E: Env` (a concrete env or a
//! `Box<dyn Env>`) and is itself an `Env`; `inner()` reaches the wrapped env.
//!
//! CleanRL's continuous PPO stacks them (innermost first) as
//! `RecordEpisodeStatistics -> ClipAction -> NormalizeObservation -> NormalizeReward`.

pub mod clip_action;
pub mod normalize_observation;
pub mod normalize_reward;
pub mod record_episode_statistics;
pub mod rescale_action;
pub mod running_mean_std;
pub mod stochastic_penalty;
pub mod time_limit;

pub use clip_action::ClipAction;
pub use normalize_observation::NormalizeObservation;
pub use normalize_reward::NormalizeReward;
pub use record_episode_statistics::RecordEpisodeStatistics;
pub use rescale_action::RescaleAction;
pub use running_mean_std::RunningMeanStd;
pub use stochastic_penalty::{PenaltySpec, RiskCondition, StochasticPenalty};
pub use time_limit::TimeLimit;
