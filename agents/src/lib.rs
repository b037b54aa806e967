//! The agents of ordergrad (SAC, distributional SAC, ReMAC and PPO on Burn), their shared training
//! machinery, and the `ordergrad` command line. Everything here is generic over the Burn
//! backend; the concrete backend is chosen once, in `backend`.

pub mod backend;
pub mod checkpoint;
pub mod cli;
pub mod common;
pub mod config;
pub mod dsac;
pub mod experiments;
pub mod logging;
pub mod ppo;
pub mod remac;
pub mod sac;
pub mod video;
