//! A critic of one step's CVaR fitted by Rockafellar and Uryasev's formula,
//! CVaR_beta(Y) = max_b b - E[(b - Y)^+] / beta, the max taken at b = VaR_beta(Y).
//!
//! Three heads per (s, a): the mean of the target Y, its VaR_beta (pinball loss at level beta)
//! and its CVaR_beta, regressed in mean square on b - (b - y)^+ / beta with b the VaR head's
//! value, held fixed. Whatever b is, the expectation of that target is a lower bound on the
//! CVaR, tight at the VaR. Where Y has a density an error in b costs that bound only to second
//! order; where Y is one value (a safe action in a task whose only noise is a penalty coin) it
//! costs it to first order, and there the VaR is least reliable: it jumps by the penalty's size
//! between the safe and the risky actions, and a network that is smooth across that jump puts
//! b below y on the safe actions next to it, lowering their CVaR by as much.
//!
//! With [`Thresholds::VarAndMean`] a fourth head fits the same bound at b = the mean head,
//! which jumps only by the penalty's expectation there, and the critic's CVaR is the larger of
//! the two bounds: both are lower bounds, so their maximum is one too, and the tighter.
//!
//! Why not the lowest quantile atoms: quantile regression moves an atom at level tau by tau for
//! each target above it and 1 - tau for each below, so a rare low target pulls the lowest atoms
//! down far harder than the common ones pull them up, and a network that shares anything
//! between neighbouring actions lowers the tail of the safe ones with the risky ones. Fitted on
//! one step's outcome where only some actions carry a penalty, 40 quantile atoms put the CVaR
//! 10 to 20 below the mean at every action; a mean-square CVaR head follows the step between
//! the safe and the risky actions (docs/results-risk.md, "A critic of one step's CVaR").

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::common::host;

/// The mean of Y: a next state's value in the target is its mean head.
pub const MEAN_HEAD: usize = 0;
/// VaR_beta(Y), the b of the formula.
pub const VAR_HEAD: usize = 1;
/// The bound on CVaR_beta(Y) at b = the VaR head.
pub const CVAR_HEAD: usize = 2;
/// With [`Thresholds::VarAndMean`], the bound at b = the mean head.
pub const CVAR_AT_MEAN_HEAD: usize = 3;

/// At which thresholds b the critic fits the bound b - E[(b - Y)^+] / beta
/// (`dsac.cvar_thresholds`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Thresholds {
    /// At the VaR head only: three heads.
    #[default]
    Var,
    /// At the VaR head and at the mean head, the CVaR the larger bound: four heads.
    VarAndMean,
}

impl Thresholds {
    /// The critic's outputs.
    pub fn heads(self) -> usize {
        match self {
            Self::Var => 3,
            Self::VarAndMean => 4,
        }
    }
}

/// One head's values ([n, 1]) of the critic's outputs `values` ([n, heads]).
pub fn head<B: Backend>(values: Tensor<B, 2>, index: usize) -> Tensor<B, 2> {
    values.narrow(1, index, 1)
}

/// The critic's CVaR_beta ([n, 1]) from its outputs `values`: the CVaR head, or the larger of
/// the two bounds when there are two.
pub fn cvar<B: Backend>(values: Tensor<B, 2>) -> Tensor<B, 2> {
    let at_var = head(values.clone(), CVAR_HEAD);
    if values.dims()[1] > CVAR_AT_MEAN_HEAD {
        at_var.max_pair(head(values, CVAR_AT_MEAN_HEAD))
    } else {
        at_var
    }
}

/// [`cvar`] of one row of head values on the host (the critic report's scans).
pub fn cvar_of_row(heads: &[f32]) -> f32 {
    heads[CVAR_HEAD..]
        .iter()
        .fold(f32::NEG_INFINITY, |larger, &bound| larger.max(bound))
}

/// The heads' loss for targets `targets` (one per row of `values`): the mean head's squared
/// error, the VaR head's pinball loss at level `beta`, and each bound head's squared error
/// against b - (b - y)^+ / beta, b its threshold head without its gradient.
pub fn loss<B: Backend>(values: Tensor<B, 2>, targets: &[f32], beta: f32) -> Tensor<B, 1> {
    let [n, heads] = values.dims();
    assert!(
        heads == Thresholds::Var.heads() || heads == Thresholds::VarAndMean.heads(),
        "a CVaR-regression critic has 3 or 4 outputs, not {heads}"
    );
    assert_eq!(targets.len(), n, "one target per row");
    let y = host::matrix::<B>(targets, n, 1, &values.device());
    let mean = head(values.clone(), MEAN_HEAD);
    let mean_loss = (mean.clone() - y.clone()).powi_scalar(2).mean();
    let var = head(values.clone(), VAR_HEAD);
    let errors = y.clone() - var.clone();
    let below = errors.clone().lower_elem(0.0).float();
    let pinball = (errors * (below.neg() + beta)).mean();
    let bound_loss = |bound_head: usize, threshold: Tensor<B, 2>| {
        let fixed = threshold.detach();
        let target = fixed.clone() - (fixed - y.clone()).clamp_min(0.0) / beta;
        (head(values.clone(), bound_head) - target)
            .powi_scalar(2)
            .mean()
    };
    let loss = mean_loss + pinball + bound_loss(CVAR_HEAD, var);
    if heads > CVAR_AT_MEAN_HEAD {
        loss + bound_loss(CVAR_AT_MEAN_HEAD, mean)
    } else {
        loss
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::TensorData;

    use super::*;

    type B = Autodiff<Flex>;

    /// Gradient descent on free head values (a critic that ignores its input) against a
    /// fixed sample, from `start`; the heads in `frozen` keep their start.
    fn fit_from(
        start: &[f32],
        frozen: &[usize],
        targets: &[f32],
        beta: f32,
        steps: usize,
    ) -> Vec<f32> {
        let device = Default::default();
        let heads_count = start.len();
        let mut heads = start.to_vec();
        for step in 0..steps {
            let values = Tensor::<B, 2>::from_data(
                TensorData::new(heads.repeat(targets.len()), [targets.len(), heads_count]),
                &device,
            )
            .require_grad();
            let grads = loss(values.clone(), targets, beta).backward();
            let gradient: Vec<f32> = values.grad(&grads).unwrap().into_data().to_vec().unwrap();
            let learning_rate = if step < steps / 2 { 0.5 } else { 0.05 };
            for (index, value) in heads.iter_mut().enumerate() {
                if frozen.contains(&index) {
                    continue;
                }
                let summed: f32 = gradient.iter().skip(index).step_by(heads_count).sum();
                *value -= learning_rate * summed;
            }
        }
        heads
    }

    fn fit(targets: &[f32], beta: f32, steps: usize) -> [f32; 3] {
        let heads = fit_from(&[50.0; 3], &[], targets, beta, steps);
        [heads[0], heads[1], heads[2]]
    }

    /// The critic's CVaR of one row of head values.
    fn cvar_of(heads: &[f32]) -> f32 {
        let values = Tensor::<Flex, 2>::from_data(
            TensorData::new(heads.to_vec(), [1, heads.len()]),
            &Default::default(),
        );
        cvar(values).into_data().to_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn the_heads_reach_the_mean_a_var_and_the_cvar() {
        let mut targets = vec![100.0f32; 18];
        targets.extend([60.0, 60.0]);
        let [mean, var, cvar] = fit(&targets, 0.1, 4000);
        assert!((mean - 96.0).abs() < 0.1, "mean {mean}");
        // Any b in [60, 100] is a VaR_0.1 of this sample, and gives the same bound.
        assert!((59.0..=100.5).contains(&var), "VaR {var}");
        assert!((cvar - 60.0).abs() < 0.5, "CVaR_0.1 {cvar}");
        // At level 0.5 the worst half is 10 % at 60 and 40 % at 100: CVaR 92.
        let [_, _, cvar_half] = fit(&targets, 0.5, 4000);
        assert!((cvar_half - 92.0).abs() < 0.5, "CVaR_0.5 {cvar_half}");
    }

    #[test]
    fn without_a_low_outcome_the_cvar_is_the_mean() {
        let targets = vec![80.0f32; 20];
        let [mean, _, cvar] = fit(&targets, 0.1, 4000);
        assert!(
            (mean - 80.0).abs() < 0.1 && (cvar - 80.0).abs() < 0.5,
            "{mean} {cvar}"
        );
    }

    #[test]
    fn a_var_below_a_single_outcome_lowers_its_bound_and_the_mean_threshold_restores_it() {
        // One outcome, 80, and a VaR head held 10 below it, as a network smooth across a
        // penalty's jump leaves it next to the risky actions.
        let targets = vec![80.0f32; 20];
        let heads = fit_from(&[50.0, 70.0, 50.0, 50.0], &[VAR_HEAD], &targets, 0.1, 4000);
        assert!((heads[MEAN_HEAD] - 80.0).abs() < 0.1, "mean {heads:?}");
        assert!(
            (heads[CVAR_HEAD] - 70.0).abs() < 0.5,
            "bound at the VaR {heads:?}"
        );
        assert!(
            (heads[CVAR_AT_MEAN_HEAD] - 80.0).abs() < 0.5,
            "bound at the mean {heads:?}"
        );
        assert!((cvar_of(&heads) - 80.0).abs() < 0.5, "CVaR {heads:?}");
        // Three heads: the CVaR is the bound at the VaR.
        assert_eq!(cvar_of(&heads[..3]), heads[CVAR_HEAD]);
        // The host's reading of a row agrees with the tensor's.
        assert_eq!(cvar_of_row(&heads), cvar_of(&heads));
        assert_eq!(cvar_of_row(&heads[..3]), heads[CVAR_HEAD]);
    }

    #[test]
    fn with_a_low_outcome_the_larger_bound_is_the_one_at_the_var() {
        // 10 % at 60 (a penalty of 40), 90 % at 100, beta 0.2: CVaR_0.2 = (60 + 100) / 2 = 80;
        // the bound at the mean (96) is 96 - 0.1 * 36 / 0.2 = 78.
        let mut targets = vec![100.0f32; 18];
        targets.extend([60.0, 60.0]);
        let heads = fit_from(&[50.0; 4], &[], &targets, 0.2, 4000);
        assert!(
            (heads[CVAR_HEAD] - 80.0).abs() < 0.5,
            "bound at the VaR {heads:?}"
        );
        assert!(
            (heads[CVAR_AT_MEAN_HEAD] - 78.0).abs() < 0.5,
            "bound at the mean {heads:?}"
        );
        assert!((cvar_of(&heads) - 80.0).abs() < 0.5, "CVaR {heads:?}");
    }
}
