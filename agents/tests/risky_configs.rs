//! Every shipped config of the risky tasks with a known answer (RiskyCrossing-v0, RiskyCar-v0
//! and, with the `mujoco` feature, RiskyHalfCheetah-v5) trains briefly as shipped, but for its
//! length, and its run evaluates: the penalty and risky-step counts of the env reach the training
//! log and `eval --json`.

mod common;
#[path = "common/run_files.rs"]
mod run_files;

use std::path::Path;
use std::process::{Command, Output};

/// `ordergrad ARGS`, whatever the exit code.
fn ordergrad_output(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordergrad"))
        .args(args)
        .output()
        .expect("the ordergrad binary starts")
}

/// `output`, of a run that must have succeeded.
fn succeeded(output: Output) -> Output {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `ordergrad ARGS`, which must succeed.
fn ordergrad(args: &[&str]) -> Output {
    let output = ordergrad_output(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `ordergrad train` of the shipped config `name` into `dir`, quietly, with `sets` on top; the
/// output whatever the exit code.
fn train_shipped(name: &str, dir: &Path, sets: &[&str]) -> Output {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../configs/{name}.toml"));
    let mut args = vec![
        "train",
        "--config",
        config.to_str().unwrap(),
        "--run-dir",
        dir.to_str().unwrap(),
    ];
    for assignment in ["logging.progress=false"].iter().chain(sets) {
        args.extend(["--set", assignment]);
    }
    ordergrad_output(&args)
}

/// [`train_shipped`] for 300 steps, learning from step 100.
fn train_briefly(name: &str, dir: &Path, sets: &[&str]) -> Output {
    let brief = ["total_steps=300", "dsac.learning_starts=100"];
    train_shipped(name, dir, &[&brief[..], sets].concat())
}

/// The numbers of the critic report's array `key`.
fn critic_numbers(critic: &serde_json::Value, key: &str) -> Vec<f64> {
    critic[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_f64().unwrap())
        .collect()
}

/// Every scalar a run logged, one JSON object per line of its metrics.jsonl.
fn metric_records(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The config, and the overrides that shorten it to a smoke run: off-policy agents learn from
/// step 100 of 300; PPO updates on one group of 16 episodes (at most 800 steps) of 1600.
const CONFIGS: [(&str, &[&str]); 10] = [
    ("dsac-mean-risky-crossing", OFF_POLICY),
    ("dsac-cvar-risky-crossing", OFF_POLICY),
    ("dsac-cvar-regression-risky-crossing", OFF_POLICY_SCHEDULE),
    ("dsac-mean-risky-car", OFF_POLICY),
    ("dsac-cvar-risky-car", OFF_POLICY),
    ("dsac-cvar-regression-risky-car", OFF_POLICY),
    ("ppo-mean-risky-crossing", PPO),
    ("ppo-cvar-risky-crossing", PPO),
    ("ppo-mean-risky-car", PPO_CAR),
    ("ppo-cvar-risky-car", PPO_CAR),
];
const OFF_POLICY: &[&str] = &["total_steps=300", "dsac.learning_starts=100"];
/// A risk schedule that ends within the smoke run, so that the critic report (CVaR_0.1) runs.
const OFF_POLICY_SCHEDULE: &[&str] = &[
    "total_steps=300",
    "dsac.learning_starts=100",
    "dsac.risk_schedule_steps=200",
];
const PPO: &[&str] = &["total_steps=1600", "ppo.groups_per_update=1"];
const PPO_CAR: &[&str] = &["total_steps=3200", "ppo.groups_per_update=1"];

#[test]
fn every_risky_task_config_trains_briefly_and_its_run_evaluates() {
    for (name, overrides) in CONFIGS {
        smoke_run(name, overrides);
    }
}

/// RiskyHalfCheetah-v5's arms: one 1000-step episode and 100 updates.
#[cfg(feature = "mujoco")]
#[test]
fn every_risky_half_cheetah_config_trains_briefly_and_its_run_evaluates() {
    smoke_run(
        "sac-risky-halfcheetah",
        &["total_steps=1100", "sac.learning_starts=1000"],
    );
    for name in [
        "dsac-mean-risky-halfcheetah",
        "dsac-cvar-risky-halfcheetah",
        "dsac-cvar-tail-risky-halfcheetah",
    ] {
        smoke_run(name, &["total_steps=1100", "dsac.learning_starts=1000"]);
    }
}

/// Trains the shipped config `name` with `overrides`, then checks that the env's penalty and
/// risky-step counts reach the training log and `eval --json`, and that DSAC's critic report
/// runs (PPO's is refused).
fn smoke_run(name: &str, overrides: &[&str]) {
    let dir = common::scratch_dir("risky-configs", name);
    succeeded(train_shipped(name, &dir, overrides));

    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("charts/episodic_return"), "{name}");
    if name.starts_with("ppo") {
        assert!(
            metrics.contains("losses/policy_loss"),
            "{name}: PPO updated"
        );
    } else {
        assert!(metrics.contains("charts/episodic_penalty_events"), "{name}");
    }

    let output = ordergrad(&[
        "eval",
        "--run",
        dir.to_str().unwrap(),
        "--episodes",
        "5",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["episodes"], 5, "{name}");
    for key in [
        "penalty_events",
        "risky_steps_per_episode",
        "episodes_with_penalty",
    ] {
        assert!(report[key].is_number(), "{name}: {key} in {report}");
    }
    // Each step costs 1 (crossing, at most 50 steps) or 10 (car, at most 100), arriving
    // pays 370 on the car; the cheetah is struck at most once (8000) in 1000 steps of at
    // most 0.6 control cost and a few m/s forward or back: the returns stay within what
    // the task can give.
    let (low, high) = if name.contains("crossing") {
        (-50.0 - 20.0 * 50.0, -1.0)
    } else if name.contains("halfcheetah") {
        (-8000.0 - 1000.0 * (0.6 + 10.0), 1000.0 * 10.0)
    } else {
        (-1000.0 - 40.0 * 100.0, 370.0)
    };
    for episode_return in report["returns"].as_array().unwrap() {
        let value = episode_return.as_f64().unwrap();
        assert!((low..=high).contains(&value), "{name}: return {value}");
    }
    if name.contains("halfcheetah") {
        check_reward_terms(name, &report);
    }
    check_critic_report(name, &dir);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// HalfCheetah-v5's info carries its two reward terms, and `eval --json` averages their episode
/// sums: with the strikes they make up the mean return.
fn check_reward_terms(name: &str, report: &serde_json::Value) {
    let terms = report["reward_terms_per_episode"].as_object().unwrap();
    let keys: Vec<&str> = terms.keys().map(String::as_str).collect();
    assert_eq!(keys, ["reward_ctrl", "reward_forward"], "{name}: {report}");
    let term = |key: &str| terms[key].as_f64().unwrap();
    assert!(term("reward_ctrl") <= 0.0, "{name}: {report}");
    let strikes = report["penalty_events_per_episode"].as_f64().unwrap();
    let mean = report["mean"].as_f64().unwrap();
    let strike_cost = envs::risky::HALF_CHEETAH_STRIKE_COST;
    let from_terms = term("reward_forward") + term("reward_ctrl") - strike_cost * strikes;
    assert!(
        (mean - from_terms).abs() < 1e-6 * mean.abs().max(1.0),
        "{name}: {report}"
    );
}

/// A CVaR-regression run's critic report (`name` for messages): heads beside the one-step
/// targets, all four statistics finite, no atoms and no W1.
fn check_heads_report(critic: &serde_json::Value, name: &str) {
    assert_eq!(critic["one_step"], true, "{name}: {critic}");
    assert!(
        critic_numbers(critic, "critic_atoms").is_empty(),
        "{name}: {critic}"
    );
    assert!(critic.get("wasserstein_1").is_none(), "{name}: {critic}");
    for key in [
        "critic_mean",
        "critic_cvar_0.1",
        "empirical_mean",
        "empirical_cvar_0.1",
    ] {
        assert!(
            critic[key].as_f64().unwrap().is_finite(),
            "{name}: {key}: {critic}"
        );
    }
}

/// `eval --critic-report`: a DSAC run reports its critic's atoms at the fixed start beside the
/// episodes' discounted returns (a CVaR-regression run its heads beside the one-step targets);
/// a PPO or SAC run has no distributional critic and is refused
/// (exit 2).
fn check_critic_report(name: &str, dir: &Path) {
    let args = [
        "eval",
        "--run",
        dir.to_str().unwrap(),
        "--episodes",
        "20",
        "--json",
        "--critic-report",
    ];
    if !name.starts_with("dsac") {
        let output = ordergrad_output(&args);
        assert_eq!(output.status.code(), Some(2), "{name}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains("--critic-report"), "{name}: {message}");
        return;
    }
    let report: serde_json::Value = serde_json::from_slice(&ordergrad(&args).stdout).unwrap();
    let critic = &report["critic"];
    let numbers = |key: &str| critic_numbers(critic, key);
    if name.contains("cvar-regression") {
        check_heads_report(critic, name);
        return;
    }
    let (atoms, masses) = (numbers("critic_atoms"), numbers("atom_masses"));
    let tail_atoms = if name.contains("tail") { 220 } else { 0 };
    assert_eq!(atoms.len(), masses.len(), "{name}: one mass per atom");
    assert!(atoms.windows(2).all(|pair| pair[0] <= pair[1]), "{name}");
    assert!((masses.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{name}");
    assert!(
        critic_statistics_check(&atoms, &masses, critic, tail_atoms),
        "{name}: {critic}"
    );
    assert_eq!(numbers("empirical_quantiles").len(), atoms.len());
    assert!(critic["wasserstein_1"].as_f64().unwrap() >= 0.0, "{name}");
    assert_eq!(
        critic["one_step"], false,
        "{name}: the returns, not one step"
    );
    // One scan per entry of the action, over its bounds; a CVaR is never above the mean.
    let scans = critic["action_scans"].as_array().unwrap();
    assert_eq!(scans.len(), numbers("action").len(), "{name}");
    for scan in scans {
        let scan_numbers = |key: &str| critic_numbers(scan, key);
        let (actions, means) = (scan_numbers("actions"), scan_numbers("critic_means"));
        assert_eq!(actions.len(), 9, "{name}");
        assert_eq!((actions[0], actions[8]), (-1.0, 1.0), "{name}: {scan}");
        for (mean, cvar) in means.iter().zip(scan_numbers("critic_cvars_0.1")) {
            assert!(cvar <= mean + 1e-9 && cvar.is_finite(), "{name}: {scan}");
        }
    }
    assert_eq!(
        critic["shaped"],
        !name.contains("halfcheetah"),
        "{name}: the DSAC configs of the small tasks train with shaping"
    );
    // The undiscounted unshaped mean and the discounted shaped one differ.
    assert_ne!(critic["empirical_mean"], report["mean"], "{name}");
}

/// The critic report's mean and CVaR_0.1 weigh each sorted atom by its mass: 40 equal atoms
/// (CVaR_0.1 the mean of the lowest 4), or `tail_atoms` atoms of mass 0.1 / tail_atoms below
/// the 0.1 level (CVaR_0.1 their plain mean).
fn critic_statistics_check(
    atoms: &[f64],
    masses: &[f64],
    critic: &serde_json::Value,
    tail_atoms: usize,
) -> bool {
    let lowest = match tail_atoms {
        0 => {
            assert_eq!(atoms.len(), 40, "num_quantiles atoms");
            assert!(masses.iter().all(|mass| (mass - 1.0 / 40.0).abs() < 1e-12));
            4
        }
        tail => {
            assert!(
                masses[..tail]
                    .iter()
                    .all(|mass| (mass - 0.1 / tail as f64).abs() < 1e-12)
            );
            tail
        }
    };
    let mean: f64 = atoms
        .iter()
        .zip(masses)
        .map(|(atom, mass)| atom * mass)
        .sum();
    let tail_mean = atoms[..lowest].iter().sum::<f64>() / lowest as f64;
    let close = |key: &str, expected: f64| {
        let value = critic[key].as_f64().unwrap();
        (value - expected).abs() < 1e-4 * expected.abs().max(1.0)
    };
    close("critic_mean", mean) && close("critic_cvar_0.1", tail_mean)
}

/// `dsac.tail_atoms`: a run with most of its atoms in the lower tail trains, and its critic
/// report weighs its atoms by their masses; settings it cannot serve exit 2.
#[test]
fn a_tail_grid_run_trains_and_reports_its_masses_and_bad_tail_settings_exit_2() {
    let dir = common::scratch_dir("risky-configs", "tail-grid");
    let train = |extra: &[&str]| train_briefly("dsac-cvar-risky-crossing", &dir, extra);
    for (extra, key) in [
        (&["dsac.tail_atoms=40"][..], "dsac.tail_atoms"),
        (
            &["dsac.tail_atoms=30", "dsac.tail_level=1.0"][..],
            "dsac.tail_level",
        ),
        (
            &["dsac.tail_atoms=30", "dsac.objective=\"median\""][..],
            "dsac.tail_atoms",
        ),
        (
            &[
                "dsac.tail_atoms=30",
                "dsac.static_cvar=true",
                "dsac.budget_range=[-45, 5]",
            ][..],
            "dsac.tail_atoms",
        ),
    ] {
        let output = train(extra);
        assert_eq!(output.status.code(), Some(2), "{extra:?}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains(key), "{extra:?}: {message}");
    }

    succeeded(train(&["dsac.tail_atoms=30"]));
    let args = [
        "eval",
        "--run",
        dir.to_str().unwrap(),
        "--episodes",
        "5",
        "--json",
        "--critic-report",
    ];
    let report: serde_json::Value = serde_json::from_slice(&ordergrad(&args).stdout).unwrap();
    let critic = &report["critic"];
    let numbers = |key: &str| critic_numbers(critic, key);
    let (atoms, masses) = (numbers("critic_atoms"), numbers("atom_masses"));
    assert_eq!(atoms.len(), 40);
    assert!((masses[39] - 0.9 / 10.0).abs() < 1e-12, "{masses:?}");
    assert!(
        critic_statistics_check(&atoms, &masses, critic, 30),
        "{critic}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `dsac.nested_risk`: a nested-CVaR run trains and evaluates, and its critic report sets the
/// atoms beside one-step targets; it does not combine with the static CVaR, and a mean
/// continuation needs it.
#[test]
fn a_nested_risk_run_trains_evaluates_reports_one_step_targets_and_refuses_the_static_cvar() {
    let dir = common::scratch_dir("risky-configs", "nested");
    let train = |extra: &[&str]| {
        train_briefly(
            "dsac-cvar-risky-crossing",
            &dir,
            &[&["dsac.nested_risk=true"][..], extra].concat(),
        )
    };
    let output = train(&["dsac.static_cvar=true", "dsac.budget_range=[-45, 5]"]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("dsac.nested_risk"), "{message}");
    // A mean continuation changes only the nested target; an unknown one is no setting.
    for (sets, named) in [
        (
            &["dsac.nested_continuation=\"mean\""][..],
            "dsac.nested_continuation",
        ),
        (
            &[
                "dsac.nested_risk=true",
                "dsac.nested_continuation=\"median\"",
            ][..],
            "median",
        ),
    ] {
        let output = train_briefly("dsac-cvar-risky-crossing", &dir, sets);
        assert_eq!(output.status.code(), Some(2), "{sets:?}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains(named), "{sets:?}: {message}");
    }

    succeeded(train(&[]));
    let run = dir.to_str().unwrap();
    let output = ordergrad(&["eval", "--run", run, "--episodes", "3", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["mean"].as_f64().unwrap().is_finite(), "{report}");
    // Its critic report compares the atoms with the one-step targets they learn. The crossing's
    // first step holds no risk (a band step would spread them by its penalty, 20), so those targets
    // differ only by the draws of next actions.
    let output = ordergrad(&[
        "eval",
        "--run",
        run,
        "--episodes",
        "5",
        "--json",
        "--critic-report",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let critic = &report["critic"];
    assert_eq!(critic["one_step"], true, "{critic}");
    let targets = critic_numbers(critic, "empirical_quantiles");
    assert_eq!(targets.len(), critic_numbers(critic, "critic_atoms").len());
    let spread = targets.last().unwrap() - targets.first().unwrap();
    assert!((0.0..2.0).contains(&spread), "{critic}");
    assert!(
        critic["wasserstein_1"].as_f64().unwrap().is_finite(),
        "{critic}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `dsac.critic = "cvar-regression"`: it needs the nested CVaR with the future at its mean, a
/// run trains and evaluates, and its critic report sets the heads beside the one-step targets
/// (no atoms), with its bound at the VaR alone or also at the mean (`dsac.cvar_thresholds`,
/// for this critic only) and with the next state valued at the deterministic action
/// (`dsac.nested_next_action`, for nested targets only), and with 5-step targets
/// (`dsac.n_step`, not with the static CVaR). `uniform_action_probability` is a probability.
#[test]
fn a_cvar_regression_critic_needs_the_mean_continuation_and_reports_its_heads() {
    let dir = common::scratch_dir("risky-configs", "cvar-regression");
    let regression = ["dsac.critic=\"cvar-regression\""];
    let nested = ["dsac.nested_risk=true", "dsac.nested_continuation=\"mean\""];
    let with = |extra: &[&'static str]| [&regression[..], extra].concat();
    let nested_with = |extra: &'static str| [&regression[..], &nested[..], &[extra]].concat();
    for (sets, named) in [
        (with(&[]), "dsac.nested_risk = true"),
        (with(&["dsac.nested_risk=true"]), "dsac.nested_continuation"),
        (nested_with("dsac.objective=\"mean\""), "cvar:BETA"),
        (nested_with("dsac.tail_atoms=30"), "dsac.tail_atoms"),
        (vec!["dsac.critic=\"expectile\""], "cvar-regression"),
        (
            vec!["dsac.cvar_thresholds=\"var-and-mean\""],
            "dsac.cvar_thresholds",
        ),
        (
            nested_with("dsac.cvar_thresholds=\"median\""),
            "var-and-mean",
        ),
        (
            vec!["dsac.nested_next_action=\"deterministic\""],
            "dsac.nested_next_action",
        ),
        (
            nested_with("dsac.nested_next_action=\"greedy\""),
            "deterministic",
        ),
        (
            vec!["dsac.uniform_action_probability=1.5"],
            "dsac.uniform_action_probability",
        ),
        (vec!["dsac.n_step=0"], "dsac.n_step"),
        (
            vec![
                "dsac.n_step=4",
                "dsac.static_cvar=true",
                "dsac.budget_range=[-45, 5]",
            ],
            "dsac.n_step",
        ),
    ] {
        let output = train_briefly("dsac-cvar-risky-car", &dir, &sets);
        assert_eq!(output.status.code(), Some(2), "{sets:?}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains(named), "{sets:?}: {message}");
    }

    for variant in [
        "dsac.cvar_thresholds=\"var\"",
        "dsac.cvar_thresholds=\"var-and-mean\"",
        "dsac.nested_next_action=\"deterministic\"",
        "dsac.n_step=5",
    ] {
        let sets = [
            &regression[..],
            &nested[..],
            &["dsac.uniform_action_probability=0.3", variant],
        ]
        .concat();
        succeeded(train_briefly("dsac-cvar-risky-car", &dir, &sets));
        let critic = check_cvar_regression_run(&dir);
        let steps = if variant == "dsac.n_step=5" { 5 } else { 1 };
        assert_eq!(critic["target_steps"], steps, "{variant}: {critic}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A CVaR-regression run's eval reports its heads beside the one-step (or n-step) targets, in
/// JSON and text; returns the JSON critic report.
fn check_cvar_regression_run(dir: &Path) -> serde_json::Value {
    let run = dir.to_str().unwrap();
    let args = [
        "eval",
        "--run",
        run,
        "--episodes",
        "5",
        "--json",
        "--critic-report",
    ];
    let report: serde_json::Value = serde_json::from_slice(&ordergrad(&args).stdout).unwrap();
    assert!(report["mean"].as_f64().unwrap().is_finite(), "{report}");
    let critic = &report["critic"];
    check_heads_report(critic, "cvar-regression");
    let scan = &critic["action_scans"][0];
    assert_eq!(
        critic_numbers(scan, "critic_cvars_0.1").len(),
        9,
        "{critic}"
    );
    // The text report says there are no atoms instead of printing empty lines.
    let text = ordergrad(&["eval", "--run", run, "--episodes", "3", "--critic-report"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("a CVaR-regression critic") && !text.contains("critic atoms"),
        "{text}"
    );
    critic.clone()
}

#[test]
fn a_risk_schedule_anneals_the_cvar_level_from_1_and_needs_a_cvar_objective() {
    let dir = common::scratch_dir("risky-configs", "schedule");
    let train = |extra: &[&str]| train_briefly("dsac-cvar-risky-crossing", &dir, extra);
    let output = train(&["dsac.risk_schedule_steps=200", "dsac.objective=mean"]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("dsac.risk_schedule_steps"), "{message}");

    succeeded(train(&["dsac.risk_schedule_steps=200"]));
    let levels: Vec<(u64, f64)> = metric_records(&dir)
        .into_iter()
        .filter(|record| record["tag"] == "losses/cvar_level")
        .map(|record| {
            (
                record["step"].as_u64().unwrap(),
                record["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(!levels.is_empty(), "the level is logged while it anneals");
    for (step, level) in levels {
        let expected = if step < 200 {
            1.0 - 0.9 * step as f64 / 200.0
        } else {
            0.1
        };
        assert!(
            (level - expected).abs() < 1e-9,
            "step {step}: level {level}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_static_cvar_run_evaluates_from_the_budget_its_critic_chooses_and_bad_settings_exit_2() {
    let dir = common::scratch_dir("risky-configs", "static-cvar");
    let train = |extra: &[&str]| {
        train_briefly(
            "dsac-mean-risky-crossing",
            &dir,
            &[&["dsac.static_cvar=true"][..], extra].concat(),
        )
    };
    for (extra, key) in [
        (&[][..], "dsac.static_cvar"),
        (
            &["dsac.objective=\"cvar:0.1\"", "dsac.budget_range=[5, -5]"][..],
            "dsac.budget_range",
        ),
        (
            &[
                "dsac.objective=\"cvar:0.1\"",
                "dsac.risk_schedule_steps=100",
            ][..],
            "dsac.static_cvar",
        ),
    ] {
        let output = train(extra);
        assert_eq!(output.status.code(), Some(2), "{extra:?}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains(key), "{extra:?}: {message}");
    }

    succeeded(train(&[
        "dsac.objective=\"cvar:0.1\"",
        "dsac.budget_range=[-45, 5]",
    ]));
    let args = [
        "eval",
        "--run",
        dir.to_str().unwrap(),
        "--episodes",
        "5",
        "--json",
        "--critic-report",
    ];
    let output = ordergrad(&args);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let critic = &report["critic"];
    let budget = critic["start_budget"].as_f64().unwrap();
    assert!((-45.0..=5.0).contains(&budget), "{budget}");
    // The start observation is the task's (0.1, 0.1) and the chosen budget.
    let start: Vec<f64> = critic["start"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(start.len(), 3);
    assert!((start[2] - budget).abs() < 1e-4, "{start:?} vs {budget}");
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("static CVaR"), "{message}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exploring_starts_keep_their_episodes_out_of_the_episodic_charts_and_refuse_ppo() {
    let dir = common::scratch_dir("risky-configs", "exploring");
    let run = |config: &str, extra: &[&str]| {
        train_shipped(
            config,
            &dir,
            &[&["exploring_starts=true"][..], extra].concat(),
        )
    };
    let output = run("ppo-mean-risky-crossing", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("exploring_starts"));

    succeeded(run(
        "dsac-mean-risky-crossing",
        &["total_steps=600", "dsac.learning_starts=600"],
    ));
    let records = metric_records(&dir);
    let count = |tag: &str| records.iter().filter(|record| record["tag"] == tag).count();
    // 600 random steps make more than 12 episodes of at most 50 steps; about half start away.
    let (fixed, exploring) = (
        count("charts/episodic_return"),
        count("charts/exploring_start_return"),
    );
    assert!(
        fixed > 0 && exploring > 0,
        "{fixed} fixed, {exploring} exploring"
    );
    assert_eq!(count("charts/episodic_penalty_events"), fixed);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Shaped PPO ranks each episode by its raw return plus Phi(s_T) - Phi(s_0), while the
/// training log keeps the raw returns. With one env the groups are the logged episodes in
/// order, so each group's ranked mean less the mean of its logged returns is its mean shaping:
/// 0 without shaping; with it, on the crossing (Phi = -10 |p - goal|, Phi(s_0) = -8), +8 for an
/// episode that reaches the goal and between 8 - 10 * 1.28 and 8 for one cut by the time limit.
#[test]
fn shaped_ppo_ranks_episodes_by_their_telescoped_shaping_and_logs_raw_returns() {
    let dir = common::scratch_dir("risky-configs", "shaped-ppo");
    let mean_shaping = |shaping: &str| {
        let run = dir.join(shaping);
        let shaping = format!("shaping={shaping}");
        let sets = [
            "total_steps=1600",
            "ppo.num_envs=1",
            "ppo.group_size=4",
            "ppo.k=2",
            "ppo.groups_per_update=1",
            &shaping,
        ];
        succeeded(train_shipped("ppo-cvar-risky-crossing", &run, &sets));
        let records = metric_records(&run);
        let values = |tag: &str| -> Vec<f64> {
            records
                .iter()
                .filter(|record| record["tag"] == tag)
                .map(|record| record["value"].as_f64().unwrap())
                .collect()
        };
        let returns = values("charts/episodic_return");
        assert!(
            returns.iter().all(|value| value.fract() == 0.0),
            "the crossing's raw returns are whole numbers: {returns:?}"
        );
        let groups = values("ordergrad/group_mean_return");
        assert!(!groups.is_empty());
        groups
            .iter()
            .zip(returns.chunks(4))
            .map(|(ranked, logged)| ranked - logged.iter().sum::<f64>() / 4.0)
            .collect::<Vec<f64>>()
    };
    for shaping in mean_shaping("false") {
        assert!(
            shaping.abs() < 1e-9,
            "unshaped groups rank raw returns: {shaping}"
        );
    }
    for shaping in mean_shaping("true") {
        assert!(
            shaping != 0.0 && (8.0 - 10.0 * 1.28..=8.0 + 1e-9).contains(&shaping),
            "mean shaping of a group: {shaping}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `dsac.target_entropy` (and `sac.target_entropy`): a run with one trains and keeps it in its
/// config; one the action box cannot reach, or one without autotune, is refused with exit 2.
#[test]
fn a_target_entropy_is_kept_and_an_unreachable_one_is_refused() {
    let dir = common::scratch_dir("risky-configs", "target-entropy");
    // RiskyCar-v0's action box is [-1, 1]: no policy has more entropy than ln 2.
    for (sets, named) in [
        (&["dsac.target_entropy=0.7"][..], "0.6931"),
        (
            &["dsac.target_entropy=-3", "dsac.autotune=false"][..],
            "dsac.autotune",
        ),
    ] {
        let output = train_briefly("dsac-mean-risky-car", &dir, sets);
        assert_eq!(output.status.code(), Some(2), "{sets:?}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(
            message.contains("dsac.target_entropy"),
            "{sets:?}: {message}"
        );
        assert!(message.contains(named), "{sets:?}: {message}");
    }
    let sac = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/sac-pendulum.toml");
    let output = ordergrad_output(&[
        "train",
        "--config",
        sac.to_str().unwrap(),
        "--run-dir",
        dir.to_str().unwrap(),
        "--set",
        "sac.target_entropy=1.5",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("1.3863"));

    succeeded(train_briefly(
        "dsac-mean-risky-car",
        &dir,
        &["dsac.target_entropy=-3.5"],
    ));
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(config.contains("target_entropy = -3.5"), "{config}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The scalars a run logged (`run_files::logged_metrics`), by step and tag; values of the same
/// step and tag in a total order, so that a NaN sorts instead of panicking.
fn logged_by_step(run: &Path) -> Vec<(u64, String, Option<f64>)> {
    let mut values = run_files::logged_metrics(run);
    values.sort_by(|a, b| {
        (a.0, &a.1)
            .cmp(&(b.0, &b.1))
            .then_with(|| match (a.2, b.2) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (x, y) => x.is_some().cmp(&y.is_some()),
            })
    });
    values
}

/// Resumed from its first checkpoint, a run with a risk schedule and 5-step targets logs what
/// the uninterrupted run logged: its critic's first update after the resume uses the
/// schedule's level where the uninterrupted run had it (a resume once restarted the schedule
/// at level 1 for that update), and no target window is open at a checkpoint.
#[test]
fn a_risk_schedule_run_with_n_step_targets_resumes_exactly() {
    let straight = common::scratch_dir("risky-configs", "resume-straight");
    let resumed = common::scratch_dir("risky-configs", "resume-cut");
    let sets = [
        "dsac.risk_schedule_steps=250",
        "dsac.n_step=5",
        "checkpoint.every=130",
    ];
    let name = "dsac-cvar-regression-risky-crossing";
    succeeded(train_briefly(name, &straight, &sets));
    succeeded(train_briefly(name, &resumed, &sets));
    let first = *run_files::complete_steps(&resumed)
        .first()
        .expect("a checkpoint before the end");
    assert!(
        (101..250).contains(&first),
        "the resume must fall inside the schedule, after learning starts: {first}"
    );
    ordergrad(&[
        "train",
        "--resume",
        resumed.to_str().unwrap(),
        "--checkpoint",
        &first.to_string(),
    ]);
    assert_eq!(logged_by_step(&resumed), logged_by_step(&straight));
    for dir in [straight, resumed] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}
