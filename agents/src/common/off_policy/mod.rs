//! The training loop that SAC, distributional SAC and ReMAC share, in CleanRL's order: act (uniformly random before
//! `learning_starts`), step the env, store the transition, sample a batch, update, log, and
//! checkpoint at episode ends. The agents' shared settings are in `settings.rs`, their shared
//! core (actor, critics, acting, checkpoints, the delayed actor update) in `agent_core.rs`.

pub mod agent_core;
mod exploration;
mod n_step;
pub mod settings;

pub use self::agent_core::{ActorStep, OffPolicyCore};
pub use self::settings::{MAX_POLICY_FREQUENCY, OffPolicyConfig, OffPolicySettings};

use std::path::Path;

use anyhow::Context;
use burn::tensor::backend::AutodiffBackend;
use envs::Env;
use envs::wrappers::stochastic_penalty::PENALTY_EVENT_KEY;
use envs::wrappers::{RiskBudget, StartBudget};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::checkpoint::{self, Resume, TrainingState};
use crate::common::host::to_f32;
use crate::common::nets::ActionBounds;
use crate::common::off_policy::exploration::Exploration;
use crate::common::off_policy::n_step::{EnvStep, NStepWindows};
use crate::common::replay::{Batch, ReplayBuffer, ReplayShape};
use crate::common::training_session::TrainingSession;
use crate::common::update_metrics::Metrics;
use crate::config::{AgentKind, TrainConfig};
use crate::video::{self, RecordVideo, TrainingVideos};

/// Penalty events of each finished episode, logged on risky envs (`envs::risky`).
pub const EPISODIC_PENALTY_EVENTS_TAG: &str = "charts/episodic_penalty_events";
/// Returns of the episodes that began at an exploring start (`exploring_starts`).
pub const EXPLORING_START_RETURN_TAG: &str = "charts/exploring_start_return";

/// Observation size and action box of the env an agent acts in.
#[derive(Debug, Clone)]
pub struct Spaces {
    pub obs_dim: usize,
    pub bounds: ActionBounds,
}

impl Spaces {
    pub fn of(env: &dyn Env) -> anyhow::Result<Self> {
        let actions = env.action_space();
        if !actions.is_bounded() {
            anyhow::bail!(
                "{} has an unbounded action space; the squashed Gaussian actor needs finite bounds",
                env.id()
            );
        }
        Ok(Self {
            obs_dim: env.observation_space().dim(),
            bounds: ActionBounds::from_box(&actions.low, &actions.high),
        })
    }
}

/// The env an off-policy agent of `config` acts in: the task, and for a static-CVaR DSAC
/// (`dsac.static_cvar`) the task with its remaining risk budget appended
/// (`envs::wrappers::RiskBudget`, following the shaped reward where `shaping` is on), each
/// episode starting at the budget `start`, or at one drawn from `dsac.budget_range` when None.
pub fn make_env(config: &TrainConfig, start: Option<f64>) -> anyhow::Result<Box<dyn Env>> {
    let env = envs::make(&config.env)?;
    let dsac = &config.dsac;
    if config.agent != AgentKind::Dsac || !dsac.agent.static_cvar {
        return Ok(env);
    }
    let potential = config
        .shaping
        .then(|| envs::risky::shaping_potential(&config.env))
        .flatten();
    let [low, high] = dsac.agent.budget_range;
    let start = match start {
        Some(budget) => StartBudget::Fixed(budget),
        None => StartBudget::Uniform { low, high },
    };
    Ok(Box::new(RiskBudget::new(
        env,
        dsac.shared.gamma,
        potential,
        start,
    )?))
}

/// An agent that learns from a replay buffer. Implemented by SAC, distributional SAC and ReMAC.
pub trait OffPolicyAgent: Sized {
    type Backend: AutodiffBackend;
    /// The actor, critics and settings every off-policy agent has.
    fn core(&self) -> &OffPolicyCore<Self::Backend>;
    fn core_mut(&mut self) -> &mut OffPolicyCore<Self::Backend>;
    /// One action for one observation: a policy sample, or the deterministic action.
    fn act(&self, obs: &[f32], deterministic: bool, rng: &mut impl Rng) -> Vec<f32> {
        self.core().act(obs, deterministic, rng)
    }
    /// One gradient step at env step `step` (the actor only every `policy_frequency` steps).
    fn update(&mut self, step: u64, batch: &Batch, rng: &mut impl Rng, record: bool) -> Metrics;
    /// Writes networks, targets and optimiser states into `dir` (the core's; an agent with more
    /// state adds its own).
    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        self.core().save(dir)
    }
    fn load(self, dir: &Path) -> anyhow::Result<Self>;
    /// A loaded agent set to where its updates up to `next_step` left it, where that is more
    /// than the checkpoint's networks and optimisers (DSAC's risk schedule); called on resume.
    fn resumed_before(self, _next_step: u64) -> Self {
        self
    }
}

/// Trains `agent` for `config.total_steps` env steps, logging into and checkpointing under
/// `run_dir`. Stops early, with a final checkpoint, when Ctrl-C is pressed.
pub fn train<A: OffPolicyAgent>(
    mut agent: A,
    config: &TrainConfig,
    run_dir: &Path,
    resume: Option<Resume>,
) -> anyhow::Result<()> {
    let settings = agent.core().settings.clone();
    let mut env = make_env(config, None)?;
    let spaces = Spaces::of(env.as_ref())?;
    let action_dim = spaces.bounds.dim();
    let shaping = config
        .shaping
        .then(|| envs::risky::shaping_potential(&config.env))
        .flatten();

    let replay_shape = ReplayShape {
        capacity: settings.buffer_size,
        obs_dim: spaces.obs_dim,
        action_dim,
    };
    let (mut state, mut buffer) = match resume {
        Some(Resume {
            checkpoint_dir,
            state,
            ..
        }) => {
            agent = agent.load(&checkpoint_dir)?.resumed_before(state.next_step);
            let buffer = match checkpoint::load_replay(&checkpoint_dir, replay_shape)? {
                Some(buffer) => buffer,
                None => {
                    eprintln!(
                        "warning: {} holds no replay buffer (checkpoint.save_replay_buffer = \
                         false): training resumes with an empty one, so it does not continue \
                         exactly as an uninterrupted run would",
                        checkpoint_dir.display()
                    );
                    ReplayBuffer::new(settings.buffer_size, spaces.obs_dim, action_dim)
                }
            };
            (state, buffer)
        }
        None => (
            TrainingState::new(config.seed),
            ReplayBuffer::new(settings.buffer_size, spaces.obs_dim, action_dim),
        ),
    };
    let mut rng: ChaCha8Rng = state.rng.restore()?;
    let mut session = TrainingSession::open(config, run_dir, &state)?;
    let mut videos = config
        .video
        .enabled
        .then(|| TrainingVideos::new(run_dir.join(video::VIDEOS_DIR), config.video.format));
    if let Some(videos) = &videos {
        env = Box::new(RecordVideo::new(
            env,
            config.video.trigger(),
            state.episodes_done,
            videos,
        ));
    }

    let mut obs: Option<Vec<f32>> = None;
    let (mut episode_return, mut episode_length) = (0.0f64, 0u64);
    // Penalty events of the episode on a risky env (None on others).
    let mut episode_penalties: Option<f64> = None;
    // Whether the episode began at an exploring start (`exploring_starts`): its return is not
    // one from the task's start, so it is kept out of the episodic charts.
    let mut from_exploring_start = false;
    let mut batch = Batch::default();
    let mut exploration = Exploration::new(&settings);
    let mut windows = NStepWindows::new(settings.n_step, settings.gamma);

    for step in state.next_step..config.total_steps {
        if session.interrupted.is_set() {
            eprintln!("\ninterrupted at step {step}: writing a checkpoint");
            break;
        }
        // A new episode starts with a reset seeded from the run's RNG, so that a run resumed at
        // an episode boundary draws exactly what the uninterrupted run drew.
        let current = match obs.take() {
            Some(current) => current,
            None => {
                let reset_seed = rng.random();
                exploration.start_episode(step, &mut rng);
                let start = config
                    .exploring_starts
                    .then(|| envs::risky::exploring_start(&config.env, reset_seed))
                    .flatten();
                from_exploring_start = start.is_some();
                let first = match start {
                    Some(start) => to_f32(&env.reset_to_state(Some(reset_seed), &start)?.0),
                    None => to_f32(&env.reset(Some(reset_seed)).0),
                };
                agent.core_mut().observe(&first);
                first
            }
        };
        let (action, policy_action) = match exploration.action(step, env.action_space(), &mut rng) {
            Some(uniform) => (uniform, false),
            None => (
                agent.act(&current, exploration.deterministic(), &mut rng),
                true,
            ),
        };
        let outcome = env
            .step(&action)
            .with_context(|| format!("stepping {} at step {step}", config.env))?;
        let next_obs = to_f32(&outcome.observation);
        agent.core_mut().observe(&next_obs);
        // The true next observation is stored even at a truncation, and only `terminated` stops
        // bootstrapping.
        // Potential-based shaping (Ng et al. 1999) in the stored reward only: Phi is 0 after a
        // terminal step, so every optimal policy is kept; the logged return stays unshaped.
        let shaped_reward = match shaping {
            Some(potential) => {
                let current: Vec<f64> = current.iter().map(|&x| f64::from(x)).collect();
                envs::risky::shaped_reward(potential, settings.gamma, &current, &outcome)
            }
            None => outcome.reward,
        };
        windows.record(
            EnvStep {
                obs: &current,
                action: &action,
                reward: shaped_reward,
                next_obs: &next_obs,
                terminated: outcome.terminated,
                truncated: outcome.truncated,
                policy_action,
            },
            &mut buffer,
        );
        episode_return += outcome.reward;
        episode_length += 1;
        if let Some(&event) = outcome.info.values.get(PENALTY_EVENT_KEY) {
            *episode_penalties.get_or_insert(0.0) += event;
        }
        if outcome.terminated || outcome.truncated {
            let penalties = episode_penalties.take();
            if from_exploring_start {
                session
                    .logger
                    .scalar(EXPLORING_START_RETURN_TAG, episode_return, step)?;
            } else {
                session
                    .logger
                    .episode(step, episode_return, episode_length)?;
                if let Some(penalties) = penalties {
                    session
                        .logger
                        .scalar(EPISODIC_PENALTY_EVENTS_TAG, penalties, step)?;
                }
            }
            (episode_return, episode_length) = (0.0, 0);
            if let Some(videos) = &mut videos {
                videos.write_finished(step)?;
            }
        } else {
            obs = Some(next_obs);
        }

        if step > settings.learning_starts {
            buffer.sample(settings.batch_size, &mut rng, &mut batch);
            let log_now = step.is_multiple_of(config.logging.log_every);
            for (tag, value) in agent.update(step, &batch, &mut rng, log_now).values {
                session.logger.scalar(tag, value, step)?;
            }
        }
        if step.is_multiple_of(config.logging.log_every) {
            session.log_steps_per_second(step + 1, step)?;
        }
        session.logger.progress(step + 1);

        state.next_step = step + 1;
        state.episodes_done += u64::from(obs.is_none());
        // Only at an episode's end: a resumed run then continues exactly.
        if obs.is_none() && session.checkpoint_due(&state) {
            session.save_checkpoint(&mut state, &rng, |dir| {
                write_agent(dir, &agent, &buffer, config)
            })?;
        }
    }

    state.mid_episode = obs.is_some();
    if let Some(current) = &obs {
        windows.close_all(current, false, &mut buffer);
    }
    session.save_checkpoint(&mut state, &rng, |dir| {
        write_agent(dir, &agent, &buffer, config)
    })?;
    if let Some(videos) = videos {
        videos.close()?;
    }
    session.close()
}

/// The agent's part of a checkpoint: its networks and optimisers, and the replay buffer unless
/// `checkpoint.save_replay_buffer` is off.
fn write_agent(
    dir: &Path,
    agent: &impl OffPolicyAgent,
    buffer: &ReplayBuffer,
    config: &TrainConfig,
) -> anyhow::Result<()> {
    agent.save(dir)?;
    if config.checkpoint.save_replay_buffer {
        checkpoint::save_replay(dir, buffer)?;
    }
    Ok(())
}
