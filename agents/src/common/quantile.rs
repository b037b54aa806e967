//! Quantile regression of a return distribution (QR-DQN, Dabney et al. 2018): a critic's N
//! outputs estimate the return's quantiles at the midpoints tau_i = (2i + 1) / 2N, trained with
//! the quantile Huber loss against samples of the target distribution.

use burn::prelude::*;

/// tau_i = (2i + 1) / (2N), i = 0..N: the quantile levels whose estimates minimise the
/// 1-Wasserstein distance to the true distribution among N equally weighted atoms.
pub fn quantile_midpoints(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((2 * i + 1) as f64 / (2 * n) as f64) as f32)
        .collect()
}

/// The quantile Huber loss of atoms `atoms` ([batch, N], at levels `taus`, [N]) against target
/// samples `targets` ([batch, M] row-major on the host, constants):
///
/// ```text
/// L = 1/batch sum_b sum_i 1/M sum_j |tau_i - 1{u_bij < 0}| * huber_kappa(u_bij) / kappa,
/// u_bij = targets_bj - atoms_bi,
/// ```
///
/// where huber_kappa(u) = u^2 / 2 for |u| <= kappa and kappa (|u| - kappa / 2) beyond. Sum over
/// atoms and mean over target samples, as QR-DQN; `kappa` > 0.
///
/// Computed in one pass on the host with its gradient
/// dL/d atoms_bi = -1/(batch M kappa) sum_j |tau_i - 1{u_bij < 0}| clamp(u_bij, -kappa, kappa),
/// and returned as sum(atoms * gradient) + a constant: a tensor whose value is L and whose
/// gradient is that one. Written with tensor ops, the batch x N x M pairwise errors took about a
/// dozen element-wise passes and copies, forward and backward, which cost DSAC more than its
/// networks' matrix products.
pub fn quantile_huber_loss<B: Backend>(
    atoms: Tensor<B, 2>,
    targets: &[f32],
    taus: &[f32],
    kappa: f32,
) -> Tensor<B, 1> {
    let [batch, n] = atoms.dims();
    let m = targets.len() / batch.max(1);
    assert_eq!(targets.len(), batch * m, "targets: [batch, M]");
    assert_eq!(taus.len(), n, "one level per atom");
    let atom_values = crate::common::host::to_vec(atoms.clone());
    let scale = 1.0 / (batch as f64 * m as f64 * f64::from(kappa));
    let (mut loss, mut surrogate_value) = (0.0f64, 0.0f64);
    let mut gradient = vec![0.0f32; batch * n];
    for b in 0..batch {
        let row_targets = &targets[b * m..(b + 1) * m];
        for i in 0..n {
            let atom = atom_values[b * n + i];
            let tau = taus[i];
            // Branch-free, so that the loop over the M targets vectorises; f32 over M terms,
            // f64 across atoms and states.
            let (mut atom_loss, mut atom_slope) = (0.0f32, 0.0f32);
            for &target in row_targets {
                let u = target - atom;
                let below = f32::from(u8::from(u < 0.0));
                let weight = tau + below * (1.0 - 2.0 * tau);
                let magnitude = u.abs();
                let inside = magnitude.min(kappa);
                atom_loss += weight * (0.5 * inside * inside + (magnitude - inside) * kappa);
                atom_slope += weight * u.clamp(-kappa, kappa);
            }
            loss += f64::from(atom_loss) * scale;
            let slope = (-f64::from(atom_slope) * scale) as f32;
            gradient[b * n + i] = slope;
            surrogate_value += f64::from(slope) * f64::from(atom);
        }
    }
    let device = atoms.device();
    let gradient = crate::common::host::matrix::<B>(&gradient, batch, n, &device);
    (atoms * gradient).sum() + (loss - surrogate_value) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use rand::{Rng, SeedableRng};

    /// The loss written with tensor ops, differentiated by Burn: the reference for the one-pass
    /// version's value and gradient.
    fn reference_loss<B: Backend>(
        atoms: Tensor<B, 2>,
        targets: Tensor<B, 2>,
        taus: Tensor<B, 1>,
        kappa: f32,
    ) -> Tensor<B, 1> {
        let [batch, n] = atoms.dims();
        let [_, m] = targets.dims();
        let errors = targets.unsqueeze_dim::<3>(1).repeat_dim(1, n)
            - atoms.unsqueeze_dim::<3>(2).repeat_dim(2, m);
        let magnitude = errors.clone().abs();
        let inside = magnitude.clone().clamp_max(kappa);
        let huber = inside.clone().powi_scalar(2) * 0.5 + (magnitude - inside) * kappa;
        let below = errors.lower_elem(0.0).float();
        let levels = taus
            .reshape([1, n, 1])
            .repeat_dim(0, batch)
            .repeat_dim(2, m);
        let asymmetry = (levels - below).abs();
        (asymmetry * huber / kappa).mean_dim(2).sum_dim(1).mean()
    }

    #[test]
    fn the_one_pass_loss_has_the_value_and_gradient_of_the_tensor_formula() {
        type B = Autodiff<Flex>;
        let device = Default::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (batch, n, m, kappa) = (7, 5, 6, 1.0);
        let mut draw = |count: usize| -> Vec<f32> {
            (0..count).map(|_| rng.random_range(-3.0..3.0)).collect()
        };
        let (atom_values, targets) = (draw(batch * n), draw(batch * m));
        let taus = quantile_midpoints(n);
        let run = |fused: bool| {
            let atoms = Tensor::<B, 2>::from_data(
                TensorData::new(atom_values.clone(), [batch, n]),
                &device,
            )
            .require_grad();
            let loss = if fused {
                quantile_huber_loss(atoms.clone(), &targets, &taus, kappa)
            } else {
                let targets = Tensor::<B, 2>::from_data(
                    TensorData::new(targets.clone(), [batch, m]),
                    &device,
                );
                let taus = Tensor::<B, 1>::from_floats(taus.as_slice(), &device);
                reference_loss(atoms.clone(), targets, taus, kappa)
            };
            let value = loss.clone().into_scalar();
            let gradients = loss.backward();
            let gradient = crate::common::host::to_vec(atoms.grad(&gradients).unwrap());
            (value, gradient)
        };
        let (fused_value, fused_gradient) = run(true);
        let (value, gradient) = run(false);
        assert!(
            (fused_value - value).abs() < 1e-5,
            "{fused_value} vs {value}"
        );
        for (a, b) in fused_gradient.iter().zip(&gradient) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    fn tensor2(values: &[f32], rows: usize, cols: usize) -> Tensor<Flex, 2> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [rows, cols]),
            &Default::default(),
        )
    }

    #[test]
    fn midpoints_are_centred_in_equal_bins() {
        assert_eq!(quantile_midpoints(4), [0.125, 0.375, 0.625, 0.875]);
    }

    #[test]
    fn loss_matches_a_hand_computation() {
        // One state, atoms (0, 2) at levels (1/4, 3/4), targets (1, 3), kappa 1.
        // u = target - atom: atom 0 -> (1, 3), atom 1 -> (-1, 1).
        // huber: |u| = 1 -> 0.5; |u| = 3 -> 3 - 0.5 = 2.5.
        // atom 0 (tau 1/4, both u > 0): 1/4 * (0.5 + 2.5) / 2 = 0.375
        // atom 1 (tau 3/4): u = -1 -> |3/4 - 1| * 0.5 = 0.125; u = 1 -> 3/4 * 0.5 = 0.375;
        //   mean over targets: 0.25
        // Second state: atoms equal to the targets: zero loss. Mean over states: 0.3125.
        let atoms = tensor2(&[0.0, 2.0, 5.0, 5.0], 2, 2);
        let targets = [1.0, 3.0, 5.0, 5.0];
        let loss = quantile_huber_loss(atoms, &targets, &quantile_midpoints(2), 1.0).into_scalar();
        assert!((loss - 0.3125).abs() < 1e-6, "{loss}");
    }

    #[test]
    fn minimising_the_loss_finds_the_quantiles_of_the_targets() {
        // Subgradient descent of a single atom at tau = 0.9 towards the samples 0..=9:
        // the 0.9-quantile is 9 (kappa small makes it plain quantile regression).
        let targets: Vec<f32> = (0..10).map(|v| v as f32).collect();
        let loss_at = |atom: f32| {
            quantile_huber_loss(tensor2(&[atom], 1, 1), &targets, &[0.9], 0.01).into_scalar()
        };
        let best = (0..=100)
            .map(|i| i as f32 / 10.0)
            .min_by(|a, b| loss_at(*a).total_cmp(&loss_at(*b)))
            .unwrap();
        assert!((8.0..=9.0).contains(&best), "{best}");
    }
}
