//! The agents of ordergrad (PPO, SAC, ReMAC on Burn), their shared training machinery, and the
//! `ordergrad` command line.

pub mod checkpoint_file;
pub mod cli;
pub mod logging;
