//! Env steps per second of the MuJoCo envs, for `scripts/bench_mujoco.sh` (which runs Python
//! Gymnasium beside it and prints the table in the README).
//!
//! ```sh
//! cargo run --release -p envs --features mujoco --example bench_mujoco -- \
//!     --ids HalfCheetah-v5,Hopper-v5 --seconds 3 --repeats 3 --vector-envs 8 --threads 1,2 \
//!     --kinds single,mujoco_only,vector
//! ```
//!
//! Prints one JSON object per line: `{"kind": "single", "id", "steps_per_second"}` for one env
//! (`make(id)`, time limit included, reset whenever an episode ends);
//! `{"kind": "mujoco_only", ...}` for the same model driven by mujoco-rs alone (set `ctrl`,
//! `mj_step` frame-skip times, `mj_rnePostConstraint`, and `mj_resetData` every 100 steps; no
//! observation or reward: the ceiling that any MuJoCo binding shares); and
//! `{"kind": "vector", "id", "num_envs", "threads", "steps_per_second"}` for a vector env
//! (same-step autoreset), where a step of the vector env counts `num_envs` env steps. Actions
//! are a fixed cycle of uniform random values in the action bounds, drawn before timing. Each
//! figure is the median of `repeats` runs of `seconds` each, after a warm-up of a second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use envs::{BoxSpace, VectorEnv, make};
use mujoco_rs::prelude::{MjData, MjModel};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const ACTION_CYCLE: usize = 4096;
/// The MuJoCo-only loop restarts from the model's initial state this often (steps), so that it
/// simulates states like an env's episodes rather than a robot lying on the floor.
const RAW_RESET_EVERY: usize = 100;

struct Settings {
    ids: Vec<String>,
    /// Which measurements: `single`, `mujoco_only`, `vector`.
    kinds: Vec<String>,
    seconds: f64,
    repeats: usize,
    vector_envs: usize,
    threads: Vec<usize>,
}

fn main() {
    let settings = match parse_args(std::env::args().skip(1)) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("bench_mujoco: {message}");
            std::process::exit(2);
        }
    };
    if let Err(error) = run(&settings) {
        eprintln!("bench_mujoco: {error}");
        std::process::exit(1);
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Settings, String> {
    let mut settings = Settings {
        ids: vec!["HalfCheetah-v5".to_owned(), "Hopper-v5".to_owned()],
        kinds: vec![
            "single".to_owned(),
            "mujoco_only".to_owned(),
            "vector".to_owned(),
        ],
        seconds: 3.0,
        repeats: 3,
        vector_envs: 8,
        threads: vec![1, 2],
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |error: &dyn std::fmt::Display| format!("{flag} {value}: {error}");
        match flag.as_str() {
            "--ids" => settings.ids = value.split(',').map(str::to_owned).collect(),
            "--kinds" => settings.kinds = value.split(',').map(str::to_owned).collect(),
            "--seconds" => settings.seconds = value.parse().map_err(|e| bad(&e))?,
            "--repeats" => settings.repeats = value.parse().map_err(|e| bad(&e))?,
            "--vector-envs" => settings.vector_envs = value.parse().map_err(|e| bad(&e))?,
            "--threads" => {
                settings.threads = value
                    .split(',')
                    .map(|t| t.parse().map_err(|e| bad(&e)))
                    .collect::<Result<_, _>>()?
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if settings.seconds <= 0.0 || settings.repeats == 0 {
        return Err("--seconds and --repeats must be positive".to_owned());
    }
    if let Some(kind) = settings
        .kinds
        .iter()
        .find(|kind| !["single", "mujoco_only", "vector"].contains(&kind.as_str()))
    {
        return Err(format!(
            "unknown kind {kind}; known: single, mujoco_only, vector"
        ));
    }
    Ok(settings)
}

fn run(settings: &Settings) -> Result<(), envs::EnvError> {
    let wanted = |kind: &str| settings.kinds.iter().any(|k| k == kind);
    for id in &settings.ids {
        if wanted("single") {
            let steps_per_second = median(settings.repeats, || single_env(id, settings.seconds))?;
            println!(
                r#"{{"kind": "single", "id": "{id}", "steps_per_second": {steps_per_second:.1}}}"#
            );
        }
        if let (true, Some((file, frame_skip))) = (wanted("mujoco_only"), bundled_model(id)) {
            let steps_per_second = median(settings.repeats, || {
                mujoco_only(id, file, frame_skip, settings.seconds)
            })?;
            println!(
                r#"{{"kind": "mujoco_only", "id": "{id}", "steps_per_second": {steps_per_second:.1}}}"#
            );
        }
    }
    if !wanted("vector") {
        return Ok(());
    }
    for id in &settings.ids {
        for &threads in &settings.threads {
            let steps_per_second = median(settings.repeats, || {
                vector_env(id, settings.vector_envs, threads, settings.seconds)
            })?;
            println!(
                r#"{{"kind": "vector", "id": "{id}", "num_envs": {}, "threads": {threads}, "steps_per_second": {steps_per_second:.1}}}"#,
                settings.vector_envs
            );
        }
    }
    Ok(())
}

fn median(
    repeats: usize,
    mut measure: impl FnMut() -> Result<f64, envs::EnvError>,
) -> Result<f64, envs::EnvError> {
    let mut runs = (0..repeats)
        .map(|_| measure())
        .collect::<Result<Vec<_>, _>>()?;
    runs.sort_by(f64::total_cmp);
    Ok(runs[runs.len() / 2])
}

/// A fixed cycle of uniform random actions inside the bounds, `rows` wide per step.
fn action_cycle(space: &BoxSpace, rows: usize) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    (0..ACTION_CYCLE * rows)
        .flat_map(|_| space.sample(&mut rng))
        .collect()
}

fn single_env(id: &str, seconds: f64) -> Result<f64, envs::EnvError> {
    let mut env = make(id)?;
    let dim = env.action_space().dim();
    let actions = action_cycle(env.action_space(), 1);
    env.reset(Some(0));
    let mut t = 0;
    let mut step = |env: &mut Box<dyn envs::Env>| -> Result<(), envs::EnvError> {
        let action = &actions[(t % ACTION_CYCLE) * dim..][..dim];
        t += 1;
        let step = env.step(action)?;
        if step.is_done() {
            env.reset(None);
        }
        black_box(step.reward);
        Ok(())
    };
    timed(seconds, || step(&mut env))
}

/// The model file and frame skip of an id (Gymnasium's v5 table).
fn bundled_model(id: &str) -> Option<(&'static str, usize)> {
    Some(match id {
        "HalfCheetah-v5" => ("half_cheetah.xml", 5),
        "Hopper-v5" => ("hopper.xml", 4),
        "Walker2d-v5" => ("walker2d_v5.xml", 4),
        "Ant-v5" => ("ant.xml", 5),
        "InvertedPendulum-v5" => ("inverted_pendulum.xml", 2),
        "InvertedDoublePendulum-v5" => ("inverted_double_pendulum.xml", 5),
        "Reacher-v5" => ("reacher.xml", 2),
        "Swimmer-v5" => ("swimmer.xml", 4),
        "Humanoid-v5" => ("humanoid.xml", 5),
        _ => return None,
    })
}

/// MuJoCo alone on the same model and actions: what an env step costs before any env code.
/// (`make(id)` first, so that the version check and the log hook are in place.)
fn mujoco_only(
    id: &str,
    file: &str,
    frame_skip: usize,
    seconds: f64,
) -> Result<f64, envs::EnvError> {
    let env = make(id)?;
    let actions = action_cycle(env.action_space(), 1);
    let path = format!("{}/assets/mujoco/{file}", env!("CARGO_MANIFEST_DIR"));
    let model = MjModel::from_xml(&path)
        .map_err(|error| envs::EnvError::InvalidArgument(format!("cannot load {path}: {error}")))?;
    let mut data = MjData::new(&model);
    data.forward();
    let dim = env.action_space().dim();
    let mut t = 0;
    timed(seconds, || {
        let action = &actions[(t % ACTION_CYCLE) * dim..][..dim];
        t += 1;
        if t % RAW_RESET_EVERY == 0 {
            data.reset();
            data.forward();
        }
        for (ctrl, &a) in data.ctrl_mut().iter_mut().zip(action) {
            *ctrl = f64::from(a);
        }
        for _ in 0..frame_skip {
            data.step();
        }
        data.rne_post_constraint();
        black_box(data.qpos()[0]);
        Ok(())
    })
}

fn vector_env(
    id: &str,
    num_envs: usize,
    threads: usize,
    seconds: f64,
) -> Result<f64, envs::EnvError> {
    let mut vector = VectorEnv::make(id, num_envs)?.with_threads(threads);
    let width = num_envs * vector.single_action_space().dim();
    let actions = action_cycle(vector.single_action_space(), num_envs);
    vector.reset(Some(0));
    let mut t = 0;
    let batches_per_second = timed(seconds, || {
        let batch = &actions[(t % ACTION_CYCLE) * width..][..width];
        t += 1;
        black_box(vector.step(batch)?.rewards[0]);
        Ok(())
    })?;
    Ok(batches_per_second * num_envs as f64)
}

/// Calls `step` for a second of warm-up, then for `seconds`; returns calls per second.
fn timed(
    seconds: f64,
    mut step: impl FnMut() -> Result<(), envs::EnvError>,
) -> Result<f64, envs::EnvError> {
    let warm_up = Instant::now();
    while warm_up.elapsed() < Duration::from_secs(1) {
        step()?;
    }
    let start = Instant::now();
    let budget = Duration::from_secs_f64(seconds);
    let mut calls = 0_u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            step()?;
        }
        calls += 64;
    }
    Ok(calls as f64 / start.elapsed().as_secs_f64())
}
