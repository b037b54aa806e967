use std::io::Read;
use std::path::Path;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// Environment id, e.g. Pendulum-v1 (or HalfCheetah-v5, ... in a build with --features mujoco).
    #[arg(long)]
    env: String,
    /// Actions as a JSON array ([[0.5], [-1.0], ...] or [0.5, -1.0] for 1-D actions): inline
    /// (anything starting with '['), a file holding it, or - for standard input.
    #[arg(long, allow_hyphen_values = true)]
    actions: String,
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
    let actions = read_actions(&args.actions)?;
    let rollout =
        envs::rollout_from_json(&args.env, &actions, args.seed, args.init_state.as_deref())?;
    super::print_json(&rollout)
}

/// The JSON text of `--actions`: itself when inline, else standard input or the file it names.
fn read_actions(argument: &str) -> anyhow::Result<String> {
    if argument.trim_start().starts_with('[') {
        return Ok(argument.to_string());
    }
    if argument == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading actions from standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(Path::new(argument)).map_err(|error| {
        super::BadInput(format!(
            "cannot read --actions {argument}: {error}; --actions takes a JSON array inline \
             (e.g. '[[0.5], [-1.0]]'), a file holding one, or - for standard input"
        ))
        .into()
    })
}
