//! `ordergrad train / eval` with PPO, as a user runs them: CleanRL's PPO tags, the episode-group
//! objective's diagnostics, normaliser statistics in checkpoints, resume, reproducibility, and
//! clear errors for a bad objective.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// A small, fast PPO experiment on Pendulum (200-step episodes): two envs, tiny networks.
fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("ppo.toml");
    let text = format!(
        "agent = \"ppo\"\nenv = \"Pendulum-v1\"\ntotal_steps = 1200\nseed = 5\n\
         [ppo]\nnum_envs = 2\nnum_steps = 100\nnum_minibatches = 4\nupdate_epochs = 2\nhidden_size = 16\n{extra}\
         [checkpoint]\nevery = 400\n[logging]\nprogress = false\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn train(config: &Path, run: &Path, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--config",
        config.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    succeed(&args);
}

/// Every logged value per tag, in order; SPS (wall-clock) left out.
fn metrics(run: &Path) -> BTreeMap<String, Vec<(u64, f64)>> {
    let mut by_tag: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
    for line in std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
    {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let tag = row["tag"].as_str().unwrap().to_string();
        if tag != "charts/SPS" {
            by_tag.entry(tag).or_default().push((
                row["step"].as_u64().unwrap(),
                row["value"].as_f64().unwrap_or(f64::NAN),
            ));
        }
    }
    by_tag
}

fn eval_json(run: &Path) -> serde_json::Value {
    let output = succeed(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--episodes",
        "3",
        "--json",
    ]);
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn ppo_logs_cleanrl_tags_checkpoints_its_normalisers_and_repeats_exactly() {
    let dir = common::scratch_dir("ppo", "gae");
    let config = write_config(&dir, "");
    let (run, again) = (dir.join("run"), dir.join("again"));
    train(&config, &run, &[]);
    train(&config, &again, &[]);

    let logged = metrics(&run);
    for tag in [
        "charts/episodic_return",
        "charts/episodic_length",
        "charts/learning_rate",
        "losses/value_loss",
        "losses/policy_loss",
        "losses/entropy",
        "losses/old_approx_kl",
        "losses/approx_kl",
        "losses/clipfrac",
        "losses/explained_variance",
    ] {
        assert!(
            logged.contains_key(tag),
            "metrics lack {tag}: {:?}",
            logged.keys()
        );
    }
    // 1200 steps over 2 envs with 100 steps each per rollout: 6 updates, the rate annealed.
    let rates = &logged["charts/learning_rate"];
    assert_eq!(rates.len(), 6);
    assert!(
        rates.windows(2).all(|pair| pair[1].1 < pair[0].1),
        "{rates:?}"
    );
    assert_eq!(logged["charts/episodic_return"].len(), 6);
    assert_eq!(
        format!("{logged:?}"),
        format!("{:?}", metrics(&again)),
        "the same seed and config give the same run"
    );

    let checkpoint = run.join("checkpoints/step_000000001200");
    let normalizers: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(checkpoint.join("normalizers.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(normalizers["observation"].as_array().unwrap().len(), 2);
    assert!(normalizers["reward"][1]["count"].as_f64().unwrap() > 500.0);

    let report = eval_json(&run);
    assert_eq!(report["episodes"], 3);
    assert_eq!(eval_json(&run), report, "deterministic evaluation repeats");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_normalisation_ppo_learns_from_raw_values_and_its_statistics_stay_untouched() {
    let dir = common::scratch_dir("ppo", "raw");
    let normalised = dir.join("normalised");
    train(&write_config(&dir, ""), &normalised, &[]);
    let raw = dir.join("raw");
    train(
        &write_config(
            &dir,
            "normalize_observation = false\nnormalize_reward = false\n",
        ),
        &raw,
        &[],
    );

    let normalizers: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(raw.join("checkpoints/step_000000001200/normalizers.json"))
            .unwrap(),
    )
    .unwrap();
    for kind in ["observation", "reward"] {
        for env in normalizers[kind].as_array().unwrap() {
            assert!(env["count"].as_f64().unwrap() < 1.0, "{kind}: {env}");
        }
    }
    // The critic fits Pendulum's raw returns (rewards down to -16.3 a step), not returns
    // scaled to about unit variance: its first loss is far larger.
    let first_value_loss = |run: &Path| metrics(run)["losses/value_loss"][0].1;
    assert!(
        first_value_loss(&raw) > 10.0 * first_value_loss(&normalised),
        "{} vs {}",
        first_value_loss(&raw),
        first_value_loss(&normalised)
    );
    let report = eval_json(&raw);
    assert_eq!(report["episodes"], 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_resumed_ppo_run_continues_from_its_checkpoint() {
    let dir = common::scratch_dir("ppo", "resume");
    let config = write_config(&dir, "");
    let run = dir.join("run");
    train(&config, &run, &["--total-steps", "400"]);
    let before = metrics(&run);
    succeed(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--total-steps",
        "800",
    ]);
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("checkpoints/step_000000000800/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["next_step"], 800);
    let after = metrics(&run);
    // What was logged before the resume stays as it was, logged once.
    for (tag, values) in &before {
        assert_eq!(&after[tag][..values.len()], &values[..], "{tag}");
    }
    // The schedule continues from the checkpoint's update: updates 1-2 annealed towards 400
    // steps, then updates 3-4 of the 4 that 800 steps take (lr 3e-4 times 1 - (update - 1) / 4).
    let rates: Vec<f64> = after["charts/learning_rate"].iter().map(|v| v.1).collect();
    assert_eq!(rates, [3e-4, 1.5e-4, 1.5e-4, 7.5e-5]);
    // The normalisers continue their statistics (200 rewards per env before, 400 after), where
    // restarted ones would count 200 again.
    let normalizers = |step: &str| -> serde_json::Value {
        let path = run.join(format!("checkpoints/step_{step}/normalizers.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    for (step, count) in [("000000000400", 200.0), ("000000000800", 400.0)] {
        for env in normalizers(step)["reward"].as_array().unwrap() {
            let counted = env["count"].as_f64().unwrap();
            assert!((counted - count).abs() < 0.01, "step {step}: {counted}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

const GSDE: &str = "use_sde = true\nsde_sample_freq = 4\nlog_std_init = -1.0\n";

#[test]
fn a_gsde_run_repeats_exactly_resumes_and_keeps_its_log_std_matrix() {
    let dir = common::scratch_dir("ppo", "gsde");
    let config = write_config(&dir, GSDE);
    let (run, again) = (dir.join("run"), dir.join("again"));
    train(&config, &run, &["--total-steps", "400"]);
    train(&config, &again, &["--total-steps", "400"]);
    let before = metrics(&run);
    assert_eq!(
        format!("{before:?}"),
        format!("{:?}", metrics(&again)),
        "the same seed and config give the same gSDE run"
    );
    // gSDE's entropy depends on the state and on the [16, 1] log-std matrix: not CleanRL's
    // sum of log-stds + 1.42 at log-std -1 (0.419).
    let entropy = before["losses/entropy"][0].1;
    assert!((entropy - 0.4189).abs() > 1e-3, "{entropy}");
    // The resolved config keeps the gSDE settings.
    let resolved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(resolved.contains("use_sde = true"), "{resolved}");

    succeed(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--total-steps",
        "800",
    ]);
    let after = metrics(&run);
    for (tag, values) in &before {
        assert_eq!(&after[tag][..values.len()], &values[..], "{tag}");
    }
    assert_eq!(after["losses/entropy"].len(), 4);
    assert!(run.join("checkpoints/step_000000000800").is_dir());
    let report = eval_json(&run);
    assert_eq!(report["episodes"], 3);
    assert_eq!(eval_json(&run), report, "deterministic evaluation repeats");
    let stochastic = |run: &Path| {
        let output = succeed(&[
            "eval",
            "--run",
            run.to_str().unwrap(),
            "--episodes",
            "2",
            "--stochastic",
            "--json",
        ]);
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    assert_eq!(
        stochastic(&run),
        stochastic(&run),
        "stochastic evaluation repeats"
    );

    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shared_normalization_gives_every_env_the_statistics_of_all() {
    let dir = common::scratch_dir("ppo", "shared");
    let config = write_config(&dir, "shared_normalization = true\n");
    let run = dir.join("run");
    train(&config, &run, &["--total-steps", "400"]);
    let normalizers: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("checkpoints/step_000000000400/normalizers.json"))
            .unwrap(),
    )
    .unwrap();
    for kind in ["observation", "reward"] {
        let envs = normalizers[kind].as_array().unwrap();
        assert_eq!(envs.len(), 2);
        assert_eq!(envs[0], envs[1], "{kind}");
    }
    // 200 steps of each of the 2 envs: 400 rewards in the one shared set.
    let count = normalizers["reward"][0]["count"].as_f64().unwrap();
    assert!((count - 400.0).abs() < 0.01, "{count}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_cvar_objective_ranks_whole_episodes_and_logs_its_groups() {
    let dir = common::scratch_dir("ppo", "cvar");
    let config = write_config(
        &dir,
        "objective = \"cvar:0.25\"\nk = 2\ngroup_size = 3\ngroups_per_update = 1\n",
    );
    let run = dir.join("run");
    train(&config, &run, &[]);
    let logged = metrics(&run);
    // Two envs finish their 200-step episodes together, 2 episodes at steps 400, 800 and 1200:
    // the first group of 3 is complete at 800, the second at 1200.
    let steps: Vec<u64> = logged["ordergrad/group_value"]
        .iter()
        .map(|v| v.0)
        .collect();
    assert_eq!(steps, vec![800, 1200]);
    for (&(_, value), &(_, mean)) in logged["ordergrad/group_value"]
        .iter()
        .zip(&logged["ordergrad/group_mean_return"])
    {
        assert!(
            value <= mean + 1e-9,
            "a lower-tail value is at most the mean"
        );
    }
    for tag in ["ordergrad/advantage_std", "losses/policy_loss"] {
        assert!(logged.contains_key(tag), "metrics lack {tag}");
    }
    assert_eq!(eval_json(&run)["episodes"], 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_objective_or_group_exits_with_code_2_and_names_the_key() {
    let dir = common::scratch_dir("ppo", "bad");
    let config = write_config(&dir, "");
    let config = config.to_str().unwrap();
    let cases = [
        (
            vec!["--set", "ppo.objective=cvar:0", "--set", "ppo.k=2"],
            "ppo.objective",
        ),
        (
            vec!["--set", "ppo.objective=top:2", "--set", "ppo.k=10"],
            "ppo.k",
        ),
        (
            vec!["--set", "ppo.num_minibatches=0"],
            "ppo.num_minibatches",
        ),
        (vec!["--set", "ppo.gae_lambda=1.5"], "ppo.gae_lambda"),
        (vec!["--set", "ppo.target_kl=-1"], "ppo.target_kl"),
        (
            vec!["--set", "ppo.sde_sample_freq=-3"],
            "ppo.sde_sample_freq",
        ),
        (vec!["--set", "ppo.log_std_init=nan"], "ppo.log_std_init"),
    ];
    for (overrides, key) in cases {
        let mut args = vec!["train", "--config", config];
        args.extend(overrides);
        let output = ordergrad(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(key), "{args:?} should name {key}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
