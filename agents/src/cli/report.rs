use std::path::PathBuf;

use clap::Args;

use super::BadInput;
use crate::experiments::{SweepDir, report};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Sweep directory written by `ordergrad sweep` (finished or not).
    dir: PathBuf,
    /// Episodes in the trailing mean that smooths the training curves (final, best, plots).
    #[arg(long, default_value_t = report::DEFAULT_WINDOW)]
    window: usize,
    /// Skip the PNG learning curves.
    #[arg(long)]
    no_plots: bool,
    /// Print report.json instead of the Markdown.
    #[arg(long)]
    json: bool,
    /// Read this file of every run instead of eval.json (the JSON of `ordergrad eval --json`, e.g.
    /// an evaluation from a fixed start state) and write report_<name>.md and .json.
    #[arg(long, value_name = "NAME")]
    eval_file: Option<String>,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    if args.window == 0 {
        return Err(BadInput("--window must be at least 1".into()).into());
    }
    if !args.dir.is_dir() {
        return Err(BadInput(format!("{} is not a directory", args.dir.display())).into());
    }
    if let Some(name) = &args.eval_file {
        let plain = std::path::Path::new(name).file_name() == Some(std::ffi::OsStr::new(name));
        if !plain || !name.ends_with(".json") {
            return Err(BadInput(format!(
                "--eval-file takes a file name in each run directory ending in .json, e.g. \
                 eval_fixed_start.json; got {name:?}"
            ))
            .into());
        }
    }
    let options = report::ReportOptions {
        window: args.window,
        plots: !args.no_plots,
        eval_file: args.eval_file.clone(),
    };
    let written = report::write(&SweepDir::new(&args.dir), &options)?;
    if args.json {
        print!("{}", std::fs::read_to_string(&written.json_path)?);
    } else {
        print!("{}", written.markdown);
    }
    let plots = written.plots.overlays.len() + written.plots.points.len();
    eprintln!(
        "wrote {}, {} and {plots} plots",
        written.markdown_path.display(),
        written.json_path.display()
    );
    Ok(())
}
