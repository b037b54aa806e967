//! Test oracles: the definitions of math.md sections 2 and 3 evaluated by enumerating every subset.

#![allow(dead_code)]

/// The K-draw L-statistic of a subset: sum_j alpha_j times its j-th smallest value.
pub fn l_statistic(alpha: &[f64], subset: &[f64]) -> f64 {
    let mut sorted = subset.to_vec();
    sorted.sort_by(f64::total_cmp);
    alpha.iter().zip(&sorted).map(|(a, v)| a * v).sum()
}

/// Every K-subset of `items` (as index lists), in no particular order.
pub fn subsets(items: &[usize], k: usize) -> Vec<Vec<usize>> {
    let mut all = Vec::new();
    let mut current = Vec::new();
    fn walk(items: &[usize], k: usize, current: &mut Vec<usize>, all: &mut Vec<Vec<usize>>) {
        if current.len() == k {
            all.push(current.clone());
            return;
        }
        for (position, &item) in items.iter().enumerate() {
            current.push(item);
            walk(&items[position + 1..], k, current, all);
            current.pop();
        }
    }
    walk(items, k, &mut current, &mut all);
    all
}

/// Mean L-statistic over the K-subsets of `rewards` restricted to `items`.
pub fn mean_over_subsets(
    alpha: &[f64],
    rewards: &[f64],
    items: &[usize],
    must_contain: Option<usize>,
) -> f64 {
    let k = alpha.len();
    let chosen: Vec<Vec<usize>> = subsets(items, k)
        .into_iter()
        .filter(|subset| must_contain.is_none_or(|item| subset.contains(&item)))
        .collect();
    let total: f64 = chosen
        .iter()
        .map(|subset| {
            let values: Vec<f64> = subset.iter().map(|&i| rewards[i]).collect();
            l_statistic(alpha, &values)
        })
        .sum();
    total / chosen.len() as f64
}

/// The batch value: the mean L-statistic over all K-subsets of the group.
pub fn brute_value(alpha: &[f64], rewards: &[f64]) -> f64 {
    let all: Vec<usize> = (0..rewards.len()).collect();
    mean_over_subsets(alpha, rewards, &all, None)
}

/// a_i = q_i - v_i by enumeration: q_i over the K-subsets containing i, v_i over the K-subsets
/// of the other N - 1 items.
pub fn brute_advantages(alpha: &[f64], rewards: &[f64]) -> Vec<f64> {
    let n = rewards.len();
    let all: Vec<usize> = (0..n).collect();
    (0..n)
        .map(|i| {
            let others: Vec<usize> = all.iter().copied().filter(|&j| j != i).collect();
            mean_over_subsets(alpha, rewards, &all, Some(i))
                - mean_over_subsets(alpha, rewards, &others, None)
        })
        .collect()
}

pub fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (index, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tolerance,
            "{what}[{index}]: got {a}, expected {e} (tolerance {tolerance})\n  actual   {actual:?}\n  expected {expected:?}"
        );
    }
}

pub fn fractions(pairs: &[(f64, f64)]) -> Vec<f64> {
    pairs
        .iter()
        .map(|(numerator, denominator)| numerator / denominator)
        .collect()
}
