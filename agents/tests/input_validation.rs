//! The fuzzing findings of issue #20, each through the real binary: every one is refused with
//! exit code 2 and a message that names the key or flag, instead of a panic, an allocation abort,
//! an hour of work or a silently accepted value.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

fn config(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../configs")
        .join(name)
        .display()
        .to_string()
}

/// Runs `ordergrad args`, with `stdin` as standard input, under a fixed memory limit (so that
/// the messages do not depend on the machine).
fn ordergrad(args: &[&str], stdin: &str, dir: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ordergrad"))
        .args(args)
        .env("ORDERGRAD_MAX_MEMORY_GIB", "16")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// Asserts exit code 2 and that stderr holds every one of `expected`.
fn refused(args: &[&str], expected: &[&str]) {
    // One folder per call: the tests run in parallel.
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = common::scratch_dir("input-validation", &format!("refused-{call}"));
    let output = ordergrad(args, "", &dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    for text in expected {
        assert!(
            stderr.contains(text),
            "{args:?}: expected {text:?} in {stderr}"
        );
    }
    assert!(
        !dir.join("run").exists(),
        "{args:?}: a refused run leaves no run directory"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn train(config_name: &str, sets: &[&str]) -> Vec<String> {
    let mut args = vec![
        "train".to_string(),
        "--config".into(),
        config(config_name),
        "--run-dir".into(),
        "run".into(),
    ];
    for set in sets {
        args.push("--set".into());
        args.push(set.to_string());
    }
    args
}

fn refused_train(config_name: &str, sets: &[&str], expected: &[&str]) {
    let args = train(config_name, sets);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(&args, expected);
}

#[test]
fn non_finite_durations_and_coefficients_are_refused() {
    for value in ["inf", "1e300"] {
        refused_train(
            "sac-pendulum.toml",
            &[&format!("logging.flush_secs={value}")],
            &["logging.flush_secs", "(0, 3600]"],
        );
    }
    refused_train(
        "sac-pendulum.toml",
        &["sac.alpha=inf"],
        &["sac.alpha", "finite"],
    );
    refused_train(
        "remac-pendulum.toml",
        &["remac.actor_adam_epsilon=inf"],
        &["remac.actor_adam_epsilon", "finite"],
    );
    for bounds in ["[2.0, -5.0]", "[-5.0, 100.0]", "[-5.0, nan]", "[-5.0]"] {
        refused_train(
            "sac-pendulum.toml",
            &[&format!("sac.log_std_bounds={bounds}")],
            &["sac.log_std_bounds"],
        );
    }
    refused_train(
        "dsac-cvar-risky-car.toml",
        &["dsac.activation=\"sigmoid\""],
        &["dsac.activation", "relu", "tanh"],
    );
}

#[test]
fn absurd_sizes_are_refused_with_the_memory_they_need() {
    for (config_name, set, key) in [
        (
            "sac-pendulum.toml",
            "sac.hidden_size=9223372036854775807",
            "sac.hidden_size",
        ),
        (
            "sac-pendulum.toml",
            "sac.hidden_size=70000",
            "sac.hidden_size",
        ),
        (
            "sac-pendulum.toml",
            "sac.batch_size=100000000",
            "sac.batch_size",
        ),
        (
            "dsac-cvar-risky-pendulum.toml",
            "dsac.batch_size=100000000",
            "dsac.batch_size",
        ),
        (
            "remac-pendulum.toml",
            "remac.num_action_samples=1000000",
            "remac.num_action_samples",
        ),
    ] {
        refused_train(
            config_name,
            &[set],
            &[
                key,
                "needs about",
                "at most 16.0 GiB",
                "ORDERGRAD_MAX_MEMORY_GIB",
            ],
        );
    }
    // A quantile critic's memory grows only linearly in its atoms (the one-pass loss); absurd
    // atom counts meet the rank weights' work limit first.
    refused_train(
        "dsac-cvar-risky-pendulum.toml",
        &["dsac.num_quantiles=100000"],
        &["dsac.num_quantiles = 100000", "binomial terms", "at most"],
    );
    refused(
        &[
            "weights",
            "--objective",
            "max",
            "--n",
            "1000000000",
            "--k",
            "3",
        ],
        &["--n 1000000000", "GiB"],
    );
    refused(
        &[
            "weights",
            "--objective",
            "mean",
            "--n",
            "100000",
            "--k",
            "99999",
        ],
        &["--n 100000", "binomial terms"],
    );
}

#[test]
fn a_sparse_objective_at_a_large_k_answers_at_once() {
    let dir = common::scratch_dir("input-validation", "median");
    let start = std::time::Instant::now();
    let output = ordergrad(
        &[
            "weights",
            "--objective",
            "median",
            "--n",
            "1000000",
            "--k",
            "999999",
        ],
        "",
        &dir,
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    assert!(output.stdout.starts_with(b"{\"objective\":\"median\""));
}

#[test]
fn keys_of_another_agent_are_refused_naming_the_agent_in_use() {
    refused_train(
        "sac-pendulum.toml",
        &["agent=ppo"],
        &["sac.", "agent = \"ppo\""],
    );
    refused_train(
        "sac-pendulum.toml",
        &["remac.k=2"],
        &["remac.k", "agent = \"sac\""],
    );
}

#[test]
fn a_seed_out_of_range_says_the_range() {
    let mut args = train("sac-pendulum.toml", &[]);
    args.extend(["--seed".into(), "18446744073709551615".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(&args, &["--seed", "0..=9223372036854775807"]);
    refused_train(
        "sac-pendulum.toml",
        &["seed=18446744073709551615"],
        &["seed", "9223372036854775807"],
    );
}

#[test]
fn rollout_takes_inline_actions_and_refuses_states_outside_the_env() {
    let dir = common::scratch_dir("input-validation", "rollout");
    let output = ordergrad(
        &[
            "rollout",
            "--env",
            "Pendulum-v1",
            "--actions",
            "[[0.5]]",
            "--seed",
            "1",
        ],
        "",
        &dir,
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(output.stdout.starts_with(b"{\"observations\":"));
    let from_stdin = ordergrad(
        &[
            "rollout",
            "--env",
            "Pendulum-v1",
            "--actions",
            "-",
            "--seed",
            "1",
        ],
        "[[0.5]]",
        &dir,
    );
    assert_eq!(from_stdin.stdout, output.stdout);

    refused(
        &[
            "rollout",
            "--env",
            "Pendulum-v1",
            "--actions",
            "missing.json",
        ],
        &["missing.json", "inline"],
    );
    refused(
        &[
            "rollout",
            "--env",
            "MountainCarContinuous-v0",
            "--actions",
            "[[0.5]]",
            "--init-state",
            r#"{"state":[1e308,0]}"#,
        ],
        &["state[0]", "outside the env's range [-1.2, 0.6]"],
    );
}
