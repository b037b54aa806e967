//! The `ordergrad` command line: one module per command, each with its clap arguments and a
//! `run` function. Output meant for programs is JSON on stdout; errors go to stderr.

mod advantages;
mod weights;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

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
        None => {
            Cli::command().print_help()?;
            Ok(())
        }
    }
}

fn is_bad_input(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<BadInput>()
            || cause.is::<ordergrad_core::OrderGradError>()
            || cause.is::<serde_json::Error>()
    })
}

/// Write a value as one line of JSON on stdout.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
