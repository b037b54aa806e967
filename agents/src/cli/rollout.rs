use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// Environment id, e.g. Pendulum-v1 (or HalfCheetah-v5, ... in a build with --features mujoco).
    #[arg(long)]
    env: String,
    /// JSON array of actions ([[0.5], [-1.0], ...] or [0.5, -1.0] for 1-D actions); - for stdin.
    #[arg(long)]
    actions: PathBuf,
    /// Seed of the reset.
    #[arg(long)]
    seed: Option<u64>,
    /// State injected after the reset, e.g. '{"state": [3.0, 0.5]}' for Pendulum-v1
    /// ([theta, thetadot]) or MountainCarContinuous-v0 ([position, velocity]); MuJoCo envs take
    /// '{"qpos": [...], "qvel": [...]}' (nq and nv numbers).
    #[arg(long)]
    init_state: Option<String>,
}

pub fn run(args: &RolloutArgs) -> anyhow::Result<()> {
    let actions = if args.actions.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading actions from standard input")?;
        text
    } else {
        std::fs::read_to_string(&args.actions).map_err(|error| {
            super::BadInput(format!(
                "cannot read --actions {}: {error}",
                args.actions.display()
            ))
        })?
    };
    let rollout =
        envs::rollout_from_json(&args.env, &actions, args.seed, args.init_state.as_deref())?;
    super::print_json(&rollout)
}
