//! Fuzzing the `ordergrad` binary's input paths: configs with `--set` overrides, CLI flags,
//! sweep plans (`--dry-run`), objectives, rewards, actions and initial states, drawn from a seeded generator that favours
//! the values that broke it before (inf, nan, -0, huge integers, empty and mistyped values,
//! unknown keys). Every case must exit 0 (accepted and run) or 2 (refused with a message) within
//! a time bound: a panic, an allocation abort or an endless run fails the test.
//!
//! `ORDERGRAD_FUZZ_CASES` (default 500) sets the number of cases, `ORDERGRAD_FUZZ_SEED` the seed;
//! see docs/testing.md.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DEFAULT_CASES: usize = 500;
const DEFAULT_SEED: u64 = 20;
/// Longer than any accepted case takes (they train for at most 40 steps), far shorter than the
/// hour the slowest finding ran.
const TIME_BOUND: Duration = Duration::from_secs(20);
/// Accepted configs stay small, so that what passes validation also runs fast.
const MEMORY_LIMIT_GIB: &str = "2";

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name} = {text:?} is not a number")),
        Err(_) => default,
    }
}

/// Values that broke, or could break, a parser or an allocation.
const NASTY_VALUES: &[&str] = &[
    "inf",
    "-inf",
    "+inf",
    "nan",
    "-nan",
    "-0",
    "-0.0",
    "0",
    "0.0",
    "1",
    "-1",
    "1e300",
    "-1e300",
    "1e-300",
    "1e39",
    "1e-40",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "99999999999999999999999",
    "100000000",
    "1000000000000",
    "",
    "\"\"",
    "\"abc\"",
    "abc",
    "true",
    "[1, 2]",
    "{ a = 1 }",
    "1979-05-27",
    "mean",
    "max",
    "median",
    "top:2",
    "cvar:0.1",
    "cvar:2",
    "custom:1,0",
    "custom:",
    "trim:18446744073709551615",
    "top:99999999999",
];

/// Every key of every table, a few top-level ones, and keys that do not exist.
const KEYS: &[&str] = &[
    "agent",
    "env",
    "total_steps",
    "seed",
    "device",
    "logging.log_every",
    "logging.flush_secs",
    "logging.progress",
    "checkpoint.every",
    "checkpoint.save_replay_buffer",
    "sac.buffer_size",
    "sac.batch_size",
    "sac.gamma",
    "sac.tau",
    "sac.learning_starts",
    "sac.policy_lr",
    "sac.q_lr",
    "sac.policy_frequency",
    "sac.target_network_frequency",
    "sac.alpha",
    "sac.autotune",
    "sac.hidden_size",
    "dsac.objective",
    "dsac.num_quantiles",
    "dsac.huber_kappa",
    "dsac.batch_size",
    "dsac.learning_starts",
    "dsac.alpha",
    "dsac.hidden_size",
    "remac.objective",
    "remac.k",
    "remac.num_action_samples",
    "remac.actor_adam_epsilon",
    "remac.soft_critic",
    "remac.critic_alpha",
    "remac.batch_size",
    "remac.learning_starts",
    "remac.hidden_size",
    "ppo.num_envs",
    "ppo.num_steps",
    "ppo.learning_rate",
    "ppo.gamma",
    "ppo.gae_lambda",
    "ppo.num_minibatches",
    "ppo.update_epochs",
    "ppo.clip_coef",
    "ppo.ent_coef",
    "ppo.max_grad_norm",
    "ppo.target_kl",
    "ppo.adam_epsilon",
    "ppo.hidden_size",
    "ppo.clip_observation",
    "ppo.clip_reward",
    "ppo.objective",
    "ppo.k",
    "ppo.group_size",
    "ppo.groups_per_update",
    "ppo.use_sde",
    "ppo.sde_sample_freq",
    "ppo.log_std_init",
    "ppo.shared_normalization",
    "sac.nonexistent",
    "nonexistent",
    "sac",
    "sac.batch_size.x",
    ".",
    "",
];

const CONFIGS: &[&str] = &[
    "sac-pendulum.toml",
    "dsac-cvar-risky-pendulum.toml",
    "dsac-mean-risky-pendulum.toml",
    "ppo-pendulum.toml",
    "ppo-cvar-pendulum.toml",
    "remac-pendulum.toml",
    "sac-risky-pendulum.toml",
    "sac-halfcheetah.toml",
];

const ENVS: &[&str] = &[
    "Pendulum-v1",
    "MountainCarContinuous-v0",
    "RiskyPendulum-v1",
    "HalfCheetah-v5",
    "CartPole-v1",
    "",
];

/// A value: mostly nasty, sometimes an ordinary small number or objective (so that some cases
/// pass validation and run).
fn value(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..10) {
        0..=4 => NASTY_VALUES.choose(rng).unwrap().to_string(),
        5..=6 => rng.random_range(1..=64u32).to_string(),
        7 => format!("{:.4}", rng.random_range(0.0..1.0f64)),
        8 => format!("{:e}", rng.random_range(-1e3..1e3f64)),
        _ => objective(rng),
    }
}

fn objective(rng: &mut ChaCha8Rng) -> String {
    let count = || ["1", "2", "3", "0", "-1", "x", "18446744073709551615", ""];
    let level = [
        "0.1", "0.5", "1", "0", "1.5", "nan", "inf", "1e-300", "-0.2",
    ];
    match rng.random_range(0..12) {
        0 => "mean".into(),
        1 => "max".into(),
        2 => "min".into(),
        3 => "median".into(),
        4 => format!("top:{}", count().choose(rng).unwrap()),
        5 => format!("bottom:{}", count().choose(rng).unwrap()),
        6 => format!("trim:{}", count().choose(rng).unwrap()),
        7 => format!("cvar:{}", level.choose(rng).unwrap()),
        8 => format!("var:{}", level.choose(rng).unwrap()),
        9 => {
            let weights: Vec<String> = (0..rng.random_range(0..5))
                .map(|_| NASTY_VALUES.choose(rng).unwrap().to_string())
                .collect();
            format!("custom:{}", weights.join(","))
        }
        10 => NASTY_VALUES.choose(rng).unwrap().to_string(),
        _ => "maxx".into(),
    }
}

/// A size flag's value: small, zero, huge, negative or not a number.
fn size(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..8) {
        0..=3 => rng.random_range(1..=40u32).to_string(),
        4 => rng.random_range(41..=5000u32).to_string(),
        _ => [
            "0",
            "-1",
            "1000000",
            "1000000000",
            "18446744073709551615",
            "1e3",
            "x",
            "",
        ]
        .choose(rng)
        .unwrap()
        .to_string(),
    }
}

fn number(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..4) {
        0 => NASTY_VALUES.choose(rng).unwrap().to_string(),
        _ => format!("{:.3}", rng.random_range(-2.0..2.0f64)),
    }
}

fn json_number(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..6) {
        0 => [
            "1e308", "-1e308", "1e39", "NaN", "Infinity", "\"x\"", "null", "-0",
        ]
        .choose(rng)
        .unwrap()
        .to_string(),
        _ => format!("{:.3}", rng.random_range(-3.0..3.0f64)),
    }
}

fn json_array(rng: &mut ChaCha8Rng, len: usize) -> String {
    let items: Vec<String> = (0..len).map(|_| json_number(rng)).collect();
    format!("[{}]", items.join(", "))
}

fn actions(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..8) {
        0 => "-".into(),
        1 => "no-such-file.json".into(),
        2 => ["[", "{}", "[[]]", "[[1,2]]", "[\"a\"]", "[[0.5]] x", "[]"]
            .choose(rng)
            .unwrap()
            .to_string(),
        3 => format!("[{}]", json_number(rng)),
        _ => {
            let rows: Vec<String> = (0..rng.random_range(0..30))
                .map(|_| json_array(rng, 1))
                .collect();
            format!("[{}]", rows.join(", "))
        }
    }
}

fn init_state(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..6) {
        0 => format!("{{\"qpos\": {}}}", json_array(rng, 2)),
        1 => ["{", "[]", "{}", "null", "{\"state\": 1}"]
            .choose(rng)
            .unwrap()
            .to_string(),
        _ => {
            let len = [2, 2, 2, 1, 3].choose(rng).copied().unwrap();
            format!("{{\"state\": {}}}", json_array(rng, len))
        }
    }
}

/// One command line, and the text for its standard input.
struct Case {
    args: Vec<String>,
    stdin: String,
}

fn case(rng: &mut ChaCha8Rng, configs: &Path, run_dir: &Path) -> Case {
    let mut args: Vec<String> = Vec::new();
    let mut stdin = String::new();
    fn push_to(args: &mut Vec<String>, flag: &str, value: String) {
        args.push(flag.to_string());
        args.push(value);
    }
    match rng.random_range(0..22) {
        20 => {
            // Planning only: every point's config is checked, nothing trains.
            args.push("sweep".into());
            let name = CONFIGS.choose(rng).unwrap();
            push_to(
                &mut args,
                "--config",
                configs.join(name).display().to_string(),
            );
            let seeds = match rng.random_range(0..3) {
                0 => format!("{}-{}", size(rng), size(rng)),
                1 => format!("{},{}", size(rng), size(rng)),
                _ => size(rng),
            };
            push_to(&mut args, "--seeds", seeds);
            if rng.random_bool(0.5) {
                let key = KEYS.choose(rng).unwrap();
                push_to(
                    &mut args,
                    "--grid",
                    format!("{key}={},{}", value(rng), value(rng)),
                );
            }
            if rng.random_bool(0.5) {
                let key = KEYS.choose(rng).unwrap();
                push_to(&mut args, "--set", format!("{key}={}", value(rng)));
            }
            push_to(&mut args, "--episodes", size(rng));
            push_to(&mut args, "--out", run_dir.display().to_string());
            args.push("--dry-run".into());
        }
        21 => {
            args.push("eval".into());
            push_to(&mut args, "--run", run_dir.display().to_string());
            push_to(&mut args, "--episodes", size(rng));
            push_to(&mut args, "--seed", size(rng));
            if rng.random_bool(0.5) {
                push_to(&mut args, "--init-state", init_state(rng));
            }
        }
        0..=11 => {
            args.push("train".into());
            let name = CONFIGS.choose(rng).unwrap();
            push_to(
                &mut args,
                "--config",
                configs.join(name).display().to_string(),
            );
            push_to(&mut args, "--run-dir", run_dir.display().to_string());
            // Mostly keys the config's own agent reads, so that many cases get past the key
            // checks to the values.
            let table = name.split('-').next().unwrap();
            let own: Vec<&str> = KEYS
                .iter()
                .copied()
                .filter(|key| key.starts_with(&format!("{table}.")))
                .collect();
            for _ in 0..rng.random_range(0..=3) {
                let key = if rng.random_bool(0.7) {
                    own.choose(rng).unwrap()
                } else {
                    KEYS.choose(rng).unwrap()
                };
                let value = match *key {
                    "env" => ENVS.choose(rng).unwrap().to_string(),
                    "agent" => ["sac", "dsac", "remac", "ppo", "ppo2", "", "SAC"]
                        .choose(rng)
                        .unwrap()
                        .to_string(),
                    _ => value(rng),
                };
                push_to(&mut args, "--set", format!("{key}={value}"));
            }
            if rng.random_range(0..8) == 0 {
                push_to(&mut args, "--seed", size(rng));
            }
            push_to(&mut args, "--set", "logging.progress=false".into());
            // Last, so that no --set makes an accepted run long.
            push_to(
                &mut args,
                "--total-steps",
                rng.random_range(1..=40u32).to_string(),
            );
        }
        12..=14 => {
            args.push("weights".into());
            push_to(&mut args, "--objective", objective(rng));
            push_to(&mut args, "--n", size(rng));
            push_to(&mut args, "--k", size(rng));
        }
        15..=16 => {
            args.push("advantages".into());
            push_to(&mut args, "--objective", objective(rng));
            push_to(&mut args, "--k", size(rng));
            let rewards: Vec<String> = (0..rng.random_range(0..12)).map(|_| number(rng)).collect();
            if rng.random_bool(0.5) {
                push_to(&mut args, "--rewards", rewards.join(","));
            } else {
                stdin = format!("[{}]", rewards.join(", "));
            }
        }
        _ => {
            args.push("rollout".into());
            push_to(&mut args, "--env", ENVS.choose(rng).unwrap().to_string());
            let actions = actions(rng);
            if actions == "-" {
                stdin = format!("[{}]", json_array(rng, 1));
            }
            push_to(&mut args, "--actions", actions);
            if rng.random_bool(0.6) {
                push_to(&mut args, "--init-state", init_state(rng));
            }
            if rng.random_bool(0.3) {
                push_to(&mut args, "--seed", size(rng));
            }
        }
    }
    Case { args, stdin }
}

struct Outcome {
    /// The exit code, or None when killed by a signal or by the time bound.
    code: Option<i32>,
    elapsed: Duration,
    stderr: String,
}

fn run(case: &Case, scratch: &Path) -> Outcome {
    let stderr_path = scratch.join("stderr.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ordergrad"))
        .args(&case.args)
        .env("ORDERGRAD_MAX_MEMORY_GIB", MEMORY_LIMIT_GIB)
        .env("RAYON_NUM_THREADS", "1")
        .current_dir(scratch)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("the ordergrad binary starts");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        // A command that never reads its input closes the pipe: not a failure.
        let _ = input.write_all(case.stdin.as_bytes());
    }
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > TIME_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    Outcome {
        code,
        elapsed: start.elapsed(),
        stderr,
    }
}

fn quoted(args: &[String]) -> String {
    args.iter()
        .map(|arg| format!("'{arg}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_input_exits_0_or_2_in_bounded_time() {
    let cases: usize = env_number("ORDERGRAD_FUZZ_CASES", DEFAULT_CASES);
    let seed: u64 = env_number("ORDERGRAD_FUZZ_SEED", DEFAULT_SEED);
    let configs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let scratch = common::scratch_dir("fuzz-cli", "cases");
    // Generated up front, so that the cases do not depend on the order they finish in.
    let all: Vec<(usize, Case)> = (0..cases)
        .map(|index| {
            let run_dir = scratch.join(format!("run-{index}"));
            (index, case(&mut rng, &configs, &run_dir))
        })
        .collect();

    let next = Mutex::new(all.iter());
    let results: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::new());
    // Two at a time: the cases are mostly process start-up and validation.
    std::thread::scope(|scope| {
        for worker in 0..2 {
            let (next, results, scratch) = (&next, &results, &scratch);
            scope.spawn(move || {
                let own = scratch.join(format!("worker-{worker}"));
                std::fs::create_dir_all(&own).unwrap();
                loop {
                    let Some((index, case)) = next.lock().unwrap().next() else {
                        break;
                    };
                    let outcome = run(case, &own);
                    let _ = std::fs::remove_dir_all(scratch.join(format!("run-{index}")));
                    results.lock().unwrap().push((*index, outcome));
                }
            });
        }
    });

    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(index, _)| *index);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut slowest = Duration::ZERO;
    for (index, outcome) in &results {
        let label = outcome
            .code
            .map_or("killed".to_string(), |code| code.to_string());
        *counts.entry(label).or_default() += 1;
        slowest = slowest.max(outcome.elapsed);
        let accepted_code = matches!(outcome.code, Some(0 | 2));
        let explained = outcome.code != Some(2) || outcome.stderr.contains("error");
        if !accepted_code || !explained {
            let tail: String = outcome.stderr.chars().rev().take(600).collect();
            failures.push(format!(
                "case {index}: exit {:?} after {:.1} s: ordergrad {}\n{}",
                outcome.code,
                outcome.elapsed.as_secs_f64(),
                quoted(&all[*index].1.args),
                tail.chars().rev().collect::<String>()
            ));
        }
    }
    println!(
        "fuzz: {cases} cases (seed {seed}), exit codes {counts:?}, slowest {:.1} s",
        slowest.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The generator reaches both outcomes: a fuzzer that only ever hits one tests little.
    if cases >= 100 {
        assert!(
            counts.get("0").copied().unwrap_or(0) > cases / 20,
            "{counts:?}"
        );
        assert!(
            counts.get("2").copied().unwrap_or(0) > cases / 4,
            "{counts:?}"
        );
    }
}
