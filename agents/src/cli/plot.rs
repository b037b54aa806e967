use std::path::PathBuf;

use clap::Args;

use super::BadInput;
use crate::experiments::{SweepDir, comparison_plots, report};

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Sweep directory written by `ordergrad sweep` (finished or not).
    dir: PathBuf,
    /// Where the PNGs go (default: DIR/plots).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Episodes in the trailing mean of the return curves.
    #[arg(long, default_value_t = report::DEFAULT_WINDOW)]
    window: usize,
    /// Episodes in the trailing window of the CVaR_0.1 curves.
    #[arg(long, default_value_t = comparison_plots::DEFAULT_CVAR_WINDOW)]
    cvar_window: usize,
}

pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    if args.window == 0 || args.cvar_window == 0 {
        return Err(BadInput("--window and --cvar-window must be at least 1".into()).into());
    }
    if !args.dir.is_dir() {
        return Err(BadInput(format!("{} is not a directory", args.dir.display())).into());
    }
    let dir = SweepDir::new(&args.dir);
    let out = args.out.clone().unwrap_or_else(|| dir.plots_dir());
    let written = comparison_plots::write(&dir, &out, args.window, args.cvar_window)?;
    if written.is_empty() {
        eprintln!("nothing to plot yet: no run of the sweep has logged an episode");
    }
    for path in written {
        println!("{}", path.display());
    }
    Ok(())
}
