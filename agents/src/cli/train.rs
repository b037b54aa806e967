use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use burn::tensor::backend::AutodiffBackend;
use clap::Args;

use super::BadInput;
use super::checkpoint_hint::{Retry, with_fallback_hint};
use crate::backend::{self, BackendJob, dispatch};
use crate::checkpoint::error::CheckpointError;
use crate::checkpoint::file::{latest_complete_checkpoint, set_aside, step_dirs, write_atomically};
use crate::checkpoint::resume_config::{CHANGEABLE_ON_RESUME, forbidden_changes};
use crate::checkpoint::run_lock::RunLock;
use crate::checkpoint::{self, Resume};
use crate::common::off_policy::{self, Spaces};
use crate::common::on_policy;
use crate::config::{AgentKind, DeviceKind, TrainConfig};
use crate::dsac::Dsac;
use crate::logging::positions::Rewound;
use crate::ppo::Ppo;
use crate::remac::Remac;
use crate::sac::Sac;

/// The experiment `cargo run --release` trains when given no arguments.
pub const DEFAULT_CONFIG: &str = include_str!("../../../configs/sac-pendulum.toml");
const DEFAULT_CONFIG_NAME: &str = "configs/sac-pendulum.toml";
/// The resolved configuration inside a run directory.
pub const RUN_CONFIG_FILE: &str = "config.toml";

#[derive(Debug, Args, Default)]
pub struct TrainArgs {
    /// Experiment file (configs/*.toml). Without it (and without --resume), the default config.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Overrides the config's `seed` (0 to 9223372036854775807, TOML's largest integer).
    #[arg(long, value_parser = config_integer())]
    seed: Option<u64>,
    /// Overrides the config's `total_steps` (also to extend a resumed run).
    #[arg(long, value_parser = config_integer())]
    total_steps: Option<u64>,
    /// Overrides the config's `device` (also when resuming: checkpoints load on any backend).
    #[arg(long, value_enum)]
    device: Option<DeviceKind>,
    /// Overrides one config key, e.g. --set sac.learning_starts=1000 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Run directory (default: runs/{env}__{agent}__{seed}__{unix time}).
    #[arg(long)]
    run_dir: Option<PathBuf>,
    /// Continue the run in this directory from its latest complete checkpoint.
    #[arg(long, conflicts_with_all = ["config", "seed", "run_dir"])]
    resume: Option<PathBuf>,
    /// With --resume: continue from the checkpoint at this step instead of the latest (e.g.
    /// when the latest is damaged); the run's later checkpoints are moved aside.
    #[arg(long, value_name = "STEP", requires = "resume")]
    checkpoint: Option<u64>,
    /// Deterministic episodes evaluated when the run reaches total_steps (0: none). The
    /// progress line's return mixes exploration and, early on, random actions; this is the
    /// policy itself.
    #[arg(long, value_name = "N", default_value_t = 10)]
    eval_episodes: usize,
    /// Record episodes of training env 0 into RUN/videos/ and TensorBoard: the same as
    /// --set video.enabled=true (see the config's [video] table).
    #[arg(long)]
    video: bool,
}

/// A flag that becomes an integer of the config: the run directory's config.toml must hold it,
/// and TOML's integers stop at i64::MAX.
pub fn config_integer() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(0..=i64::MAX as u64)
}

pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let mut overrides = args.overrides.clone();
    if let Some(seed) = args.seed {
        overrides.push(format!("seed={seed}"));
    }
    if let Some(total_steps) = args.total_steps {
        overrides.push(format!("total_steps={total_steps}"));
    }
    if let Some(device) = args.device {
        overrides.push(format!("device={device}"));
    }
    if args.video {
        overrides.push("video.enabled=true".into());
    }

    // The lock lives until the run ends; `device` is probed before anything is written, so
    // that a missing GPU leaves nothing behind.
    let (config, run_dir, resume, _lock, device) = match &args.resume {
        Some(run_dir) => {
            let (config, resume, lock, device) =
                prepare_resume(run_dir, args.checkpoint, &overrides)
                    .map_err(|error| with_fallback_hint(error, run_dir, Retry::Resume))?;
            check_video(&config)?;
            (config, run_dir.clone(), Some(resume), lock, device)
        }
        None => {
            let config = match &args.config {
                Some(path) => TrainConfig::load(path, &overrides)?,
                None => {
                    eprintln!(
                        "training the default experiment ({DEFAULT_CONFIG_NAME}); `ordergrad --help` lists the commands"
                    );
                    TrainConfig::parse(DEFAULT_CONFIG, Path::new(DEFAULT_CONFIG_NAME), &overrides)?
                }
            };
            let run_dir = args
                .run_dir
                .clone()
                .unwrap_or_else(|| default_run_dir(&config));
            let device = backend::describe(config.device)?;
            check_video(&config)?;
            std::fs::create_dir_all(&run_dir)
                .with_context(|| format!("creating {}", run_dir.display()))?;
            let lock = RunLock::acquire(&run_dir)?;
            (config, run_dir, None, lock, device)
        }
    };

    if config.video.enabled {
        crate::video::prepare_dir(&run_dir).map_err(BadInput)?;
    }
    write_atomically(&run_dir.join(RUN_CONFIG_FILE), config.to_toml().as_bytes())?;
    eprintln!(
        "{} on {}, {} steps, seed {}, on {}: logging to {} (tensorboard --logdir {})",
        config.agent.name(),
        config.env,
        config.total_steps,
        config.seed,
        device,
        run_dir.display(),
        run_dir.parent().unwrap_or(Path::new(".")).display()
    );
    dispatch(
        config.device,
        TrainJob {
            config: &config,
            run_dir: &run_dir,
            resume,
        },
    )
    .map_err(|error| with_fallback_hint(error, &run_dir, Retry::Resume))?;
    report_the_end(&run_dir, &config, args.eval_episodes)
}

/// The run's last words: where it stands, the policy's deterministic return when it is
/// finished, and the commands that come next.
fn report_the_end(
    run_dir: &Path,
    config: &TrainConfig,
    eval_episodes: usize,
) -> anyhow::Result<()> {
    let dir = run_dir.display();
    // The directory name is the step; the evaluation below verifies the checkpoint's files, so
    // they are not read (the replay buffer can be large) twice here.
    let reached = latest_complete_checkpoint(run_dir)?.map(|checkpoint| checkpoint.step);
    match reached {
        Some(step) if step >= config.total_steps => {
            eprintln!("done: {dir}, {step} steps");
            if eval_episodes > 0 {
                let report = super::eval::final_evaluation(run_dir, eval_episodes)?;
                eprintln!(
                    "deterministic evaluation, {} episodes: mean return {:.2} (std {:.2}, CVaR_0.1 {:.2})",
                    report.episodes, report.mean, report.std, report.cvar_10
                );
            }
        }
        Some(step) => eprintln!(
            "stopped at the checkpoint of step {step} of {}: continue with `ordergrad train --resume {dir}`",
            config.total_steps
        ),
        None => eprintln!("stopped before the first checkpoint: {dir} has none to resume"),
    }
    eprintln!(
        "next: tensorboard --logdir {} | ordergrad eval --run {dir} --episodes 100 | ordergrad train --resume {dir} --total-steps {}",
        run_dir.parent().unwrap_or(Path::new(".")).display(),
        config.total_steps.saturating_mul(2)
    );
    Ok(())
}

/// Everything `train --resume` checks before it writes: the run directory's lock, the chosen
/// checkpoint (verified), the step it reached, and that the config changes nothing the
/// checkpoint's files depend on. Then rewinds the logs to the checkpoint and moves later
/// checkpoints aside.
/// A run that records videos must be able to, here: refused before anything is written.
fn check_video(config: &TrainConfig) -> Result<(), BadInput> {
    if config.video.enabled {
        crate::video::check_recording(&config.env, config.video.format).map_err(BadInput)?;
    }
    Ok(())
}

fn prepare_resume(
    run_dir: &Path,
    step: Option<u64>,
    overrides: &[String],
) -> anyhow::Result<(TrainConfig, Resume, RunLock, String)> {
    if !run_dir.is_dir() {
        return Err(BadInput(format!(
            "--resume {}: no such run directory",
            run_dir.display()
        ))
        .into());
    }
    let lock = RunLock::acquire(run_dir)?;
    let config = TrainConfig::load(&run_dir.join(RUN_CONFIG_FILE), overrides)?;
    let resume = checkpoint::open(run_dir, step)?.ok_or_else(|| {
        BadInput(format!(
            "{} has no complete checkpoint to resume from",
            run_dir.display()
        ))
    })?;
    check_unchanged(&config, &resume)?;
    if resume.state.next_step >= config.total_steps {
        return Err(BadInput(format!(
            "{} already trained {} of total_steps = {}; pass a larger --total-steps to continue",
            run_dir.display(),
            resume.state.next_step,
            config.total_steps
        ))
        .into());
    }
    let device = backend::describe(config.device)?;
    set_aside_later_checkpoints(run_dir, resume.state.next_step, &resume.checkpoint_dir)?;
    match &resume.logs {
        Some(logs) => {
            let rewound = logs.rewind(run_dir)?;
            if rewound != Rewound::default() {
                eprintln!(
                    "logs rewound to the checkpoint ({} bytes logged after it cut, {} later event files removed): the resumed run logs those steps again",
                    rewound.bytes_cut, rewound.files_removed
                );
            }
        }
        None => eprintln!(
            "warning: {} does not record where the logs stood (an older checkpoint): what was \
             logged after it stays, and the resumed run logs those steps again",
            resume.checkpoint_dir.display()
        ),
    }
    eprintln!(
        "resuming {} at step {}{}",
        run_dir.display(),
        resume.state.next_step,
        if resume.state.mid_episode {
            " (the interrupted episode restarts)"
        } else {
            ""
        }
    );
    Ok((config, resume, lock, device))
}

/// Refuses a resume whose config differs from the checkpoint's outside the keys a resume may
/// change (see `resume_config`).
fn check_unchanged(config: &TrainConfig, resume: &Resume) -> anyhow::Result<()> {
    let Some(text) = &resume.config else {
        eprintln!(
            "warning: {} does not keep its config (an older checkpoint): config.toml cannot be \
             checked against it",
            resume.checkpoint_dir.display()
        );
        return Ok(());
    };
    let file = resume.checkpoint_dir.join(checkpoint::CONFIG_FILE);
    let trained = TrainConfig::parse(text, &file, &[]).map_err(|error| {
        CheckpointError::unreadable(&resume.checkpoint_dir, checkpoint::CONFIG_FILE, error)
    })?;
    let changes = forbidden_changes(&trained, config);
    if changes.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = changes.iter().map(|change| format!("  {change}")).collect();
    Err(BadInput(format!(
        "the run's config differs from the one {} was trained with:\n{}\nresuming may only change {}; \
         put the rest back (in config.toml or --set), or train a new run",
        resume.checkpoint_dir.display(),
        list.join("\n"),
        CHANGEABLE_ON_RESUME
            .iter()
            .map(|key| match key.strip_suffix('.') {
                Some(table) => format!("{table}.*"),
                None => key.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .into())
}

/// Resuming from an earlier checkpoint than the latest replaces the run's later history: its
/// later checkpoint directories must not be taken for the resumed run's own.
fn set_aside_later_checkpoints(run_dir: &Path, step: u64, chosen: &Path) -> anyhow::Result<()> {
    for (later, dir) in step_dirs(run_dir)? {
        if later > step && dir != chosen {
            let moved = set_aside(&dir)?;
            eprintln!(
                "moved {} aside to {}: it is later than the checkpoint the run resumes from",
                dir.display(),
                moved.display()
            );
        }
    }
    Ok(())
}

fn default_run_dir(config: &TrainConfig) -> PathBuf {
    let unix_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    PathBuf::from("runs").join(format!(
        "{}__{}__{}__{}",
        config.env,
        config.agent.name(),
        config.seed,
        unix_time
    ))
}

struct TrainJob<'a> {
    config: &'a TrainConfig,
    run_dir: &'a Path,
    resume: Option<Resume>,
}

impl BackendJob for TrainJob<'_> {
    type Output = ();

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<()> {
        let config = self.config;
        B::seed(&device, config.seed);
        let spaces = Spaces::of(off_policy::make_env(config, None)?.as_ref())?;
        match config.agent {
            AgentKind::Ppo => {
                let agent = Ppo::<B>::new(
                    config.ppo.clone(),
                    spaces.obs_dim,
                    spaces.bounds.dim(),
                    &device,
                );
                on_policy::train(agent, config, self.run_dir, self.resume)
            }
            AgentKind::Sac => {
                let agent = Sac::<B>::new(config.sac.clone(), spaces, &device)?;
                off_policy::train(agent, config, self.run_dir, self.resume)
            }
            AgentKind::Dsac => {
                let agent = Dsac::<B>::new(config.dsac.clone(), spaces, &device)?;
                off_policy::train(agent, config, self.run_dir, self.resume)
            }
            AgentKind::Remac => {
                let agent = Remac::<B>::new(config.remac.clone(), spaces, &device)?;
                off_policy::train(agent, config, self.run_dir, self.resume)
            }
        }
    }
}
