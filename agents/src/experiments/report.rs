//! `ordergrad report DIR`: per config a table with one row per grid point (seeds finished, the
//! mean and sample std over seeds of each seed's mean eval return, the mean CVaR_0.1, and the
//! final and best value of the smoothed training curve), a row per run, `report.md`,
//! `report.json` and PNG learning curves with seed bands. On a risky env a second table per config
//! gives the lower tail and the penalty statistics. `--eval-file` reads another evaluation of every
//! run (e.g. one from a fixed start state) and writes `report_<name>.md` beside `report.md`.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use ordergrad_core::{Objective, RankPlan};
use serde::{Deserialize, Serialize};

use super::SweepError;
use super::charts::{self, Series};
use super::layout::{REPORT_FILE, REPORT_JSON_FILE, RunStatus, SweepDir};
use super::plan::{EvalSettings, Manifest, RunEntry};
use super::runner::{EvalSummary, RiskSummary};
use crate::checkpoint::file::write_atomically;
use crate::logging::metrics::METRICS_FILE_NAME;

/// The training-curve tag (CleanRL's): one value per finished episode.
pub const EPISODIC_RETURN_TAG: &str = "charts/episodic_return";
/// Episodes in the trailing mean that smooths a training curve (SB3's `ep_rew_mean` uses 100;
/// short sweeps have few episodes).
pub const DEFAULT_WINDOW: usize = 10;
/// Points at which the seeds' curves are sampled for the band.
const BAND_SAMPLES: usize = 200;

/// What `ordergrad report` reads and writes.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Episodes in the trailing mean that smooths the training curves.
    pub window: usize,
    /// Draw the PNG learning curves.
    pub plots: bool,
    /// Each run's evaluation file to read instead of `eval.json` (a name in the run directory,
    /// written by `ordergrad eval --json`); the report then goes to `report_<stem>.md`.
    pub eval_file: Option<String>,
}

impl ReportOptions {
    pub fn new(window: usize) -> Self {
        Self {
            window,
            plots: true,
            eval_file: None,
        }
    }
}

/// `(step, value)` pairs, steps ascending.
pub type Curve = Vec<(u64, f64)>;

/// One run's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub config: String,
    pub point: String,
    pub point_label: String,
    pub seed: u64,
    pub status: String,
    /// Trained to `total_steps` (evaluated or not).
    pub trained: bool,
    pub eval_mean: Option<f64>,
    #[serde(rename = "eval_cvar_0.1")]
    pub eval_cvar_10: Option<f64>,
    /// The eval's tail and penalty statistics (their fields null where the env has none).
    pub eval_risk: Option<RiskSummary>,
    #[serde(skip)]
    pub eval_returns: Vec<f64>,
    pub episodes_logged: usize,
    pub last_step_logged: Option<u64>,
    /// Last value of the smoothed training curve.
    pub final_return: Option<f64>,
    /// Highest value of the smoothed training curve.
    pub best_return: Option<f64>,
    #[serde(skip)]
    pub curve: Curve,
}

/// One grid point of one config, over its seeds.
#[derive(Debug, Clone, Serialize)]
pub struct PointReport {
    pub config: String,
    pub point: String,
    pub point_label: String,
    pub agent: String,
    pub env: String,
    pub total_steps: u64,
    pub seeds: usize,
    /// Seeds with an eval result.
    pub finished: usize,
    /// Mean over finished seeds of each seed's mean eval return.
    pub eval_mean: Option<f64>,
    /// Sample standard deviation (n - 1) of the same; needs 2 seeds.
    pub eval_std: Option<f64>,
    /// Mean over finished seeds of each seed's CVaR_0.1 of eval returns.
    #[serde(rename = "eval_cvar_0.1")]
    pub eval_cvar_10: Option<f64>,
    /// Means over finished seeds of their tail and penalty statistics.
    pub eval_risk: RiskSummary,
    /// CVaR_0.1 of every finished seed's eval returns pooled.
    #[serde(rename = "eval_cvar_0.1_pooled")]
    pub eval_cvar_10_pooled: Option<f64>,
    /// Mean over trained seeds of the smoothed curve's last value.
    pub final_mean: Option<f64>,
    pub final_std: Option<f64>,
    /// Mean over trained seeds of the smoothed curve's highest value.
    pub best_mean: Option<f64>,
    /// Indices into [`Report::runs`].
    pub runs: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub eval: EvalSettings,
    /// The evaluation file read from each run.
    pub eval_file: String,
    pub window: usize,
    pub points: Vec<PointReport>,
    pub runs: Vec<RunReport>,
}

/// One sample of a seed band: the mean over the seeds whose curve reaches `step`, and the lowest
/// and highest of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    pub step: u64,
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub seeds: usize,
}

#[derive(Deserialize)]
struct MetricLine {
    step: u64,
    tag: String,
    value: Option<f64>,
}

/// The `charts/episodic_return` values of a `metrics.jsonl`, in step order; none when the file
/// does not exist yet. A line that does not parse (one being written) is skipped. A resumed run
/// logs again from its checkpoint's step, so a step at or before one already read replaces the
/// values from there on.
pub fn read_episodic_returns(path: &Path) -> Result<Curve, SweepError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(SweepError::io("read", path)(error)),
    };
    let mut curve: Curve = Vec::new();
    for line in text.lines() {
        let Ok(record) = serde_json::from_str::<MetricLine>(line) else {
            continue;
        };
        let Some(value) = record.value.filter(|value| value.is_finite()) else {
            continue;
        };
        if record.tag != EPISODIC_RETURN_TAG {
            continue;
        }
        if let Some(&(last_step, _)) = curve.last()
            && record.step <= last_step
        {
            curve.retain(|&(step, _)| step < record.step);
        }
        curve.push((record.step, value));
    }
    Ok(curve)
}

/// The trailing mean of the last `window` episodes at every episode end (fewer at the start).
pub fn smooth(curve: &[(u64, f64)], window: usize) -> Curve {
    let window = window.max(1);
    let mut sum = 0.0;
    curve
        .iter()
        .enumerate()
        .map(|(index, &(step, value))| {
            sum += value;
            if index >= window {
                sum -= curve[index - window].1;
            }
            (step, sum / (index + 1).min(window) as f64)
        })
        .collect()
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Sample standard deviation (n - 1), as learning-curve papers and `statistics.stdev` report.
pub fn sample_std(values: &[f64]) -> Option<f64> {
    let n = values.len();
    let mean = mean(values)?;
    (n >= 2)
        .then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt())
}

/// The seeds' curves sampled at `samples` evenly spaced steps from the first episode end to the
/// last. At each step, a curve counts from its first to its last episode end, linear in between.
pub fn band(curves: &[&[(u64, f64)]], samples: usize) -> Vec<BandPoint> {
    let curves: Vec<&[(u64, f64)]> = curves.iter().copied().filter(|c| !c.is_empty()).collect();
    let (Some(start), Some(end)) = (
        curves.iter().map(|c| c[0].0).min(),
        curves.iter().map(|c| c[c.len() - 1].0).max(),
    ) else {
        return Vec::new();
    };
    let samples = samples.max(2) as u64;
    let mut steps: Vec<u64> = (0..samples)
        .map(|i| start + (end - start) * i / (samples - 1))
        .collect();
    // Every curve's own end is a sample too, so a band ends where its curves do.
    steps.extend(curves.iter().map(|c| c[c.len() - 1].0));
    steps.sort_unstable();
    steps.dedup();
    steps
        .into_iter()
        .filter_map(|step| {
            let values: Vec<f64> = curves
                .iter()
                .filter(|c| c[0].0 <= step && step <= c[c.len() - 1].0)
                .map(|c| interpolate(c, step))
                .collect();
            Some(BandPoint {
                step,
                mean: mean(&values)?,
                low: values.iter().copied().fold(f64::INFINITY, f64::min),
                high: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                seeds: values.len(),
            })
        })
        .collect()
}

/// The value of a curve at `step` (within its range), linear between episode ends as a plotted
/// line shows it.
fn interpolate(curve: &[(u64, f64)], step: u64) -> f64 {
    let after = curve.partition_point(|&(s, _)| s <= step);
    let (s0, v0) = curve[after - 1];
    match curve.get(after) {
        Some(&(s1, v1)) if s0 < step => v0 + (v1 - v0) * (step - s0) as f64 / (s1 - s0) as f64,
        _ => v0,
    }
}

/// Reads every run of the manifest from `dir`.
pub fn build(
    dir: &SweepDir,
    manifest: &Manifest,
    options: &ReportOptions,
) -> Result<Report, SweepError> {
    let mut runs = Vec::with_capacity(manifest.runs.len());
    for run in &manifest.runs {
        let status = dir.status(run)?;
        let eval = match (&options.eval_file, status) {
            (None, RunStatus::Evaluated) => Some(EvalSummary::read(&dir.eval_file(run))?),
            (None, _) => None,
            (Some(name), _) => {
                let path = dir.run_dir(run).join(name);
                path.is_file()
                    .then(|| EvalSummary::read(&path))
                    .transpose()?
            }
        };
        let returns = read_episodic_returns(&dir.run_dir(run).join(METRICS_FILE_NAME))?;
        runs.push(run_report(
            run,
            status,
            eval.as_ref(),
            &returns,
            options.window,
        ));
    }
    let mut report = aggregate(manifest, runs, options.window);
    if let Some(name) = &options.eval_file {
        report.eval_file = name.clone();
    }
    Ok(report)
}

/// One run's row from its status, eval result and raw training curve.
pub fn run_report(
    run: &RunEntry,
    status: RunStatus,
    eval: Option<&EvalSummary>,
    returns: &[(u64, f64)],
    window: usize,
) -> RunReport {
    let curve = smooth(returns, window);
    RunReport {
        config: run.config.clone(),
        point: run.point.clone(),
        point_label: run.point_label(),
        seed: run.seed,
        status: status.describe(),
        trained: matches!(status, RunStatus::Trained | RunStatus::Evaluated),
        eval_mean: eval.map(|e| e.mean),
        eval_cvar_10: eval.map(|e| e.cvar_10),
        eval_risk: eval.map(|e| e.risk.clone()),
        eval_returns: eval.map(|e| e.returns.clone()).unwrap_or_default(),
        episodes_logged: returns.len(),
        last_step_logged: returns.last().map(|&(step, _)| step),
        final_return: curve.last().map(|&(_, value)| value),
        best_return: curve.iter().map(|&(_, v)| v).reduce(f64::max),
        curve,
    }
}

/// Groups the runs (in manifest order) by config and grid point.
pub fn aggregate(manifest: &Manifest, runs: Vec<RunReport>, window: usize) -> Report {
    let mut points: Vec<PointReport> = Vec::new();
    for (index, (entry, run)) in manifest.runs.iter().zip(&runs).enumerate() {
        let position = points
            .iter()
            .position(|p| p.config == entry.config && p.point == entry.point);
        let point = match position {
            Some(position) => &mut points[position],
            None => {
                points.push(PointReport {
                    config: entry.config.clone(),
                    point: entry.point.clone(),
                    point_label: entry.point_label(),
                    agent: entry.agent.clone(),
                    env: entry.env.clone(),
                    total_steps: entry.total_steps,
                    seeds: 0,
                    finished: 0,
                    eval_mean: None,
                    eval_std: None,
                    eval_cvar_10: None,
                    eval_risk: RiskSummary::default(),
                    eval_cvar_10_pooled: None,
                    final_mean: None,
                    final_std: None,
                    best_mean: None,
                    runs: Vec::new(),
                });
                points.last_mut().expect("just pushed")
            }
        };
        point.seeds += 1;
        point.finished += usize::from(run.eval_mean.is_some());
        point.runs.push(index);
    }
    for point in &mut points {
        let members: Vec<&RunReport> = point.runs.iter().map(|&i| &runs[i]).collect();
        let evals: Vec<f64> = members.iter().filter_map(|r| r.eval_mean).collect();
        let cvars: Vec<f64> = members.iter().filter_map(|r| r.eval_cvar_10).collect();
        let trained = members.iter().filter(|r| r.trained);
        let finals: Vec<f64> = trained.clone().filter_map(|r| r.final_return).collect();
        let bests: Vec<f64> = trained.filter_map(|r| r.best_return).collect();
        point.eval_mean = mean(&evals);
        point.eval_std = sample_std(&evals);
        point.eval_cvar_10 = mean(&cvars);
        point.eval_risk = mean_risk(&members);
        let pooled: Vec<f64> = members
            .iter()
            .flat_map(|r| r.eval_returns.iter().copied())
            .collect();
        point.eval_cvar_10_pooled = cvar_10(&pooled);
        point.final_mean = mean(&finals);
        point.final_std = sample_std(&finals);
        point.best_mean = mean(&bests);
    }
    Report {
        eval: manifest.eval.clone(),
        eval_file: super::layout::EVAL_FILE.to_string(),
        window,
        points,
        runs,
    }
}

/// The mean over the runs that have it of each tail and penalty statistic.
fn mean_risk(members: &[&RunReport]) -> RiskSummary {
    let risks: Vec<&RiskSummary> = members
        .iter()
        .filter_map(|r| r.eval_risk.as_ref())
        .collect();
    let over = |field: fn(&RiskSummary) -> Option<f64>| {
        mean(&risks.iter().filter_map(|r| field(r)).collect::<Vec<f64>>())
    };
    RiskSummary {
        cvar_5: over(|r| r.cvar_5),
        median: over(|r| r.median),
        penalty_events_per_episode: over(|r| r.penalty_events_per_episode),
        episodes_with_penalty: over(|r| r.episodes_with_penalty),
        risky_steps_per_episode: over(|r| r.risky_steps_per_episode),
    }
}

/// CVaR_0.1 of `returns` as `eval` computes it (the fractional boundary episode weighted); none
/// for no returns or a non-finite one.
fn cvar_10(returns: &[f64]) -> Option<f64> {
    let plan = RankPlan::new(&Objective::Cvar(0.1), returns.len(), returns.len()).ok()?;
    plan.value(returns).ok()
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{:.1} %", 100.0 * v))
}

fn two_digits(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

fn mean_std(mean: Option<f64>, std: Option<f64>) -> String {
    match (mean, std) {
        (Some(mean), Some(std)) => format!("{mean:.1} ± {std:.1}"),
        (mean, _) => number(mean),
    }
}

/// The configs in the order they first appear.
fn config_names(report: &Report) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for point in &report.points {
        if !names.contains(&point.config.as_str()) {
            names.push(&point.config);
        }
    }
    names
}

/// Plot files of a report, relative to the sweep directory.
#[derive(Debug, Clone, Default)]
pub struct PlotFiles {
    /// `(config, path)` of each config's overlay of its grid points.
    pub overlays: Vec<(String, PathBuf)>,
    /// `(config, point, path)` of each grid point's plot with its seeds.
    pub points: Vec<(String, String, PathBuf)>,
}

/// The report as Markdown.
pub fn markdown(report: &Report, title: &str, plots: &PlotFiles) -> String {
    let mut out = String::new();
    let mode = if report.eval.stochastic {
        "stochastic"
    } else {
        "deterministic"
    };
    let finished = report.runs.iter().filter(|r| r.eval_mean.is_some()).count();
    let _ = writeln!(out, "# Sweep report: {title}\n");
    if report.eval_file == super::layout::EVAL_FILE {
        let _ = writeln!(
            out,
            "{finished} of {} runs finished. Eval: {} {mode} episodes per run, eval seed {} \
             (the same start states for every run).\n",
            report.runs.len(),
            report.eval.episodes,
            report.eval.seed
        );
    } else {
        let _ = writeln!(
            out,
            "{finished} of {} runs have `{}`: the eval columns come from that file of each run \
             (its own episodes and start states), not from the sweep's `eval.json`.\n",
            report.runs.len(),
            report.eval_file
        );
    }
    let _ = writeln!(
        out,
        "**eval mean ± std**: mean over finished seeds of each seed's mean eval return ± their \
         sample std (n - 1). **CVaR_0.1**: mean over seeds of each seed's CVaR_0.1 (the mean of \
         its worst 10 % of eval episodes). **final**, **best**: the last and the highest value of \
         the training curve `{EPISODIC_RETURN_TAG}` smoothed over the last {} episodes, mean \
         over the seeds trained to the end. Plots: mean over seeds, band from the lowest to the \
         highest seed.\n",
        report.window
    );
    for config in config_names(report) {
        let points: Vec<&PointReport> = report
            .points
            .iter()
            .filter(|p| p.config == config)
            .collect();
        let mut described: Vec<String> = points
            .iter()
            .map(|p| format!("{} on {}, {} steps", p.agent, p.env, p.total_steps))
            .collect();
        described.dedup();
        let _ = writeln!(out, "## {config}\n");
        if described.len() == 1 {
            let _ = writeln!(out, "{}.\n", described[0]);
        }
        let _ = writeln!(
            out,
            "| grid point | seeds done | eval mean ± std | CVaR_0.1 | final ± std | best |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        for point in &points {
            let _ = writeln!(
                out,
                "| {} | {}/{} | {} | {} | {} | {} |",
                point.point_label,
                point.finished,
                point.seeds,
                mean_std(point.eval_mean, point.eval_std),
                number(point.eval_cvar_10),
                mean_std(point.final_mean, point.final_std),
                number(point.best_mean),
            );
        }
        let _ = writeln!(out);
        if points
            .iter()
            .any(|p| p.eval_risk.episodes_with_penalty.is_some())
        {
            write_risk_table(&mut out, &points);
        }
        for (_, path) in plots.overlays.iter().filter(|(c, _)| c == config) {
            let _ = writeln!(out, "![{config}]({})\n", link(path));
        }
        let point_links: Vec<String> = plots
            .points
            .iter()
            .filter(|(c, _, _)| c == config)
            .map(|(_, point, path)| format!("[{point}]({})", link(path)))
            .collect();
        if !point_links.is_empty() {
            let _ = writeln!(
                out,
                "Per grid point, with each seed: {}\n",
                point_links.join(", ")
            );
        }
    }
    let _ = writeln!(out, "## Runs\n");
    let _ = writeln!(
        out,
        "| config | grid point | seed | status | eval mean | CVaR_0.1 | episodes logged | final | best |"
    );
    let _ = writeln!(out, "|---|---|---:|---|---:|---:|---:|---:|---:|");
    for run in &report.runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run.config,
            run.point_label,
            run.seed,
            run.status,
            number(run.eval_mean),
            number(run.eval_cvar_10),
            run.episodes_logged,
            number(run.final_return),
            number(run.best_return),
        );
    }
    out
}

/// The lower tail and the penalty statistics of a config on a risky env.
fn write_risk_table(out: &mut String, points: &[&PointReport]) {
    let _ = writeln!(
        out,
        "Tail and penalties (means over seeds; **pooled**: CVaR_0.1 of every seed's eval \
         episodes together):\n"
    );
    let _ = writeln!(
        out,
        "| grid point | CVaR_0.05 | median | penalty events / episode | episodes with a penalty \
         | risky steps / episode | CVaR_0.1 pooled |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for point in points {
        let risk = &point.eval_risk;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            point.point_label,
            number(risk.cvar_5),
            number(risk.median),
            two_digits(risk.penalty_events_per_episode),
            percent(risk.episodes_with_penalty),
            two_digits(risk.risky_steps_per_episode),
            number(point.eval_cvar_10_pooled),
        );
    }
    let _ = writeln!(out);
}

fn link(path: &Path) -> String {
    path.to_string_lossy().replace(' ', "%20")
}

/// What [`write`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub markdown: String,
    pub markdown_path: PathBuf,
    pub json_path: PathBuf,
    pub plots: PlotFiles,
}

/// Builds the report of `dir` and writes `report.md`, `report.json` (`report_<stem>.*` for another
/// eval file) and (with `plots`) the PNG learning curves under `plots/`.
pub fn write(dir: &SweepDir, options: &ReportOptions) -> Result<Written, SweepError> {
    let manifest = dir.load_manifest()?;
    let report = build(dir, &manifest, options)?;
    let plot_files = if options.plots {
        draw_plots(dir, &report)?
    } else {
        PlotFiles::default()
    };
    let title = dir.root().display().to_string();
    let text = markdown(&report, &title, &plot_files);
    let (markdown_path, json_path) = match &options.eval_file {
        None => (
            dir.root().join(REPORT_FILE),
            dir.root().join(REPORT_JSON_FILE),
        ),
        Some(name) => {
            let stem = Path::new(name)
                .file_stem()
                .map_or_else(|| name.clone(), |s| s.to_string_lossy().into_owned());
            (
                dir.root().join(format!("report_{stem}.md")),
                dir.root().join(format!("report_{stem}.json")),
            )
        }
    };
    write_atomically(&markdown_path, text.as_bytes())?;
    let mut json = serde_json::to_vec_pretty(&report).map_err(|source| SweepError::Json {
        path: json_path.clone(),
        source,
    })?;
    json.push(b'\n');
    write_atomically(&json_path, &json)?;
    Ok(Written {
        markdown: text,
        markdown_path,
        json_path,
        plots: plot_files,
    })
}

fn draw_plots(dir: &SweepDir, report: &Report) -> Result<PlotFiles, SweepError> {
    let mut files = PlotFiles::default();
    let plots_dir = dir.plots_dir();
    let ylabel = format!("episodic return (mean of last {} episodes)", report.window);
    for config in config_names(report) {
        let config_dir = plots_dir.join(config);
        fs::create_dir_all(&config_dir).map_err(SweepError::io("create", &config_dir))?;
        let mut overlay = Vec::new();
        for point in report.points.iter().filter(|p| p.config == config) {
            let curves: Vec<&[(u64, f64)]> = point
                .runs
                .iter()
                .map(|&i| report.runs[i].curve.as_slice())
                .collect();
            let band = band(&curves, BAND_SAMPLES);
            if band.is_empty() {
                continue;
            }
            let seeds_with_data = curves.iter().filter(|c| !c.is_empty()).count();
            let file = format!("{}.png", point.point);
            let path = config_dir.join(&file);
            charts::draw_curves(
                &path,
                &format!("{config}: {} ({seeds_with_data} seeds)", point.point_label),
                &ylabel,
                &[Series {
                    label: format!("mean of {seeds_with_data} seeds (band: min to max)"),
                    band: &band,
                    seeds: &curves,
                }],
            )?;
            files.points.push((
                config.to_string(),
                point.point_label.clone(),
                Path::new(super::layout::PLOTS_DIR).join(config).join(file),
            ));
            overlay.push((point.point_label.clone(), band));
        }
        if overlay.is_empty() {
            continue;
        }
        let series: Vec<Series> = overlay
            .iter()
            .map(|(label, band)| Series {
                label: label.clone(),
                band,
                seeds: &[],
            })
            .collect();
        let file = format!("{config}.png");
        charts::draw_curves(
            &plots_dir.join(&file),
            &format!("{config}: mean over seeds, band min to max"),
            &ylabel,
            &series,
        )?;
        files.overlays.push((
            config.to_string(),
            Path::new(super::layout::PLOTS_DIR).join(file),
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::plan::MANIFEST_FORMAT;

    fn entry(point: &str, seed: u64) -> RunEntry {
        RunEntry {
            config: "sac-tiny".into(),
            point: point.into(),
            grid: vec![point.into()],
            sets: vec![],
            seed,
            agent: "sac".into(),
            env: "Pendulum-v1".into(),
            total_steps: 1000,
            config_file: PathBuf::from(format!("sac-tiny/{point}/config.toml")),
            run_dir: PathBuf::from(format!("sac-tiny/{point}/seed_{seed}")),
        }
    }

    fn eval(mean: f64, cvar: f64) -> EvalSummary {
        EvalSummary {
            episodes: 4,
            mean,
            std: 1.0,
            cvar_10: cvar,
            returns: vec![],
            risk: RiskSummary::default(),
        }
    }

    #[test]
    fn smoothing_is_a_trailing_mean_over_the_window() {
        let curve = [(10, 1.0), (20, 3.0), (30, 5.0), (40, 7.0)];
        assert_eq!(
            smooth(&curve, 2),
            [(10, 1.0), (20, 2.0), (30, 4.0), (40, 6.0)]
        );
        assert_eq!(smooth(&curve, 10)[3], (40, 4.0));
    }

    #[test]
    fn std_is_the_sample_std_and_needs_two_values() {
        assert_eq!(sample_std(&[1.0]), None);
        assert!((sample_std(&[1.0, 3.0]).unwrap() - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(mean(&[]), None);
    }

    #[test]
    fn risky_evals_give_a_tail_table_with_the_pooled_cvar() {
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            eval: EvalSettings::default(),
            runs: vec![entry("a=1", 1), entry("a=1", 2)],
        };
        let risky = |returns: Vec<f64>, struck: f64, risky_steps: f64| EvalSummary {
            returns,
            risk: RiskSummary {
                cvar_5: Some(-30.0),
                median: Some(-10.0),
                penalty_events_per_episode: Some(struck),
                episodes_with_penalty: Some(struck),
                risky_steps_per_episode: Some(risky_steps),
            },
            ..eval(-11.0, -27.0)
        };
        // 20 episodes pooled: CVaR_0.1 is the mean of the worst 2, one from each seed.
        let mut first: Vec<f64> = vec![-11.0; 9];
        first.push(-31.0);
        let mut second: Vec<f64> = vec![-15.0; 9];
        second.push(-21.0);
        let runs = vec![
            run_report(
                &manifest.runs[0],
                RunStatus::Evaluated,
                Some(&risky(first, 0.2, 1.0)),
                &[],
                2,
            ),
            run_report(
                &manifest.runs[1],
                RunStatus::Evaluated,
                Some(&risky(second, 0.0, 0.0)),
                &[],
                2,
            ),
        ];
        let report = aggregate(&manifest, runs, 2);
        let point = &report.points[0];
        assert_eq!(point.eval_cvar_10_pooled, Some(-26.0));
        assert_eq!(point.eval_risk.episodes_with_penalty, Some(0.1));
        assert_eq!(point.eval_risk.risky_steps_per_episode, Some(0.5));
        let text = markdown(&report, "t", &PlotFiles::default());
        assert!(
            text.contains("| a=1 | -30.0 | -10.0 | 0.10 | 10.0 % | 0.50 | -26.0 |"),
            "{text}"
        );
        // A sweep on an env without a penalty has no such table.
        let plain = aggregate(
            &manifest,
            vec![run_report(
                &manifest.runs[0],
                RunStatus::Evaluated,
                Some(&eval(-1.0, -2.0)),
                &[],
                2,
            )],
            2,
        );
        assert!(!markdown(&plain, "t", &PlotFiles::default()).contains("Tail and penalties"));
    }

    #[test]
    fn points_aggregate_their_seeds() {
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            eval: EvalSettings::default(),
            runs: vec![
                entry("a=1", 1),
                entry("a=1", 2),
                entry("a=2", 1),
                entry("a=2", 2),
            ],
        };
        let runs = vec![
            run_report(
                &manifest.runs[0],
                RunStatus::Evaluated,
                Some(&eval(-100.0, -200.0)),
                &[(199, -300.0), (399, -100.0)],
                2,
            ),
            run_report(
                &manifest.runs[1],
                RunStatus::Evaluated,
                Some(&eval(-120.0, -260.0)),
                &[(199, -500.0), (399, -300.0)],
                2,
            ),
            run_report(
                &manifest.runs[2],
                RunStatus::Evaluated,
                Some(&eval(-50.0, -70.0)),
                &[(199, -80.0)],
                2,
            ),
            run_report(
                &manifest.runs[3],
                RunStatus::Partial { step: 200 },
                None,
                &[(199, -900.0)],
                2,
            ),
        ];
        let report = aggregate(&manifest, runs, 2);
        assert_eq!(report.points.len(), 2);
        let first = &report.points[0];
        assert_eq!((first.seeds, first.finished), (2, 2));
        assert_eq!(first.eval_mean, Some(-110.0));
        assert!((first.eval_std.unwrap() - 200f64.sqrt()).abs() < 1e-9);
        assert_eq!(first.eval_cvar_10, Some(-230.0));
        // Smoothed over 2 episodes: seed 1 ends at -200 (best -200), seed 2 at -400.
        assert_eq!(first.final_mean, Some(-300.0));
        assert_eq!(first.best_mean, Some(-300.0));
        let second = &report.points[1];
        assert_eq!((second.seeds, second.finished), (2, 1));
        assert_eq!(second.eval_mean, Some(-50.0));
        assert_eq!(second.eval_std, None);
        assert_eq!(
            second.final_mean,
            Some(-80.0),
            "an unfinished run is left out of final"
        );

        let text = markdown(&report, "test", &PlotFiles::default());
        assert!(
            text.contains("| a=1 | 2/2 | -110.0 ± 14.1 | -230.0 | -300.0 ± 141.4 | -300.0 |"),
            "{text}"
        );
        assert!(
            text.contains("| a=2 | 1/2 | -50.0 | -70.0 | -80.0 | -80.0 |"),
            "{text}"
        );
        assert!(
            text.contains(
                "| sac-tiny | a=2 | 2 | checkpoint at step 200 | - | - | 1 | -900.0 | -900.0 |"
            ),
            "{text}"
        );
    }

    #[test]
    fn bands_cover_the_seeds_that_reach_each_step() {
        let a = [(0, 0.0), (100, 10.0)];
        let b = [(50, 4.0), (200, 8.0)];
        let band = band(&[&a, &b], 5);
        let at = |step: u64| *band.iter().find(|p| p.step == step).unwrap();
        assert_eq!(at(0).seeds, 1);
        assert_eq!((at(50).low, at(50).high, at(50).mean), (4.0, 5.0, 4.5));
        assert_eq!(at(100).high, 10.0);
        assert!((at(100).low - (4.0 + 4.0 / 3.0)).abs() < 1e-12);
        assert_eq!((at(200).seeds, at(200).mean), (1, 8.0));
        assert!(super::band(&[&[]], 5).is_empty());
    }

    #[test]
    fn metrics_give_the_episodic_returns_and_a_resume_replaces_the_steps_it_redid() {
        let dir = std::env::temp_dir().join(format!("ordergrad-report-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("metrics.jsonl");
        let line = |step: u64, tag: &str, value: &str| {
            format!("{{\"step\":{step},\"tag\":\"{tag}\",\"value\":{value},\"wall_time\":1.0}}\n")
        };
        let text = [
            line(199, EPISODIC_RETURN_TAG, "-5.0"),
            line(199, "charts/episodic_length", "200.0"),
            line(399, EPISODIC_RETURN_TAG, "-4.0"),
            line(599, EPISODIC_RETURN_TAG, "null"),
            line(399, EPISODIC_RETURN_TAG, "-3.0"),
            line(599, EPISODIC_RETURN_TAG, "-2.0"),
            "{\"step\":799,\"tag\":\"charts/epis".to_string(),
        ]
        .concat();
        fs::write(&path, text).unwrap();
        assert_eq!(
            read_episodic_returns(&path).unwrap(),
            [(199, -5.0), (399, -3.0), (599, -2.0)]
        );
        assert!(
            read_episodic_returns(&dir.join("none.jsonl"))
                .unwrap()
                .is_empty()
        );
    }
}
