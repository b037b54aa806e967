//! Experiment configuration: one TOML file (`configs/*.toml`) with top-level `agent`, `env`,
//! `total_steps`, `seed`, `device` and one table per component. `--set table.key=value`
//! overrides a key before the file is checked, so a typo in either is an error naming the key.

pub mod memory_estimate;
pub mod objective_setting;
pub mod resource_limits;
pub mod setting_checks;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::common::off_policy::Spaces;
use crate::config::resource_limits::{MAX_MEMORY_ENV, MemoryBudget};
use crate::config::setting_checks::{Accepted, check_number};
use crate::dsac::DsacConfig;
use crate::logging::RunLoggerOptions;
use crate::ppo::{AdvantageSource, PpoConfig};
use crate::remac::RemacConfig;
use crate::sac::SacConfig;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("--set {assignment}: {reason}")]
    Override { assignment: String, reason: String },
    #[error("config key `{key}`: {message}")]
    Key { key: String, message: String },
    #[error(
        "config key `{key}` has no effect: agent = \"{agent}\" reads only the [{agent}] table \
         of agent settings; remove it, or set agent = \"{table}\""
    )]
    OtherAgentKey {
        key: String,
        /// The agent the config trains.
        agent: String,
        /// The agent whose table `key` is in.
        table: String,
    },
}

/// The agents `ordergrad train` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    Sac,
    /// Distributional SAC: the objective acts on the critic's return distribution.
    Dsac,
    /// The objective acts on the policy's own action samples.
    Remac,
    /// The objective acts on groups of episode returns.
    Ppo,
}

impl AgentKind {
    pub const ALL: [AgentKind; 4] = [
        AgentKind::Sac,
        AgentKind::Dsac,
        AgentKind::Remac,
        AgentKind::Ppo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AgentKind::Sac => "sac",
            AgentKind::Dsac => "dsac",
            AgentKind::Remac => "remac",
            AgentKind::Ppo => "ppo",
        }
    }
}

/// Where the numbers are computed (`crate::backend` maps each to a Burn backend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// Burn's Flex backend on the CPU.
    #[default]
    Cpu,
    /// Burn's CUDA backend on NVIDIA GPU 0 (cargo feature `cuda`).
    Cuda,
    /// Burn's WGPU backend on the platform's graphics API (cargo feature `wgpu`).
    Wgpu,
    /// Burn's WGPU backend, on Vulkan only (cargo feature `wgpu`).
    Vulkan,
}

impl DeviceKind {
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Cuda => "cuda",
            DeviceKind::Wgpu => "wgpu",
            DeviceKind::Vulkan => "vulkan",
        }
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// A whole experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Which agent trains: "sac", "dsac", "remac" or "ppo".
    pub agent: AgentKind,
    /// Gymnasium id of the environment, e.g. "Pendulum-v1".
    pub env: String,
    /// Environment steps to train for.
    pub total_steps: u64,
    /// Seeds every random draw of the run: initial weights, exploration and policy noise,
    /// replay sampling, environment resets.
    pub seed: u64,
    /// Compute backend: "cpu" (Flex). "cuda", "wgpu" and "vulkan" are reserved for GPU builds.
    #[serde(default)]
    pub device: DeviceKind,
    /// Potential-based shaping with the env's Phi (RiskyCrossing-v0 and RiskyCar-v0 only): the
    /// off-policy agents learn from rewards with F = gamma Phi(s') - Phi(s) added; PPO's episode
    /// groups rank each episode's return plus Phi(s_T) - Phi(s_0). Either keeps the optimal
    /// policies, and the logged and evaluated returns stay unshaped.
    #[serde(default)]
    pub shaping: bool,
    /// Exploring starts for the off-policy agents (RiskyCrossing-v0 and RiskyCar-v0 only): half
    /// the training episodes start anywhere in the task's region instead of its fixed start
    /// (`envs::risky::exploring_start`). Evaluation keeps the fixed start.
    #[serde(default)]
    pub exploring_starts: bool,
    /// Settings of the SAC agent (used when `agent = "sac"`).
    #[serde(default)]
    pub sac: SacConfig,
    /// Settings of distributional SAC (used when `agent = "dsac"`).
    #[serde(default)]
    pub dsac: DsacConfig,
    /// Settings of the ReMAC agent (used when `agent = "remac"`).
    #[serde(default)]
    pub remac: RemacConfig,
    /// Settings of the PPO agent (used when `agent = "ppo"`).
    #[serde(default)]
    pub ppo: PpoConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    #[serde(default)]
    pub video: VideoConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// Log losses and SPS every this many steps (CleanRL: 100).
    pub log_every: u64,
    /// Flush TensorBoard and the metrics file at least this often, in seconds.
    pub flush_secs: f64,
    /// Show a progress line on the terminal.
    pub progress: bool,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            log_every: 100,
            flush_secs: 2.0,
            progress: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckpointConfig {
    /// Write a checkpoint at the first episode end after every this many steps (and at the end
    /// of training or on Ctrl-C). Episode ends make a resumed run identical to a straight one.
    pub every: u64,
    /// Include the replay buffer (needed for an exact resume; large for long runs).
    pub save_replay_buffer: bool,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self {
            every: 10_000,
            save_replay_buffer: true,
        }
    }
}

/// Episode videos during training (`crate::video::RecordVideo`): off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VideoConfig {
    /// Record episodes of training env 0 into `<run>/videos/` and TensorBoard
    /// (`videos/train`); `train --video` sets it.
    pub enabled: bool,
    /// Record every this many episodes of env 0 (0, n, 2n, ...) instead of CleanRL's schedule
    /// (episodes 0, 1, 8, 27, ... below 1000, then every 1000th).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every_episodes: Option<u64>,
    /// The files' format: "gif" (needs nothing) or "mp4" (needs ffmpeg with libx264 on PATH,
    /// `scripts/setup_ffmpeg.sh`). TensorBoard gets GIFs either way.
    pub format: crate::video::VideoFormat,
}

impl VideoConfig {
    pub fn trigger(&self) -> crate::video::EpisodeTrigger {
        match self.every_episodes {
            Some(every) => crate::video::EpisodeTrigger::Every(every),
            None => crate::video::EpisodeTrigger::CappedCubic,
        }
    }
}

impl TrainConfig {
    /// Reads `path`, applies `--set` overrides (`table.key=value`, the value in TOML syntax or a
    /// bare string), and checks every key and value.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, overrides)
    }

    pub fn parse(text: &str, path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            text.parse()
                .map_err(|error: toml::de::Error| ConfigError::Toml {
                    path: path.to_path_buf(),
                    message: error.to_string(),
                })?;
        for assignment in overrides {
            apply_override(&mut table, assignment)?;
        }
        // Before the tables are read, so that a key in another agent's table is refused as such
        // even where its value would not parse there (another agent's objective, say).
        let agent = table.get("agent").cloned().map(AgentKind::deserialize);
        if let Some(Ok(agent)) = agent {
            check_only_own_agent_table(&table, agent)?;
        }
        let config: TrainConfig = serde_path_to_error::deserialize(toml::Value::Table(
            table.clone(),
        ))
        .map_err(|error| ConfigError::Key {
            key: error.path().to_string(),
            message: error.into_inner().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        // envs' own message: the known ids, or for a MuJoCo id in a build without the
        // `mujoco` feature how to build it.
        if let Err(error) = envs::spec(&self.env) {
            return Err(invalid("env", error.to_string()));
        }
        if self.total_steps == 0 {
            return Err(invalid("total_steps", "must be at least 1".into()));
        }
        if self.logging.log_every == 0 {
            return Err(invalid("logging.log_every", "must be at least 1".into()));
        }
        check_number(
            "logging.flush_secs",
            self.logging.flush_secs,
            Accepted::Between(0.0, MAX_FLUSH_SECS),
        )?;
        if self.checkpoint.every == 0 {
            return Err(invalid("checkpoint.every", "must be at least 1".into()));
        }
        if self.video.every_episodes == Some(0) {
            return Err(invalid("video.every_episodes", "must be at least 1".into()));
        }
        if self.shaping {
            let ppo_with_gae = self.agent == AgentKind::Ppo
                && matches!(self.ppo.advantage_source(), Ok(AdvantageSource::Gae));
            if ppo_with_gae {
                return Err(invalid(
                    "shaping",
                    "applies to the off-policy agents (sac, dsac, remac) and to PPO's episode \
                     groups (any ppo.objective but \"mean\"; \"cvar:1\" is the mean over \
                     episodes), not to PPO with GAE advantages"
                        .into(),
                ));
            }
            if envs::risky::shaping_potential(&self.env).is_none() {
                return Err(invalid(
                    "shaping",
                    format!(
                        "{} has no shaping potential; only {} have one",
                        self.env,
                        envs::risky::SHAPED_IDS.join(" and ")
                    ),
                ));
            }
        }
        if self.exploring_starts {
            if self.agent == AgentKind::Ppo {
                return Err(invalid(
                    "exploring_starts",
                    "applies to the off-policy agents (sac, dsac, remac) only; PPO's episode \
                     groups compare returns from the fixed start"
                        .into(),
                ));
            }
            if !envs::risky::has_exploring_starts(&self.env) {
                return Err(invalid(
                    "exploring_starts",
                    format!(
                        "{} has no exploring starts; only {} have them",
                        self.env,
                        envs::risky::EXPLORING_START_IDS.join(" and ")
                    ),
                ));
            }
        }
        // Before anything is built from the sizes (the agents' checks build the rank plans).
        let spaces = envs::make(&self.env)
            .map_err(|error| invalid("env", error.to_string()))
            .and_then(|env| {
                Spaces::of(env.as_ref()).map_err(|error| invalid("env", error.to_string()))
            })?;
        let budget = MemoryBudget::current().map_err(|message| invalid(MAX_MEMORY_ENV, message))?;
        memory_estimate::check(self, spaces.obs_dim, spaces.bounds.dim(), &budget)?;
        match self.agent {
            AgentKind::Sac => self.sac.validate(),
            AgentKind::Dsac => self.dsac.validate(),
            AgentKind::Remac => self.remac.validate(),
            AgentKind::Ppo => self.ppo.validate(),
        }
    }

    /// The resolved configuration without the tables of agents this run does not use: what the
    /// run directory's config.toml and TensorBoard's hyperparameters show.
    pub fn resolved(&self) -> toml::Table {
        let mut table =
            toml::Table::try_from(self).expect("a TrainConfig always serialises to TOML");
        for agent in AgentKind::ALL {
            if agent != self.agent {
                table.remove(agent.name());
            }
        }
        table
    }

    /// How the run logs: progress and flush interval from `[logging]`, SPS and ETA counted
    /// from `start_step` (a resumed run's first step).
    pub fn logger_options(&self, start_step: u64) -> RunLoggerOptions {
        let options = RunLoggerOptions::new(self.total_steps)
            .resuming_from(start_step)
            .with_flush_interval(std::time::Duration::from_secs_f64(self.logging.flush_secs));
        if self.logging.progress {
            options
        } else {
            options.without_progress()
        }
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(&self.resolved()).expect("a TOML table always serialises")
    }
}

/// The longest flush interval accepted: metrics of a crashed run are at most an hour old.
pub const MAX_FLUSH_SECS: f64 = 3600.0;

/// The largest integer TOML (and so a run directory's config.toml) can hold.
const MAX_TOML_INTEGER: i64 = i64::MAX;

/// Every table defaults, so a key in another agent's table would parse and change nothing:
/// `--set agent=ppo` on a SAC config would silently drop its [sac] settings.
fn check_only_own_agent_table(table: &toml::Table, agent: AgentKind) -> Result<(), ConfigError> {
    for other in AgentKind::ALL.into_iter().filter(|other| *other != agent) {
        let Some(value) = table.get(other.name()) else {
            continue;
        };
        let key = match value.as_table().and_then(|keys| keys.keys().next()) {
            Some(first) => format!("{}.{first}", other.name()),
            None => other.name().to_string(),
        };
        return Err(ConfigError::OtherAgentKey {
            key,
            agent: agent.name().to_string(),
            table: other.name().to_string(),
        });
    }
    Ok(())
}

/// A config error for `key` with a message saying what is accepted.
pub fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::Key {
        key: key.to_string(),
        message,
    }
}

fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<(), ConfigError> {
    let fail = |reason: String| ConfigError::Override {
        assignment: assignment.to_string(),
        reason,
    };
    let (key, raw_value) = assignment
        .split_once('=')
        .ok_or_else(|| fail("expected KEY=VALUE, e.g. sac.learning_starts=1000".into()))?;
    let path: Vec<&str> = key.trim().split('.').map(str::trim).collect();
    if path.iter().any(|part| part.is_empty()) {
        return Err(fail(format!(
            "'{key}' is not a key path like sac.batch_size"
        )));
    }
    // TOML syntax first (numbers, booleans, quoted strings, arrays); anything else is a string,
    // so `--set env=Pendulum-v1` needs no quotes.
    let value = match format!("value = {}", raw_value.trim())
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut parsed| parsed.remove("value"))
    {
        Some(value) => value,
        None if looks_like_an_integer(raw_value.trim()) => {
            return Err(fail(format!(
                "{} is out of range: integers are accepted from {} to {MAX_TOML_INTEGER} \
                 (TOML's 64-bit integers)",
                raw_value.trim(),
                i64::MIN
            )));
        }
        None => toml::Value::String(raw_value.trim().to_string()),
    };
    let (last, parents) = path.split_last().expect("a key path has at least one part");
    let mut current = table;
    for (depth, part) in parents.iter().enumerate() {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry.as_table_mut().ok_or_else(|| {
            fail(format!(
                "`{}` is a value, not a table",
                path[..=depth].join(".")
            ))
        })?;
    }
    current.insert(last.to_string(), value);
    Ok(())
}

/// Digits with an optional sign (and TOML's `_` separators): a number, even if too large for
/// TOML, never meant as a string.
fn looks_like_an_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "agent = \"sac\"\nenv = \"Pendulum-v1\"\ntotal_steps = 1000\nseed = 1\n";

    fn parse(text: &str, overrides: &[&str]) -> Result<TrainConfig, ConfigError> {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        TrainConfig::parse(text, Path::new("test.toml"), &overrides)
    }

    #[test]
    fn defaults_are_cleanrl_sac() {
        let config = parse(MINIMAL, &[]).unwrap();
        assert_eq!(config.sac.shared.batch_size, 256);
        assert_eq!(config.sac.shared.learning_starts, 5000);
        assert_eq!(config.device, DeviceKind::Cpu);
    }

    #[test]
    fn overrides_reach_keys_inside_tables() {
        let config = parse(
            MINIMAL,
            &[
                "sac.learning_starts=1000",
                "seed = 7",
                "env=MountainCarContinuous-v0",
            ],
        )
        .unwrap();
        assert_eq!(config.sac.shared.learning_starts, 1000);
        assert_eq!(config.seed, 7);
        assert_eq!(config.env, "MountainCarContinuous-v0");
    }

    #[test]
    fn unknown_keys_are_named_with_their_path() {
        let error = parse(MINIMAL, &["sac.learnin_starts=1"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("sac.learnin_starts"), "{error}");
        assert!(
            error.contains("learning_starts"),
            "lists accepted keys: {error}"
        );
        let error = parse(&format!("{MINIMAL}colour = 3\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("colour"), "{error}");
    }

    #[test]
    fn bad_values_are_named() {
        let error = parse(MINIMAL, &["sac.batch_size=-3"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("sac.batch_size"), "{error}");
        let error = parse(MINIMAL, &["sac.gamma=1.5"]).unwrap_err().to_string();
        assert!(error.contains("sac.gamma"), "{error}");
        let error = parse(MINIMAL, &["env=Pendulum-v9"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("Pendulum-v1"), "lists known ids: {error}");
        let error = parse(MINIMAL, &["agent=ppo2"]).unwrap_err().to_string();
        assert!(error.contains("agent"), "{error}");
        let error = parse(MINIMAL, &["seed.x=1"]).unwrap_err().to_string();
        assert!(error.contains("not a table"), "{error}");
        let error = parse(MINIMAL, &["nonsense"]).unwrap_err().to_string();
        assert!(error.contains("KEY=VALUE"), "{error}");
    }

    #[test]
    fn shaping_is_refused_where_it_cannot_apply() {
        let crossing =
            "agent = \"dsac\"\nenv = \"RiskyCrossing-v0\"\ntotal_steps = 1000\nseed = 1\n";
        assert!(parse(crossing, &["shaping=true"]).unwrap().shaping);
        let error = parse(MINIMAL, &["shaping=true"]).unwrap_err().to_string();
        assert!(
            error.contains("shaping") && error.contains("RiskyCrossing-v0"),
            "{error}"
        );
        let error = parse(crossing, &["shaping=true", "agent=ppo"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("GAE"), "{error}");
        for objective in ["ppo.objective=cvar:0.1", "ppo.objective=cvar:1"] {
            let ppo = parse(crossing, &["shaping=true", "agent=ppo", objective]).unwrap();
            assert!(ppo.shaping, "{objective}");
        }
    }

    #[test]
    fn resolved_config_round_trips() {
        let config = parse(MINIMAL, &["agent=remac", "remac.objective=top:2"]).unwrap();
        let again = parse(&config.to_toml(), &[]).unwrap();
        assert_eq!(again.to_toml(), config.to_toml());
        assert_eq!(again.remac.agent.objective.to_string(), "top:2");
    }

    #[test]
    fn non_finite_and_unbounded_numbers_are_named() {
        for (set, key) in [
            ("logging.flush_secs=inf", "logging.flush_secs"),
            ("logging.flush_secs=1e300", "logging.flush_secs"),
            ("logging.flush_secs=nan", "logging.flush_secs"),
            ("sac.alpha=inf", "sac.alpha"),
            ("sac.q_lr=-0.0", "sac.q_lr"),
            ("sac.tau=nan", "sac.tau"),
        ] {
            let error = parse(MINIMAL, &[set]).unwrap_err().to_string();
            assert!(error.contains(key), "{set}: {error}");
        }
        let error = parse(MINIMAL, &["agent=remac", "remac.actor_adam_epsilon=inf"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("remac.actor_adam_epsilon"), "{error}");
        let error = parse(MINIMAL, &["sac.policy_frequency=1000000000000"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("sac.policy_frequency"), "{error}");
        let error = parse(MINIMAL, &["agent=ppo", "ppo.clip_coef=1e39"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("ppo.clip_coef"), "{error}");
    }

    #[test]
    fn huge_sizes_are_refused_before_anything_is_allocated() {
        for (sets, key) in [
            (
                &["sac.hidden_size=9223372036854775807"][..],
                "sac.hidden_size",
            ),
            (&["sac.batch_size=100000000"][..], "sac.batch_size"),
            (
                &["agent=dsac", "dsac.num_quantiles=100000"][..],
                "dsac.num_quantiles",
            ),
            (
                &[
                    "agent=remac",
                    "remac.num_action_samples=1000000000000",
                    "remac.k=3",
                ][..],
                "remac.num_action_samples",
            ),
            (
                &["agent=ppo", "ppo.objective=mean", "ppo.num_envs=100000000"][..],
                "ppo.num_envs",
            ),
            (
                &[
                    "agent=ppo",
                    "ppo.objective=cvar:0.5",
                    "ppo.group_size=1000000",
                    "ppo.k=999999",
                ][..],
                "ppo.group_size",
            ),
        ] {
            let error = parse(MINIMAL, sets).unwrap_err().to_string();
            assert!(error.contains(key), "{sets:?}: {error}");
            assert!(
                error.contains("B ") || error.contains("B;") || error.contains("terms"),
                "says how much: {error}"
            );
        }
    }

    #[test]
    fn keys_of_another_agent_are_refused_naming_both() {
        let error = parse(MINIMAL, &["remac.k=2"]).unwrap_err().to_string();
        assert!(
            error.contains("remac.k") && error.contains("agent = \"sac\""),
            "{error}"
        );
        let with_table = format!("{MINIMAL}[sac]\nbatch_size = 64\n");
        let error = parse(&with_table, &["agent=ppo"]).unwrap_err().to_string();
        assert!(
            error.contains("sac.batch_size") && error.contains("agent = \"ppo\""),
            "{error}"
        );
        parse(&with_table, &[]).unwrap();
    }

    #[test]
    fn integers_beyond_toml_say_the_accepted_range() {
        let error = parse(MINIMAL, &["seed=18446744073709551615"])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("seed") && error.contains("9223372036854775807"),
            "{error}"
        );
        let error = parse(MINIMAL, &["seed=-1"]).unwrap_err().to_string();
        assert!(error.contains("seed"), "{error}");
        // A string value that merely starts with a digit is still a string.
        let error = parse(MINIMAL, &["env=1-Pendulum"]).unwrap_err().to_string();
        assert!(error.contains("unknown env id `1-Pendulum`"), "{error}");
    }
}
