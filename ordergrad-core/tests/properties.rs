//! Properties of math.md sections 2, 3 and 6, checked against brute-force subset enumeration.

mod common;

use common::{assert_close, brute_advantages, brute_value};
use ordergrad_core::{Objective, OrderGradError, RankPlan};
use proptest::prelude::*;

/// Any objective that can be formed at this K, custom weights included.
fn objective_for(k: usize) -> impl Strategy<Value = Objective> {
    let counted = 1..=k;
    prop_oneof![
        Just(Objective::Mean),
        Just(Objective::Max),
        Just(Objective::Min),
        Just(Objective::Median),
        counted.clone().prop_map(Objective::Top),
        counted.prop_map(Objective::Bottom),
        (0..k.div_ceil(2)).prop_map(Objective::Trim),
        (0.01f64..=1.0).prop_map(Objective::Cvar),
        (0.01f64..=1.0).prop_map(Objective::Var),
        prop::collection::vec(-2.0f64..2.0, k).prop_map(Objective::Custom),
    ]
}

/// Rewards on a coarse grid, so that ties are common, or continuous.
fn rewards(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        prop::collection::vec((-3i32..=3).prop_map(|r| r as f64 * 0.5), n),
        prop::collection::vec(-10.0f64..10.0, n),
    ]
}

/// A plan with 2 <= N <= 9 and 1 <= K <= N - 1, and a group of rewards for it.
fn lr_case() -> impl Strategy<Value = (RankPlan, Vec<f64>)> {
    (2usize..=9)
        .prop_flat_map(|n| (Just(n), 1..n))
        .prop_flat_map(|(n, k)| (Just(n), Just(k), objective_for(k), rewards(n)))
        .prop_map(|(n, k, objective, rewards)| (RankPlan::new(&objective, n, k).unwrap(), rewards))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn value_and_advantages_equal_subset_enumeration(
        (n, k, objective, rewards) in (2usize..=9)
            .prop_flat_map(|n| (Just(n), 1..n))
            .prop_flat_map(|(n, k)| (Just(n), Just(k), objective_for(k), rewards(n)))
    ) {
        let plan = RankPlan::new(&objective, n, k).unwrap();
        let alpha = plan.alpha().to_vec();
        let result = plan.advantages(&rewards).unwrap();
        let expected_value = brute_value(&alpha, &rewards);
        prop_assert!((result.value - expected_value).abs() < 1e-9, "value {} vs {}", result.value, expected_value);
        let expected = brute_advantages(&alpha, &rewards);
        for (a, e) in result.advantages.iter().zip(&expected) {
            prop_assert!((a - e).abs() < 1e-9, "{:?} vs {:?}", result.advantages, expected);
        }
    }

    #[test]
    fn value_with_k_equal_n_is_the_l_statistic_itself(
        (objective, rewards) in (1usize..=9).prop_flat_map(|n| (objective_for(n), rewards(n)))
    ) {
        let n = rewards.len();
        let plan = RankPlan::new(&objective, n, n).unwrap();
        let expected = brute_value(plan.alpha(), &rewards);
        prop_assert!((plan.value(&rewards).unwrap() - expected).abs() < 1e-9);
        prop_assert_eq!(plan.rank_weights(), plan.alpha());
    }

    #[test]
    fn advantages_sum_to_zero_and_ignore_translation((plan, rewards) in lr_case(), offset in -1e6f64..1e6) {
        let base = plan.advantages(&rewards).unwrap().advantages;
        prop_assert!(base.iter().sum::<f64>().abs() < 1e-9);
        let shifted: Vec<f64> = rewards.iter().map(|r| r + offset).collect();
        let moved = plan.advantages(&shifted).unwrap().advantages;
        // Centring first: a 1e6 offset costs no more than the rounding of the shifted inputs.
        for (a, b) in base.iter().zip(&moved) {
            prop_assert!((a - b).abs() < 1e-12 * (1.0 + offset.abs()), "{:?} vs {:?}", base, moved);
        }
    }

    #[test]
    fn advantages_scale_with_positive_factors((plan, rewards) in lr_case(), factor in 0.01f64..100.0) {
        let base = plan.advantages(&rewards).unwrap().advantages;
        let scaled: Vec<f64> = rewards.iter().map(|r| r * factor).collect();
        let result = plan.advantages(&scaled).unwrap().advantages;
        for (a, b) in base.iter().zip(&result) {
            prop_assert!((a * factor - b).abs() < 1e-9 * (1.0 + factor));
        }
    }

    #[test]
    fn permuting_rewards_permutes_advantages((plan, rewards) in lr_case(), seed in any::<u64>()) {
        let n = plan.n();
        let mut permutation: Vec<usize> = (0..n).collect();
        let mut state = seed;
        for i in (1..n).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            permutation.swap(i, (state >> 33) as usize % (i + 1));
        }
        let base = plan.advantages(&rewards).unwrap().advantages;
        let permuted: Vec<f64> = permutation.iter().map(|&i| rewards[i]).collect();
        let result = plan.advantages(&permuted).unwrap().advantages;
        for (position, &i) in permutation.iter().enumerate() {
            prop_assert!((result[position] - base[i]).abs() < 1e-12);
        }
    }

    #[test]
    fn tied_rewards_get_bit_identical_advantages((plan, rewards) in lr_case()) {
        let n = plan.n();
        let advantages = plan.advantages(&rewards).unwrap().advantages;
        for i in 0..n {
            for j in 0..n {
                if rewards[i] == rewards[j] {
                    prop_assert_eq!(advantages[i].to_bits(), advantages[j].to_bits());
                }
            }
        }
    }

    #[test]
    fn rank_weight_identities((n, k, objective) in (1usize..=40)
        .prop_flat_map(|n| (Just(n), 1..=n))
        .prop_flat_map(|(n, k)| (Just(n), Just(k), objective_for(k))))
    {
        let plan = RankPlan::new(&objective, n, k).unwrap();
        let sum_w: f64 = plan.rank_weights().iter().sum();
        let sum_alpha: f64 = plan.alpha().iter().sum();
        prop_assert!((sum_w - sum_alpha).abs() < 1e-12 * (1.0 + sum_alpha.abs()));
        // Every one-hot alpha is a column of W: columns sum to 1, rows sum to K/N.
        let mut row_sums = vec![0.0; n];
        for j in 0..k {
            let mut one_hot = vec![0.0; k];
            one_hot[j] = 1.0;
            let column = RankPlan::new(&Objective::Custom(one_hot), n, k).unwrap();
            prop_assert!((column.rank_weights().iter().sum::<f64>() - 1.0).abs() < 1e-12);
            for (sum, w) in row_sums.iter_mut().zip(column.rank_weights()) {
                *sum += w;
            }
        }
        for sum in row_sums {
            prop_assert!((sum - k as f64 / n as f64).abs() < 1e-12);
        }
    }
}

#[test]
fn k_equal_one_is_rloo() {
    let rewards = [0.3, 1.2, -0.5, 0.9, 0.0, 2.1, 0.7, -1.0];
    let plan = RankPlan::new(&Objective::Max, 8, 1).unwrap();
    assert!(
        plan.rank_weights()
            .iter()
            .all(|&w| (w - 1.0 / 8.0).abs() < 1e-15)
    );
    let total: f64 = rewards.iter().sum();
    let rloo: Vec<f64> = rewards.iter().map(|r| r - (total - r) / 7.0).collect();
    assert_close(
        &plan.advantages(&rewards).unwrap().advantages,
        &rloo,
        1e-12,
        "K=1",
    );
}

/// MaxPO's leave-two-out form for max@K: a_i = EI_i - mean_{j != i} EI_{j | without i}, where
/// EI_j = E[(r_j - max T)^+] over the (K-1)-subsets T of the items other than j (and i).
fn maxpo_advantages(rewards: &[f64], k: usize) -> Vec<f64> {
    let n = rewards.len();
    let expected_improvement = |item: usize, excluded: Option<usize>| -> f64 {
        let pool: Vec<usize> = (0..n)
            .filter(|&j| j != item && Some(j) != excluded)
            .collect();
        let draws = common::subsets(&pool, k - 1);
        let total: f64 = draws
            .iter()
            .map(|subset| {
                let best = subset
                    .iter()
                    .map(|&j| rewards[j])
                    .fold(f64::NEG_INFINITY, f64::max);
                (rewards[item] - best).max(0.0)
            })
            .sum();
        total / draws.len() as f64
    };
    (0..n)
        .map(|i| {
            let baseline: f64 = (0..n)
                .filter(|&j| j != i)
                .map(|j| expected_improvement(j, Some(i)))
                .sum::<f64>()
                / (n - 1) as f64;
            expected_improvement(i, None) - baseline
        })
        .collect()
}

#[test]
fn max_advantages_equal_maxpo_leave_two_out() {
    let groups: [&[f64]; 3] = [
        &[0.3, 1.2, -0.5, 0.9, 0.0, 2.1, 0.7, -1.0],
        &[1., 0., 1., 0., 1., 0., 0., 1.],
        &[0.5, 0.5, -1., 2., 0.5, 2., 3.5],
    ];
    for rewards in groups {
        for k in 2..rewards.len() {
            let plan = RankPlan::new(&Objective::Max, rewards.len(), k).unwrap();
            let ours = plan.advantages(rewards).unwrap().advantages;
            assert_close(
                &ours,
                &maxpo_advantages(rewards, k),
                1e-12,
                &format!("max@{k}"),
            );
        }
    }
}

#[test]
fn weights_stay_exact_at_n_1024() {
    let n = 1024;
    for k in [2, 17, 256, 512, 1023, 1024] {
        let plan = RankPlan::new(&Objective::Max, n, k).unwrap();
        // max gives w_m = C(m-1, K-1) / C(N, K); compare with the product form, exact in f64 to a
        // few ulps per factor: w_N = K/N and w_{m-1} = w_m (m-K)/(m-1).
        let mut expected = vec![0.0; n];
        expected[n - 1] = k as f64 / n as f64;
        for m in (2..=n).rev() {
            expected[m - 2] = expected[m - 1] * (m as f64 - k as f64).max(0.0) / (m as f64 - 1.0);
        }
        for (m, (w, e)) in plan.rank_weights().iter().zip(&expected).enumerate() {
            assert!(
                (w - e).abs() <= 1e-11 * e.abs().max(1e-300) || (w - e).abs() < 1e-300,
                "K={k} m={m}: {w} vs {e}"
            );
        }
        let mean = RankPlan::new(&Objective::Cvar(0.3), n, k).unwrap();
        assert!((mean.rank_weights().iter().sum::<f64>() - 1.0).abs() < 1e-11);
    }
    let median = RankPlan::new(&Objective::Median, n, 511).unwrap();
    assert!((median.rank_weights().iter().sum::<f64>() - 1.0).abs() < 1e-11);
}

#[test]
fn advantage_matrix_reproduces_the_scans() {
    let rewards: [f64; 8] = [0.3, 1.2, -0.5, 0.9, 0.0, 2.1, 0.7, -1.0];
    let plan = RankPlan::new(&"top:2".parse().unwrap(), 8, 4).unwrap();
    let matrix = plan.advantage_matrix().unwrap();
    let mut order: Vec<usize> = (0..8).collect();
    order.sort_by(|&a, &b| rewards[a].total_cmp(&rewards[b]));
    let sorted: Vec<f64> = order.iter().map(|&i| rewards[i]).collect();
    let scans = plan.advantages(&rewards).unwrap().advantages;
    for (t, &item) in order.iter().enumerate() {
        let from_matrix: f64 = (0..8).map(|m| matrix[t * 8 + m] * sorted[m]).sum();
        assert!((from_matrix - scans[item]).abs() < 1e-12);
    }
}

#[test]
fn bad_groups_are_errors_that_name_the_problem() {
    let plan = RankPlan::new(&Objective::Max, 4, 2).unwrap();
    let error = plan.advantages(&[1.0, f64::NAN, 0.0, 2.0]).unwrap_err();
    assert!(
        matches!(
            error,
            OrderGradError::NonFiniteReward {
                group: 0,
                index: 1,
                ..
            }
        ),
        "{error}"
    );
    let mut out = vec![0.0; 8];
    let error = plan
        .batch_advantages(
            &[1.0, 2.0, 3.0, 4.0, 0.0, 1.0, f64::INFINITY, 2.0],
            &mut out,
        )
        .unwrap_err();
    assert!(error.to_string().contains("group 1"), "{error}");
    assert!(plan.batch_advantages(&[1.0; 6], &mut [0.0; 6]).is_err());
    assert!(plan.advantages(&[1.0; 3]).is_err());
    assert!(plan.value(&[1.0, f64::NAN, 0.0, 2.0]).is_err());

    let full = RankPlan::new(&Objective::Max, 4, 4).unwrap();
    assert!(matches!(
        full.advantages(&[1.0; 4]),
        Err(OrderGradError::NoLeaveOneOut { n: 4, k: 4 })
    ));
    assert_eq!(full.value(&[1.0, 3.0, 2.0, 0.0]).unwrap(), 3.0);
    assert!(matches!(
        RankPlan::new(&Objective::Max, 4, 5),
        Err(OrderGradError::InvalidComparisonSize { .. })
    ));
    assert!(matches!(
        RankPlan::new(&Objective::Max, 4, 0),
        Err(OrderGradError::InvalidComparisonSize { .. })
    ));
}

#[test]
fn all_equal_rewards_have_zero_advantages() {
    let plan = RankPlan::new(&Objective::Cvar(0.25), 16, 8).unwrap();
    let result = plan.advantages(&[3.5; 16]).unwrap();
    assert!(result.advantages.iter().all(|&a| a == 0.0));
    assert!((result.value - 3.5).abs() < 1e-12);
}

#[test]
fn batch_advantages_match_one_group_at_a_time() {
    let plan = RankPlan::new(&Objective::Top(2), 5, 3).unwrap();
    let rewards: Vec<f64> = (0..20)
        .map(|i| ((i * 37) % 11) as f64 * 0.3 - 1.0)
        .collect();
    let mut batched = vec![0.0; 20];
    let values = plan.batch_advantages(&rewards, &mut batched).unwrap();
    for (group, chunk) in rewards.chunks(5).enumerate() {
        let single = plan.advantages(chunk).unwrap();
        assert_eq!(values[group], single.value);
        assert_eq!(
            &batched[group * 5..group * 5 + 5],
            single.advantages.as_slice()
        );
    }
}

#[test]
fn values_one_ulp_apart_are_ordered_exactly() {
    // Keys carry the item index in their low bits, so these values share a key prefix and can
    // leave the sort swapped; the result must still equal enumeration, ties bit-identical.
    let base = 1.0f64;
    let next = f64::from_bits(base.to_bits() + 1);
    let after = f64::from_bits(base.to_bits() + 2);
    let rewards = [next, base, after, base, next, 0.5, base, after];
    for objective in [
        Objective::Max,
        Objective::Min,
        Objective::Top(2),
        Objective::Cvar(0.3),
    ] {
        let plan = RankPlan::new(&objective, 8, 4).unwrap();
        let result = plan.advantages(&rewards).unwrap();
        let mut order: Vec<usize> = (0..8).collect();
        order.sort_by(|&a, &b| rewards[a].total_cmp(&rewards[b]));
        let sorted: Vec<f64> = order.iter().map(|&i| rewards[i]).collect();
        let value: f64 = sorted
            .iter()
            .zip(plan.rank_weights())
            .map(|(r, w)| r * w)
            .sum();
        assert!((result.value - value).abs() < 1e-15, "{objective}");
        assert_close(
            &result.advantages,
            &brute_advantages(plan.alpha(), &rewards),
            1e-12,
            "ulps",
        );
        assert_eq!(
            result.advantages[1].to_bits(),
            result.advantages[3].to_bits()
        );
        assert_eq!(
            result.advantages[0].to_bits(),
            result.advantages[4].to_bits()
        );
        assert_eq!(
            result.advantages[2].to_bits(),
            result.advantages[7].to_bits()
        );
    }
}
