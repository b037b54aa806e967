use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use super::BadInput;
use crate::backend;
use crate::config::{DeviceKind, TrainConfig};
use crate::experiments::layout::RunStatus;
use crate::experiments::plan::{self, EvalSettings, Manifest, RunEntry, SweepRequest};
use crate::experiments::pool::{self, Event};
use crate::experiments::runner::{self, Children, Outcome, RunContext};
use crate::experiments::slurm::{self, SlurmResources};
use crate::experiments::{GridAxis, SweepDir, parse_seeds, report};
use crate::logging::InterruptFlag;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Executor {
    /// A pool of child processes on this machine.
    Local,
    /// One Slurm job array, submitted with sbatch.
    Slurm,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Experiment file (configs/*.toml); repeat for several configs, each its own table.
    #[arg(long = "config", value_name = "FILE", required = true)]
    configs: Vec<PathBuf>,
    /// Seeds of every grid point: a range (1-5), a list (1,3,7) or both (1-3,8).
    #[arg(long, default_value = "1-5")]
    seeds: String,
    /// A config key and its values, e.g. --grid sac.policy_lr=3e-4,1e-3 (repeatable: the
    /// product of all axes is swept). Values holding a comma: separate them with ';'.
    #[arg(long = "grid", value_name = "KEY=V1,V2")]
    grid: Vec<String>,
    /// Overrides one config key for every run, e.g. --set sac.learning_starts=1000 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Overrides every config's total_steps (the same as --set total_steps=N).
    #[arg(long, value_parser = super::train::config_integer())]
    total_steps: Option<u64>,
    /// Overrides every config's device (the same as --set device=D).
    #[arg(long, value_enum)]
    device: Option<DeviceKind>,
    /// Sweep directory: run directories, logs, the manifest and the report go here. Running the
    /// same command again skips finished runs and continues interrupted ones.
    #[arg(long)]
    out: PathBuf,
    /// Where the runs execute.
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    executor: Executor,
    /// Local: runs at once (default: the number of cores). Each gets RAYON_NUM_THREADS =
    /// cores / jobs (at least 1) unless RAYON_NUM_THREADS is set.
    #[arg(long)]
    jobs: Option<usize>,
    /// Eval episodes per run.
    #[arg(long, default_value_t = EvalSettings::default().episodes)]
    episodes: usize,
    /// Eval episode i of every run starts from seed EVAL_SEED + i (the same start states).
    #[arg(long, default_value_t = EvalSettings::default().seed)]
    eval_seed: u64,
    /// Evaluate the stochastic policy instead of its deterministic action.
    #[arg(long)]
    stochastic: bool,
    /// Local: print the commands; Slurm: write the sweep and print the job script, submit nothing.
    #[arg(long)]
    dry_run: bool,
    /// Local: do not write the report at the end.
    #[arg(long)]
    no_report: bool,
    /// Slurm: partition (default: the cluster's default).
    #[arg(long, help_heading = "Slurm")]
    partition: Option<String>,
    /// Slurm: time limit of each task.
    #[arg(long, default_value = "01:00:00", help_heading = "Slurm")]
    time: String,
    /// Slurm: CPUs of each task (also its RAYON_NUM_THREADS).
    #[arg(long, default_value_t = 1, help_heading = "Slurm")]
    cpus_per_task: u32,
    /// Slurm: memory of each task.
    #[arg(long, default_value = "4G", help_heading = "Slurm")]
    mem: String,
    /// Slurm: at most this many tasks at once (--array=...%N).
    #[arg(long, help_heading = "Slurm")]
    max_concurrent: Option<u32>,
    /// Slurm: job name.
    #[arg(long, default_value = "ordergrad-sweep", help_heading = "Slurm")]
    job_name: String,
    /// Slurm: any other sbatch option for the script, e.g. --sbatch-arg=--account=rl (repeatable).
    #[arg(
        long = "sbatch-arg",
        value_name = "OPTION",
        allow_hyphen_values = true,
        help_heading = "Slurm"
    )]
    sbatch_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SweepTaskArgs {
    /// The sweep's manifest (DIR/sweep.json).
    #[arg(long)]
    manifest: PathBuf,
    /// Index of the run in the manifest (Slurm: $SLURM_ARRAY_TASK_ID).
    #[arg(long)]
    index: usize,
}

pub fn run(args: &SweepArgs) -> anyhow::Result<()> {
    let request = request(args)?;
    let plan = plan::plan(&request)?;
    // Local runs compute here, so their devices must be here; Slurm tasks find theirs on the
    // compute nodes, which the submitting machine cannot see.
    if args.executor == Executor::Local {
        for point in &plan.point_configs {
            backend::check(TrainConfig::parse(&point.text, &point.path, &[])?.device)?;
        }
    }
    let out = std::path::absolute(&args.out)
        .with_context(|| format!("resolving {}", args.out.display()))?;
    // Before anything is written: a machine without Slurm cannot submit.
    let sbatch = match (args.executor, args.dry_run) {
        (Executor::Slurm, false) => Some(slurm::find_sbatch()?),
        _ => None,
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let dir = SweepDir::new(&out);
    let manifest = dir.write_plan(&plan)?;
    // This command's runs, by their index in the (possibly larger, merged) manifest.
    let indices: Vec<usize> = manifest
        .runs
        .iter()
        .enumerate()
        .filter(|(_, run)| plan.manifest.runs.iter().any(|r| r.run_dir == run.run_dir))
        .map(|(index, _)| index)
        .collect();
    let binary = std::env::current_exe().context("finding the ordergrad binary")?;
    match args.executor {
        Executor::Local => run_local(args, &dir, &manifest, &indices, binary),
        Executor::Slurm => run_slurm(args, &dir, &manifest, &indices, &binary, sbatch.as_deref()),
    }
}

fn request(args: &SweepArgs) -> anyhow::Result<SweepRequest> {
    let seeds = parse_seeds(&args.seeds)?;
    let grid = args
        .grid
        .iter()
        .map(|axis| axis.parse::<GridAxis>())
        .collect::<Result<Vec<_>, _>>()?;
    let mut sets = args.sets.clone();
    if let Some(total_steps) = args.total_steps {
        sets.push(format!("total_steps={total_steps}"));
    }
    if let Some(device) = args.device {
        sets.push(format!("device={device}"));
    }
    if args.jobs == Some(0) {
        return Err(BadInput("--jobs must be at least 1".into()).into());
    }
    Ok(SweepRequest {
        configs: args.configs.clone(),
        seeds,
        grid,
        sets,
        eval: EvalSettings {
            episodes: args.episodes,
            seed: args.eval_seed,
            stochastic: args.stochastic,
        },
    })
}

fn run_local(
    args: &SweepArgs,
    dir: &SweepDir,
    manifest: &Manifest,
    indices: &[usize],
    binary: PathBuf,
) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let jobs = args.jobs.unwrap_or(cores);
    let rayon_threads = match std::env::var_os("RAYON_NUM_THREADS") {
        Some(_) => None,
        None => Some(pool::threads_per_run(cores, jobs)),
    };
    let context = RunContext {
        binary,
        dir: dir.clone(),
        eval: manifest.eval.clone(),
        rayon_threads,
    };
    let runs: Vec<&RunEntry> = indices.iter().map(|&i| &manifest.runs[i]).collect();
    if args.dry_run {
        for run in &runs {
            print_commands(&context, run)?;
        }
        return Ok(());
    }
    let done_before = runs
        .iter()
        .filter(|run| matches!(dir.status(run), Ok(RunStatus::Evaluated)))
        .count();
    eprintln!(
        "sweep: {} runs ({done_before} done before), {} at a time, RAYON_NUM_THREADS={} each; \
         output in {}",
        runs.len(),
        jobs.min(runs.len().max(1)),
        rayon_threads.map_or_else(
            || std::env::var("RAYON_NUM_THREADS").unwrap_or_default(),
            |n| n.to_string()
        ),
        dir.root().display()
    );
    let interrupted = InterruptFlag::install()?;
    let stop = || interrupted.is_set();
    let outcomes = pool::run_local(&context, &runs, jobs, &stop, &mut print_event);

    let failed: Vec<(&RunEntry, &Outcome)> = runs
        .iter()
        .copied()
        .zip(&outcomes)
        .filter(|(_, outcome)| matches!(outcome, Outcome::Failed { .. }))
        .collect();
    let stopped = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Interrupted))
        .count();
    let finished = outcomes.len() - failed.len() - stopped;
    eprintln!(
        "sweep: {finished} of {} runs finished, {} failed, {stopped} interrupted",
        runs.len(),
        failed.len()
    );
    if !args.no_report {
        let written = report::write(dir, &report::ReportOptions::new(report::DEFAULT_WINDOW))?;
        print!("{}", written.markdown);
        eprintln!("report: {}", written.markdown_path.display());
    }
    if stopped > 0 {
        bail!(
            "interrupted: {stopped} runs did not finish; run the same command again to continue \
             them (finished runs are skipped)"
        );
    }
    if !failed.is_empty() {
        let list: Vec<String> = failed
            .iter()
            .map(|(run, outcome)| match outcome {
                Outcome::Failed { reason, .. } => format!("  {}: {reason}", run.label()),
                _ => String::new(),
            })
            .collect();
        bail!(
            "{} of {} runs failed (running the same command again retries them):\n{}",
            failed.len(),
            runs.len(),
            list.join("\n")
        );
    }
    Ok(())
}

fn print_event(event: Event<'_>) {
    match event {
        Event::Started { run } => eprintln!("started {}", run.label()),
        Event::Stopping { running } => {
            eprintln!("stopping: no new runs; {running} running runs write a checkpoint and stop")
        }
        Event::Ended {
            run,
            outcome,
            ended,
            total,
        } => {
            let head = format!("[{ended}/{total}] {}", run.label());
            match outcome {
                Outcome::Finished {
                    eval,
                    seconds,
                    cached,
                } => {
                    let when = if *cached {
                        "done before".to_string()
                    } else {
                        format!("{seconds:.0} s")
                    };
                    eprintln!(
                        "{head}: mean {:.1}, CVaR_0.1 {:.1} ({when})",
                        eval.mean, eval.cvar_10
                    );
                }
                Outcome::Failed {
                    reason,
                    log_tail,
                    seconds,
                } => {
                    eprintln!("{head}: FAILED after {seconds:.0} s: {reason}");
                    for line in log_tail.lines() {
                        eprintln!("    | {line}");
                    }
                }
                Outcome::Interrupted => eprintln!("{head}: interrupted"),
            }
        }
    }
}

fn print_commands(context: &RunContext, run: &RunEntry) -> anyhow::Result<()> {
    let dir = &context.dir;
    let quote = |path: &Path| slurm::shell_quote(&path.to_string_lossy());
    let status = dir.status(run)?;
    println!("# {} ({})", run.label(), status.describe());
    println!(
        "{} train --config {} --seed {} --run-dir {}",
        quote(&context.binary),
        quote(&dir.config_file(run)),
        run.seed,
        quote(&dir.run_dir(run))
    );
    println!(
        "{} eval --run {} --episodes {} --seed {} --json{} > {}",
        quote(&context.binary),
        quote(&dir.run_dir(run)),
        context.eval.episodes,
        context.eval.seed,
        if context.eval.stochastic {
            " --stochastic"
        } else {
            ""
        },
        quote(&dir.eval_file(run))
    );
    Ok(())
}

fn run_slurm(
    args: &SweepArgs,
    dir: &SweepDir,
    manifest: &Manifest,
    indices: &[usize],
    binary: &Path,
    sbatch: Option<&Path>,
) -> anyhow::Result<()> {
    let mut pending = Vec::new();
    for &index in indices {
        if dir.status(&manifest.runs[index])? != RunStatus::Evaluated {
            pending.push(index);
        }
    }
    if pending.is_empty() {
        eprintln!(
            "all {} runs are done; nothing to submit. `ordergrad report {}` summarises them",
            indices.len(),
            dir.root().display()
        );
        return Ok(());
    }
    let resources = SlurmResources {
        job_name: args.job_name.clone(),
        partition: args.partition.clone(),
        time: args.time.clone(),
        cpus_per_task: args.cpus_per_task,
        mem: args.mem.clone(),
        max_concurrent: args.max_concurrent,
        extra: args.sbatch_args.clone(),
    };
    let script = slurm::sbatch_script(&resources, binary, dir.root(), &pending)?;
    let logs = dir.slurm_log_dir();
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let script_path = dir.sbatch_path();
    crate::checkpoint::file::write_atomically(&script_path, script.as_bytes())?;
    let Some(sbatch) = sbatch else {
        print!("{script}");
        eprintln!(
            "dry run: wrote {} and the sweep's manifest; submit with `sbatch {}`",
            script_path.display(),
            script_path.display()
        );
        return Ok(());
    };
    let job = slurm::submit(sbatch, &script_path)?;
    eprintln!(
        "submitted job array {job} with {} tasks ({} of {} runs were done before); \
         watch it with `squeue -j {job}`, then `ordergrad report {}`",
        pending.len(),
        indices.len() - pending.len(),
        indices.len(),
        dir.root().display()
    );
    println!("{job}");
    Ok(())
}

/// One run of a sweep's manifest: what a Slurm array task executes.
pub fn run_task(args: &SweepTaskArgs) -> anyhow::Result<()> {
    let root = args
        .manifest
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = SweepDir::new(root);
    let manifest = dir.load_manifest()?;
    let run =
        manifest
            .runs
            .get(args.index)
            .ok_or_else(|| crate::experiments::SweepError::NoSuchRun {
                manifest: args.manifest.clone(),
                index: args.index,
                runs: manifest.runs.len(),
            })?;
    let rayon_threads = match std::env::var_os("RAYON_NUM_THREADS") {
        Some(_) => None,
        None => std::env::var("SLURM_CPUS_PER_TASK")
            .ok()
            .and_then(|cpus| cpus.parse().ok()),
    };
    let context = RunContext {
        binary: std::env::current_exe().context("finding the ordergrad binary")?,
        dir,
        eval: manifest.eval.clone(),
        rayon_threads,
    };
    eprintln!("sweep task {}: {}", args.index, run.label());
    match runner::execute(&context, run, &Children::new()) {
        Outcome::Finished {
            eval,
            seconds,
            cached,
        } => {
            eprintln!(
                "{}: mean {:.1}, CVaR_0.1 {:.1} ({})",
                run.label(),
                eval.mean,
                eval.cvar_10,
                if cached {
                    "done before".to_string()
                } else {
                    format!("{seconds:.0} s")
                }
            );
            Ok(())
        }
        Outcome::Failed {
            reason, log_tail, ..
        } => bail!("{} failed: {reason}\n{log_tail}", run.label()),
        Outcome::Interrupted => bail!("{} was interrupted", run.label()),
    }
}
