//! `ordergrad train / eval / rollout` as a user runs them: resume equals an uninterrupted run,
//! logs carry CleanRL's tags, eval reports the return distribution, bad input exits with 2.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use agents::checkpoint::load_record;
use agents::common::nets::{Activation, GaussianActor, NetStyle, TwinQ};
use burn::backend::Flex;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;

fn ordergrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordergrad"))
        .args(args)
        .output()
        .expect("the ordergrad binary starts")
}

fn succeed(args: &[&str]) -> Output {
    let output = ordergrad(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

const HIDDEN: usize = 16;

/// Atoms of distributional SAC's critics in the tests' configs (its default).
const DSAC_ATOMS: usize = 25;

/// The critics' outputs of `agent`.
fn critic_outputs(agent: &str) -> usize {
    if agent == "dsac" { DSAC_ATOMS } else { 1 }
}

/// A small, fast experiment: tiny networks, 200-step Pendulum episodes (the risky variant for
/// distributional SAC), checkpoints every 200.
fn write_config(dir: &Path, agent: &str) -> PathBuf {
    write_styled_config(dir, agent, "")
}

/// The ReMAC paper's network style: tanh layers, the log-std clamped into [-10, 2], observations
/// normalised by running statistics.
const PAPER_STYLE: &str = "activation = \"tanh\"\nlog_std_bounds = [-10.0, 2.0]\n\
                           log_std_squash = \"clip\"\nnormalize_observation = true\n";

/// [`write_config`] with `style` (lines of the agent's table) added.
fn write_styled_config(dir: &Path, agent: &str, style: &str) -> PathBuf {
    let suffix = if style.is_empty() { "" } else { "-styled" };
    let path = dir.join(format!("{agent}{suffix}.toml"));
    let env = if agent == "dsac" {
        "RiskyPendulum-v1"
    } else {
        "Pendulum-v1"
    };
    let text = format!(
        "agent = \"{agent}\"\nenv = \"{env}\"\ntotal_steps = 600\nseed = 3\n\
         [{agent}]\nlearning_starts = 100\nbatch_size = 16\nhidden_size = {HIDDEN}\nbuffer_size = 10000\n\
         {style}[checkpoint]\nevery = 200\n[logging]\nprogress = false\nlog_every = 50\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[derive(Default)]
struct ParameterValues(Vec<f32>);

impl<B: Backend> ModuleVisitor<B> for ParameterValues {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.extend(
            param
                .val()
                .into_data()
                .convert::<f32>()
                .into_vec::<f32>()
                .unwrap(),
        );
    }
}

fn values(module: &impl Module<Flex>) -> Vec<f32> {
    let mut visitor = ParameterValues::default();
    module.visit(&mut visitor);
    visitor.0
}

/// Every network parameter of the checkpoint at `step`: actor, critics, target critics.
fn checkpoint_parameters(run_dir: &Path, step: u64, critic_outputs: usize) -> Vec<Vec<f32>> {
    let dir = run_dir.join(format!("checkpoints/step_{step:012}"));
    assert!(
        dir.join("COMPLETE").exists(),
        "{} is complete",
        dir.display()
    );
    let device = Default::default();
    let actor = GaussianActor::<Flex>::new(3, 1, HIDDEN, NetStyle::default(), &device)
        .load_record(load_record(&dir, "actor", &device).unwrap());
    let critics = TwinQ::<Flex>::new(3, 1, HIDDEN, critic_outputs, Activation::Relu, &device)
        .load_record(load_record(&dir, "critics", &device).unwrap());
    let targets = TwinQ::<Flex>::new(3, 1, HIDDEN, critic_outputs, Activation::Relu, &device)
        .load_record(load_record(&dir, "critic_targets", &device).unwrap());
    vec![values(&actor), values(&critics), values(&targets)]
}

#[test]
fn a_stopped_and_resumed_run_ends_with_the_parameters_of_a_straight_run() {
    for (agent, style) in [
        ("sac", ""),
        ("remac", ""),
        ("dsac", ""),
        ("sac", PAPER_STYLE),
    ] {
        let outputs = critic_outputs(agent);
        let styled = if style.is_empty() { "" } else { "-styled" };
        let dir = common::scratch_dir("test", &format!("resume-{agent}{styled}"));
        let config = write_styled_config(&dir, agent, style);
        let config = config.to_str().unwrap();
        let straight = dir.join("straight");
        let resumed = dir.join("resumed");
        succeed(&[
            "train",
            "--config",
            config,
            "--run-dir",
            straight.to_str().unwrap(),
        ]);
        succeed(&[
            "train",
            "--config",
            config,
            "--total-steps",
            "400",
            "--run-dir",
            resumed.to_str().unwrap(),
        ]);
        // Only the risky env reports penalty events, and then each episode logs its count.
        let metrics = std::fs::read_to_string(straight.join("metrics.jsonl")).unwrap();
        assert_eq!(
            metrics.matches("charts/episodic_penalty_events").count(),
            if agent == "dsac" { 3 } else { 0 },
            "{agent}"
        );
        let halfway = checkpoint_parameters(&resumed, 400, outputs);
        succeed(&[
            "train",
            "--resume",
            resumed.to_str().unwrap(),
            "--total-steps",
            "600",
        ]);

        let expected = checkpoint_parameters(&straight, 600, outputs);
        let actual = checkpoint_parameters(&resumed, 600, outputs);
        for (part, (before, after)) in ["actor", "critics", "critic targets"]
            .iter()
            .zip(halfway.iter().zip(&actual))
        {
            // Also guards against detached critics (Burn's lazy-init trap) freezing them.
            assert_ne!(
                before, after,
                "{agent}: training after the resume changed the {part}"
            );
        }
        for (part, (e, a)) in ["actor", "critics", "critic targets"]
            .iter()
            .zip(expected.iter().zip(&actual))
        {
            assert_eq!(
                e, a,
                "{agent}: {part} differ between the straight and the resumed run"
            );
        }
        let state = |run: &Path| {
            std::fs::read_to_string(run.join("checkpoints/step_000000000600/state.json")).unwrap()
        };
        assert_eq!(
            state(&straight),
            state(&resumed),
            "{agent}: counters and RNG position"
        );
        let statistics = |run: &Path| {
            std::fs::read_to_string(
                run.join("checkpoints/step_000000000600/observation_statistics.json"),
            )
            .ok()
        };
        assert_eq!(
            statistics(&straight),
            statistics(&resumed),
            "{agent}{styled}"
        );
        if let Some(text) = statistics(&straight) {
            // Every observation the run collected: 600 steps' and 3 resets'.
            let statistics: serde_json::Value = serde_json::from_str(&text).unwrap();
            let count = statistics["count"].as_f64().unwrap();
            assert!((count - 603.0).abs() < 1e-3, "{count}");
        } else {
            assert!(style.is_empty(), "a normalising run keeps its statistics");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn training_logs_cleanrl_tags_and_eval_reports_the_return_distribution() {
    let dir = common::scratch_dir("test", "logs");
    let config = write_config(&dir, "sac");
    let run = dir.join("run");
    succeed(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ]);

    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let tags: std::collections::BTreeSet<String> = metrics
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["tag"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for tag in [
        "charts/episodic_return",
        "charts/episodic_length",
        "charts/SPS",
        "charts/entropy",
        "losses/qf1_loss",
        "losses/qf2_loss",
        "losses/qf1_values",
        "losses/qf2_values",
        "losses/actor_loss",
        "losses/alpha",
        "losses/alpha_loss",
    ] {
        assert!(tags.contains(tag), "metrics lack {tag}: {tags:?}");
    }
    let events = std::fs::read_dir(&run)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .any(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("events.out.tfevents")
        });
    assert!(events, "a TensorBoard event file is written");
    let resolved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(resolved.contains("learning_starts = 100"), "{resolved}");

    let output = succeed(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--episodes",
        "4",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["episodes"], 4);
    let returns: Vec<f64> = report["returns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_f64().unwrap())
        .collect();
    assert_eq!(returns.len(), 4);
    let min = returns.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(report["min"].as_f64().unwrap(), min);
    // CVaR_0.1 of 4 returns weights the worst one only; CVaR_0.25 is the worst one exactly.
    assert!((report["cvar_0.1"].as_f64().unwrap() - min).abs() < 1e-9);
    assert!((report["cvar_0.25"].as_f64().unwrap() - min).abs() < 1e-9);
    assert!((report["cvar_0.05"].as_f64().unwrap() - min).abs() < 1e-9);
    for key in ["mean", "std", "max", "median"] {
        assert!(report[key].is_f64(), "{key}");
    }
    // Lower empirical quantiles: the ceil(q * 4)-th smallest of the 4 returns.
    let mut sorted = returns.clone();
    sorted.sort_by(f64::total_cmp);
    for (level, rank) in [
        ("0.05", 1),
        ("0.25", 1),
        ("0.5", 2),
        ("0.75", 3),
        ("0.95", 4),
    ] {
        assert_eq!(
            report["quantiles"][level].as_f64().unwrap(),
            sorted[rank - 1],
            "{level}"
        );
    }
    // Pendulum-v1 has no stochastic penalty.
    assert!(report["penalty_events"].is_null());
    assert!(report["penalty_event_rate"].is_null());
    // Nor reward terms in its info (the MuJoCo v5 envs report them).
    assert_eq!(report["reward_terms_per_episode"], serde_json::json!({}));
    let again = succeed(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--episodes",
        "4",
        "--json",
    ]);
    assert_eq!(
        output.stdout, again.stdout,
        "deterministic evaluation is reproducible"
    );
    // From one fixed state, a deterministic policy on a deterministic env repeats its episode.
    let fixed = succeed(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--episodes",
        "3",
        "--init-state",
        r#"{"state": [3.14159, 0.0]}"#,
        "--json",
    ]);
    let fixed: serde_json::Value = serde_json::from_slice(&fixed.stdout).unwrap();
    let fixed_returns = fixed["returns"].as_array().unwrap();
    assert!(
        fixed_returns.iter().all(|r| r == &fixed_returns[0]),
        "{fixed}"
    );
    assert_ne!(
        fixed_returns[0].as_f64().unwrap(),
        returns[0],
        "the start was injected"
    );
    let bad = ordergrad(&["eval", "--run", run.to_str().unwrap(), "--init-state", "{"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--init-state"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_exits_with_code_2_and_names_the_problem() {
    let dir = common::scratch_dir("test", "bad-input");
    let config = write_config(&dir, "sac");
    let config = config.to_str().unwrap();
    let remac = write_config(&dir, "remac");
    let remac = remac.to_str().unwrap();
    let empty_run = dir.join("empty");
    std::fs::create_dir_all(&empty_run).unwrap();
    std::fs::copy(config, empty_run.join("config.toml")).unwrap();
    let actions = dir.join("actions.json");
    std::fs::write(&actions, "[[0.5], [1.0]]").unwrap();
    let actions = actions.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["train", "--config", config, "--set", "sac.learnin_starts=5"],
            "sac.learnin_starts",
        ),
        (
            vec!["train", "--config", config, "--set", "sac.gamma=2"],
            "sac.gamma",
        ),
        (
            vec!["train", "--config", config, "--set", "env=Pendulum-v2"],
            "Pendulum-v1",
        ),
        (
            vec!["train", "--config", config, "--set", "device=cuda"],
            "device 'cuda'",
        ),
        (
            vec!["train", "--config", remac, "--set", "remac.k=9"],
            "remac.k",
        ),
        (
            // The [sac] table would be silently dropped.
            vec!["train", "--config", config, "--set", "agent=remac"],
            "has no effect: agent = \"remac\"",
        ),
        (
            vec!["train", "--config", "/nonexistent/config.toml"],
            "cannot read config file",
        ),
        (
            vec!["train", "--resume", empty_run.to_str().unwrap()],
            "no complete checkpoint",
        ),
        (
            vec!["eval", "--run", empty_run.to_str().unwrap()],
            "no complete checkpoint",
        ),
        (
            vec!["rollout", "--env", "Pendulum-v0", "--actions", actions],
            "Pendulum-v1",
        ),
        (
            vec![
                "rollout",
                "--env",
                "Pendulum-v1",
                "--actions",
                "/nonexistent.json",
            ],
            "cannot read",
        ),
    ];
    for (args, message) in cases {
        let output = ordergrad(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "{args:?} should mention '{message}': {stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rollout_prints_the_reset_observation_first() {
    let dir = common::scratch_dir("test", "rollout");
    let actions = dir.join("actions.json");
    std::fs::write(&actions, "[[0.5], [-2.0], [1.0]]").unwrap();
    let output = succeed(&[
        "rollout",
        "--env",
        "Pendulum-v1",
        "--actions",
        actions.to_str().unwrap(),
        "--init-state",
        "{\"state\": [0.0, 0.0]}",
    ]);
    let rollout: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rollout["observations"].as_array().unwrap().len(), 4);
    assert_eq!(rollout["rewards"].as_array().unwrap().len(), 3);
    assert_eq!(
        rollout["observations"][0],
        serde_json::json!([1.0, 0.0, 0.0])
    );
    assert_eq!(
        rollout["terminated"],
        serde_json::json!([false, false, false])
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
