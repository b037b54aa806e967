//! The precomputed plan for one (N, K, objective): the rank weights of math.md section 2 and the
//! prefix/suffix coefficients of the likelihood-ratio form of section 3. Everything here depends
//! only on N, K and alpha, is computed once in f64, and is then reused for every group.

use crate::combinatorics::LogFactorials;
use crate::error::{OrderGradError, Result};
use crate::objective::Objective;

/// Rank weights and LR coefficients for groups of `n` samples, comparison size `k` and one
/// objective. Build it once per configuration; it is cheap to share across threads.
#[derive(Debug, Clone)]
pub struct RankPlan {
    objective: Objective,
    n: usize,
    k: usize,
    alpha: Vec<f64>,
    rank_weights: Vec<f64>,
    lr: Option<LrCoefficients>,
}

/// Coefficients of the O(N) scans that turn sorted rewards into rank advantages (0-indexed ranks).
#[derive(Debug, Clone)]
pub(crate) struct LrCoefficients {
    /// `A_m - U_m`: how much a reward ranked m (below the item) moves the item's advantage.
    pub(crate) below: Vec<f64>,
    /// `B_t = (N/K) w_t`: the item's own weight.
    pub(crate) itself: Vec<f64>,
    /// `Cc_m - U_{m-1}`: how much a reward ranked m (above the item) moves the item's advantage.
    pub(crate) above: Vec<f64>,
}

/// What [`RankPlan::new`] would take, known without building anything: callers that get N and
/// K from a user refuse absurd ones before allocating (see [`RankPlan::cost`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanCost {
    /// Bytes of the tables the plan builds and keeps (f64s: log factorials, alpha, the rank
    /// weights, the LR coefficients and their temporaries). Saturates at `u64::MAX`.
    pub bytes: u64,
    /// Binomial terms summed (one `exp` each): rows times nonzero weights. Saturates.
    pub terms: u64,
}

impl RankPlan {
    /// The cost of `RankPlan::new(objective, n, k)`, with the same errors, in O(1) time and
    /// memory (O(K) for a custom objective, whose K weights already exist).
    pub fn cost(objective: &Objective, n: usize, k: usize) -> Result<PlanCost> {
        if k < 1 || k > n {
            return Err(OrderGradError::InvalidComparisonSize { n, k });
        }
        let nonzero = objective.nonzero_weights(k)? as u64;
        let (n, k) = (n as u64, k as u64);
        // Rank weights; with a leave-one-out baseline (K < N) also the coefficients below and
        // above, and the leave-one-out weights.
        let (rows, tables) = if k < n { (4, 8) } else { (1, 2) };
        let f64s = n.saturating_mul(tables).saturating_add(k).saturating_add(1);
        Ok(PlanCost {
            bytes: f64s.saturating_mul(std::mem::size_of::<f64>() as u64),
            terms: n.saturating_mul(rows).saturating_mul(nonzero),
        })
    }

    /// Plan for groups of `n` samples with comparison size `k`. Fails when K is outside 1..=N or
    /// the objective cannot be formed at this K. The LR form additionally needs K <= N - 1;
    /// [`RankPlan::advantages`] reports that case.
    pub fn new(objective: &Objective, n: usize, k: usize) -> Result<Self> {
        if k < 1 || k > n {
            return Err(OrderGradError::InvalidComparisonSize { n, k });
        }
        let alpha = objective.alpha(k)?;
        let log_factorials = LogFactorials::new(n);
        let rank_weights = l_statistic_weights(&log_factorials, &alpha, n);
        let lr = (k < n).then(|| lr_coefficients(&log_factorials, &alpha, n, &rank_weights));
        Ok(Self {
            objective: objective.clone(),
            n,
            k,
            alpha,
            rank_weights,
            lr,
        })
    }

    pub fn objective(&self) -> &Objective {
        &self.objective
    }

    /// Group size N.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Comparison size K.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The objective's weights over the K order statistics, ascending by rank.
    pub fn alpha(&self) -> &[f64] {
        &self.alpha
    }

    /// w_m for m = 1..N (ascending rank): the batch value of a group is sum_m w_m r_(m).
    pub fn rank_weights(&self) -> &[f64] {
        &self.rank_weights
    }

    pub(crate) fn lr_coefficients(&self) -> Result<&LrCoefficients> {
        self.lr.as_ref().ok_or(OrderGradError::NoLeaveOneOut {
            n: self.n,
            k: self.k,
        })
    }

    /// The constant N x N matrix M (row-major) with a_sorted = M s_sorted: the same advantages as
    /// the scans, as one matrix product, which is what a GPU wants for many groups at once.
    pub fn advantage_matrix(&self) -> Result<Vec<f64>> {
        let lr = self.lr_coefficients()?;
        let n = self.n;
        let mut matrix = vec![0.0; n * n];
        for t in 0..n {
            for m in 0..n {
                matrix[t * n + m] = match m.cmp(&t) {
                    std::cmp::Ordering::Less => lr.below[m],
                    std::cmp::Ordering::Equal => lr.itself[t],
                    std::cmp::Ordering::Greater => lr.above[m],
                };
            }
        }
        Ok(matrix)
    }
}

/// Rank weights of `items` samples for the K-draw L-statistic alpha:
/// w_m = sum_j alpha_j C(m-1, j-1) C(items-m, K-j) / C(items, K), m = 1..items.
fn l_statistic_weights(log_factorials: &LogFactorials, alpha: &[f64], items: usize) -> Vec<f64> {
    let k = alpha.len() as i64;
    let items = items as i64;
    let ln_total = log_factorials.ln_choose(items, k);
    mix(alpha, items as usize, |m, j| {
        log_factorials.ln_choose(m - 1, j - 1) + log_factorials.ln_choose(items - m, k - j)
            - ln_total
    })
}

fn lr_coefficients(
    log_factorials: &LogFactorials,
    alpha: &[f64],
    n: usize,
    rank_weights: &[f64],
) -> LrCoefficients {
    let k = alpha.len() as i64;
    let n_i = n as i64;
    let ln_with_item = log_factorials.ln_choose(n_i - 1, k - 1);
    // q_t: the mean L-statistic over the K-subsets that contain the item ranked t.
    let below_in_q = mix(alpha, n, |m, j| {
        log_factorials.ln_choose(m - 1, j - 1) + log_factorials.ln_choose(n_i - m - 1, k - j - 1)
            - ln_with_item
    });
    let above_in_q = mix(alpha, n, |m, j| {
        log_factorials.ln_choose(m - 2, j - 2) + log_factorials.ln_choose(n_i - m, k - j)
            - ln_with_item
    });
    // v_t: the batch value of the other N - 1 items (leave-one-out baseline).
    let leave_one_out = l_statistic_weights(log_factorials, alpha, n - 1);
    let itself_scale = n as f64 / k as f64;
    LrCoefficients {
        below: (0..n)
            .map(|m| below_in_q[m] - leave_one_out.get(m).copied().unwrap_or(0.0))
            .collect(),
        itself: rank_weights.iter().map(|w| w * itself_scale).collect(),
        above: (0..n)
            .map(|m| above_in_q[m] - if m == 0 { 0.0 } else { leave_one_out[m - 1] })
            .collect(),
    }
}

/// sum_j alpha_j exp(log_term(m, j)) for m = 1..rows, j = 1..K (1-indexed as in math.md),
/// skipping zero weights (most presets are sparse). The nonzero weights are listed once, so that
/// a sparse objective (median, max, top:M) at a large K costs O(rows * nonzero) and not
/// O(rows * K); the sum runs over the same terms in the same order as a scan of all K would.
fn mix(alpha: &[f64], rows: usize, log_term: impl Fn(i64, i64) -> f64) -> Vec<f64> {
    let nonzero: Vec<(usize, f64)> = alpha
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, weight)| *weight != 0.0)
        .collect();
    (1..=rows as i64)
        .map(|m| {
            nonzero
                .iter()
                .map(|&(j, weight)| {
                    let log_ratio = log_term(m, j as i64 + 1);
                    if log_ratio == f64::NEG_INFINITY {
                        0.0
                    } else {
                        weight * log_ratio.exp()
                    }
                })
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_has_the_errors_of_new() {
        for (objective, n, k) in [
            (Objective::Mean, 3, 0),
            (Objective::Mean, 3, 4),
            (Objective::Top(5), 8, 4),
            (Objective::Trim(2), 8, 4),
        ] {
            assert_eq!(
                RankPlan::cost(&objective, n, k).unwrap_err(),
                RankPlan::new(&objective, n, k).unwrap_err()
            );
        }
    }

    #[test]
    fn cost_counts_rows_times_nonzero_weights() {
        let mean = RankPlan::cost(&Objective::Mean, 10, 4).unwrap();
        assert_eq!(mean.terms, 4 * 10 * 4);
        assert_eq!(mean.bytes, 8 * (8 * 10 + 4 + 1));
        let max = RankPlan::cost(&Objective::Max, 10, 10).unwrap();
        assert_eq!(max.terms, 10);
        let huge = RankPlan::cost(&Objective::Mean, usize::MAX, usize::MAX - 1).unwrap();
        assert_eq!((huge.bytes, huge.terms), (u64::MAX, u64::MAX));
    }

    #[test]
    fn a_sparse_objective_at_a_large_k_is_cheap() {
        // The median of 999,999 draws has one nonzero weight: 4 million terms, not 4e12.
        let cost = RankPlan::cost(&Objective::Median, 1_000_000, 999_999).unwrap();
        assert_eq!(cost.terms, 4_000_000);
        let start = std::time::Instant::now();
        let plan = RankPlan::new(&Objective::Median, 1_000_000, 999_999).unwrap();
        assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
        let total: f64 = plan.rank_weights().iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
    }
}
