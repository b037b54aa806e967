//! The two hot paths: LR rank advantages for many groups, and the RP layer's forward + backward.
//! `cargo bench -p ordergrad-core`; the README reports the figures.

use std::hint::black_box;

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ordergrad_core::{Objective, RankMethod, RankPlan, RankWeightedValue};
use rand::{Rng, SeedableRng, rngs::StdRng};

fn lr_advantages(c: &mut Criterion) {
    let (groups, n) = (4096, 64);
    let mut rng = StdRng::seed_from_u64(0);
    let rewards: Vec<f64> = (0..groups * n)
        .map(|_| rng.random_range(-10.0..10.0))
        .collect();
    let mut advantages = vec![0.0; rewards.len()];
    let mut bench = c.benchmark_group("lr_advantages");
    bench.throughput(Throughput::Elements(rewards.len() as u64));
    for (objective, k) in [("cvar:0.25", 16), ("max", 8), ("mean", 63)] {
        let plan = RankPlan::new(&objective.parse::<Objective>().unwrap(), n, k).unwrap();
        bench.bench_function(format!("{groups}x{n} {objective} K={k}"), |b| {
            b.iter(|| {
                plan.batch_advantages(black_box(&rewards), &mut advantages)
                    .unwrap()
            })
        });
    }
    bench.finish();
}

fn rp_layer(c: &mut Criterion) {
    type B = Autodiff<Flex>;
    let (batch, n) = (256, 32);
    let device = Default::default();
    let mut bench = c.benchmark_group("rp_layer_forward_backward");
    bench.throughput(Throughput::Elements((batch * n) as u64));
    for method in [RankMethod::Pairwise, RankMethod::Sort] {
        let plan = RankPlan::new(&Objective::Cvar(0.1), n, n).unwrap();
        let layer = RankWeightedValue::<B>::new(plan, method, &device);
        let values = Tensor::<B, 2>::random([batch, n], Distribution::Normal(0.0, 1.0), &device);
        bench.bench_function(format!("{batch}x{n} cvar:0.1 {method:?}"), |b| {
            b.iter(|| {
                let values = values.clone().require_grad();
                let grads = layer.forward(values.clone()).mean().backward();
                black_box(values.grad(&grads).unwrap().into_data())
            })
        });
    }
    bench.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = lr_advantages, rp_layer
}
criterion_main!(benches);
