use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use ordergrad_core::{Objective, RankPlan};
use serde::Serialize;

use super::BadInput;
use super::checkpoint_hint::{Retry, with_fallback_hint};
use super::critic_report::{CriticReport, critic_report};
use super::train::RUN_CONFIG_FILE;
use crate::backend::{BackendJob, dispatch};
use crate::checkpoint::error::CheckpointError;
use crate::checkpoint::resume_config::forbidden_changes;
use crate::checkpoint::{self, Resume};
use crate::common::evaluation::{Episode, evaluate, evaluate_observed};
use crate::common::off_policy::{self, OffPolicyAgent, Spaces};
use crate::common::on_policy::{NormalizerStatistics, make_eval_env};
use crate::config::resource_limits::{MemoryBudget, check_rank_plan};
use crate::config::{AgentKind, DeviceKind, TrainConfig};
use crate::dsac::Dsac;
use crate::ppo::Ppo;
use crate::remac::Remac;
use crate::sac::Sac;
use crate::video::{self, EpisodeRecorder, VideoFormat};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run directory written by `ordergrad train`; its latest complete checkpoint is evaluated.
    #[arg(long)]
    run: PathBuf,
    /// Evaluate the checkpoint at this step instead of the latest.
    #[arg(long, value_name = "STEP")]
    checkpoint: Option<u64>,
    /// Number of episodes.
    #[arg(long, default_value_t = 10)]
    episodes: usize,
    /// Episode i is reset with seed SEED + i.
    #[arg(long, default_value_t = DEFAULT_EVAL_SEED)]
    seed: u64,
    /// Sample actions from the policy instead of taking its deterministic action.
    #[arg(long)]
    stochastic: bool,
    /// Evaluate on this device instead of the run's (checkpoints load on any backend).
    #[arg(long, value_enum)]
    device: Option<DeviceKind>,
    /// Start every episode from this state (after the seeded reset), e.g. '{"state": [3.14159,
    /// 0.0]}' for Pendulum-v1 hanging at rest; see `ordergrad rollout --help` for each env's
    /// form. The returns then spread only by the env's and the policy's randomness.
    #[arg(long, value_name = "JSON")]
    init_state: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Record every episode as a video in RUN/videos/
    /// (eval_step<checkpoint step>_episode<i>.gif or .mp4), also shown in TensorBoard's Images tab
    /// (as GIFs).
    #[arg(long)]
    video: bool,
    /// The video files' format: gif needs nothing; mp4 needs ffmpeg with libx264 on PATH
    /// (scripts/setup_ffmpeg.sh). TensorBoard gets GIFs either way.
    #[arg(long, value_enum, default_value_t = VideoFormat::Gif, requires = "video")]
    video_format: VideoFormat,
    /// Distributional SAC only: set the critic's predicted return quantiles at the (fixed)
    /// start, for the policy's action, beside the empirical quantiles of the episodes'
    /// discounted returns (W1 distance, both CVaR_0.1): does the critic know the tail? A nested
    /// run (dsac.nested_risk): beside the one-step targets of the episodes' first transitions.
    #[arg(long)]
    critic_report: bool,
}

/// Episode i of an evaluation starts from seed DEFAULT_EVAL_SEED + i unless told otherwise: far
/// from the small seeds training runs use.
pub const DEFAULT_EVAL_SEED: u64 = 1_000_000;

/// The quantile levels an evaluation reports.
pub const QUANTILE_LEVELS: [f64; 7] = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95];

/// The distribution of evaluation returns, not just their mean, and on a risky env how often
/// the penalty struck.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub episodes: usize,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub median: f64,
    /// Mean of the worst 5 % of the returns (fractional episodes weighted, as `cvar:0.05`).
    #[serde(rename = "cvar_0.05")]
    pub cvar_5: f64,
    #[serde(rename = "cvar_0.1")]
    pub cvar_10: f64,
    #[serde(rename = "cvar_0.25")]
    pub cvar_25: f64,
    /// Lower empirical quantiles (the ceil(q N)-th smallest return) at [`QUANTILE_LEVELS`],
    /// keyed by the level.
    pub quantiles: BTreeMap<String, f64>,
    pub returns: Vec<f64>,
    /// Penalty events over all episodes; null on an env without a stochastic penalty.
    pub penalty_events: Option<u64>,
    pub penalty_events_per_episode: Option<f64>,
    /// Penalty events per environment step.
    pub penalty_event_rate: Option<f64>,
    /// Share of episodes with at least one penalty event.
    pub episodes_with_penalty: Option<f64>,
    /// Share of steps on which the risk condition held (penalised or not).
    pub risky_step_rate: Option<f64>,
    pub risky_steps_per_episode: Option<f64>,
    /// Each reward term the env reports in its info (Gymnasium's MuJoCo v5 envs:
    /// `reward_forward`, `reward_ctrl`, `reward_contact`, `reward_survive`, ...), summed over each
    /// episode and averaged over the episodes; empty on envs that report none.
    pub reward_terms_per_episode: BTreeMap<String, f64>,
    /// `--critic-report`'s comparison, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critic: Option<CriticReport>,
}

impl EvalReport {
    pub fn new(episodes: &[Episode]) -> anyhow::Result<Self> {
        let returns: Vec<f64> = episodes.iter().map(|e| e.episode_return).collect();
        let n = returns.len();
        let statistic = |objective: Objective| -> anyhow::Result<f64> {
            Ok(RankPlan::new(&objective, n, n)?.value(&returns)?)
        };
        let mean = statistic(Objective::Mean)?;
        let mut quantiles = BTreeMap::new();
        for level in QUANTILE_LEVELS {
            quantiles.insert(level.to_string(), statistic(Objective::Var(level))?);
        }
        let steps: u64 = episodes.iter().map(|e| e.length).sum();
        let total = |count: fn(&Episode) -> Option<u64>| -> Option<u64> {
            episodes.iter().map(count).sum::<Option<u64>>()
        };
        let penalty_events = total(|e| e.penalty_events);
        let risky_steps = total(|e| e.risky_steps);
        let per_step = |count: Option<u64>| count.map(|c| c as f64 / steps.max(1) as f64);
        Ok(Self {
            episodes: n,
            mean,
            std: (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n as f64).sqrt(),
            min: statistic(Objective::Min)?,
            max: statistic(Objective::Max)?,
            median: statistic(Objective::Median)?,
            cvar_5: statistic(Objective::Cvar(0.05))?,
            cvar_10: statistic(Objective::Cvar(0.1))?,
            cvar_25: statistic(Objective::Cvar(0.25))?,
            quantiles,
            penalty_events,
            penalty_events_per_episode: penalty_events.map(|c| c as f64 / n as f64),
            penalty_event_rate: per_step(penalty_events),
            episodes_with_penalty: penalty_events.map(|_| {
                let struck = episodes
                    .iter()
                    .filter(|e| e.penalty_events.unwrap_or(0) > 0)
                    .count();
                struck as f64 / n as f64
            }),
            risky_step_rate: per_step(risky_steps),
            risky_steps_per_episode: risky_steps.map(|c| c as f64 / n as f64),
            reward_terms_per_episode: mean_reward_terms(episodes),
            returns,
            critic: None,
        })
    }
}

/// The mean over `episodes` of each reward term's episode sum. A term an episode did not report
/// counts 0 there (an env reports the same terms on every step).
fn mean_reward_terms(episodes: &[Episode]) -> BTreeMap<String, f64> {
    let mut means = BTreeMap::new();
    for episode in episodes {
        for (key, total) in &episode.reward_terms {
            *means.entry(key.clone()).or_insert(0.0) += total / episodes.len() as f64;
        }
    }
    means
}

pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    if args.episodes == 0 {
        return Err(BadInput("--episodes must be at least 1".into()).into());
    }
    // Episode i is reset with seed SEED + i.
    if args.seed.checked_add(args.episodes as u64).is_none() {
        return Err(BadInput(format!(
            "--seed {} with --episodes {}: the last episode's seed would pass {}; use a \
             smaller --seed",
            args.seed,
            args.episodes,
            u64::MAX
        ))
        .into());
    }
    // The report's mean weighs every episode: its rank plan is the largest.
    let budget = MemoryBudget::current().map_err(BadInput)?;
    check_rank_plan(
        &format!("--episodes {}", args.episodes),
        &Objective::Mean,
        args.episodes,
        args.episodes,
        &budget,
    )
    .map_err(BadInput)?;
    let (config, checkpoint, report) = evaluate_run(args)?;
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
            "  mean {:.2}  std {:.2}  min {:.2}  median {:.2}  max {:.2}  CVaR_0.05 {:.2}  CVaR_0.1 {:.2}  CVaR_0.25 {:.2}",
            report.mean,
            report.std,
            report.min,
            report.median,
            report.max,
            report.cvar_5,
            report.cvar_10,
            report.cvar_25
        );
        if let (Some(events), Some(rate), Some(struck)) = (
            report.penalty_events,
            report.penalty_event_rate,
            report.episodes_with_penalty,
        ) {
            println!(
                "  penalty events {events} ({rate:.4} per step; {:.0} % of episodes struck)",
                struck * 100.0
            );
        }
        if !report.reward_terms_per_episode.is_empty() {
            let terms: Vec<String> = report
                .reward_terms_per_episode
                .iter()
                .map(|(key, mean)| format!("{key} {mean:.2}"))
                .collect();
            println!("  reward terms per episode: {}", terms.join("  "));
        }
        if let Some(critic) = &report.critic {
            print_critic_report(critic);
        }
    }
    Ok(())
}

fn print_critic_report(critic: &CriticReport) {
    let (compared, empirical) = match critic.target_steps {
        Some(steps) => {
            let span = match steps {
                1 => "one".to_string(),
                _ => steps.to_string(),
            };
            (
                format!("{span}-step targets of the first transitions"),
                "targets ",
            )
        }
        None => ("returns".to_string(), "episodes"),
    };
    println!(
        "critic at the start {:?}, action {:?} (discounted{} {compared}, gamma {}):",
        critic.start,
        critic.action,
        if critic.shaped { ", shaped" } else { "" },
        critic.gamma
    );
    println!(
        "  critic    mean {:.2}  CVaR_0.1 {:.2}\n  {empirical}  mean {:.2}  CVaR_0.1 {:.2}",
        critic.critic_mean, critic.critic_cvar_10, critic.empirical_mean, critic.empirical_cvar_10,
    );
    let cut = match critic.truncated_episodes {
        0 => String::new(),
        n => format!("  ({n} episodes cut by the time limit: the critic bootstraps past them)"),
    };
    match critic.wasserstein_1 {
        Some(distance) => println!("  W1 {distance:.3}{cut}"),
        None => println!("  (a CVaR-regression critic: no atoms to compare){cut}"),
    }
    let format = |values: &[f64]| {
        values
            .iter()
            .map(|value| format!("{value:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if !critic.critic_atoms.is_empty() {
        println!("  critic atoms:         {}", format(&critic.critic_atoms));
        println!(
            "  empirical quantiles:  {}",
            format(&critic.empirical_quantiles)
        );
    }
    for scan in &critic.action_scans {
        let points: Vec<String> = scan
            .actions
            .iter()
            .zip(&scan.critic_cvars_10)
            .map(|(action, cvar)| format!("{action:.2}: {cvar:.1}"))
            .collect();
        println!(
            "  critic CVaR_0.1 along action[{}]:  {}",
            scan.axis,
            points.join("  ")
        );
    }
}

/// The evaluation `eval` prints: the checkpoint's config, the checkpoint, the report.
fn evaluate_run(args: &EvalArgs) -> anyhow::Result<(TrainConfig, Resume, EvalReport)> {
    if args.video {
        // Before the checkpoint is opened and verified: the env of the run's config.toml.
        if let Some(env) = run_config_env(&args.run) {
            video::check_renderer(&env).map_err(BadInput)?;
        }
        args.video_format
            .check()
            .map_err(|message| BadInput(format!("--video-format mp4: {message}")))?;
    }
    let (config, checkpoint) =
        open_checkpoint(args).map_err(|error| with_fallback_hint(error, &args.run, Retry::Eval))?;
    if args.critic_report && config.agent != AgentKind::Dsac {
        return Err(BadInput(format!(
            "--critic-report reads a distributional critic: only dsac runs have one, and {} is a {} run",
            args.run.display(),
            config.agent.name()
        ))
        .into());
    }
    let mut recorder = if args.video {
        video::check_renderer(&config.env).map_err(BadInput)?;
        let dir = video::prepare_dir(&args.run).map_err(BadInput)?;
        Some(EpisodeRecorder::new(
            dir,
            &config.env,
            checkpoint.state.next_step,
            args.video_format,
        ))
    } else {
        None
    };
    let initial_state = args
        .init_state
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
        .transpose()
        .map_err(|error| BadInput(format!("--init-state is not valid JSON: {error}")))?;
    let (episodes, critic) = dispatch(
        args.device.unwrap_or(config.device),
        EvalJob {
            config: &config,
            checkpoint_dir: &checkpoint.checkpoint_dir,
            step: checkpoint.state.next_step,
            initial_state: initial_state.as_ref(),
            args,
            recorder: recorder.as_mut(),
        },
    )
    .map_err(|error| with_fallback_hint(error, &args.run, Retry::Eval))?;
    if let Some(recorder) = &recorder {
        let events = recorder.write_tensorboard()?;
        let dir = args.run.join(video::VIDEOS_DIR);
        eprintln!(
            "wrote {} episode videos to {} (TensorBoard: {})",
            recorder.videos().len(),
            dir.display(),
            events.display()
        );
    }
    let mut report = EvalReport::new(&episodes)?;
    report.critic = critic;
    Ok((config, checkpoint, report))
}

/// `episodes` deterministic episodes of the run's latest checkpoint, from eval's default seed:
/// what `train` shows when it ends.
pub fn final_evaluation(run: &Path, episodes: usize) -> anyhow::Result<EvalReport> {
    let args = EvalArgs {
        run: run.to_path_buf(),
        checkpoint: None,
        episodes,
        seed: DEFAULT_EVAL_SEED,
        stochastic: false,
        device: None,
        init_state: None,
        json: false,
        video: false,
        video_format: VideoFormat::Gif,
        critic_report: false,
    };
    Ok(evaluate_run(&args)?.2)
}

/// The `env` of the run's config.toml, read without checking the rest of the file.
fn run_config_env(run: &Path) -> Option<String> {
    let text = std::fs::read_to_string(run.join(RUN_CONFIG_FILE)).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    table.get("env")?.as_str().map(str::to_owned)
}

/// The checkpoint to evaluate, verified, and the config it was trained with: the one it keeps,
/// or for an older checkpoint that keeps none, the run's config.toml.
fn open_checkpoint(args: &EvalArgs) -> anyhow::Result<(TrainConfig, Resume)> {
    let run_config = args.run.join(RUN_CONFIG_FILE);
    if !run_config.is_file() {
        return Err(BadInput(format!(
            "{} is not a run directory (it has no {RUN_CONFIG_FILE})",
            args.run.display()
        ))
        .into());
    }
    let checkpoint = checkpoint::open(&args.run, args.checkpoint)?.ok_or_else(|| {
        BadInput(format!(
            "{} has no complete checkpoint to evaluate",
            args.run.display()
        ))
    })?;
    let Some(text) = &checkpoint.config else {
        return Ok((TrainConfig::load(&run_config, &[])?, checkpoint));
    };
    let dir = &checkpoint.checkpoint_dir;
    let trained = TrainConfig::parse(text, &dir.join(checkpoint::CONFIG_FILE), &[])
        .map_err(|error| CheckpointError::unreadable(dir, checkpoint::CONFIG_FILE, error))?;
    // An edited config.toml does not change what the checkpoint holds; it is only pointed out.
    if let Ok(current) = TrainConfig::load(&run_config, &[]) {
        let changes = forbidden_changes(&trained, &current);
        if !changes.is_empty() {
            let keys: Vec<&str> = changes.iter().map(|change| change.key.as_str()).collect();
            eprintln!(
                "note: {} differs from the config the checkpoint was trained with ({}); evaluating with the checkpoint's",
                run_config.display(),
                keys.join(", ")
            );
        }
    }
    Ok((trained, checkpoint))
}

struct EvalJob<'a> {
    config: &'a TrainConfig,
    checkpoint_dir: &'a Path,
    /// The training step the checkpoint was written at.
    step: u64,
    initial_state: Option<&'a serde_json::Value>,
    args: &'a EvalArgs,
    recorder: Option<&'a mut EpisodeRecorder>,
}

impl BackendJob for EvalJob<'_> {
    type Output = (Vec<Episode>, Option<CriticReport>);

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<Self::Output> {
        let config = self.config;
        let spaces = Spaces::of(off_policy::make_env(config, None)?.as_ref())?;
        let (dir, env, args) = (self.checkpoint_dir, config.env.as_str(), self.args);
        let (initial_state, recorder) = (self.initial_state, self.recorder);
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
                let episodes =
                    run_episodes(env.as_mut(), args, initial_state, recorder, |obs, rng| {
                        if args.stochastic {
                            agent.act(obs, 1, rng).actions
                        } else {
                            agent.mean_action(obs, 1)
                        }
                    })?;
                Ok((episodes, None))
            }
            AgentKind::Sac => {
                let agent = Sac::<B>::new(config.sac.clone(), spaces, &device)?.load(dir)?;
                Ok((
                    evaluate_agent(&agent, envs::make(env)?, initial_state, args, recorder)?,
                    None,
                ))
            }
            AgentKind::Dsac => {
                let agent = Dsac::<B>::new(config.dsac.clone(), spaces, &device)?
                    .load(dir)?
                    .at_training_step(self.step);
                let start_budget = static_cvar_start_budget(&agent, config, initial_state, args)?;
                let eval_env = off_policy::make_env(config, start_budget)?;
                let episodes = evaluate_agent(&agent, eval_env, initial_state, args, recorder)?;
                let critic = if args.critic_report {
                    let shaping = config
                        .shaping
                        .then(|| envs::risky::shaping_potential(env))
                        .flatten();
                    Some(critic_report(
                        &agent,
                        off_policy::make_env(config, start_budget)?,
                        start_budget,
                        config.dsac.shared.gamma,
                        shaping,
                        args.episodes,
                        args.seed,
                        initial_state,
                        args.stochastic,
                    )?)
                } else {
                    None
                };
                Ok((episodes, critic))
            }
            AgentKind::Remac => {
                let agent = Remac::<B>::new(config.remac.clone(), spaces, &device)?.load(dir)?;
                Ok((
                    evaluate_agent(&agent, envs::make(env)?, initial_state, args, recorder)?,
                    None,
                ))
            }
        }
    }
}

/// The start budget of a static-CVaR DSAC (`dsac.static_cvar`): the one its critic rates best
/// at the evaluation's first start (the tasks it is for start every episode there). None for
/// other agents.
fn static_cvar_start_budget<B: AutodiffBackend>(
    agent: &Dsac<B>,
    config: &TrainConfig,
    initial_state: Option<&serde_json::Value>,
    args: &EvalArgs,
) -> anyhow::Result<Option<f64>> {
    if !config.dsac.agent.static_cvar {
        return Ok(None);
    }
    let mut env = off_policy::make_env(config, Some(0.0))?;
    let start = match initial_state {
        Some(state) => env.reset_to_state(Some(args.seed), state)?.0,
        None => env.reset(Some(args.seed)).0,
    };
    let (budget, estimate) = agent
        .start_budget(&crate::common::host::to_f32(&start))
        .ok_or_else(|| anyhow::anyhow!("a static-CVaR agent chooses a start budget"))?;
    eprintln!(
        "static CVaR: every episode starts at the budget {budget:.3}, where the critic's \
         CVaR estimate is highest ({estimate:.3}, discounted{})",
        if config.shaping { ", shaped" } else { "" }
    );
    Ok(Some(budget))
}

fn evaluate_agent<A: OffPolicyAgent>(
    agent: &A,
    mut env: Box<dyn envs::Env>,
    initial_state: Option<&serde_json::Value>,
    args: &EvalArgs,
    recorder: Option<&mut EpisodeRecorder>,
) -> anyhow::Result<Vec<Episode>> {
    run_episodes(env.as_mut(), args, initial_state, recorder, |obs, rng| {
        agent.act(obs, !args.stochastic, rng)
    })
}

/// The evaluation's episodes, recorded when there is a recorder.
fn run_episodes(
    env: &mut dyn envs::Env,
    args: &EvalArgs,
    initial_state: Option<&serde_json::Value>,
    recorder: Option<&mut EpisodeRecorder>,
    act: impl FnMut(&[f32], &mut rand_chacha::ChaCha8Rng) -> Vec<f32>,
) -> anyhow::Result<Vec<Episode>> {
    let (episodes, seed) = (args.episodes, args.seed);
    match recorder {
        Some(recorder) => {
            evaluate_observed(env, episodes, seed, initial_state, act, |env, i, step| {
                recorder.observe(env, i, step)
            })
        }
        None => evaluate(env, episodes, seed, initial_state, act),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode(episode_return: f64, terms: &[(&str, f64)]) -> Episode {
        Episode {
            episode_return,
            length: 10,
            penalty_events: None,
            risky_steps: None,
            reward_terms: terms.iter().map(|&(key, v)| (key.to_string(), v)).collect(),
        }
    }

    #[test]
    fn the_report_averages_each_reward_term_over_the_episodes() {
        let episodes = [
            episode(90.0, &[("reward_forward", 100.0), ("reward_ctrl", -10.0)]),
            episode(50.0, &[("reward_forward", 56.0), ("reward_ctrl", -6.0)]),
        ];
        let report = EvalReport::new(&episodes).unwrap();
        let terms = &report.reward_terms_per_episode;
        assert_eq!(terms.len(), 2);
        assert_eq!(terms["reward_forward"], 78.0);
        assert_eq!(terms["reward_ctrl"], -8.0);
        assert!(
            EvalReport::new(&[episode(1.0, &[])])
                .unwrap()
                .reward_terms_per_episode
                .is_empty()
        );
    }
}
