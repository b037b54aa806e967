//! Where things live in a sweep directory (see the module docs of [`crate::experiments`]), how a plan
//! is written there, and what state each run is in.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::SweepError;
use super::plan::{Manifest, Plan, RunEntry};
use crate::checkpoint::file::{
    latest_complete_checkpoint, write_atomically, write_json_atomically,
};
use crate::config::TrainConfig;

pub const MANIFEST_FILE: &str = "sweep.json";
pub const POINT_CONFIG_FILE: &str = "config.toml";
pub const SBATCH_FILE: &str = "sweep.sbatch";
pub const SLURM_LOG_DIR: &str = "slurm";
/// `ordergrad eval --json` of a finished run; its presence marks the run done.
pub const EVAL_FILE: &str = "eval.json";
pub const TRAIN_LOG: &str = "train.log";
pub const EVAL_LOG: &str = "eval.log";
pub const REPORT_FILE: &str = "report.md";
pub const REPORT_JSON_FILE: &str = "report.json";
pub const PLOTS_DIR: &str = "plots";

/// A sweep directory. Paths in the manifest are relative to it, so it can be moved or shared
/// between a login node and compute nodes mounted elsewhere.
#[derive(Debug, Clone)]
pub struct SweepDir {
    root: PathBuf,
}

/// How far a run got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    NotStarted,
    /// Its directory exists but holds no complete checkpoint yet (running, or it failed early).
    Started,
    /// Its latest complete checkpoint is before `total_steps` (running, interrupted or failed).
    Partial {
        step: u64,
    },
    /// Trained to `total_steps`, not evaluated yet.
    Trained,
    /// `eval.json` is written: done.
    Evaluated,
}

impl RunStatus {
    pub fn describe(self) -> String {
        match self {
            RunStatus::NotStarted => "not started".into(),
            RunStatus::Started => "started, no checkpoint".into(),
            RunStatus::Partial { step } => format!("checkpoint at step {step}"),
            RunStatus::Trained => "trained, not evaluated".into(),
            RunStatus::Evaluated => "done".into(),
        }
    }
}

impl SweepDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.root.join(MANIFEST_FILE)
    }

    pub fn sbatch_path(&self) -> PathBuf {
        self.root.join(SBATCH_FILE)
    }

    pub fn slurm_log_dir(&self) -> PathBuf {
        self.root.join(SLURM_LOG_DIR)
    }

    pub fn plots_dir(&self) -> PathBuf {
        self.root.join(PLOTS_DIR)
    }

    pub fn config_file(&self, run: &RunEntry) -> PathBuf {
        self.root.join(&run.config_file)
    }

    pub fn run_dir(&self, run: &RunEntry) -> PathBuf {
        self.root.join(&run.run_dir)
    }

    pub fn eval_file(&self, run: &RunEntry) -> PathBuf {
        self.run_dir(run).join(EVAL_FILE)
    }

    pub fn train_log(&self, run: &RunEntry) -> PathBuf {
        self.run_dir(run).join(TRAIN_LOG)
    }

    pub fn eval_log(&self, run: &RunEntry) -> PathBuf {
        self.run_dir(run).join(EVAL_LOG)
    }

    /// The manifest, or `None` when the directory has none yet.
    pub fn read_manifest(&self) -> Result<Option<Manifest>, SweepError> {
        let path = self.manifest_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(SweepError::io("read", &path)(error)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| SweepError::Json { path, source })
    }

    /// The manifest of a sweep that must exist (report, Slurm tasks).
    pub fn load_manifest(&self) -> Result<Manifest, SweepError> {
        self.read_manifest()?.ok_or_else(|| SweepError::NoManifest {
            dir: self.root.clone(),
            file: MANIFEST_FILE,
        })
    }

    /// Writes the plan's point configs and manifest, merged with a sweep already in the
    /// directory: running the same command again, or with more seeds or grid values, adds to it.
    /// A grid point whose config changed, or other eval settings, is an error rather than a mix
    /// of results made two ways. Returns the manifest now on disk.
    pub fn write_plan(&self, plan: &Plan) -> Result<Manifest, SweepError> {
        let existing = self.read_manifest()?;
        for point in &plan.point_configs {
            let path = self.root.join(&point.path);
            match fs::read_to_string(&path) {
                Ok(text) if same_config(&text, &point.text, &path) => {}
                Ok(_) => {
                    return Err(SweepError::Changed {
                        dir: self.root.clone(),
                        what: format!(
                            "{} differs from the config this command resolves",
                            point.path.display()
                        ),
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(SweepError::io("read", &path)(error)),
            }
        }
        let manifest = merge(existing, &plan.manifest).map_err(|what| SweepError::Changed {
            dir: self.root.clone(),
            what,
        })?;
        for point in &plan.point_configs {
            let path = self.root.join(&point.path);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(SweepError::io("create", parent))?;
            }
            write_atomically(&path, point.text.as_bytes())?;
        }
        write_json_atomically(&self.manifest_path(), &manifest)?;
        Ok(manifest)
    }

    /// How far `run` got, from its files alone.
    pub fn status(&self, run: &RunEntry) -> Result<RunStatus, SweepError> {
        if self.eval_file(run).is_file() {
            return Ok(RunStatus::Evaluated);
        }
        let run_dir = self.run_dir(run);
        if !run_dir.exists() {
            return Ok(RunStatus::NotStarted);
        }
        Ok(match latest_complete_checkpoint(&run_dir)? {
            None => RunStatus::Started,
            Some(checkpoint) if checkpoint.step >= run.total_steps => RunStatus::Trained,
            Some(checkpoint) => RunStatus::Partial {
                step: checkpoint.step,
            },
        })
    }
}

/// Whether a point config on disk is the one this command resolves. Text equality first; else
/// the stored file is read as a config by this binary, so that a sweep made by an earlier
/// ordergrad resumes when a newer one only writes keys it added since, at their defaults (the
/// values are then what the stored runs used). Unreadable stored text counts as different.
fn same_config(stored: &str, resolved: &str, path: &Path) -> bool {
    stored == resolved
        || TrainConfig::parse(stored, path, &[]).is_ok_and(|config| config.to_toml() == resolved)
}

/// The union of an earlier manifest and a new plan: the earlier runs keep their indices (a Slurm
/// array may still be running them), new runs are appended. `Err` says what differs.
fn merge(existing: Option<Manifest>, new: &Manifest) -> Result<Manifest, String> {
    let Some(mut merged) = existing else {
        return Ok(new.clone());
    };
    if merged.format != new.format {
        return Err(format!(
            "manifest format {} (this ordergrad writes {})",
            merged.format, new.format
        ));
    }
    if merged.eval != new.eval {
        return Err(format!(
            "eval settings were {:?}, now {:?}",
            merged.eval, new.eval
        ));
    }
    for run in &new.runs {
        match merged.runs.iter().find(|old| old.run_dir == run.run_dir) {
            Some(old) if old == run => {}
            Some(old) => {
                return Err(format!(
                    "run {} was planned as {:?}, now {:?}",
                    run.run_dir.display(),
                    old,
                    run
                ));
            }
            None => merged.runs.push(run.clone()),
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::plan::{EvalSettings, MANIFEST_FORMAT};

    fn run(point: &str, seed: u64) -> RunEntry {
        RunEntry {
            config: "c".into(),
            point: point.into(),
            grid: vec![point.into()],
            sets: vec![],
            seed,
            agent: "sac".into(),
            env: "Pendulum-v1".into(),
            total_steps: 100,
            config_file: PathBuf::from(format!("c/{point}/config.toml")),
            run_dir: PathBuf::from(format!("c/{point}/seed_{seed}")),
        }
    }

    fn manifest(runs: Vec<RunEntry>) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            eval: EvalSettings::default(),
            runs,
        }
    }

    #[test]
    fn merging_keeps_old_indices_and_appends_new_runs() {
        let old = manifest(vec![run("a=1", 1), run("a=2", 1)]);
        let new = manifest(vec![run("a=1", 1), run("a=1", 2), run("a=2", 1)]);
        let merged = merge(Some(old), &new).unwrap();
        let dirs: Vec<_> = merged.runs.iter().map(|r| r.run_dir.clone()).collect();
        assert_eq!(
            dirs,
            [
                PathBuf::from("c/a=1/seed_1"),
                PathBuf::from("c/a=2/seed_1"),
                PathBuf::from("c/a=1/seed_2")
            ]
        );
    }

    #[test]
    fn merging_refuses_other_eval_settings_or_a_changed_run() {
        let old = manifest(vec![run("a=1", 1)]);
        let mut other_eval = old.clone();
        other_eval.eval.episodes = 3;
        assert!(
            merge(Some(old.clone()), &other_eval)
                .unwrap_err()
                .contains("eval settings")
        );
        let mut changed = old.clone();
        changed.runs[0].total_steps = 7;
        assert!(merge(Some(old), &changed).unwrap_err().contains("seed_1"));
    }

    #[test]
    fn a_stored_config_without_keys_added_since_is_the_same_config_and_a_changed_value_is_not() {
        let path = Path::new("c/base/config.toml");
        let resolved = TrainConfig::parse(
            "agent = \"sac\"\nenv = \"Pendulum-v1\"\ntotal_steps = 100\nseed = 1\ndevice = \"cpu\"\n",
            path,
            &[],
        )
        .unwrap()
        .to_toml();
        // What an earlier ordergrad wrote: the same resolved config, less a key added since.
        let older: String = resolved
            .lines()
            .filter(|line| !line.starts_with("activation"))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_ne!(older, resolved, "the test must drop a key");
        assert!(same_config(&older, &resolved, path));
        let other_value = older.replace("gamma = 0.99", "gamma = 0.9");
        assert_ne!(other_value, older);
        assert!(!same_config(&other_value, &resolved, path));
        assert!(!same_config("not toml [", &resolved, path));
    }
}
