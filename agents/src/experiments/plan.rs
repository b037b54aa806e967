//! From what the user asked (configs, seeds, grid, `--set`) to the list of runs: every grid
//! point's config is parsed up front, so an unknown key or a bad value fails before anything
//! runs, and the runs are written down in a manifest that both executors and the report read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SweepError;
use super::grid::{self, GridAxis, GridPoint};
use crate::config::{ConfigError, TrainConfig};

/// The manifest's format, bumped when a field changes meaning.
pub const MANIFEST_FORMAT: u32 = 1;

/// How every run of a sweep is evaluated once trained (`ordergrad eval` flags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalSettings {
    /// Episodes per run.
    pub episodes: usize,
    /// Episode i starts from seed `seed + i`: the same start states for every run.
    pub seed: u64,
    /// Sample actions instead of taking the policy's deterministic action.
    pub stochastic: bool,
}

impl Default for EvalSettings {
    fn default() -> Self {
        Self {
            episodes: 20,
            seed: 1_000_000,
            stochastic: false,
        }
    }
}

/// What `ordergrad sweep` was asked to run.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    /// Config files; each is a separate table in the report, named by its file stem.
    pub configs: Vec<PathBuf>,
    pub seeds: Vec<u64>,
    pub grid: Vec<GridAxis>,
    /// `--set` overrides applied to every run (before the grid's).
    pub sets: Vec<String>,
    pub eval: EvalSettings,
}

/// One run of the sweep: one config at one grid point with one seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEntry {
    /// The config's name (its file stem).
    pub config: String,
    /// The grid point's folder name.
    pub point: String,
    /// The grid assignments of the point, `key=value`.
    pub grid: Vec<String>,
    /// The `--set` overrides every point of the sweep got.
    pub sets: Vec<String>,
    pub seed: u64,
    pub agent: String,
    pub env: String,
    pub total_steps: u64,
    /// The point's resolved config, relative to the sweep directory.
    pub config_file: PathBuf,
    /// The run directory, relative to the sweep directory.
    pub run_dir: PathBuf,
}

impl RunEntry {
    /// `key=value key=value`, or `base` for a sweep without a grid.
    pub fn point_label(&self) -> String {
        if self.grid.is_empty() {
            grid::BASE_POINT.to_string()
        } else {
            self.grid.join(" ")
        }
    }

    /// `sac-pendulum sac.policy_lr=0.001 seed 2`, for progress lines.
    pub fn label(&self) -> String {
        format!("{} {} seed {}", self.config, self.point_label(), self.seed)
    }
}

/// `sweep.json`: the eval settings and every run of a sweep, in a fixed order (Slurm array
/// task i runs `runs[i]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub eval: EvalSettings,
    pub runs: Vec<RunEntry>,
}

/// The resolved config of one grid point, to be written at `path` (relative to the sweep dir).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointConfig {
    pub path: PathBuf,
    pub text: String,
}

/// A checked sweep: its manifest and the config file of every grid point.
#[derive(Debug, Clone)]
pub struct Plan {
    pub manifest: Manifest,
    pub point_configs: Vec<PointConfig>,
}

/// Expands configs x grid points x seeds (in that nesting order), parsing every point's config
/// with the `--set` and grid overrides applied.
pub fn plan(request: &SweepRequest) -> Result<Plan, SweepError> {
    if request.configs.is_empty() {
        return Err(SweepError::Request {
            reason: "no --config given".into(),
        });
    }
    if request.seeds.is_empty() {
        return Err(SweepError::Seeds {
            text: String::new(),
            reason: "no seeds".into(),
        });
    }
    if request.eval.episodes == 0 {
        return Err(SweepError::Request {
            reason: "--episodes must be at least 1".into(),
        });
    }
    grid::check_axes(&request.grid)?;
    check_run_count(request)?;
    check_sets(&request.sets, &request.grid)?;
    let names = config_names(&request.configs)?;
    let points = grid::expand(&request.grid);

    let mut runs = Vec::new();
    let mut point_configs = Vec::new();
    for (config_path, config_name) in request.configs.iter().zip(&names) {
        let mut resolved: Vec<(&GridPoint, String, TrainConfig)> = Vec::new();
        for point in &points {
            let mut overrides = request.sets.clone();
            overrides.extend(point.overrides());
            let config =
                TrainConfig::load(config_path, &overrides).map_err(|source| match source {
                    ConfigError::OtherAgentKey { key, agent, .. } => SweepError::UnusedKey {
                        key,
                        config: config_path.clone(),
                        agent,
                    },
                    source => SweepError::Config {
                        config: config_path.clone(),
                        overrides: describe_overrides(&overrides),
                        source,
                    },
                })?;
            let text = config.to_toml();
            if let Some((same, _, _)) = resolved.iter().find(|(_, other, _)| *other == text) {
                return Err(SweepError::SamePoint {
                    config: config_path.clone(),
                    first: same.label(),
                    second: point.label(),
                });
            }
            if let Some((clash, _, _)) = resolved.iter().find(|(p, _, _)| p.name() == point.name())
            {
                return Err(SweepError::NameClash {
                    first: clash.label(),
                    second: point.label(),
                    name: point.name(),
                });
            }
            resolved.push((point, text, config));
        }
        for (point, text, config) in resolved {
            let point_dir = Path::new(config_name).join(point.name());
            let config_file = point_dir.join(super::layout::POINT_CONFIG_FILE);
            for &seed in &request.seeds {
                runs.push(RunEntry {
                    config: config_name.clone(),
                    point: point.name(),
                    grid: point.overrides(),
                    sets: request.sets.clone(),
                    seed,
                    agent: config.agent.name().to_string(),
                    env: config.env.clone(),
                    total_steps: config.total_steps,
                    config_file: config_file.clone(),
                    run_dir: point_dir.join(format!("seed_{seed}")),
                });
            }
            point_configs.push(PointConfig {
                path: config_file,
                text,
            });
        }
    }
    Ok(Plan {
        manifest: Manifest {
            format: MANIFEST_FORMAT,
            eval: request.eval.clone(),
            runs,
        },
        point_configs,
    })
}

fn describe_overrides(overrides: &[String]) -> String {
    if overrides.is_empty() {
        "no overrides".into()
    } else {
        format!("overrides {}", overrides.join(" "))
    }
}

/// `--set seed=` would be overwritten by every run's own seed, and a key both set and swept would
/// be swept silently: both are mistakes.
fn check_sets(sets: &[String], axes: &[GridAxis]) -> Result<(), SweepError> {
    for assignment in sets {
        let key = assignment.split_once('=').map_or("", |(key, _)| key).trim();
        if key == "seed" {
            return Err(SweepError::Request {
                reason: format!("--set {assignment}: the seeds come from --seeds"),
            });
        }
        if axes.iter().any(|axis| axis.key == key) {
            return Err(SweepError::Request {
                reason: format!("--set {assignment}: `{key}` is also swept by --grid"),
            });
        }
    }
    Ok(())
}

/// Runs one sweep may plan: every point's config is parsed up front, and more is a typo.
pub const MAX_RUNS: u128 = 100_000;

/// configs x grid points x seeds, before the grid is expanded.
fn check_run_count(request: &SweepRequest) -> Result<(), SweepError> {
    let points: u128 = request
        .grid
        .iter()
        .map(|axis| axis.values.len() as u128)
        .fold(1, |product, values| product.saturating_mul(values));
    let runs = points
        .saturating_mul(request.configs.len() as u128)
        .saturating_mul(request.seeds.len() as u128);
    if runs > MAX_RUNS {
        return Err(SweepError::Request {
            reason: format!(
                "{} configs x {points} grid points x {} seeds make {runs} runs; at most \
                 {MAX_RUNS} are accepted",
                request.configs.len(),
                request.seeds.len()
            ),
        });
    }
    Ok(())
}

/// The configs' file stems, which name their folders; two configs may not share one.
fn config_names(configs: &[PathBuf]) -> Result<Vec<String>, SweepError> {
    let mut names: Vec<String> = Vec::new();
    for path in configs {
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .filter(|stem| !stem.is_empty() && !stem.starts_with('.'))
            .ok_or_else(|| SweepError::Request {
                reason: format!("{} is not a config file name", path.display()),
            })?
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>();
        if names.contains(&name) {
            return Err(SweepError::Request {
                reason: format!(
                    "two configs are named '{name}' ({}); their runs would share a folder",
                    path.display()
                ),
            });
        }
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ordergrad-plan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(dir: &Path, name: &str, agent: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!("agent = \"{agent}\"\nenv = \"Pendulum-v1\"\ntotal_steps = 300\nseed = 9\n"),
        )
        .unwrap();
        path
    }

    fn request(configs: Vec<PathBuf>, grid: &[&str], sets: &[&str]) -> SweepRequest {
        SweepRequest {
            configs,
            seeds: vec![1, 2],
            grid: grid.iter().map(|axis| axis.parse().unwrap()).collect(),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            eval: EvalSettings::default(),
        }
    }

    #[test]
    fn runs_nest_configs_then_points_then_seeds() {
        let dir = scratch("order");
        let sac = write(&dir, "sac-tiny.toml", "sac");
        let ppo = write(&dir, "ppo-tiny.toml", "ppo");
        let plan = plan(&request(
            vec![sac, ppo],
            &["total_steps=200,400"],
            &["logging.progress=false"],
        ))
        .unwrap();
        let labels: Vec<String> = plan.manifest.runs.iter().map(RunEntry::label).collect();
        assert_eq!(
            labels,
            [
                "sac-tiny total_steps=200 seed 1",
                "sac-tiny total_steps=200 seed 2",
                "sac-tiny total_steps=400 seed 1",
                "sac-tiny total_steps=400 seed 2",
                "ppo-tiny total_steps=200 seed 1",
                "ppo-tiny total_steps=200 seed 2",
                "ppo-tiny total_steps=400 seed 1",
                "ppo-tiny total_steps=400 seed 2",
            ]
        );
        let run = &plan.manifest.runs[3];
        assert_eq!(run.total_steps, 400);
        assert_eq!(run.agent, "sac");
        assert_eq!(
            run.run_dir,
            Path::new("sac-tiny/total_steps=400/seed_2"),
            "a readable folder per point and seed"
        );
        assert_eq!(
            run.config_file,
            Path::new("sac-tiny/total_steps=400/config.toml")
        );
        assert_eq!(plan.point_configs.len(), 4);
        let text = &plan.point_configs[1].text;
        let resolved = TrainConfig::parse(text, Path::new("x"), &[]).unwrap();
        assert_eq!(resolved.total_steps, 400);
        assert!(!resolved.logging.progress, "--set reaches the point config");
    }

    #[test]
    fn unknown_grid_keys_fail_before_anything_runs_naming_the_key() {
        let dir = scratch("unknown");
        let sac = write(&dir, "sac.toml", "sac");
        let error = plan(&request(vec![sac], &["sac.learnin_starts=1,2"], &[])).unwrap_err();
        assert!(error.is_bad_input());
        let text = format!("{:#}", anyhow::Error::from(error));
        assert!(text.contains("sac.learnin_starts"), "{text}");
        assert!(text.contains("sac.toml"), "{text}");
    }

    #[test]
    fn keys_of_another_agent_and_duplicate_points_are_refused() {
        let dir = scratch("unused");
        let sac = write(&dir, "sac.toml", "sac");
        let error = plan(&request(vec![sac.clone()], &["ppo.learning_rate=1,2"], &[]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ppo.learning_rate") && error.contains("no effect"),
            "{error}"
        );
        let error = plan(&request(vec![sac.clone()], &["sac.tau=0.01,1e-2"], &[]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("same configuration"), "{error}");
        let error = plan(&request(
            vec![sac.clone()],
            &["sac.tau=0.01"],
            &["sac.tau=0.1"],
        ))
        .unwrap_err()
        .to_string();
        assert!(error.contains("also swept"), "{error}");
        let error = plan(&request(vec![sac.clone(), sac], &[], &[]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("two configs"), "{error}");
    }

    #[test]
    fn manifest_round_trips_through_json() {
        let dir = scratch("json");
        let sac = write(&dir, "sac.toml", "sac");
        let manifest = plan(&request(vec![sac], &["sac.tau=0.01,0.02"], &[]))
            .unwrap()
            .manifest;
        let json = serde_json::to_string_pretty(&manifest).unwrap();
        let again: Manifest = serde_json::from_str(&json).unwrap();
        assert_eq!(again, manifest);
        assert_eq!(again.runs.len(), 4);
    }
}
