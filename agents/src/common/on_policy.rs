//! PPO's training loop, in CleanRL's order: reset the vector env, then per rollout anneal the
//! learning rate, step the envs with the current policy, compute the advantages, update, log,
//! and checkpoint. Also the env stack PPO trains and evaluates in.

use std::path::Path;

use anyhow::Context;
use burn::tensor::backend::AutodiffBackend;
use envs::risky::{EPISODE_SHAPING_KEY, EpisodeShaping};
use envs::wrappers::{
    ClipAction, NormalizeObservation, NormalizeReward, RecordEpisodeStatistics, RunningMeanStd,
    normalize_observation, normalize_reward,
};
use envs::{Env, VectorEnv, VectorStep};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::checkpoint::error::CheckpointError;
use crate::checkpoint::file::write_json_atomically;
use crate::checkpoint::{Resume, TrainingState};
use crate::common::host::to_f32;
use crate::common::rollout_buffer::{Episode, RolloutBatch, Segment, StepRecord};
use crate::common::shared_normalizers::SharedNormalizers;
use crate::common::training_session::TrainingSession;
use crate::config::TrainConfig;
use crate::logging::RunLogger;
use crate::ppo::{AdvantageSource, Ppo, PpoConfig};
use crate::video::{self, RecordVideo, TrainingVideos};

/// CleanRL's continuous-control env stack, innermost first: episode statistics on the raw
/// rewards, action clipping, observation and reward normalisation (each clipped; each handing
/// its values through untouched when the config turns it off).
pub type PpoEnv =
    NormalizeReward<NormalizeObservation<ClipAction<RecordEpisodeStatistics<Box<dyn Env>>>>>;

pub fn make_env(id: &str, config: &PpoConfig) -> anyhow::Result<PpoEnv> {
    wrap_env(envs::make(id)?, config)
}

/// CleanRL's stack around `env` (which may be recorded: [`RecordVideo`] sits innermost, as
/// in CleanRL, so that it sees the raw env).
fn wrap_env(env: Box<dyn Env>, config: &PpoConfig) -> anyhow::Result<PpoEnv> {
    let env = ClipAction::new(RecordEpisodeStatistics::new(env));
    let mut env = NormalizeObservation::with_settings(
        env,
        normalize_observation::DEFAULT_EPSILON,
        Some(config.clip_observation),
    )?;
    env.set_enabled(config.normalize_observation);
    let mut env = NormalizeReward::with_settings(
        env,
        config.gamma,
        normalize_reward::DEFAULT_EPSILON,
        Some(config.clip_reward),
    )?;
    env.set_enabled(config.normalize_reward);
    Ok(env)
}

/// With `shaping` on (training only, episode groups: see config validation), `env` reports
/// each episode's telescoped shaping for the groups to rank by; the logged returns stay raw.
fn with_episode_shaping(env: Box<dyn Env>, config: &TrainConfig) -> Box<dyn Env> {
    match envs::risky::shaping_potential(&config.env) {
        Some(potential) if config.shaping => Box::new(EpisodeShaping::new(env, potential)),
        _ => env,
    }
}

const NORMALIZERS_FILE: &str = "normalizers.json";

/// The normalisers' running statistics, one entry per env: part of a PPO checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizerStatistics {
    pub observation: Vec<RunningMeanStd>,
    pub reward: Vec<RunningMeanStd>,
}

impl NormalizerStatistics {
    pub fn capture(envs: &VectorEnv<PpoEnv>) -> Self {
        Self {
            observation: envs
                .envs()
                .iter()
                .map(|env| env.inner().statistics().clone())
                .collect(),
            reward: envs
                .envs()
                .iter()
                .map(|env| env.statistics().clone())
                .collect(),
        }
    }

    pub fn restore(&self, envs: &mut VectorEnv<PpoEnv>) -> anyhow::Result<()> {
        if self.observation.len() != envs.num_envs() || self.reward.len() != envs.num_envs() {
            anyhow::bail!(
                "{NORMALIZERS_FILE} holds statistics of {} envs, but ppo.num_envs = {}",
                self.observation.len(),
                envs.num_envs()
            );
        }
        for ((env, observation), reward) in envs
            .envs_mut()
            .iter_mut()
            .zip(&self.observation)
            .zip(&self.reward)
        {
            env.inner_mut().set_statistics(observation.clone())?;
            env.set_statistics(reward.clone())?;
        }
        Ok(())
    }

    pub fn save(&self, checkpoint_dir: &Path) -> anyhow::Result<()> {
        Ok(write_json_atomically(
            &checkpoint_dir.join(NORMALIZERS_FILE),
            self,
        )?)
    }

    /// The statistics of a checkpoint; at least one env's, as many of each kind.
    pub fn load(checkpoint_dir: &Path) -> Result<Self, CheckpointError> {
        let unreadable =
            |reason: String| CheckpointError::unreadable(checkpoint_dir, NORMALIZERS_FILE, reason);
        let text = std::fs::read_to_string(checkpoint_dir.join(NORMALIZERS_FILE))
            .map_err(|error| unreadable(error.to_string()))?;
        let statistics: Self =
            serde_json::from_str(&text).map_err(|error| unreadable(error.to_string()))?;
        if statistics.observation.is_empty()
            || statistics.observation.len() != statistics.reward.len()
        {
            return Err(unreadable(format!(
                "{} observation and {} reward statistics; expected as many of each, at least one",
                statistics.observation.len(),
                statistics.reward.len()
            )));
        }
        Ok(statistics)
    }

    /// The observation statistics of all envs merged into one (Chan et al.'s parallel update),
    /// for evaluating in a single env.
    pub fn pooled_observation(&self) -> RunningMeanStd {
        let mut pooled = self.observation[0].clone();
        for other in &self.observation[1..] {
            pooled.update_from_moments(&other.mean, &other.var, other.count);
        }
        pooled
    }
}

/// The env PPO is evaluated in: its training observation normalisation, frozen at the pooled
/// statistics, with raw rewards.
pub fn make_eval_env(
    id: &str,
    config: &PpoConfig,
    statistics: &NormalizerStatistics,
) -> anyhow::Result<Box<dyn Env>> {
    let env = ClipAction::new(envs::make(id)?);
    if !config.normalize_observation {
        return Ok(Box::new(env));
    }
    let mut env = NormalizeObservation::with_settings(
        env,
        normalize_observation::DEFAULT_EPSILON,
        Some(config.clip_observation),
    )?;
    env.set_statistics(statistics.pooled_observation())?;
    env.set_training(false);
    Ok(Box::new(env))
}

/// Steps per env since the last cut (GAE) or since each env's episode began (episode groups),
/// and the finished episodes not yet used.
struct Collector {
    keep_episodes: bool,
    open: Vec<Segment>,
    finished: Vec<Episode>,
}

impl Collector {
    fn new(num_envs: usize, keep_episodes: bool) -> Self {
        Self {
            keep_episodes,
            open: (0..num_envs).map(|_| Segment::default()).collect(),
            finished: Vec::new(),
        }
    }

    fn end_episode(&mut self, env: usize, episode_return: f64) {
        if self.keep_episodes {
            let steps = std::mem::take(&mut self.open[env]);
            self.finished.push(Episode {
                steps,
                episode_return,
            });
        }
    }

    /// GAE: every env's steps since the last cut, with V(the observation it stands at).
    fn cut_segments(&mut self, next_values: &[f32]) -> Vec<(Segment, f32)> {
        self.open
            .iter_mut()
            .zip(next_values)
            .map(|(segment, &next_value)| (std::mem::take(segment), next_value))
            .collect()
    }

    /// Episode groups: the first `count` finished episodes, in the order they finished.
    fn take_episodes(&mut self, count: usize) -> Vec<Episode> {
        self.finished.drain(..count).collect()
    }
}

/// Trains `agent` for `config.total_steps` env steps (summed over the envs), logging into and
/// checkpointing under `run_dir`. Ctrl-C stops at once with a checkpoint of the last update.
pub fn train<B: AutodiffBackend>(
    mut agent: Ppo<B>,
    config: &TrainConfig,
    run_dir: &Path,
    resume: Option<Resume>,
) -> anyhow::Result<()> {
    let ppo = agent.config().clone();
    let source = ppo.advantage_source()?;
    // CleanRL records env 0 only. A resumed run counts env 0's episodes from 0 again (the
    // checkpoint keeps the total of all envs only); the files also name the step.
    let mut videos = config
        .video
        .enabled
        .then(|| TrainingVideos::new(run_dir.join(video::VIDEOS_DIR), config.video.format));
    let members = (0..ppo.num_envs)
        .map(|index| {
            let env = with_episode_shaping(envs::make(&config.env)?, config);
            match &videos {
                Some(videos) if index == 0 => {
                    let recorded = RecordVideo::new(env, config.video.trigger(), 0, videos);
                    wrap_env(Box::new(recorded), &ppo)
                }
                _ => wrap_env(env, &ppo),
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut envs = VectorEnv::new(members)?;
    let num_envs = envs.num_envs();
    let (obs_dim, action_dim) = (
        envs.single_observation_space().dim(),
        envs.single_action_space().dim(),
    );

    let mut state = match resume {
        Some(Resume {
            checkpoint_dir,
            state,
            ..
        }) => {
            agent = agent.load(&checkpoint_dir)?;
            NormalizerStatistics::load(&checkpoint_dir)?.restore(&mut envs)?;
            state
        }
        None => TrainingState::new(config.seed),
    };
    let mut rng: ChaCha8Rng = state.rng.restore()?;
    let mut session = TrainingSession::open(config, run_dir, &state)?;
    // Envs are mid-episode at every update; a resumed run starts fresh episodes.
    state.mid_episode = true;

    let (gamma, lambda) = (ppo.gamma as f32, ppo.gae_lambda as f32);
    let mut collector = Collector::new(
        num_envs,
        matches!(source, AdvantageSource::EpisodeGroups { .. }),
    );
    let mut shared = ppo
        .shared_normalization
        .then(|| SharedNormalizers::new(&envs));
    // Every env starts a fresh episode, seeded from the run's RNG (a resumed run too).
    let mut obs = to_f32(&envs.reset(Some(rng.random())).0);
    if let Some(shared) = &mut shared {
        shared.sync(&mut envs)?;
    }
    let mut step = state.next_step;

    while step < config.total_steps {
        // CleanRL's schedule: linear from the full rate at step 0 to 0 at total_steps.
        let learning_rate = if ppo.anneal_lr {
            ppo.learning_rate * (1.0 - step as f64 / config.total_steps as f64)
        } else {
            ppo.learning_rate
        };

        let mut rollout_steps = 0;
        let rollout_complete = loop {
            if session.interrupted.is_set() {
                break false;
            }
            agent.prepare_exploration(rollout_steps, num_envs, &mut rng);
            let policy = agent.act(&obs, num_envs, &mut rng);
            let outcome = envs
                .step(&policy.actions)
                .with_context(|| format!("stepping {} at step {step}", config.env))?;
            if let Some(shared) = &mut shared {
                shared.sync(&mut envs)?;
            }
            let truncation_values = truncation_values(&agent, &outcome, obs_dim);
            step += num_envs as u64;
            rollout_steps += 1;
            for env in 0..num_envs {
                collector.open[env].push(StepRecord {
                    obs: &obs[env * obs_dim..(env + 1) * obs_dim],
                    action: &policy.actions[env * action_dim..(env + 1) * action_dim],
                    log_prob: policy.log_probs[env],
                    value: policy.values[env],
                    reward: outcome.rewards[env] as f32,
                    terminated: outcome.terminated[env],
                    truncated: outcome.truncated[env],
                    truncation_value: truncation_values[env],
                });
                let finished = outcome.final_infos[env]
                    .as_ref()
                    .and_then(|info| info.episode);
                if let Some(episode) = finished {
                    session
                        .logger
                        .episode(step, episode.episode_return, episode.length as u64)?;
                    state.episodes_done += 1;
                    let shaping = outcome.final_infos[env]
                        .as_ref()
                        .and_then(|info| info.values.get(EPISODE_SHAPING_KEY))
                        .copied()
                        .unwrap_or(0.0);
                    collector.end_episode(env, episode.episode_return + shaping);
                    if let (0, Some(videos)) = (env, &mut videos) {
                        videos.write_finished(step)?;
                    }
                }
            }
            obs = to_f32(&outcome.observations);
            session.logger.progress(step);
            let full = match &source {
                AdvantageSource::Gae => rollout_steps == ppo.num_steps,
                AdvantageSource::EpisodeGroups { plan, groups } => {
                    collector.finished.len() >= plan.n() * groups
                }
            };
            if full || step >= config.total_steps {
                break true;
            }
        };
        if !rollout_complete {
            // The unfinished rollout is dropped: the checkpoint below is the last update's.
            eprintln!("\ninterrupted at step {step}: writing a checkpoint");
            break;
        }

        let batch = match &source {
            AdvantageSource::Gae => {
                let next_values = agent.values(&obs, num_envs);
                RolloutBatch::from_segments(&collector.cut_segments(&next_values), gamma, lambda)
            }
            AdvantageSource::EpisodeGroups { plan, groups } => {
                // The last rollout of a run may hold fewer groups (or none) than asked for.
                let complete_groups = (collector.finished.len() / plan.n()).min(*groups);
                let episodes = collector.take_episodes(complete_groups * plan.n());
                let (batch, summaries) =
                    RolloutBatch::from_episode_groups(&episodes, plan, gamma, lambda)?;
                log_groups(&mut session.logger, &summaries, step)?;
                batch
            }
        };
        if !batch.is_empty() {
            for (tag, value) in agent.update(&batch, learning_rate, &mut rng).values {
                session.logger.scalar(tag, value, step)?;
            }
            session
                .logger
                .scalar("charts/learning_rate", learning_rate, step)?;
        }
        session.log_steps_per_second(step, step)?;

        state.next_step = step;
        // The run's end has its own checkpoint below.
        if session.checkpoint_due(&state) && step < config.total_steps {
            session.save_checkpoint(&mut state, &rng, |dir| write_agent(dir, &agent, &envs))?;
        }
    }

    session.save_checkpoint(&mut state, &rng, |dir| write_agent(dir, &agent, &envs))?;
    if let Some(videos) = videos {
        videos.close()?;
    }
    session.close()
}

/// V(final observation) for the envs whose episode was truncated in `outcome`, 0 elsewhere.
fn truncation_values<B: AutodiffBackend>(
    agent: &Ppo<B>,
    outcome: &VectorStep,
    obs_dim: usize,
) -> Vec<f32> {
    let truncated: Vec<usize> = (0..outcome.num_envs())
        .filter(|&env| outcome.truncated[env])
        .collect();
    let mut values = vec![0.0; outcome.num_envs()];
    if truncated.is_empty() {
        return values;
    }
    let final_obs: Vec<f32> = truncated
        .iter()
        .flat_map(|&env| {
            to_f32(
                outcome.final_observations[env]
                    .as_deref()
                    .expect("a truncated member has a final observation"),
            )
        })
        .collect();
    debug_assert_eq!(final_obs.len(), truncated.len() * obs_dim);
    for (&env, value) in truncated
        .iter()
        .zip(agent.values(&final_obs, truncated.len()))
    {
        values[env] = value;
    }
    values
}

/// The episode-group objective's diagnostics: the objective's batch value of each group's
/// returns (the quantity PPO ascends), their plain mean beside it, and the rank advantages.
fn log_groups(
    logger: &mut RunLogger,
    summaries: &[crate::common::rollout_buffer::GroupSummary],
    step: u64,
) -> anyhow::Result<()> {
    if summaries.is_empty() {
        return Ok(());
    }
    let count = summaries.len() as f64;
    let advantages: Vec<f64> = summaries
        .iter()
        .flat_map(|group| group.advantages.iter().copied())
        .collect();
    let advantage_mean = advantages.iter().sum::<f64>() / advantages.len() as f64;
    let advantage_std = (advantages
        .iter()
        .map(|a| (a - advantage_mean).powi(2))
        .sum::<f64>()
        / advantages.len() as f64)
        .sqrt();
    let scalars = [
        (
            "ordergrad/group_value",
            summaries.iter().map(|group| group.value).sum::<f64>() / count,
        ),
        (
            "ordergrad/group_mean_return",
            summaries.iter().map(|group| group.mean_return).sum::<f64>() / count,
        ),
        ("ordergrad/advantage_std", advantage_std),
        (
            "ordergrad/advantage_min",
            advantages.iter().copied().fold(f64::INFINITY, f64::min),
        ),
        (
            "ordergrad/advantage_max",
            advantages.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ),
    ];
    for (tag, value) in scalars {
        logger.scalar(tag, value, step)?;
    }
    Ok(())
}

/// PPO's part of a checkpoint: its networks and optimiser, and the normalisers' statistics.
fn write_agent<B: AutodiffBackend>(
    dir: &Path,
    agent: &Ppo<B>,
    envs: &VectorEnv<PpoEnv>,
) -> anyhow::Result<()> {
    agent.save(dir)?;
    NormalizerStatistics::capture(envs).save(dir)
}
