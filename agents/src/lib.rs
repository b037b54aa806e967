//! The agents of ordergrad (SAC, distributional SAC, ReMAC and PPO on Burn), their shared training
//! machinery, and the `ordergrad` command line. Everything here is generic over the Burn
//! backend; the concrete backend is chosen once, in `backend`.

pub mod adam;
pub mod backend;
pub mod checkpoint;
pub mod checkpoint_error;
pub mod checkpoint_file;
pub mod checkpoint_manifest;
pub mod cli;
pub mod config;
pub mod critic;
pub mod dsac;
pub mod entropy;
pub mod evaluation;
pub mod grad_clip;
pub mod host;
pub mod logging;
pub mod memory_estimate;
pub mod metrics;
pub mod nets;
pub mod objective_setting;
pub mod off_policy;
pub mod on_policy;
pub mod ppo;
pub mod quantile;
pub mod remac;
pub mod replay;
pub mod resource_limits;
pub mod resume_config;
pub mod rollout;
pub mod run_lock;
pub mod sac;
pub mod setting_checks;
pub mod shared_normalizers;
pub mod sweep;
pub mod video;
