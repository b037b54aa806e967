//! What a run directory holds, read back for the tests that compare runs (included with
//! `#[path = "common/run_files.rs"] mod run_files;`).

use std::path::Path;

/// The complete checkpoints of a run, by step.
pub fn complete_steps(run: &Path) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(run.join("checkpoints")) else {
        return Vec::new();
    };
    let mut steps: Vec<u64> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let step = entry
                .file_name()
                .to_str()?
                .strip_prefix("step_")?
                .parse()
                .ok()?;
            entry.path().join("COMPLETE").is_file().then_some(step)
        })
        .collect();
    steps.sort();
    steps
}

/// (step, tag, value) of every scalar in a run's metrics.jsonl, in the file's order; without
/// the value of `charts/SPS`, which is measured on the clock.
pub fn logged_metrics(run: &Path) -> Vec<(u64, String, Option<f64>)> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .map(|record| {
            let tag = record["tag"].as_str().unwrap().to_string();
            let value = record["value"].as_f64().unwrap_or(f64::NAN);
            let value = (tag != "charts/SPS").then_some(value);
            (record["step"].as_u64().unwrap(), tag, value)
        })
        .collect()
}
