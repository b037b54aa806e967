//! The agents of ordergrad (SAC and ReMAC on Burn; PPO to come), their shared training
//! machinery, and the `ordergrad` command line. Everything here is generic over the Burn
//! backend; the concrete backend is chosen once, in `cli::backend`.

pub mod checkpoint;
pub mod checkpoint_file;
pub mod cli;
pub mod config;
pub mod critic;
pub mod host;
pub mod logging;
pub mod nets;
pub mod off_policy;
pub mod remac;
pub mod replay;
pub mod sac;
