//! Run directories and checkpoints under abuse, through the `ordergrad` binary as a user runs
//! it: damaged checkpoint files, runs killed at random moments, two writers on one directory,
//! and resumes with an edited config. Every refusal is exit code 2 with the culprit named,
//! never a panic (101) or an abort (134).

mod common;
#[path = "common/run_files.rs"]
mod run_files;
#[path = "common/tfevents.rs"]
mod tfevents;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use agents::checkpoint::manifest::Manifest;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn ordergrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordergrad"))
        .args(args)
        .output()
        .expect("the ordergrad binary starts")
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ordergrad"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the ordergrad binary starts")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn succeed(args: &[&str]) -> Output {
    let output = ordergrad(args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    output
}

/// Exit code 2 with every one of `needles` in the message.
fn refused(args: &[&str], needles: &[&str]) -> String {
    let output = ordergrad(args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
    for needle in needles {
        assert!(
            message.contains(needle),
            "{args:?} lacks '{needle}': {message}"
        );
    }
    message
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A tiny SAC run on Pendulum (200-step episodes), a checkpoint at every episode end.
fn sac_config(dir: &Path, total_steps: u64) -> PathBuf {
    let path = dir.join("sac.toml");
    let text = format!(
        "agent = \"sac\"\nenv = \"Pendulum-v1\"\ntotal_steps = {total_steps}\nseed = 5\n\
         [sac]\nlearning_starts = 100\nbatch_size = 16\nhidden_size = 16\nbuffer_size = 10000\n\
         [checkpoint]\nevery = 200\n[logging]\nprogress = false\nlog_every = 50\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A tiny PPO run: two envs, 64-step rollouts, a checkpoint after every update.
fn ppo_config(dir: &Path) -> PathBuf {
    let path = dir.join("ppo.toml");
    let text = "agent = \"ppo\"\nenv = \"Pendulum-v1\"\ntotal_steps = 384\nseed = 5\n\
         [ppo]\nnum_envs = 2\nnum_steps = 64\nnum_minibatches = 2\nupdate_epochs = 1\nhidden_size = 16\n\
         [checkpoint]\nevery = 128\n[logging]\nprogress = false\n";
    std::fs::write(&path, text).unwrap();
    path
}

fn checkpoint(run: &Path, step: u64) -> PathBuf {
    run.join(format!("checkpoints/step_{step:012}"))
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    Truncate,
    ZeroFill,
    FlipByte,
    Delete,
}

const DAMAGES: [Damage; 4] = [
    Damage::Truncate,
    Damage::ZeroFill,
    Damage::FlipByte,
    Damage::Delete,
];

fn damage(file: &Path, how: Damage) {
    let bytes = std::fs::read(file).unwrap();
    match how {
        Damage::Truncate => std::fs::write(file, &bytes[..bytes.len() / 2]).unwrap(),
        Damage::ZeroFill => std::fs::write(file, vec![0u8; bytes.len()]).unwrap(),
        Damage::FlipByte => {
            let mut flipped = bytes.clone();
            flipped[bytes.len() / 2] ^= 0x5a;
            std::fs::write(file, flipped).unwrap();
        }
        Damage::Delete => std::fs::remove_file(file).unwrap(),
    }
}

/// Damages each file of the latest checkpoint of `run` in each way, and checks that `eval` and
/// `train --resume` refuse with exit 2, naming the file and the previous checkpoint to use.
/// Returns the number of cases.
fn damage_each_file(run: &Path, latest: u64, previous: u64, total_steps: &str) -> usize {
    let dir = checkpoint(run, latest);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "COMPLETE")
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    let hint = format!("--checkpoint {previous}");
    let mut cases = 0;
    for file in &files {
        let target = dir.join(file);
        let original = std::fs::read(&target).unwrap();
        for how in DAMAGES {
            damage(&target, how);
            let context = format!("{file} {how:?}");
            let eval = ["eval", "--run", path(run), "--episodes", "1"];
            let message = refused(&eval, &[file, &hint]);
            assert!(message.contains("ordergrad eval"), "{context}: {message}");
            let resume = ["train", "--resume", path(run), "--total-steps", total_steps];
            let message = refused(&resume, &[file, &hint]);
            assert!(message.contains("train --resume"), "{context}: {message}");
            std::fs::write(&target, &original).unwrap();
            cases += 2;
        }
    }
    // The marker holds the manifest: damaged, it is named; deleted, the checkpoint no longer
    // counts and the previous one is used.
    let marker = dir.join("COMPLETE");
    let original = std::fs::read(&marker).unwrap();
    for how in [Damage::Truncate, Damage::ZeroFill, Damage::FlipByte] {
        damage(&marker, how);
        refused(
            &["eval", "--run", path(run), "--episodes", "1"],
            &["COMPLETE"],
        );
        refused(
            &["train", "--resume", path(run), "--total-steps", total_steps],
            &["COMPLETE"],
        );
        std::fs::write(&marker, &original).unwrap();
        cases += 2;
    }
    std::fs::remove_file(&marker).unwrap();
    let output = succeed(&["eval", "--run", path(run), "--episodes", "1"]);
    assert!(
        stderr(&output).contains("no COMPLETE marker"),
        "{}",
        stderr(&output)
    );
    std::fs::write(&marker, &original).unwrap();
    cases + 1
}

#[test]
fn every_damaged_checkpoint_file_is_named_and_refused_with_exit_2() {
    let dir = common::scratch_dir("checkpoints", "damage");
    let sac = dir.join("sac");
    succeed(&[
        "train",
        "--config",
        path(&sac_config(&dir, 400)),
        "--run-dir",
        path(&sac),
    ]);
    assert_eq!(run_files::complete_steps(&sac), [200, 400]);
    let sac_cases = damage_each_file(&sac, 400, 200, "600");

    let ppo = dir.join("ppo");
    succeed(&[
        "train",
        "--config",
        path(&ppo_config(&dir)),
        "--run-dir",
        path(&ppo),
    ]);
    assert_eq!(run_files::complete_steps(&ppo), [128, 256, 384]);
    let ppo_cases = damage_each_file(&ppo, 384, 256, "512");
    // Twelve SAC files and six PPO files, four damages each, eval and resume, plus the marker.
    assert_eq!((sac_cases, ppo_cases), (12 * 8 + 7, 6 * 8 + 7));

    // A replay buffer whose manifest agrees with it (written by hand, say), with a header that
    // does not fit the run: refused before anything is allocated, with the file named.
    let checkpoint_dir = checkpoint(&sac, 400);
    let replay = checkpoint_dir.join("replay.bin");
    let original = std::fs::read(&replay).unwrap();
    let newline = original.iter().position(|&byte| byte == b'\n').unwrap();
    let header = std::str::from_utf8(&original[..newline]).unwrap();
    for (from, to) in [
        ("\"capacity\":10000", "\"capacity\":0"),
        ("\"capacity\":10000", "\"capacity\":10"),
        ("\"len\":400", "\"len\":18446744073709551615"),
    ] {
        assert!(header.contains(from), "{header}");
        let mut edited = header.replace(from, to).into_bytes();
        edited.extend_from_slice(&original[newline..]);
        std::fs::write(&replay, edited).unwrap();
        let manifest = Manifest::of_dir(&checkpoint_dir).unwrap();
        std::fs::write(checkpoint_dir.join("COMPLETE"), manifest.to_json()).unwrap();
        refused(
            &["train", "--resume", path(&sac), "--total-steps", "600"],
            &["replay.bin", "--checkpoint 200"],
        );
    }
    std::fs::write(&replay, &original).unwrap();
    let manifest = Manifest::of_dir(&checkpoint_dir).unwrap();
    std::fs::write(checkpoint_dir.join("COMPLETE"), manifest.to_json()).unwrap();

    // A checkpoint from before manifests (an empty marker) loads, with a warning.
    std::fs::write(checkpoint_dir.join("COMPLETE"), b"").unwrap();
    let output = succeed(&["eval", "--run", path(&sac), "--episodes", "1"]);
    assert!(
        stderr(&output).contains("no manifest"),
        "{}",
        stderr(&output)
    );
    // The offered way out works: resuming from the previous checkpoint.
    succeed(&[
        "train",
        "--resume",
        path(&sac),
        "--checkpoint",
        "200",
        "--total-steps",
        "400",
    ]);
    assert_eq!(run_files::complete_steps(&sac), [200, 400]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A straight SAC run of `KILL_RUN_STEPS` steps, shared by the tests that compare against it.
const KILL_RUN_STEPS: u64 = 1600;

fn straight_run() -> &'static Path {
    static STRAIGHT: OnceLock<PathBuf> = OnceLock::new();
    STRAIGHT.get_or_init(|| {
        let dir = common::scratch_dir("checkpoints", "straight");
        let run = dir.join("run");
        let config = sac_config(&dir, KILL_RUN_STEPS);
        succeed(&["train", "--config", path(&config), "--run-dir", path(&run)]);
        run
    })
}

/// Waits until `run` has a complete checkpoint later than `after`, or `child` ends; true if the
/// child is still running.
fn wait_for_checkpoint_after(child: &mut Child, run: &Path, after: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if run_files::complete_steps(run)
            .last()
            .is_some_and(|&step| step > after)
        {
            return true;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint after step {after}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Trains `KILL_RUN_STEPS` into `run`, killed with SIGKILL at `kills` moments (each a seeded
/// random delay after a new checkpoint appears) and resumed after each.
fn train_with_kills(config: &Path, run: &Path, kills: usize, rng: &mut ChaCha8Rng) -> usize {
    let mut child = spawn(&["train", "--config", path(config), "--run-dir", path(run)]);
    let mut landed = 0;
    for _ in 0..kills {
        let reached = run_files::complete_steps(run).last().copied().unwrap_or(0);
        if !wait_for_checkpoint_after(&mut child, run, reached) {
            break;
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..150)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        if status.success() || run_files::complete_steps(run).last() == Some(&KILL_RUN_STEPS) {
            return landed;
        }
        landed += 1;
        child = spawn(&["train", "--resume", path(run)]);
    }
    assert!(child.wait().unwrap().success(), "the last resume finishes");
    landed
}

fn eval_returns(run: &Path) -> serde_json::Value {
    let output = succeed(&["eval", "--run", path(run), "--episodes", "2", "--json"]);
    serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()["returns"].clone()
}

#[test]
fn a_run_killed_at_random_moments_resumes_to_the_policy_of_an_uninterrupted_run() {
    let straight = straight_run();
    let dir = common::scratch_dir("checkpoints", "kills");
    let config = sac_config(&dir, KILL_RUN_STEPS);
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let mut landed = 0;
    for attempt in 0..2 {
        let run = dir.join(format!("run{attempt}"));
        landed += train_with_kills(&config, &run, 3, &mut rng);
        assert_eq!(
            eval_returns(&run),
            eval_returns(straight),
            "attempt {attempt}"
        );
        let state = |run: &Path| {
            std::fs::read_to_string(checkpoint(run, KILL_RUN_STEPS).join("state.json")).unwrap()
        };
        assert_eq!(state(&run), state(straight), "counters and RNG position");
    }
    assert!(landed >= 2, "only {landed} kills landed mid-run");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// (step, tag, value) of every scalar in metrics.jsonl and, sorted, in the event files;
/// without the value of `charts/SPS`, which is measured on the clock.
type Scalars = Vec<(u64, String, Option<f64>)>;

fn logged_scalars(run: &Path) -> (Scalars, Scalars) {
    let value = |tag: &str, value: f64| (tag != "charts/SPS").then_some(value);
    let jsonl = run_files::logged_metrics(run);
    let mut events: Scalars = tfevents::scalars(run)
        .into_iter()
        .map(|(tag, step, number)| (step as u64, tag.clone(), value(&tag, f64::from(number))))
        .collect();
    events.sort_by(|a, b| {
        (a.0, &a.1)
            .cmp(&(b.0, &b.1))
            .then(a.2.partial_cmp(&b.2).unwrap())
    });
    (jsonl, events)
}

#[test]
fn a_run_killed_after_a_checkpoint_logs_every_episode_and_scalar_exactly_once() {
    let straight = straight_run();
    let dir = common::scratch_dir("checkpoints", "logs-once");
    let (straight_jsonl, straight_events) = logged_scalars(straight);
    let episodes = |scalars: &Scalars| {
        scalars
            .iter()
            .filter(|(_, tag, _)| tag == "charts/episodic_return")
            .count() as u64
    };
    assert_eq!(episodes(&straight_jsonl), KILL_RUN_STEPS / 200);
    assert_eq!(episodes(&straight_events), KILL_RUN_STEPS / 200);
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    // Flushed at every write, the logs hold what was logged after the checkpoint, which the
    // resumed run must cut before logging it again; flushed almost never, they hold only what
    // the checkpoint flushed, which must be everything before it.
    for flush_secs in ["0.000001", "1000"] {
        let config = sac_config(&dir, KILL_RUN_STEPS);
        let text = std::fs::read_to_string(&config).unwrap();
        let text = text.replace(
            "[logging]\n",
            &format!("[logging]\nflush_secs = {flush_secs}\n"),
        );
        std::fs::write(&config, text).unwrap();
        let run = dir.join(format!("run-{flush_secs}"));
        let landed = train_with_kills(&config, &run, 2, &mut rng);
        assert!(
            landed >= 1,
            "flush_secs {flush_secs}: no kill landed mid-run"
        );
        let (jsonl, events) = logged_scalars(&run);
        assert_eq!(
            jsonl, straight_jsonl,
            "flush_secs {flush_secs}: metrics.jsonl"
        );
        assert_eq!(
            events, straight_events,
            "flush_secs {flush_secs}: TensorBoard"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_writer_is_refused_with_the_pid_of_the_first_while_eval_reads() {
    let dir = common::scratch_dir("checkpoints", "lock");
    let run = dir.join("run");
    let config = sac_config(&dir, 1_000_000);
    let mut first = spawn(&["train", "--config", path(&config), "--run-dir", path(&run)]);
    assert!(
        wait_for_checkpoint_after(&mut first, &run, 0),
        "the first run trains"
    );
    let pid = format!("pid {}", first.id());
    refused(
        &["train", "--config", path(&config), "--run-dir", path(&run)],
        &[&pid],
    );
    refused(
        &["train", "--resume", path(&run), "--total-steps", "2000000"],
        &[&pid],
    );
    succeed(&["eval", "--run", path(&run), "--episodes", "1"]);
    first.kill().unwrap();
    first.wait().unwrap();
    // The OS released the lock with the process: the run resumes.
    let mut resumed = spawn(&["train", "--resume", path(&run), "--total-steps", "1000000"]);
    let reached = run_files::complete_steps(&run).last().copied().unwrap();
    assert!(
        wait_for_checkpoint_after(&mut resumed, &run, reached),
        "the resumed run trains"
    );
    resumed.kill().unwrap();
    resumed.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_resume_that_changes_what_the_checkpoint_depends_on_is_refused() {
    let dir = common::scratch_dir("checkpoints", "config");
    let run = dir.join("run");
    succeed(&[
        "train",
        "--config",
        path(&sac_config(&dir, 400)),
        "--run-dir",
        path(&run),
    ]);
    let resume = |extra: &[&str]| {
        let mut args = vec!["train", "--resume", path(&run), "--total-steps", "600"];
        for assignment in extra {
            args.extend(["--set", assignment]);
        }
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let refuse = |extra: &[&str], needles: &[&str]| {
        let args = resume(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&args, needles);
    };
    refuse(
        &["sac.hidden_size=64"],
        &["sac.hidden_size: 16 in the checkpoint, 64 now"],
    );
    refuse(&["sac.buffer_size=500"], &["sac.buffer_size"]);
    refuse(&["sac.batch_size=8"], &["sac.batch_size"]);
    refuse(
        &["agent=dsac"],
        // Refused before the checkpoint is read: the [sac] table means nothing to dsac.
        &["config key `sac.", "agent = \"dsac\""],
    );
    refuse(&["agent=remac"], &["agent"]);
    // The repro: config.toml edited by hand. Eval uses the checkpoint's own config.
    let config_file = run.join("config.toml");
    let original = std::fs::read_to_string(&config_file).unwrap();
    let edited = original.replace("\"Pendulum-v1\"", "\"MountainCarContinuous-v0\"");
    assert_ne!(edited, original);
    std::fs::write(&config_file, edited).unwrap();
    refuse(&[], &["env: \"Pendulum-v1\" in the checkpoint"]);
    let output = succeed(&["eval", "--run", path(&run), "--episodes", "1"]);
    assert!(stderr(&output).contains("evaluating with the checkpoint's"));
    std::fs::write(&config_file, original).unwrap();
    // Run length, logging and checkpointing may change.
    let args = resume(&["logging.log_every=10", "checkpoint.every=300"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    succeed(&args);
    assert_eq!(run_files::complete_steps(&run), [200, 400, 600]);
    std::fs::remove_dir_all(&dir).unwrap();
}
