use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use ordergrad_core::{Objective, RankPlan};
use serde::Serialize;

use super::BadInput;
use super::backend::{BackendJob, dispatch};
use super::train::RUN_CONFIG_FILE;
use crate::checkpoint;
use crate::config::{AgentKind, TrainConfig};
use crate::evaluation::evaluate;
use crate::off_policy::{OffPolicyAgent, Spaces};
use crate::on_policy::{NormalizerStatistics, make_eval_env};
use crate::ppo::Ppo;
use crate::remac::Remac;
use crate::sac::Sac;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run directory written by `ordergrad train`; its latest complete checkpoint is evaluated.
    #[arg(long)]
    run: PathBuf,
    /// Number of episodes.
    #[arg(long, default_value_t = 10)]
    episodes: usize,
    /// Episode i is reset with seed SEED + i.
    #[arg(long, default_value_t = 1_000_000)]
    seed: u64,
    /// Sample actions from the policy instead of taking its deterministic action.
    #[arg(long)]
    stochastic: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// The distribution of evaluation returns, not just their mean.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub episodes: usize,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub median: f64,
    #[serde(rename = "cvar_0.1")]
    pub cvar_10: f64,
    #[serde(rename = "cvar_0.25")]
    pub cvar_25: f64,
    pub returns: Vec<f64>,
}

impl EvalReport {
    pub fn new(returns: Vec<f64>) -> anyhow::Result<Self> {
        let n = returns.len();
        let statistic = |objective: Objective| -> anyhow::Result<f64> {
            Ok(RankPlan::new(&objective, n, n)?.value(&returns)?)
        };
        let mean = statistic(Objective::Mean)?;
        Ok(Self {
            episodes: n,
            mean,
            std: (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n as f64).sqrt(),
            min: statistic(Objective::Min)?,
            max: statistic(Objective::Max)?,
            median: statistic(Objective::Median)?,
            cvar_10: statistic(Objective::Cvar(0.1))?,
            cvar_25: statistic(Objective::Cvar(0.25))?,
            returns,
        })
    }
}

pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    if args.episodes == 0 {
        return Err(BadInput("--episodes must be at least 1".into()).into());
    }
    let config = TrainConfig::load(&args.run.join(RUN_CONFIG_FILE), &[])?;
    let checkpoint = checkpoint::latest(&args.run)?.ok_or_else(|| {
        BadInput(format!(
            "{} has no complete checkpoint to evaluate",
            args.run.display()
        ))
    })?;
    let returns = dispatch(
        config.device,
        EvalJob {
            config: &config,
            checkpoint_dir: &checkpoint.checkpoint_dir,
            args,
        },
    )?;
    let report = EvalReport::new(returns)?;
    if args.json {
        super::print_json(&report)?;
    } else {
        println!(
            "{} on {} after {} steps, {} {} episodes:",
            config.agent.name(),
            config.env,
            checkpoint.state.next_step,
            report.episodes,
            if args.stochastic {
                "stochastic"
            } else {
                "deterministic"
            }
        );
        println!(
            "  mean {:.2}  std {:.2}  min {:.2}  median {:.2}  max {:.2}  CVaR_0.1 {:.2}  CVaR_0.25 {:.2}",
            report.mean,
            report.std,
            report.min,
            report.median,
            report.max,
            report.cvar_10,
            report.cvar_25
        );
    }
    Ok(())
}

struct EvalJob<'a> {
    config: &'a TrainConfig,
    checkpoint_dir: &'a Path,
    args: &'a EvalArgs,
}

impl BackendJob for EvalJob<'_> {
    type Output = Vec<f64>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<Vec<f64>> {
        let config = self.config;
        let spaces = Spaces::of(envs::make(&config.env)?.as_ref())?;
        let (dir, env, args) = (self.checkpoint_dir, config.env.as_str(), self.args);
        match config.agent {
            AgentKind::Ppo => {
                let agent = Ppo::<B>::new(
                    config.ppo.clone(),
                    spaces.obs_dim,
                    spaces.bounds.dim(),
                    &device,
                )
                .load(dir)?;
                let statistics = NormalizerStatistics::load(dir)?;
                let mut env = make_eval_env(env, &config.ppo, &statistics)?;
                evaluate(env.as_mut(), args.episodes, args.seed, |obs, rng| {
                    if args.stochastic {
                        agent.act(obs, 1, rng).actions
                    } else {
                        agent.mean_action(obs, 1)
                    }
                })
            }
            AgentKind::Sac => {
                let agent = Sac::<B>::new(config.sac.clone(), spaces, &device);
                evaluate_checkpoint(agent, dir, env, args)
            }
            AgentKind::Remac => {
                let agent = Remac::<B>::new(config.remac.clone(), spaces, &device);
                evaluate_checkpoint(agent, dir, env, args)
            }
        }
    }
}

fn evaluate_checkpoint<A: OffPolicyAgent>(
    agent: A,
    checkpoint_dir: &Path,
    env_id: &str,
    args: &EvalArgs,
) -> anyhow::Result<Vec<f64>> {
    let agent = agent.load(checkpoint_dir)?;
    let mut env = envs::make(env_id)?;
    evaluate(env.as_mut(), args.episodes, args.seed, |obs, rng| {
        agent.act(obs, !args.stochastic, rng)
    })
}
