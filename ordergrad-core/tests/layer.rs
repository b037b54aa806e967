//! The pathwise layer (math.md section 4) on the CPU backend with autodiff.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Tensor, TensorData};
use ordergrad_core::{Objective, RankMethod, RankPlan, RankWeightedValue};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serial_test::serial;

type B = Autodiff<Flex>;

const METHODS: [RankMethod; 2] = [RankMethod::Pairwise, RankMethod::Sort];

fn layer(objective: &str, n: usize, k: usize, method: RankMethod) -> RankWeightedValue<B> {
    let plan = RankPlan::new(&objective.parse::<Objective>().unwrap(), n, k).unwrap();
    RankWeightedValue::new(plan, method, &Default::default())
}

fn tensor(rows: &[Vec<f32>]) -> Tensor<B, 2> {
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::from_data(
        TensorData::new(flat, [rows.len(), rows[0].len()]),
        &Default::default(),
    )
}

fn to_vec<const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor.into_data().to_vec::<f32>().unwrap()
}

const REMAC_SCORES: [f32; 16] = [
    0.12, -0.40, 0.95, 0.33, -1.20, 0.05, 0.71, 0.48, -0.07, 1.30, 0.22, -0.66, 0.58, 0.90, -0.15,
    0.40,
];

#[test]
#[serial(autodiff)]
fn remac_value_and_gradient_match_the_spec() {
    let expected_gradient = [
        0.010989011,
        0.0,
        0.2,
        0.0307692308,
        0.0,
        0.0054945055,
        0.1208791209,
        0.0659340659,
        0.0021978022,
        0.25,
        0.0192307692,
        0.0,
        0.0906593407,
        0.1571428571,
        0.0005494505,
        0.0461538462,
    ];
    for method in METHODS {
        let scores = tensor(&[REMAC_SCORES.to_vec()]).require_grad();
        let value = layer("max", 16, 4, method).forward(scores.clone());
        let grads = value.clone().sum().backward();
        assert!(
            (to_vec(value)[0] as f64 - 0.860686813187).abs() < 1e-6,
            "{method:?}"
        );
        let gradient = scores
            .grad(&grads)
            .unwrap()
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        for (g, e) in gradient.iter().zip(expected_gradient) {
            assert!((*g as f64 - e).abs() < 1e-7, "{method:?}: {gradient:?}");
        }
    }
    for (m, expected) in [(1, 0.2225), (2, 0.589666666667), (8, 1.087714063714)] {
        let value = layer("max", 16, m, RankMethod::Auto).forward(tensor(&[REMAC_SCORES.to_vec()]));
        assert!((to_vec(value)[0] as f64 - expected).abs() < 1e-6, "M={m}");
    }
}

/// Random rows on a coarse grid (many ties) and continuous ones.
fn random_rows(rng: &mut StdRng, batch: usize, n: usize) -> Vec<Vec<f32>> {
    (0..batch)
        .map(|row| {
            (0..n)
                .map(|_| {
                    if row % 2 == 0 {
                        rng.random_range(-2..=2) as f32 * 0.5
                    } else {
                        rng.random_range(-3.0..3.0)
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
#[serial(autodiff)]
fn gradient_is_the_rank_weight_of_each_item_and_value_matches_a_host_sort() {
    let mut rng = StdRng::seed_from_u64(7);
    for (objective, n, k) in [
        ("cvar:0.25", 12, 8),
        ("top:2", 9, 4),
        ("median", 7, 7),
        ("mean", 5, 3),
        ("max", 80, 16),
    ] {
        let rows = random_rows(&mut rng, 6, n);
        for method in [RankMethod::Pairwise, RankMethod::Sort, RankMethod::Auto] {
            let layer = layer(objective, n, k, method);
            let weights = layer.plan().rank_weights().to_vec();
            let values = tensor(&rows).require_grad();
            let output = layer.forward(values.clone());
            let grads = output.clone().sum().backward();
            let gradient = values
                .grad(&grads)
                .unwrap()
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            let output = to_vec(output);
            for (b, row) in rows.iter().enumerate() {
                // Oracle: a plain host sort of the row, ties by index.
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_by(|&i, &j| row[i].total_cmp(&row[j]));
                let value: f64 = order
                    .iter()
                    .zip(&weights)
                    .map(|(&i, w)| row[i] as f64 * w)
                    .sum();
                assert!(
                    (output[b] as f64 - value).abs() < 1e-5,
                    "{objective} {method:?} row {b}"
                );
                let row_gradient = &gradient[b * n..(b + 1) * n];
                let tolerance = 1e-6;
                if method == RankMethod::Pairwise || (method == RankMethod::Auto && n <= 64) {
                    // Pairwise ranks break ties by index, exactly as the oracle.
                    for (rank, &i) in order.iter().enumerate() {
                        assert!(
                            (row_gradient[i] as f64 - weights[rank]).abs() < tolerance,
                            "{objective} {method:?}"
                        );
                    }
                } else {
                    // Any tie-break: the multiset of gradients is the rank weights, and each run
                    // of tied items shares the weights of its ranks.
                    let mut sorted_gradient: Vec<f64> =
                        row_gradient.iter().map(|&g| g as f64).collect();
                    let mut sorted_weights = weights.clone();
                    sorted_gradient.sort_by(f64::total_cmp);
                    sorted_weights.sort_by(f64::total_cmp);
                    common::assert_close(&sorted_gradient, &sorted_weights, tolerance, objective);
                }
            }
        }
    }
}

#[test]
#[serial(autodiff)]
fn pairwise_ranks_are_a_stable_argsort() {
    let layer = layer("mean", 6, 3, RankMethod::Pairwise);
    let ranks = layer.ranks(tensor(&[vec![0.5, -1.0, 0.5, 2.0, -1.0, 0.5]]));
    assert_eq!(
        ranks.into_data().convert::<i64>().to_vec::<i64>().unwrap(),
        vec![2, 0, 3, 5, 1, 4]
    );
}

#[test]
#[serial(autodiff)]
fn normal_location_and_scale_gradients_match_expected_order_statistics() {
    // r = mu + sigma eps: dJ/dmu = sum alpha, dJ/dsigma = sum_j alpha_j e_j, with e the expected
    // order statistics of 4 standard normals.
    let e = [-1.0293753730, -0.2970113823, 0.2970113823, 1.0293753730];
    let (batch, n) = (4000, 16);
    let mut rng = StdRng::seed_from_u64(11);
    let noise: Vec<Vec<f32>> = (0..batch)
        .map(|_| {
            (0..n)
                .map(|_| {
                    // Box-Muller: the test needs no distribution crate.
                    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
                    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
                })
                .collect()
        })
        .collect();
    for objective in ["max", "top:2", "cvar:0.5", "median", "custom:0.5,-1,2,0.25"] {
        let layer = layer(objective, n, 4, RankMethod::Auto);
        let alpha = layer.plan().alpha().to_vec();
        let device = Default::default();
        let mu = Tensor::<B, 1>::from_floats([0.7], &device).require_grad();
        let sigma = Tensor::<B, 1>::from_floats([1.3], &device).require_grad();
        let eps = tensor(&noise);
        let values = mu.clone().unsqueeze::<2>().expand([batch, n])
            + sigma.clone().unsqueeze::<2>().expand([batch, n]) * eps.clone();
        let grads = layer.forward(values.clone()).mean().backward();
        let mu_gradient = mu
            .grad(&grads)
            .unwrap()
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let sigma_gradient = sigma
            .grad(&grads)
            .unwrap()
            .into_data()
            .to_vec::<f32>()
            .unwrap()[0] as f64;
        let sum_alpha: f64 = alpha.iter().sum();
        assert!(
            (mu_gradient[0] as f64 - sum_alpha).abs() < 1e-4,
            "{objective}: dmu"
        );

        // Per-row gradient in sigma is sum_i w_rank(i) eps_i: its spread gives the standard error.
        let per_row: Vec<f64> = {
            let weights = to_vec(layer.item_weights(values) * eps);
            weights
                .chunks(n)
                .map(|row| row.iter().map(|&x| x as f64).sum())
                .collect()
        };
        let mean = per_row.iter().sum::<f64>() / batch as f64;
        let standard_error =
            (per_row.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / batch as f64 / batch as f64)
                .sqrt();
        let expected: f64 = alpha.iter().zip(e).map(|(a, e)| a * e).sum();
        assert!(
            (sigma_gradient - mean).abs() < 1e-4,
            "{objective}: autodiff vs item weights"
        );
        assert!(
            (sigma_gradient - expected).abs() < 4.0 * standard_error,
            "{objective}: dsigma {sigma_gradient} vs {expected} (se {standard_error})"
        );
    }
}

#[test]
#[serial(autodiff)]
fn nan_values_give_a_nan_row_and_leave_other_rows_alone() {
    for method in METHODS {
        let output = to_vec(layer("max", 4, 2, method).forward(tensor(&[
            vec![1.0, f32::NAN, 0.0, 2.0],
            vec![1.0, 3.0, 0.0, 2.0],
        ])));
        assert!(output[0].is_nan(), "{method:?}");
        assert!(
            (output[1] - (0.0 * 0.0 + 1.0 / 6.0 + 2.0 * 2.0 / 6.0 + 3.0 * 3.0 / 6.0)).abs() < 1e-6,
            "{method:?}: {output:?}"
        );
    }
}
