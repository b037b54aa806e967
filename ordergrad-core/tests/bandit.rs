//! The LR estimator of math.md section 3 on math.md's five-armed bandit: averaged over many batches,
//! it must land within a few standard errors of the exact gradient of J.

use ordergrad_core::{Objective, RankPlan};
use rand::{Rng, SeedableRng, rngs::StdRng};

const ARM_REWARDS: [f64; 5] = [-1.0, 0.2, 1.1, 2.4, 0.2];
const LOGITS: [f64; 5] = [0.3, -0.2, 0.1, -0.5, 0.4];
const K: usize = 4;
const N: usize = 8;
const BATCHES: usize = 40_000;

fn softmax(logits: &[f64]) -> Vec<f64> {
    let largest = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|l| (l - largest).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

fn sample_arm(probabilities: &[f64], rng: &mut StdRng) -> usize {
    let mut u: f64 = rng.random();
    for (arm, p) in probabilities.iter().enumerate() {
        if u < *p {
            return arm;
        }
        u -= p;
    }
    probabilities.len() - 1
}

/// Mean and standard error of the estimator (K/N) sum_i a_i (onehot(arm_i) - p) over BATCHES.
fn estimate(objective: Objective, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let plan = RankPlan::new(&objective, N, K).unwrap();
    let probabilities = softmax(&LOGITS);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sum = [0.0; 5];
    let mut sum_squares = [0.0; 5];
    let mut arms = [0usize; N];
    let mut rewards = [0.0; N];
    for _ in 0..BATCHES {
        for i in 0..N {
            arms[i] = sample_arm(&probabilities, &mut rng);
            rewards[i] = ARM_REWARDS[arms[i]];
        }
        let advantages = plan.advantages(&rewards).unwrap().advantages;
        let mut gradient = [0.0; 5];
        for (arm, advantage) in arms.iter().zip(&advantages) {
            for (logit, g) in gradient.iter_mut().enumerate() {
                let score = if logit == *arm { 1.0 } else { 0.0 } - probabilities[logit];
                *g += K as f64 / N as f64 * advantage * score;
            }
        }
        for logit in 0..5 {
            sum[logit] += gradient[logit];
            sum_squares[logit] += gradient[logit] * gradient[logit];
        }
    }
    let count = BATCHES as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
    let standard_error = sum_squares
        .iter()
        .zip(&mean)
        .map(|(s, m)| ((s / count - m * m) / count).sqrt())
        .collect();
    (mean, standard_error)
}

fn check(objective: Objective, exact: [f64; 5], seed: u64) {
    let (mean, standard_error) = estimate(objective.clone(), seed);
    for logit in 0..5 {
        let error = (mean[logit] - exact[logit]).abs();
        assert!(
            error < 4.0 * standard_error[logit],
            "{objective} logit {logit}: estimate {} vs exact {} ({:.1} standard errors)",
            mean[logit],
            exact[logit],
            error / standard_error[logit]
        );
    }
}

#[test]
fn lr_estimator_is_unbiased_for_max() {
    check(
        Objective::Max,
        [
            -0.20848607,
            -0.11484764,
            0.07925513,
            0.45334462,
            -0.20926604,
        ],
        1,
    );
}

#[test]
fn lr_estimator_is_unbiased_for_min() {
    check(
        Objective::Min,
        [-0.38857311, 0.07136936, 0.12029568, 0.06686462, 0.13004345],
        2,
    );
}

#[test]
fn lr_estimator_is_unbiased_for_mean() {
    check(
        Objective::Mean,
        [
            -0.33469678,
            -0.02011932,
            0.15799298,
            0.23348293,
            -0.03665980,
        ],
        3,
    );
}

#[test]
fn batch_value_is_unbiased_for_j() {
    // Exact J of math.md section 7; the batch value averages to it.
    for (objective, exact) in [
        (Objective::Max, 1.3961678806),
        (Objective::Min, -0.6133929430),
        (Objective::Mean, 0.3320132942),
    ] {
        let plan = RankPlan::new(&objective, N, K).unwrap();
        let probabilities = softmax(&LOGITS);
        let mut rng = StdRng::seed_from_u64(4);
        let values: Vec<f64> = (0..BATCHES)
            .map(|_| {
                let rewards: Vec<f64> = (0..N)
                    .map(|_| ARM_REWARDS[sample_arm(&probabilities, &mut rng)])
                    .collect();
                plan.value(&rewards).unwrap()
            })
            .collect();
        let mean = values.iter().sum::<f64>() / BATCHES as f64;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / BATCHES as f64;
        let standard_error = (variance / BATCHES as f64).sqrt();
        assert!(
            (mean - exact).abs() < 4.0 * standard_error,
            "{objective}: {mean} vs {exact}"
        );
    }
}
