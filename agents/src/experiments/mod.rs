//! Multi-seed sweeps: a grid of config overrides x seeds expanded into runs, each a normal
//! `ordergrad train` + `ordergrad eval` with its own run directory, executed by a local process
//! pool or as a Slurm job array, and summarised by `ordergrad report`.
//!
//! The sweep directory is the contract between the pieces:
//!
//! ```text
//! DIR/sweep.json                            the manifest: eval settings and every run, in order
//! DIR/<config>/<point>/config.toml          the resolved config of one grid point (--set + --grid)
//! DIR/<config>/<point>/seed_<S>/            the run directory of `ordergrad train`, plus
//!     train.log, eval.log                   the output of train and eval
//!     eval.json                             eval's JSON; written last, atomically: the run is done
//! DIR/sweep.sbatch, DIR/slurm/              Slurm only: the job-array script, one log pair per task
//! DIR/report.md, report.json, plots/        `ordergrad report DIR`
//! DIR/plots/<env>__*.png                    `ordergrad plot DIR`: the configs compared per env
//! ```
//!
//! Slurm array task `i` runs `manifest.runs[i]`, so the local pool and the cluster fill the same
//! layout and one report reads both.

pub mod charts;
pub mod comparison_plots;
mod error;
pub mod grid;
pub mod layout;
pub mod plan;
pub mod pool;
pub mod report;
pub mod runner;
pub mod seeds;
pub mod slurm;

pub use error::SweepError;
pub use grid::{GridAxis, GridPoint};
pub use layout::{RunStatus, SweepDir};
pub use plan::{EvalSettings, Manifest, Plan, RunEntry, SweepRequest};
pub use seeds::parse_seeds;
