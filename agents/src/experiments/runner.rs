//! One run of a sweep, as child processes of the `ordergrad` binary: `train` (or `train --resume`
//! after an interruption) until `total_steps`, then `eval --json`, whose output written
//! atomically to `eval.json` marks the run done. Shared by the local pool and Slurm array tasks.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::SweepError;
use super::layout::{RunStatus, SweepDir};
use super::plan::{EvalSettings, RunEntry};
use crate::checkpoint::file::{latest_complete_checkpoint, write_atomically};

/// Lines of a failed command's log shown with the failure.
pub const LOG_TAIL_LINES: usize = 20;
/// How often a waiting worker looks at its child.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The part of `ordergrad eval --json` a sweep reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    pub episodes: usize,
    pub mean: f64,
    pub std: f64,
    #[serde(rename = "cvar_0.1")]
    pub cvar_10: f64,
    #[serde(default)]
    pub returns: Vec<f64>,
    /// What a risky env adds (null or absent elsewhere, and in eval files of older builds).
    #[serde(flatten)]
    pub risk: RiskSummary,
}

/// The lower tail and the penalty statistics of `ordergrad eval --json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RiskSummary {
    #[serde(rename = "cvar_0.05", default)]
    pub cvar_5: Option<f64>,
    #[serde(default)]
    pub median: Option<f64>,
    #[serde(default)]
    pub penalty_events_per_episode: Option<f64>,
    /// Share of episodes with at least one penalty event.
    #[serde(default)]
    pub episodes_with_penalty: Option<f64>,
    #[serde(default)]
    pub risky_steps_per_episode: Option<f64>,
}

impl EvalSummary {
    pub fn read(path: &Path) -> Result<Self, SweepError> {
        let text = fs::read_to_string(path).map_err(SweepError::io("read", path))?;
        serde_json::from_str(&text).map_err(|source| SweepError::Json {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// What happened to a run.
#[derive(Debug, Clone)]
pub enum Outcome {
    Finished {
        eval: EvalSummary,
        seconds: f64,
        /// Done by an earlier invocation: nothing ran now.
        cached: bool,
    },
    Failed {
        reason: String,
        /// The last lines of the log of the command that failed.
        log_tail: String,
        seconds: f64,
    },
    /// Stopped by Ctrl-C (or never started because of it); a re-run continues it.
    Interrupted,
}

/// How runs are started.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The `ordergrad` binary to run (the current one).
    pub binary: PathBuf,
    pub dir: SweepDir,
    pub eval: EvalSettings,
    /// `RAYON_NUM_THREADS` for the children; `None` leaves the environment as it is.
    pub rayon_threads: Option<usize>,
}

/// The child processes of the runs in progress, so that a stop request reaches them. Each child
/// gets its own process group: a terminal's Ctrl-C reaches only the sweep, which passes one
/// SIGINT on to each child (a second one would make `train` quit without its checkpoint).
#[derive(Debug, Default)]
pub struct Children {
    stop: AtomicBool,
    next_key: AtomicU64,
    running: Mutex<HashMap<u64, std::process::Child>>,
}

impl Children {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Starts no new command from now on and asks the running ones to stop (SIGINT: `train`
    /// writes a checkpoint and exits).
    pub fn stop_all(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let running = self
            .running
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for child in running.values() {
            interrupt(child);
        }
    }

    /// Spawns `command` and waits for it. The child is reaped only under the lock, so a stop
    /// request never signals a process id that has been reused.
    fn run(&self, command: &mut Command) -> std::io::Result<ExitStatus> {
        own_process_group(command);
        let child = command.spawn()?;
        let key = self.next_key.fetch_add(1, Ordering::SeqCst);
        {
            let mut running = self
                .running
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if self.stopped() {
                interrupt(&child);
            }
            running.insert(key, child);
        }
        loop {
            {
                let mut running = self
                    .running
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                let child = running
                    .get_mut(&key)
                    .expect("only this thread removes its child");
                if let Some(status) = child.try_wait()? {
                    running.remove(&key);
                    return Ok(status);
                }
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

#[cfg(unix)]
fn own_process_group(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(not(unix))]
fn own_process_group(_command: &mut Command) {}

#[cfg(unix)]
fn interrupt(child: &std::process::Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with a pid of our own unreaped child and a valid signal number.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
    }
}

#[cfg(not(unix))]
fn interrupt(_child: &std::process::Child) {}

/// Runs `run` to the end: skips it when `eval.json` is there, trains (resuming from a partial
/// checkpoint, or moving aside a directory left without one) and evaluates.
pub fn execute(context: &RunContext, run: &RunEntry, children: &Children) -> Outcome {
    let start = Instant::now();
    match try_execute(context, run, children, start) {
        Ok(outcome) => outcome,
        // A failure of this machine (disk full, binary gone) is this run's failure, not the
        // sweep's: the other runs go on.
        Err(error) => Outcome::Failed {
            reason: format!("{:#}", anyhow::Error::from(error)),
            log_tail: String::new(),
            seconds: start.elapsed().as_secs_f64(),
        },
    }
}

fn try_execute(
    context: &RunContext,
    run: &RunEntry,
    children: &Children,
    start: Instant,
) -> Result<Outcome, SweepError> {
    let dir = &context.dir;
    let status = dir.status(run)?;
    // An unreadable eval.json (edited by hand?) is redone rather than trusted.
    if status == RunStatus::Evaluated
        && let Ok(eval) = EvalSummary::read(&dir.eval_file(run))
    {
        return Ok(Outcome::Finished {
            eval,
            seconds: 0.0,
            cached: true,
        });
    }
    if children.stopped() {
        return Ok(Outcome::Interrupted);
    }
    let run_dir = dir.run_dir(run);
    let mut train = context.command();
    // The sweep evaluates every run itself, with its own settings.
    train.arg("train").args(["--eval-episodes", "0"]);
    match status {
        RunStatus::Trained | RunStatus::Evaluated => {}
        RunStatus::Partial { .. } => {
            train.arg("--resume").arg(&run_dir);
        }
        RunStatus::NotStarted | RunStatus::Started => {
            if status == RunStatus::Started {
                move_aside(&run_dir, run.seed)?;
            }
            train
                .arg("--config")
                .arg(dir.config_file(run))
                .arg("--seed")
                .arg(run.seed.to_string())
                .arg("--run-dir")
                .arg(&run_dir);
        }
    }
    if status != RunStatus::Trained && status != RunStatus::Evaluated {
        fs::create_dir_all(&run_dir).map_err(SweepError::io("create", &run_dir))?;
        let log_path = dir.train_log(run);
        let log = append_log(&log_path)?;
        let log_err = log.try_clone().map_err(SweepError::io("open", &log_path))?;
        let exit = children
            .run(train.stdout(log).stderr(log_err))
            .map_err(SweepError::io("start", &context.binary))?;
        if !exit.success() {
            return Ok(failed(
                format!("train exited with {exit}"),
                &log_path,
                start,
            ));
        }
        let reached = latest_complete_checkpoint(&run_dir)?.map_or(0, |c| c.step);
        if reached < run.total_steps {
            // `train` exits 0 after Ctrl-C, with a checkpoint where it stopped.
            if children.stopped() {
                return Ok(Outcome::Interrupted);
            }
            return Ok(failed(
                format!(
                    "train exited 0 but its last checkpoint is at step {reached} of {}",
                    run.total_steps
                ),
                &log_path,
                start,
            ));
        }
    }
    if children.stopped() {
        return Ok(Outcome::Interrupted);
    }
    evaluate(context, run, children, start)
}

fn evaluate(
    context: &RunContext,
    run: &RunEntry,
    children: &Children,
    start: Instant,
) -> Result<Outcome, SweepError> {
    let dir = &context.dir;
    let eval_path = dir.eval_file(run);
    let stdout_path = eval_path.with_extension("json.partial");
    let log_path = dir.eval_log(run);
    let stdout = File::create(&stdout_path).map_err(SweepError::io("create", &stdout_path))?;
    let log = File::create(&log_path).map_err(SweepError::io("create", &log_path))?;
    let mut command = context.command();
    command
        .arg("eval")
        .arg("--run")
        .arg(dir.run_dir(run))
        .arg("--episodes")
        .arg(context.eval.episodes.to_string())
        .arg("--seed")
        .arg(context.eval.seed.to_string())
        .arg("--json");
    if context.eval.stochastic {
        command.arg("--stochastic");
    }
    let exit = children
        .run(command.stdout(stdout).stderr(log))
        .map_err(SweepError::io("start", &context.binary))?;
    let output = fs::read_to_string(&stdout_path).map_err(SweepError::io("read", &stdout_path))?;
    let _ = fs::remove_file(&stdout_path);
    if !exit.success() {
        if children.stopped() {
            return Ok(Outcome::Interrupted);
        }
        return Ok(failed(format!("eval exited with {exit}"), &log_path, start));
    }
    let line = output.trim();
    let eval: EvalSummary = match serde_json::from_str(line) {
        Ok(eval) => eval,
        Err(error) => {
            return Ok(Outcome::Failed {
                reason: format!("eval printed no readable JSON ({error})"),
                log_tail: tail(line, LOG_TAIL_LINES),
                seconds: start.elapsed().as_secs_f64(),
            });
        }
    };
    write_atomically(&eval_path, format!("{line}\n").as_bytes())?;
    Ok(Outcome::Finished {
        eval,
        seconds: start.elapsed().as_secs_f64(),
        cached: false,
    })
}

impl RunContext {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command.stdin(Stdio::null());
        if let Some(threads) = self.rayon_threads {
            command.env("RAYON_NUM_THREADS", threads.to_string());
        }
        command
    }
}

fn append_log(path: &Path) -> Result<File, SweepError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(SweepError::io("open", path))
}

/// A run directory without a complete checkpoint is kept for inspection, not trained into.
fn move_aside(run_dir: &Path, seed: u64) -> Result<(), SweepError> {
    let unix_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let stale = run_dir.with_file_name(format!("seed_{seed}.stale-{unix_time}"));
    fs::rename(run_dir, &stale).map_err(SweepError::io("move aside", run_dir))
}

fn failed(reason: String, log_path: &Path, start: Instant) -> Outcome {
    let log_tail = fs::read(log_path)
        .map(|bytes| tail(&String::from_utf8_lossy(&bytes), LOG_TAIL_LINES))
        .unwrap_or_default();
    Outcome::Failed {
        reason: format!("{reason}; log: {}", log_path.display()),
        log_tail,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn eval_json_reads_the_fields_a_sweep_needs() {
        let json = r#"{"episodes":2,"mean":-1.5,"std":0.5,"min":-2.0,"max":-1.0,"median":-1.5,"cvar_0.1":-2.0,"cvar_0.25":-2.0,"returns":[-2.0,-1.0]}"#;
        let eval: EvalSummary = serde_json::from_str(json).unwrap();
        assert_eq!(eval.cvar_10, -2.0);
        assert_eq!(eval.returns, [-2.0, -1.0]);
    }
}
