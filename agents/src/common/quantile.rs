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
/// samples `targets` ([batch, M], treated as constants):
///
/// ```text
/// 1/batch sum_b sum_i 1/M sum_j |tau_i - 1{u_bij < 0}| * huber_kappa(u_bij) / kappa,
/// u_bij = targets_bj - atoms_bi,
/// ```
///
/// where huber_kappa(u) = u^2 / 2 for |u| <= kappa and kappa (|u| - kappa / 2) beyond. Sum over
/// atoms and mean over target samples, as QR-DQN; `kappa` > 0.
pub fn quantile_huber_loss<B: Backend>(
    atoms: Tensor<B, 2>,
    targets: Tensor<B, 2>,
    taus: Tensor<B, 1>,
    kappa: f32,
) -> Tensor<B, 1> {
    let [batch, n] = atoms.dims();
    let [_, m] = targets.dims();
    // Repeated, not expanded: Flex iterates broadcast (stride-0) views element by element, which
    // made this loss cost more than the networks; contiguous copies take the fast path.
    let errors = targets.unsqueeze_dim::<3>(1).repeat_dim(1, n)
        - atoms.unsqueeze_dim::<3>(2).repeat_dim(2, m);
    let magnitude = errors.clone().abs();
    let inside = magnitude.clone().clamp_max(kappa);
    // Equal to the two-piece Huber function: the quadratic part up to kappa, linear beyond.
    let huber = inside.clone().powi_scalar(2) * 0.5 + (magnitude - inside) * kappa;
    let below = errors.lower_elem(0.0).float();
    let levels = taus
        .reshape([1, n, 1])
        .repeat_dim(0, batch)
        .repeat_dim(2, m);
    let asymmetry = (levels - below).abs();
    (asymmetry * huber / kappa).mean_dim(2).sum_dim(1).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

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
        let targets = tensor2(&[1.0, 3.0, 5.0, 5.0], 2, 2);
        let taus =
            Tensor::<Flex, 1>::from_floats(quantile_midpoints(2).as_slice(), &Default::default());
        let loss = quantile_huber_loss(atoms, targets, taus, 1.0).into_scalar();
        assert!((loss - 0.3125).abs() < 1e-6, "{loss}");
    }

    #[test]
    fn minimising_the_loss_finds_the_quantiles_of_the_targets() {
        // Subgradient descent of a single atom at tau = 0.9 towards the samples 0..=9:
        // the 0.9-quantile is 9 (kappa small makes it plain quantile regression).
        let targets = tensor2(&(0..10).map(|v| v as f32).collect::<Vec<_>>(), 1, 10);
        let taus = Tensor::<Flex, 1>::from_floats([0.9], &Default::default());
        let loss_at = |atom: f32| {
            quantile_huber_loss(tensor2(&[atom], 1, 1), targets.clone(), taus.clone(), 0.01)
                .into_scalar()
        };
        let best = (0..=100)
            .map(|i| i as f32 / 10.0)
            .min_by(|a, b| loss_at(*a).total_cmp(&loss_at(*b)))
            .unwrap();
        assert!((8.0..=9.0).contains(&best), "{best}");
    }
}
