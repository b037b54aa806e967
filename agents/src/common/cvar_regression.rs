//! A critic of one step's CVaR fitted by Rockafellar and Uryasev's formula,
//! CVaR_beta(Y) = max_b b - E[(b - Y)^+] / beta, the max taken at b = VaR_beta(Y).
//!
//! Three heads per (s, a): the mean of the target Y, its VaR_beta (pinball loss at level beta)
//! and its CVaR_beta, regressed in mean square on b - (b - y)^+ / beta with b the VaR head's
//! value, held fixed. Whatever b is, the expectation of that target is a lower bound on the
//! CVaR, tight at the VaR, so an error in b costs the CVaR head only to second order.
//!
//! Why not the lowest quantile atoms: quantile regression moves an atom at level tau by tau for
//! each target above it and 1 - tau for each below, so a rare low target pulls the lowest atoms
//! down far harder than the common ones pull them up, and a network that shares anything
//! between neighbouring actions lowers the tail of the safe ones with the risky ones. Fitted on
//! one step's outcome where only some actions carry a penalty, 40 quantile atoms put the CVaR
//! 10 to 20 below the mean at every action; a mean-square CVaR head follows the step between
//! the safe and the risky actions (docs/results-risk.md, "A critic of one step's CVaR").

use burn::prelude::*;

use crate::common::host;

/// The critic's outputs, in this order.
pub const HEADS: usize = 3;
/// The mean of Y: a next state's value in the target is its mean head.
pub const MEAN_HEAD: usize = 0;
/// VaR_beta(Y), the b of the formula.
pub const VAR_HEAD: usize = 1;
/// CVaR_beta(Y): what the actor ascends.
pub const CVAR_HEAD: usize = 2;

/// One head's values ([n, 1]) of the critic's outputs `values` ([n, HEADS]).
pub fn head<B: Backend>(values: Tensor<B, 2>, index: usize) -> Tensor<B, 2> {
    values.narrow(1, index, 1)
}

/// The three heads' loss for targets `targets` (one per row of `values`): the mean head's
/// squared error, the VaR head's pinball loss at level `beta`, and the CVaR head's squared error
/// against b - (y - b)^- / beta, b the VaR head without its gradient.
pub fn loss<B: Backend>(values: Tensor<B, 2>, targets: &[f32], beta: f32) -> Tensor<B, 1> {
    let [n, heads] = values.dims();
    assert_eq!(heads, HEADS, "a CVaR-regression critic has {HEADS} outputs");
    assert_eq!(targets.len(), n, "one target per row");
    let y = host::matrix::<B>(targets, n, 1, &values.device());
    let mean_loss = (head(values.clone(), MEAN_HEAD) - y.clone())
        .powi_scalar(2)
        .mean();
    let var = head(values.clone(), VAR_HEAD);
    let errors = y.clone() - var.clone();
    let below = errors.clone().lower_elem(0.0).float();
    let pinball = (errors * (below.neg() + beta)).mean();
    let fixed_var = var.detach();
    let cvar_target = fixed_var.clone() - (fixed_var - y).clamp_min(0.0) / beta;
    let cvar_loss = (head(values, CVAR_HEAD) - cvar_target)
        .powi_scalar(2)
        .mean();
    mean_loss + pinball + cvar_loss
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::TensorData;

    use super::*;

    type B = Autodiff<Flex>;

    /// Gradient descent on three free values (a critic that ignores its input) against a fixed
    /// sample: 90 % of the targets at 100, 10 % at 60.
    fn fit(targets: &[f32], beta: f32, steps: usize) -> [f32; 3] {
        let device = Default::default();
        let mut heads = [50.0f32, 50.0, 50.0];
        for step in 0..steps {
            let values = Tensor::<B, 2>::from_data(
                TensorData::new(heads.repeat(targets.len()), [targets.len(), HEADS]),
                &device,
            )
            .require_grad();
            let grads = loss(values.clone(), targets, beta).backward();
            let gradient: Vec<f32> = values.grad(&grads).unwrap().into_data().to_vec().unwrap();
            let learning_rate = if step < steps / 2 { 0.5 } else { 0.05 };
            for (index, value) in heads.iter_mut().enumerate() {
                let summed: f32 = gradient.iter().skip(index).step_by(HEADS).sum();
                *value -= learning_rate * summed;
            }
        }
        heads
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
}
