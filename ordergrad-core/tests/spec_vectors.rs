//! Every test vector of section 7 of docs/math.md.

mod common;

use common::{assert_close, fractions};
use ordergrad_core::{Objective, RankPlan};

const TOLERANCE: f64 = 1e-12;

fn weights(objective: &str, n: usize, k: usize) -> Vec<f64> {
    RankPlan::new(&objective.parse::<Objective>().unwrap(), n, k)
        .unwrap()
        .rank_weights()
        .to_vec()
}

#[test]
fn rank_weights_n8_k4() {
    let top2 = fractions(&[
        (0., 1.),
        (0., 1.),
        (1., 28.),
        (13., 140.),
        (11., 70.),
        (3., 14.),
        (1., 4.),
        (1., 4.),
    ]);
    assert_close(&weights("top:2", 8, 4), &top2, TOLERANCE, "top:2");
    let max = fractions(&[
        (0., 1.),
        (0., 1.),
        (0., 1.),
        (1., 70.),
        (2., 35.),
        (1., 7.),
        (2., 7.),
        (1., 2.),
    ]);
    assert_close(&weights("max", 8, 4), &max, TOLERANCE, "max");
    let min: Vec<f64> = max.iter().rev().copied().collect();
    assert_close(&weights("min", 8, 4), &min, TOLERANCE, "min");
    let median = fractions(&[
        (0., 1.),
        (3., 28.),
        (5., 28.),
        (3., 14.),
        (3., 14.),
        (5., 28.),
        (3., 28.),
        (0., 1.),
    ]);
    assert_close(&weights("median", 8, 4), &median, TOLERANCE, "median");
}

#[test]
fn rank_weights_cvar_n16() {
    let mut quarter = vec![0.25; 4];
    quarter.extend([0.0; 12]);
    assert_close(
        &weights("cvar:0.25", 16, 16),
        &quarter,
        TOLERANCE,
        "cvar:0.25 K=16",
    );

    let mut k8 = fractions(&[
        (1., 4.),
        (1., 4.),
        (1., 5.),
        (9., 65.),
        (11., 130.),
        (1., 22.),
        (3., 143.),
        (17., 2145.),
        (19., 8580.),
        (1., 2860.),
    ]);
    k8.extend([0.0; 6]);
    assert_close(
        &weights("cvar:0.25", 16, 8),
        &k8,
        TOLERANCE,
        "cvar:0.25 K=8",
    );

    let mut tenth = vec![5.0 / 8.0, 3.0 / 8.0];
    tenth.extend([0.0; 14]);
    assert_close(
        &weights("cvar:0.1", 16, 16),
        &tenth,
        TOLERANCE,
        "cvar:0.1 K=16",
    );
    let plan = RankPlan::new(&Objective::Cvar(0.1), 16, 16).unwrap();
    assert_close(plan.alpha(), &tenth, TOLERANCE, "cvar:0.1 alpha");
}

const REWARDS: [f64; 8] = [0.3, 1.2, -0.5, 0.9, 0.0, 2.1, 0.7, -1.0];

fn check_group(objective: &str, k: usize, rewards: &[f64], value: f64, advantages: &[f64]) {
    let plan = RankPlan::new(&objective.parse::<Objective>().unwrap(), rewards.len(), k).unwrap();
    let result = plan.advantages(rewards).unwrap();
    assert!(
        (result.value - value).abs() < TOLERANCE,
        "{objective}: value {} vs {value}",
        result.value
    );
    assert!(
        (plan.value(rewards).unwrap() - value).abs() < TOLERANCE,
        "{objective}: value()"
    );
    assert_close(&result.advantages, advantages, 1e-12, objective);
}

#[test]
fn advantages_of_the_eight_reward_group() {
    check_group(
        "max",
        4,
        &REWARDS,
        274. / 175.,
        &fractions(&[
            (-1., 5.),
            (1., 25.),
            (-1., 5.),
            (-23., 175.),
            (-1., 5.),
            (187., 175.),
            (-31., 175.),
            (-1., 5.),
        ]),
    );
    check_group(
        "top:2",
        4,
        &REWARDS,
        809. / 700.,
        &fractions(&[
            (-13., 70.),
            (67., 350.),
            (-11., 50.),
            (1., 50.),
            (-11., 50.),
            (247., 350.),
            (-1., 14.),
            (-11., 50.),
        ]),
    );
    check_group(
        "min",
        4,
        &REWARDS,
        -431. / 700.,
        &fractions(&[
            (11., 70.),
            (9., 50.),
            (-69., 350.),
            (9., 50.),
            (31., 350.),
            (9., 50.),
            (9., 50.),
            (-269., 350.),
        ]),
    );
    check_group(
        "median",
        4,
        &REWARDS,
        9. / 20.,
        &fractions(&[
            (-1., 14.),
            (109., 350.),
            (-123., 350.),
            (79., 350.),
            (-73., 350.),
            (109., 350.),
            (47., 350.),
            (-123., 350.),
        ]),
    );
    check_group(
        "mean",
        4,
        &REWARDS,
        37. / 80.,
        &fractions(&[
            (-13., 280.),
            (59., 280.),
            (-11., 40.),
            (1., 8.),
            (-37., 280.),
            (131., 280.),
            (19., 280.),
            (-117., 280.),
        ]),
    );
    let plan = RankPlan::new(&Objective::Mean, 8, 1).unwrap();
    let rloo = [
        -0.1857142857,
        0.8428571429,
        -1.1,
        0.5,
        -0.5285714286,
        1.8714285714,
        0.2714285714,
        -1.6714285714,
    ];
    assert_close(
        &plan.advantages(&REWARDS).unwrap().advantages,
        &rloo,
        1e-9,
        "K=1",
    );
}

#[test]
fn advantages_with_ties() {
    let binary = [1., 0., 1., 0., 1., 0., 0., 1.];
    let expected: Vec<f64> = binary
        .iter()
        .map(|&r| if r == 1.0 { 1. / 35. } else { -1. / 35. })
        .collect();
    check_group("max", 4, &binary, 69. / 70., &expected);

    let rewards = [0.5, 0.5, -1., 2., 0.5, 2.];
    check_group(
        "max",
        3,
        &rewards,
        17. / 10.,
        &[-0.3, -0.3, -0.3, 0.6, -0.3, 0.6],
    );
    check_group(
        "min",
        3,
        &rewards,
        -1. / 4.,
        &[0.3, 0.3, -1.5, 0.3, 0.3, 0.3],
    );
}
