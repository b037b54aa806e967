//! The same numbers on every backend: the OrderGrad layer and a few updates of each agent run on
//! the CPU backend and on each GPU backend of this build that finds a device, from the same
//! parameters (saved on the CPU, loaded on the GPU), the same batches and the same host noise,
//! and their outputs must agree.
//!
//! Tolerance: |gpu - cpu| <= 1e-3 * |cpu| + 1e-4 for every output. The backends sum in different
//! orders in f32 (and the layer ranks by sorting on the CPU, pairwise on the GPU), which moves
//! the 6th-7th significant digit of one update; four Adam steps keep that well inside 1e-3.
//!
//! A device that is not compiled in or not found is skipped with a `skipped: <reason>` line;
//! list it in `ORDERGRAD_REQUIRE_DEVICES` (e.g. `wgpu,cuda`) to make its absence a failure
//! instead, as CI and scripts/gpu_check.sh do. On every machine, GPU or not, each job also runs a
//! second time on the CPU, from the parameters the first run saved, and must give the same bits:
//! the comparison rests on saved parameters loading back exactly and on a run being a function
//! of its parameters, batches and noise alone.

mod common;

use std::path::{Path, PathBuf};

use agents::backend::{self, BackendJob};
use agents::common::host::to_vec;
use agents::common::nets::ActionBounds;
use agents::common::off_policy::{OffPolicyAgent, OffPolicySettings, Spaces};
use agents::common::replay::Batch;
use agents::common::rollout_buffer::RolloutBatch;
use agents::config::DeviceKind;
use agents::dsac::{Dsac, DsacConfig, DsacSettings};
use agents::ppo::{Ppo, PpoConfig};
use agents::remac::{Remac, RemacConfig};
use agents::sac::{Sac, SacConfig};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use ordergrad_core::{Objective, RankMethod, RankPlan, RankWeightedValue};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serial_test::serial;

const RELATIVE_TOLERANCE: f64 = 1e-3;
const ABSOLUTE_TOLERANCE: f64 = 1e-4;
const OBS_DIM: usize = 3;
const ACTION_DIM: usize = 2;
const HIDDEN: usize = 32;
const BATCH: usize = 16;
const UPDATES: u64 = 4;

/// Outputs of one job: a name and a value for each.
type Outputs = Vec<(String, f64)>;

/// The GPU devices of this build that can run here; the others are skipped with a message, or
/// fail the test when `ORDERGRAD_REQUIRE_DEVICES` names them.
fn gpu_devices() -> Vec<DeviceKind> {
    let required = std::env::var("ORDERGRAD_REQUIRE_DEVICES").unwrap_or_default();
    let required: Vec<&str> = required.split(',').map(str::trim).collect();
    [DeviceKind::Cuda, DeviceKind::Wgpu]
        .into_iter()
        .filter(|&device| match backend::describe(device) {
            Ok(description) => {
                eprintln!("comparing {device} ({description}) with cpu");
                true
            }
            Err(error) if required.contains(&device.name()) => {
                panic!("ORDERGRAD_REQUIRE_DEVICES names {device}, but: {error}")
            }
            Err(error) => {
                eprintln!("skipped: {device} against cpu: {error}");
                false
            }
        })
        .collect()
}

fn assert_close(device: DeviceKind, cpu: &Outputs, gpu: &Outputs) {
    assert_eq!(cpu.len(), gpu.len(), "{device}: different outputs");
    let mut worst = 0.0f64;
    for ((name, expected), (gpu_name, actual)) in cpu.iter().zip(gpu) {
        assert_eq!(name, gpu_name);
        let error = (actual - expected).abs();
        assert!(
            error <= RELATIVE_TOLERANCE * expected.abs() + ABSOLUTE_TOLERANCE,
            "{device}: {name} is {actual} on {device} and {expected} on cpu"
        );
        worst = worst.max(error / (expected.abs() + ABSOLUTE_TOLERANCE / RELATIVE_TOLERANCE));
    }
    eprintln!(
        "{device}: {} outputs agree, largest relative difference {worst:.2e}",
        cpu.len()
    );
}

/// Runs `job` twice on the CPU (the second time from the parameters the first saved) and
/// requires the same bits, then runs it on each GPU device and compares.
fn compare(job: impl Fn() -> Job) {
    let cpu = backend::dispatch(DeviceKind::Cpu, job()).unwrap();
    assert!(!cpu.is_empty() && cpu.iter().all(|(_, value)| value.is_finite()));
    let cpu_again = backend::dispatch(DeviceKind::Cpu, job()).unwrap();
    assert_identical(&cpu, &cpu_again);
    let gpus = gpu_devices();
    if gpus.is_empty() {
        eprintln!(
            "skipped: no GPU backend of this build found a device, so nothing was compared \
             across backends; checked only that two CPU runs agree bit for bit ({} outputs)",
            cpu.len()
        );
    }
    for device in gpus {
        let gpu = backend::dispatch(device, job()).unwrap();
        assert_close(device, &cpu, &gpu);
    }
}

fn assert_identical(first: &Outputs, second: &Outputs) {
    assert_eq!(first.len(), second.len(), "cpu: different outputs");
    for ((name, value), (second_name, second_value)) in first.iter().zip(second) {
        assert_eq!(name, second_name);
        assert_eq!(
            value.to_bits(),
            second_value.to_bits(),
            "cpu: {name} is {value}, then {second_value} on the second run"
        );
    }
}

/// [`compare`] for an agent job, whose initial parameters go through a scratch folder.
fn compare_agent(name: &str, job: fn(PathBuf) -> Job) {
    let init = common::scratch_dir("backends", name);
    compare(|| job(init.clone()));
    let _ = std::fs::remove_dir_all(&init);
}

fn uniform(rng: &mut ChaCha8Rng, len: usize, low: f32, high: f32) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(low..high)).collect()
}

fn replay_batch(seed: u64) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Batch {
        size: BATCH,
        obs: uniform(&mut rng, BATCH * OBS_DIM, -1.0, 1.0),
        actions: uniform(&mut rng, BATCH * ACTION_DIM, -2.0, 2.0),
        rewards: uniform(&mut rng, BATCH, -3.0, 0.0),
        next_obs: uniform(&mut rng, BATCH * OBS_DIM, -1.0, 1.0),
        terminated: (0..BATCH).map(|i| (i % 5 == 0) as u8 as f32).collect(),
        bootstrap_steps: vec![1.0; BATCH],
    }
}

fn rollout_batch() -> RolloutBatch {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let len = 4 * BATCH;
    RolloutBatch {
        obs: uniform(&mut rng, len * OBS_DIM, -1.0, 1.0),
        actions: uniform(&mut rng, len * ACTION_DIM, -1.0, 1.0),
        log_probs: uniform(&mut rng, len, -3.0, -1.0),
        values: uniform(&mut rng, len, -1.0, 1.0),
        advantages: uniform(&mut rng, len, -1.0, 1.0),
        returns: uniform(&mut rng, len, -1.0, 1.0),
    }
}

fn spaces() -> Spaces {
    Spaces {
        obs_dim: OBS_DIM,
        bounds: ActionBounds::from_box(&[-2.0, -1.0], &[2.0, 1.0]),
    }
}

/// What runs on each backend. The agent jobs start from the parameters in `init`: the CPU run
/// writes them, the GPU runs load them.
enum Job {
    Layer,
    Sac(PathBuf),
    Dsac(PathBuf),
    Remac(PathBuf),
    Ppo(PathBuf),
}

impl BackendJob for Job {
    type Output = Outputs;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<Outputs> {
        Ok(match self {
            Job::Layer => layer::<B>(&device),
            Job::Sac(init) => {
                let config = SacConfig {
                    shared: shared(),
                    ..SacConfig::default()
                };
                off_policy(Sac::<B>::new(config, spaces(), &device)?, &init)?
            }
            Job::Dsac(init) => {
                let config = DsacConfig {
                    shared: shared(),
                    agent: DsacSettings {
                        objective: "cvar:0.25".parse().unwrap(),
                        num_quantiles: 8,
                        ..DsacSettings::default()
                    },
                };
                off_policy(Dsac::<B>::new(config, spaces(), &device)?, &init)?
            }
            Job::Remac(init) => {
                let config = RemacConfig {
                    shared: shared(),
                    ..RemacConfig::default()
                };
                off_policy(Remac::<B>::new(config, spaces(), &device)?, &init)?
            }
            Job::Ppo(init) => {
                let config = PpoConfig {
                    hidden_size: HIDDEN,
                    num_minibatches: 2,
                    update_epochs: 2,
                    ..PpoConfig::default()
                };
                let mut ppo = Ppo::<B>::new(config, OBS_DIM, ACTION_DIM, &device);
                ppo = start_from(ppo, &init, Ppo::save, Ppo::load)?;
                let mut rng = ChaCha8Rng::seed_from_u64(5);
                let batch = rollout_batch();
                let mut outputs = Outputs::new();
                for update in 0..2 {
                    let metrics = ppo.update(&batch, 3e-4, &mut rng);
                    push_metrics(&mut outputs, update, &metrics.values);
                }
                let obs = &batch.obs[..BATCH * OBS_DIM];
                push_values(&mut outputs, "mean_action", &ppo.mean_action(obs, BATCH));
                push_values(&mut outputs, "value", &ppo.values(obs, BATCH));
                outputs
            }
        })
    }
}

/// The CPU run (which comes first) saves its fresh parameters into `init`; the others load them.
fn start_from<A>(
    agent: A,
    init: &Path,
    save: impl Fn(&A, &Path) -> anyhow::Result<()>,
    load: impl Fn(A, &Path) -> anyhow::Result<A>,
) -> anyhow::Result<A> {
    if init.join("saved").exists() {
        load(agent, init)
    } else {
        save(&agent, init)?;
        std::fs::write(init.join("saved"), b"")?;
        Ok(agent)
    }
}

/// The off-policy agents' settings of these tests: small networks and batches.
fn shared() -> OffPolicySettings {
    OffPolicySettings {
        hidden_size: HIDDEN,
        batch_size: BATCH,
        ..OffPolicySettings::default()
    }
}

/// `UPDATES` updates on fixed batches (the actor's every other one), then the policy's
/// deterministic actions on a few observations.
fn off_policy<A: OffPolicyAgent>(agent: A, init: &Path) -> anyhow::Result<Outputs> {
    let mut agent = start_from(agent, init, A::save, A::load)?;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut outputs = Outputs::new();
    for step in 0..UPDATES {
        let metrics = agent.update(step, &replay_batch(step), &mut rng, true);
        push_metrics(&mut outputs, step, &metrics.values);
    }
    let batch = replay_batch(UPDATES);
    for row in 0..4 {
        let obs = &batch.obs[row * OBS_DIM..(row + 1) * OBS_DIM];
        let action = agent.act(obs, true, &mut rng);
        push_values(&mut outputs, &format!("action_{row}"), &action);
    }
    Ok(outputs)
}

fn push_metrics(outputs: &mut Outputs, update: u64, metrics: &[(&'static str, f64)]) {
    outputs.extend(
        metrics
            .iter()
            .map(|(tag, value)| (format!("update {update} {tag}"), *value)),
    );
}

fn push_values(outputs: &mut Outputs, name: &str, values: &[f32]) {
    outputs.extend(
        values
            .iter()
            .enumerate()
            .map(|(index, &value)| (format!("{name}[{index}]"), value as f64)),
    );
}

/// Value and gradient of the layer for several objectives on random rows.
fn layer<B: AutodiffBackend>(device: &B::Device) -> Outputs {
    let (rows, n) = (6, 16);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let data = uniform(&mut rng, rows * n, -5.0, 5.0);
    let mut outputs = Outputs::new();
    for objective in ["mean", "max", "cvar:0.25", "top:3", "median"] {
        let plan = RankPlan::new(&objective.parse::<Objective>().unwrap(), n, n).unwrap();
        let layer = RankWeightedValue::<B>::new(plan, RankMethod::Auto, device);
        let values = Tensor::<B, 2>::from_data(TensorData::new(data.clone(), [rows, n]), device)
            .require_grad();
        let value = layer.forward(values.clone());
        let gradient = values.grad(&value.clone().sum().backward()).unwrap();
        push_values(&mut outputs, &format!("{objective} value"), &to_vec(value));
        push_values(
            &mut outputs,
            &format!("{objective} gradient"),
            &to_vec(gradient),
        );
    }
    outputs
}

#[test]
#[serial(autodiff)]
fn the_ordergrad_layer_agrees_across_backends() {
    compare(|| Job::Layer);
}

#[test]
#[serial(autodiff)]
fn a_sac_update_agrees_across_backends() {
    compare_agent("sac", Job::Sac);
}

#[test]
#[serial(autodiff)]
fn a_distributional_sac_update_agrees_across_backends() {
    compare_agent("dsac", Job::Dsac);
}

#[test]
#[serial(autodiff)]
fn a_remac_update_agrees_across_backends() {
    compare_agent("remac", Job::Remac);
}

#[test]
#[serial(autodiff)]
fn a_ppo_update_agrees_across_backends() {
    compare_agent("ppo", Job::Ppo);
}

#[test]
fn a_device_that_is_not_compiled_in_is_an_error_that_names_the_feature() {
    for (device, feature) in [
        (DeviceKind::Cuda, "cuda"),
        (DeviceKind::Wgpu, "wgpu"),
        (DeviceKind::Vulkan, "wgpu"),
    ] {
        match backend::check(device) {
            Err(backend::BackendError::NotCompiled { .. }) => {
                assert!(!backend::compiled_devices().contains(&device));
                let message = backend::check(device).unwrap_err().to_string();
                assert!(
                    message.contains(&format!("--features agents/{feature}")),
                    "{message}"
                );
            }
            // Compiled in: present, or absent with the driver's reason.
            Ok(()) | Err(backend::BackendError::Unavailable { .. }) => {
                assert!(backend::compiled_devices().contains(&device));
            }
        }
    }
    assert!(backend::check(DeviceKind::Cpu).is_ok());
}
