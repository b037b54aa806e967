//! Env steps per second: one env, and a vector env of 8 (sequential and on 2 threads).
//!
//! `CARGO_TARGET_DIR=/tmp/target-envs cargo bench -p envs`; criterion reports throughput in
//! env steps ("elem") per second. Episodes reset when they end, so resets are included.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use envs::{BoxSpace, Env, EnvError, Info, Step, VectorEnv, make, registered_ids};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const VECTOR_ENVS: usize = 8;

/// The classic-control ids (one-dimensional actions). The MuJoCo envs have their own benchmark
/// against Python Gymnasium: `envs/scripts/bench_mujoco.sh`.
fn classic_ids() -> impl Iterator<Item = &'static str> {
    registered_ids()
        .into_iter()
        .filter(|id| !envs::registry::MUJOCO_IDS.contains(id))
}

/// A fixed cycle of uniform actions in [-2, 2], so that action generation is not measured.
fn action_cycle(len: usize) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    (0..len).map(|_| rng.random_range(-2.0..2.0)).collect()
}

fn single_env(c: &mut Criterion) {
    let mut group = c.benchmark_group("single_env");
    group.throughput(Throughput::Elements(1));
    let actions = action_cycle(4096);
    for id in classic_ids() {
        let mut env = make(id).unwrap();
        env.reset(Some(0));
        let mut t = 0;
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| {
                t = (t + 1) % actions.len();
                let step = env.step(&actions[t..t + 1]).unwrap();
                if step.is_done() {
                    env.reset(None);
                }
                step.reward
            })
        });
    }
    group.finish();
}

fn vector_env(c: &mut Criterion) {
    let mut group = c.benchmark_group("vector_env_8");
    group.throughput(Throughput::Elements(VECTOR_ENVS as u64));
    let actions = action_cycle(4096 + VECTOR_ENVS);
    for id in classic_ids() {
        for threads in [1, 2] {
            let mut vector = VectorEnv::make(id, VECTOR_ENVS)
                .unwrap()
                .with_threads(threads);
            vector.reset(Some(0));
            let mut t = 0;
            let name = format!("{id}/threads={threads}");
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| {
                    t = (t + 1) % 4096;
                    vector.step(&actions[t..t + VECTOR_ENVS]).unwrap().rewards[0]
                })
            });
        }
    }
    group.finish();
}

/// Pendulum plus a fixed amount of busy work per step, standing in for a MuJoCo env
/// (HalfCheetah-v5 steps in about 40 us) to show what the worker threads buy.
struct Expensive {
    env: Box<dyn Env>,
    work_iterations: u32,
}

impl Env for Expensive {
    fn id(&self) -> &str {
        "Expensive-Pendulum"
    }

    fn observation_space(&self) -> &BoxSpace {
        self.env.observation_space()
    }

    fn action_space(&self) -> &BoxSpace {
        self.env.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        self.env.reset(seed)
    }

    fn reset_to_state(
        &mut self,
        seed: Option<u64>,
        state: &serde_json::Value,
    ) -> Result<(Vec<f64>, Info), EnvError> {
        self.env.reset_to_state(seed, state)
    }

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        let mut x = 1.0_f64;
        for _ in 0..self.work_iterations {
            x = black_box(x.mul_add(0.999_999, 1e-9));
        }
        let mut step = self.env.step(action)?;
        step.reward += x * 0.0;
        Ok(step)
    }
}

fn vector_env_expensive(c: &mut Criterion) {
    let mut group = c.benchmark_group("vector_env_8_expensive");
    group.throughput(Throughput::Elements(VECTOR_ENVS as u64));
    let actions = action_cycle(VECTOR_ENVS);
    let mut single = Expensive {
        env: make("Pendulum-v1").unwrap(),
        work_iterations: 10_000,
    };
    single.reset(Some(0));
    let start = std::time::Instant::now();
    for _ in 0..200 {
        single.step(&actions[..1]).unwrap();
    }
    eprintln!(
        "expensive env: {:.1} us per step",
        start.elapsed().as_secs_f64() / 200.0 * 1e6
    );
    for threads in [1, 2] {
        let members = (0..VECTOR_ENVS)
            .map(|_| Expensive {
                env: make("Pendulum-v1").unwrap(),
                work_iterations: 10_000,
            })
            .collect();
        let mut vector = VectorEnv::new(members).unwrap().with_threads(threads);
        vector.reset(Some(0));
        group.bench_function(
            BenchmarkId::from_parameter(format!("threads={threads}")),
            |b| b.iter(|| vector.step(&actions).unwrap().rewards[0]),
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = single_env, vector_env, vector_env_expensive
}
criterion_main!(benches);
