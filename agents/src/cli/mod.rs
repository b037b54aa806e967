//! The `ordergrad` command line: one module per command, each with its clap arguments and a
//! `run` function. Output meant for programs is JSON on stdout; errors go to stderr.

mod advantages;
mod checkpoint_hint;
mod critic_report;
mod devices;
mod eval;
mod plot;
mod report;
mod rollout;
mod sweep;
mod train;
mod weights;

pub use eval::EvalReport;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Input the user can fix: reported with exit code 2, like clap's own usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

#[derive(Debug, Parser)]
#[command(
    name = "ordergrad",
    version,
    about = "Continuous-control RL whose agents optimise more than the mean return",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the rank weights of an objective for groups of N samples compared K at a time.
    Weights(weights::WeightsArgs),
    /// Print the rank advantages (likelihood-ratio form) and the value of one group of rewards.
    Advantages(advantages::AdvantagesArgs),
    /// Train an agent from a config file (no arguments at all: the default experiment).
    Train(train::TrainArgs),
    /// Evaluate the latest checkpoint of a run and print the distribution of its returns.
    Eval(eval::EvalArgs),
    /// Step an environment through a list of actions and print what it returned, as JSON.
    Rollout(rollout::RolloutArgs),
    /// Train and evaluate a grid of configs x seeds, locally or as a Slurm job array.
    Sweep(Box<sweep::SweepArgs>),
    /// Summarise a sweep directory: tables over seeds, report.md, PNG learning curves.
    Report(report::ReportArgs),
    /// Compare a sweep's configs per env in PNGs: training return and its CVaR_0.1 over
    /// training (seed bands), and the eval return distributions side by side.
    Plot(plot::PlotArgs),
    /// List the compute devices `--device` accepts: which this build has, and which are here.
    Devices(devices::DevicesArgs),
    /// One run of a sweep's manifest (what each Slurm array task executes).
    #[command(hide = true)]
    SweepTask(sweep::SweepTaskArgs),
}

/// Parse the process arguments, run the command, and turn the outcome into an exit code:
/// 0 on success, 2 for bad input, 1 for any other failure.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if is_bad_input(&error) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Weights(args)) => weights::run(&args),
        Some(Command::Advantages(args)) => advantages::run(&args),
        Some(Command::Train(args)) => train::run(&args),
        Some(Command::Eval(args)) => eval::run(&args),
        Some(Command::Rollout(args)) => rollout::run(&args),
        Some(Command::Sweep(args)) => sweep::run(&args),
        Some(Command::Report(args)) => report::run(&args),
        Some(Command::Plot(args)) => plot::run(&args),
        Some(Command::Devices(args)) => devices::run(&args),
        Some(Command::SweepTask(args)) => sweep::run_task(&args),
        None => train::run(&train::TrainArgs::default()),
    }
}

fn is_bad_input(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<BadInput>()
            || cause.is::<ordergrad_core::OrderGradError>()
            || cause.is::<envs::EnvError>()
            || cause.is::<crate::config::ConfigError>()
            || cause.is::<crate::backend::BackendError>()
            || cause
                .downcast_ref::<crate::checkpoint::error::CheckpointError>()
                .is_some_and(crate::checkpoint::error::CheckpointError::is_bad_input)
            || cause
                .downcast_ref::<crate::checkpoint::run_lock::RunLockError>()
                .is_some_and(|error| {
                    matches!(
                        error,
                        crate::checkpoint::run_lock::RunLockError::Busy { .. }
                    )
                })
            || cause
                .downcast_ref::<crate::experiments::SweepError>()
                .is_some_and(crate::experiments::SweepError::is_bad_input)
    })
}

/// Write a value as one line of JSON on stdout.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
