//! `ordergrad plot DIR`: figures that compare the configs of a sweep on each env, the way a
//! risk-averse RL paper shows them. Per env: the training return (trailing mean) and its lower
//! tail (trailing CVaR_0.1) over training, mean over seeds with a min-max band, and the eval
//! return distributions side by side, all seeds pooled.

use std::fs;
use std::path::{Path, PathBuf};

use ordergrad_core::{Objective, RankPlan};

use super::SweepError;
use super::charts::{self, Distribution, Series};
use super::layout::{RunStatus, SweepDir};
use super::report::{self, Curve, EPISODIC_RETURN_TAG, band, read_episodic_returns, smooth};
use super::runner::EvalSummary;
use crate::logging::metrics::METRICS_FILE_NAME;

/// The tail level of the CVaR curves and markers.
pub const CVAR_LEVEL: f64 = 0.1;
/// Episodes in the trailing window of the CVaR curve: with 20, CVaR_0.1 is the mean of the two
/// worst of the last 20 episodes.
pub const DEFAULT_CVAR_WINDOW: usize = 20;
const BAND_SAMPLES: usize = 200;

/// The CVaR_beta of the last `window` episodes at every episode end (fewer at the start).
pub fn trailing_cvar(curve: &[(u64, f64)], window: usize, beta: f64) -> Curve {
    let window = window.max(1);
    curve
        .iter()
        .enumerate()
        .map(|(index, &(step, _))| {
            let recent: Vec<f64> = curve[index.saturating_sub(window - 1)..=index]
                .iter()
                .map(|&(_, value)| value)
                .collect();
            let n = recent.len();
            // The returns are finite (read_episodic_returns drops the rest), so this cannot fail.
            let value = RankPlan::new(&Objective::Cvar(beta), n, n)
                .and_then(|plan| plan.value(&recent))
                .expect("CVaR of finite returns");
            (step, value)
        })
        .collect()
}

/// One config's runs on one env.
struct Arm {
    label: String,
    return_curves: Vec<Curve>,
    cvar_curves: Vec<Curve>,
    eval_returns: Vec<f64>,
    seeds_evaluated: usize,
}

/// Writes the comparison figures of every env of the sweep into `out` and returns their paths.
pub fn write(
    dir: &SweepDir,
    out: &Path,
    window: usize,
    cvar_window: usize,
) -> Result<Vec<PathBuf>, SweepError> {
    let manifest = dir.load_manifest()?;
    let mut envs: Vec<&str> = Vec::new();
    for run in &manifest.runs {
        if !envs.contains(&run.env.as_str()) {
            envs.push(&run.env);
        }
    }
    fs::create_dir_all(out).map_err(SweepError::io("create", out))?;
    let mut written = Vec::new();
    for env in envs {
        let mut arms: Vec<Arm> = Vec::new();
        for run in manifest.runs.iter().filter(|run| run.env == env) {
            let label = if run.grid.is_empty() {
                run.config.clone()
            } else {
                format!("{} {}", run.config, run.point_label())
            };
            let position = arms.iter().position(|arm| arm.label == label);
            let arm = match position {
                Some(position) => &mut arms[position],
                None => {
                    arms.push(Arm {
                        label,
                        return_curves: Vec::new(),
                        cvar_curves: Vec::new(),
                        eval_returns: Vec::new(),
                        seeds_evaluated: 0,
                    });
                    arms.last_mut().expect("just pushed")
                }
            };
            let returns = read_episodic_returns(&dir.run_dir(run).join(METRICS_FILE_NAME))?;
            arm.return_curves.push(smooth(&returns, window));
            arm.cvar_curves
                .push(trailing_cvar(&returns, cvar_window, CVAR_LEVEL));
            if dir.status(run)? == RunStatus::Evaluated {
                let eval = EvalSummary::read(&dir.eval_file(run))?;
                arm.eval_returns.extend(eval.returns);
                arm.seeds_evaluated += 1;
            }
        }
        let name = env.replace(['/', ' '], "_");
        let curves = |pick: fn(&Arm) -> &Vec<Curve>| -> Vec<(String, Vec<report::BandPoint>)> {
            arms.iter()
                .map(|arm| {
                    let curves: Vec<&[(u64, f64)]> =
                        pick(arm).iter().map(|c| c.as_slice()).collect();
                    let seeds = curves.iter().filter(|c| !c.is_empty()).count();
                    (
                        format!("{} ({seeds} seeds)", arm.label),
                        band(&curves, BAND_SAMPLES),
                    )
                })
                .filter(|(_, band)| !band.is_empty())
                .collect()
        };
        let figures = [
            (
                format!("{name}__return.png"),
                format!("{env}: training return, mean over seeds (band: min to max)"),
                format!("{EPISODIC_RETURN_TAG}, mean of last {window} episodes"),
                curves(|arm| &arm.return_curves),
            ),
            (
                format!("{name}__cvar_{CVAR_LEVEL}.png"),
                format!("{env}: lower tail of the training return (band: min to max)"),
                format!("CVaR_{CVAR_LEVEL} of the last {cvar_window} episodes"),
                curves(|arm| &arm.cvar_curves),
            ),
        ];
        for (file, title, y_label, bands) in figures {
            if bands.is_empty() {
                continue;
            }
            let series: Vec<Series> = bands
                .iter()
                .map(|(label, band)| Series {
                    label: label.clone(),
                    band,
                    seeds: &[],
                })
                .collect();
            let path = out.join(file);
            charts::draw_curves(&path, &title, &y_label, &series)?;
            written.push(path);
        }
        let distributions: Vec<Distribution> = arms
            .iter()
            .filter(|arm| !arm.eval_returns.is_empty())
            .map(|arm| Distribution {
                label: format!("{} ({} seeds)", arm.label, arm.seeds_evaluated),
                values: arm.eval_returns.clone(),
            })
            .collect();
        if !distributions.is_empty() {
            let path = out.join(format!("{name}__eval_returns.png"));
            charts::draw_distributions(
                &path,
                &format!(
                    "{env}: eval returns, all seeds pooled (box: quartiles, whiskers: 5-95 %, \
                     diamond: CVaR_{CVAR_LEVEL})"
                ),
                "episode return",
                &distributions,
            )?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_cvar_is_the_mean_of_the_worst_tenth_of_the_window() {
        let curve: Vec<(u64, f64)> = (0..20).map(|i| (i as u64, i as f64)).collect();
        let cvar = trailing_cvar(&curve, 10, 0.1);
        // First point: one episode. At index 19 the window holds 10..=19: the worst is 10.
        assert_eq!(cvar[0], (0, 0.0));
        assert_eq!(cvar[19], (19, 10.0));
        // Over 5 episodes CVaR_0.1 puts all its weight on the worst one.
        assert_eq!(cvar[4], (4, 0.0));
        let cvar = trailing_cvar(&curve, 20, 0.25);
        // 20 episodes at 0.25: the mean of the worst 5 (0..=4).
        assert_eq!(cvar[19], (19, 2.0));
    }
}
