//! `ordergrad sweep`, `ordergrad report` and `ordergrad plot` as a user runs them: a real tiny
//! local sweep (2 seeds x 2 grid values), re-running it (finished runs are skipped, an
//! interrupted one resumes, a broken one is reported with its log), the report, the comparison
//! plots, the Slurm script without Slurm, and bad input with exit code 2.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn ordergrad(args: &[&str]) -> Output {
    ordergrad_with_path(args, None)
}

/// Runs the binary, with `PATH` replaced when `path` is given.
fn ordergrad_with_path(args: &[&str], path: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ordergrad"));
    command.args(args).env_remove("RAYON_NUM_THREADS");
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().expect("the ordergrad binary starts")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn succeed(args: &[&str]) -> Output {
    let output = ordergrad(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        stderr(&output)
    );
    output
}

/// SAC with 16-unit networks, 400 steps (two 200-step Pendulum episodes), checkpoints every 200:
/// about a second per run.
fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("sac-tiny.toml");
    std::fs::write(
        &path,
        "agent = \"sac\"\nenv = \"Pendulum-v1\"\ntotal_steps = 400\nseed = 1\n\
         [sac]\nlearning_starts = 100\nbatch_size = 16\nhidden_size = 16\nbuffer_size = 10000\n\
         [checkpoint]\nevery = 200\n[logging]\nprogress = false\nlog_every = 50\n",
    )
    .unwrap();
    path
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn sweep_args<'a>(config: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec![
        "sweep",
        "--config",
        s(config),
        "--seeds",
        "1-2",
        "--grid",
        "sac.tau=0.005,0.02",
        "--episodes",
        "2",
        "--jobs",
        "2",
        "--out",
        s(out),
    ]
}

fn run_dir(out: &Path, point: &str, seed: u64) -> PathBuf {
    out.join("sac-tiny")
        .join(point)
        .join(format!("seed_{seed}"))
}

#[test]
fn a_local_sweep_runs_every_point_and_seed_resumes_and_reports() {
    let dir = common::scratch_dir("sweep", "local");
    let config = write_config(&dir);
    let out = dir.join("out");
    let args = sweep_args(&config, &out);

    let first = succeed(&args);
    let progress = stderr(&first);
    assert!(
        progress.contains("4 runs (0 done before), 2 at a time"),
        "{progress}"
    );
    assert!(progress.contains("[4/4] sac-tiny sac.tau="), "{progress}");
    for point in ["sac.tau=0.005", "sac.tau=0.02"] {
        for seed in [1, 2] {
            let run = run_dir(&out, point, seed);
            let eval: Value =
                serde_json::from_str(&std::fs::read_to_string(run.join("eval.json")).unwrap())
                    .unwrap();
            assert_eq!(eval["episodes"], 2);
            let resolved = std::fs::read_to_string(run.join("config.toml")).unwrap();
            assert!(resolved.contains(&format!("seed = {seed}")), "{resolved}");
            let tau = point.trim_start_matches("sac.tau=");
            assert!(resolved.contains(&format!("tau = {tau}")), "{resolved}");
        }
    }
    let table = stdout(&first);
    assert!(table.contains("| sac.tau=0.005 | 2/2 |"), "{table}");
    assert!(table.contains("| sac.tau=0.02 | 2/2 |"), "{table}");
    assert!(out.join("report.md").is_file());
    assert!(out.join("plots/sac-tiny.png").is_file());
    assert!(out.join("plots/sac-tiny/sac.tau=0.02.png").is_file());
    let compare = out.join("compare");
    let plots = stdout(&succeed(&["plot", s(&out), "--out", s(&compare)]));
    for figure in [
        "Pendulum-v1__return.png",
        "Pendulum-v1__cvar_0.1.png",
        "Pendulum-v1__eval_returns.png",
    ] {
        assert!(plots.contains(figure), "{plots}");
        assert!(compare.join(figure).is_file(), "{figure}");
    }

    // Again: nothing runs.
    let eval_file = run_dir(&out, "sac.tau=0.005", 1).join("eval.json");
    let written = std::fs::metadata(&eval_file).unwrap().modified().unwrap();
    let again = succeed(&args);
    let progress = stderr(&again);
    assert!(progress.contains("4 runs (4 done before)"), "{progress}");
    assert_eq!(progress.matches("(done before)").count(), 4, "{progress}");
    assert!(!progress.contains("started"), "{progress}");
    assert_eq!(
        std::fs::metadata(&eval_file).unwrap().modified().unwrap(),
        written
    );

    // One run lost its last checkpoint and eval (as after Ctrl-C): it resumes. Another has a
    // corrupt checkpoint: it fails, with its log, and the sweep exits 1 after the others.
    let resumed = run_dir(&out, "sac.tau=0.02", 1);
    let broken = run_dir(&out, "sac.tau=0.02", 2);
    for run in [&resumed, &broken] {
        std::fs::remove_file(run.join("eval.json")).unwrap();
        std::fs::remove_dir_all(run.join("checkpoints/step_000000000400")).unwrap();
    }
    std::fs::write(
        broken.join("checkpoints/step_000000000200/state.json"),
        "{ not json",
    )
    .unwrap();
    let third = ordergrad(&args);
    let progress = stderr(&third);
    assert_eq!(third.status.code(), Some(1), "{progress}");
    assert!(
        progress.contains("sac-tiny sac.tau=0.02 seed 2: FAILED"),
        "{progress}"
    );
    assert!(
        progress.contains("state.json"),
        "the failure shows the log: {progress}"
    );
    assert!(progress.contains("1 of 4 runs failed"), "{progress}");
    assert!(resumed.join("eval.json").is_file(), "{progress}");
    let log = std::fs::read_to_string(resumed.join("train.log")).unwrap();
    assert!(log.contains("resuming"), "{log}");

    let report = succeed(&["report", s(&out), "--json", "--no-plots"]);
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    let points = report["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(points[0]["point_label"], "sac.tau=0.005");
    assert_eq!(points[0]["finished"], 2);
    assert_eq!(points[1]["finished"], 1);
    assert!(points[0]["eval_std"].as_f64().is_some());
    assert!(points[0]["final_mean"].as_f64().is_some());
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    assert_eq!(runs[3]["status"], "checkpoint at step 200");
    assert_eq!(runs[0]["episodes_logged"], 2);
}

#[test]
fn the_slurm_executor_writes_a_job_array_whose_tasks_fill_the_same_layout() {
    let dir = common::scratch_dir("sweep", "slurm");
    let config = write_config(&dir);
    let out = dir.join("out");
    // A stand-in for sbatch that records its arguments and answers like `sbatch --parsable`.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("sbatch");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" > {}\necho 4242\n",
            s(&dir.join("sbatch-args"))
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut args = vec![
        "sweep",
        "--config",
        s(&config),
        "--seeds",
        "3",
        "--grid",
        "sac.tau=0.005,0.02",
        "--episodes",
        "2",
        "--out",
        s(&out),
        "--executor",
        "slurm",
        "--time",
        "00:10:00",
        "--mem",
        "1G",
        "--cpus-per-task",
        "1",
    ];
    let path = format!("{}:/usr/bin:/bin", s(&bin));
    let submitted = ordergrad_with_path(&args, Some(&path));
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    assert_eq!(stdout(&submitted).trim(), "4242");
    let sbatch_args = std::fs::read_to_string(dir.join("sbatch-args")).unwrap();
    assert!(sbatch_args.contains("--parsable"), "{sbatch_args}");
    assert!(sbatch_args.contains("sweep.sbatch"), "{sbatch_args}");
    let script = std::fs::read_to_string(out.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-1\n"), "{script}");
    assert!(script.contains("#SBATCH --time=00:10:00\n"), "{script}");
    assert!(script.contains("sweep-task --manifest"), "{script}");

    // What the array tasks do, run here one after the other.
    for index in ["0", "1"] {
        succeed(&[
            "sweep-task",
            "--manifest",
            s(&out.join("sweep.json")),
            "--index",
            index,
        ]);
    }
    assert!(run_dir(&out, "sac.tau=0.02", 3).join("eval.json").is_file());
    let report = stdout(&succeed(&["report", s(&out)]));
    assert!(report.contains("| sac.tau=0.005 | 1/1 |"), "{report}");
    assert!(report.contains("| sac.tau=0.02 | 1/1 |"), "{report}");

    // A dry run with every run done has nothing to submit; with --seeds 3-4 it lists the new ones.
    args.push("--dry-run");
    *args.iter_mut().find(|a| **a == "3").unwrap() = "3-4";
    let dry = ordergrad_with_path(&args, Some("/nonexistent"));
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(
        stdout(&dry).contains("#SBATCH --array=2-3\n"),
        "{}",
        stdout(&dry)
    );
    let task = ordergrad(&[
        "sweep-task",
        "--manifest",
        s(&out.join("sweep.json")),
        "--index",
        "9",
    ]);
    assert_eq!(task.status.code(), Some(2));
    assert!(stderr(&task).contains("0 to 3"), "{}", stderr(&task));
}

fn assert_bad_input(output: &Output, says: &[&str]) {
    let message = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    for part in says {
        assert!(message.contains(part), "missing {part:?} in: {message}");
    }
}

#[test]
fn bad_sweeps_exit_with_2_before_anything_runs() {
    let dir = common::scratch_dir("sweep", "bad");
    let config = write_config(&dir);
    let out = dir.join("out");
    let base = |extra: &[&'static str]| -> Vec<String> {
        let mut args: Vec<String> = ["sweep", "--config", s(&config), "--out", s(&out)]
            .iter()
            .map(|a| a.to_string())
            .collect();
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let run = |args: Vec<String>, path: Option<&str>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ordergrad_with_path(&args, path)
    };

    let unknown = run(base(&["--grid", "sac.learnin_starts=100,200"]), None);
    assert_bad_input(&unknown, &["sac.learnin_starts", "learning_starts"]);
    let empty = run(base(&["--seeds", "5-1"]), None);
    assert_bad_input(&empty, &["--seeds", "5-1", "empty"]);
    let other_agent = run(base(&["--grid", "ppo.learning_rate=1e-3,3e-4"]), None);
    assert_bad_input(&other_agent, &["ppo.learning_rate", "no effect"]);
    let no_sbatch = run(base(&["--executor", "slurm"]), Some("/nonexistent"));
    assert_bad_input(&no_sbatch, &["sbatch", "--executor local"]);
    assert!(!out.exists(), "nothing was written");

    let missing = ordergrad(&["report", s(&dir)]);
    assert_bad_input(&missing, &["sweep.json"]);
    let missing = ordergrad(&["plot", s(&dir)]);
    assert_bad_input(&missing, &["sweep.json"]);
}
