//! Quantile regression of a return distribution (QR-DQN, Dabney et al. 2018): a critic's N
//! outputs estimate the return's quantiles at the midpoints tau_i = (2i + 1) / 2N, trained with
//! the quantile Huber loss against samples of the target distribution.
//!
//! Equal atoms cannot see a rare risk. The quantile Bellman target of one step mixes the next
//! state's atoms with a copy shifted by a penalty that comes with chance h; projected back onto
//! the levels, an atom of width w moves only where the penalised mass reaches its midpoint, so
//! while h < w / 2 every atom keeps its penalty-free value, step after step: the critic's fixed
//! point is the distribution without the risk, however often the risk adds up over an episode.
//! A [`QuantileGrid`] with narrow atoms in the lower tail (narrower than 2h up to the CVaR level)
//! keeps it (docs/results-risk.md, RiskyHalfCheetah-v5).

use burn::prelude::*;
use ordergrad_core::Objective;

/// tau_i = (2i + 1) / (2N), i = 0..N: the quantile levels whose estimates minimise the
/// 1-Wasserstein distance to the true distribution among N equally weighted atoms.
pub fn quantile_midpoints(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((2 * i + 1) as f64 / (2 * n) as f64) as f32)
        .collect()
}

/// The quantile levels of a critic's N atoms and the probability mass each atom stands for:
/// atom i estimates the quantile at the middle of its interval (a_i, a_(i+1)] of levels.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileGrid {
    /// 0 = a_0 < a_1 < ... < a_N = 1.
    bounds: Vec<f64>,
    uniform: bool,
}

impl QuantileGrid {
    /// N atoms of mass 1/N each (QR-DQN).
    pub fn uniform(n: usize) -> Self {
        assert!(n >= 1, "a grid needs an atom");
        let bounds = (0..=n).map(|i| i as f64 / n as f64).collect();
        Self {
            bounds,
            uniform: true,
        }
    }

    /// `tail_atoms` equal atoms over the levels (0, `tail_level`] and the other
    /// `n - tail_atoms` equal atoms over (`tail_level`, 1]. Needs 1 <= tail_atoms < n and
    /// 0 < tail_level < 1 (checked by the settings that build it).
    pub fn with_tail(n: usize, tail_atoms: usize, tail_level: f64) -> Self {
        assert!(
            (1..n).contains(&tail_atoms) && tail_level > 0.0 && tail_level < 1.0,
            "tail_atoms {tail_atoms} of {n}, tail_level {tail_level}"
        );
        let body_atoms = n - tail_atoms;
        let mut bounds: Vec<f64> = (0..=tail_atoms)
            .map(|i| tail_level * i as f64 / tail_atoms as f64)
            .collect();
        bounds.extend(
            (1..=body_atoms)
                .map(|i| tail_level + (1.0 - tail_level) * i as f64 / body_atoms as f64),
        );
        bounds[n] = 1.0;
        Self {
            bounds,
            uniform: false,
        }
    }

    /// N, the number of atoms.
    pub fn atom_count(&self) -> usize {
        self.bounds.len() - 1
    }

    /// Whether every atom has mass 1/N.
    pub fn is_uniform(&self) -> bool {
        self.uniform
    }

    /// The level each atom estimates, the middle of its interval: [`quantile_midpoints`] for a
    /// uniform grid.
    pub fn levels(&self) -> Vec<f32> {
        if self.uniform {
            return quantile_midpoints(self.atom_count());
        }
        self.bounds
            .windows(2)
            .map(|pair| ((pair[0] + pair[1]) / 2.0) as f32)
            .collect()
    }

    /// The probability mass of each atom; they sum to 1.
    pub fn masses(&self) -> Vec<f64> {
        self.bounds
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .collect()
    }

    /// The weights, ascending by rank, that give the objective's value of the atoms sorted: the
    /// k-th smallest atom stands for the k-th interval of levels (a sorted critic is the
    /// monotone rearrangement of a crossed one). The mean weighs each atom by its mass; CVaR_beta
    /// by the part of its interval below beta, over beta. None for the other objectives, which
    /// are defined over equally likely draws.
    pub fn objective_weights(&self, objective: &Objective) -> Option<Vec<f64>> {
        match *objective {
            Objective::Mean => Some(self.masses()),
            Objective::Cvar(beta) => Some(
                self.bounds
                    .windows(2)
                    .map(|pair| (pair[1].min(beta) - pair[0]).max(0.0) / beta)
                    .collect(),
            ),
            _ => None,
        }
    }
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
    with_gradient(atoms, gradient, loss - surrogate_value)
}

/// A tensor whose value is sum(atoms * gradient) + `constant` and whose gradient in `atoms` is
/// `gradient` ([batch, N] on the host).
fn with_gradient<B: Backend>(
    atoms: Tensor<B, 2>,
    gradient: Vec<f32>,
    constant: f64,
) -> Tensor<B, 1> {
    let [batch, n] = atoms.dims();
    let device = atoms.device();
    let gradient = crate::common::host::matrix::<B>(&gradient, batch, n, &device);
    (atoms * gradient).sum() + constant as f32
}

/// [`quantile_huber_loss`] against target atoms of unequal mass: the target sample j of every
/// row weighs `target_masses[j]` (summing to 1) instead of 1/M, so that
///
/// ```text
/// L = 1/batch sum_b sum_i sum_j m_j |tau_i - 1{u_bij < 0}| * huber_kappa(u_bij) / kappa.
/// ```
///
/// A tail grid has hundreds of atoms, and M x N pairs per state cost several times the
/// networks; so each row's targets and atoms are sorted (both come nearly sorted from a critic,
/// which a stable sort finds in about one pass), and every atom's loss and slope come from
/// prefix sums over the targets of m, m d and m d^2 (d a target's distance from the row's middle
/// target, which keeps the squares small): the targets further than kappa below the atom, within
/// kappa below, within kappa above and beyond are four ranges whose ends only move up from one
/// atom to the next, each summed in O(1), in f64. A row with a non-finite target or atom gets a
/// NaN loss and gradient, unsorted.
pub fn weighted_quantile_huber_loss<B: Backend>(
    atoms: Tensor<B, 2>,
    targets: &[f32],
    target_masses: &[f64],
    taus: &[f32],
    kappa: f32,
) -> Tensor<B, 1> {
    let [batch, n] = atoms.dims();
    let m = target_masses.len();
    assert_eq!(
        targets.len(),
        batch * m,
        "targets: [batch, M], one mass per target"
    );
    assert_eq!(taus.len(), n, "one level per atom");
    let atom_values = crate::common::host::to_vec(atoms.clone());
    let kappa = f64::from(kappa);
    let scale = 1.0 / (batch as f64 * kappa);
    let (mut loss, mut surrogate_value) = (0.0f64, 0.0f64);
    let mut gradient = vec![0.0f32; batch * n];
    let mut order: Vec<usize> = (0..m).collect();
    let mut atom_order: Vec<usize> = (0..n).collect();
    let mut distances = vec![0.0f64; m];
    // Sums over the sorted targets before index k of m, m d and m d^2.
    let mut prefix = vec![[0.0f64; 3]; m + 1];
    for b in 0..batch {
        let row_targets = &targets[b * m..(b + 1) * m];
        let row_atoms = &atom_values[b * n..(b + 1) * n];
        if !row_targets
            .iter()
            .chain(row_atoms)
            .all(|value| value.is_finite())
        {
            loss = f64::NAN;
            gradient[b * n..(b + 1) * n].fill(f32::NAN);
            continue;
        }
        order.sort_by(|&x, &y| row_targets[x].total_cmp(&row_targets[y]));
        atom_order.sort_by(|&x, &y| row_atoms[x].total_cmp(&row_atoms[y]));
        let center = f64::from(row_targets[order[m / 2]]);
        for (k, &j) in order.iter().enumerate() {
            let (distance, mass) = (f64::from(row_targets[j]) - center, target_masses[j]);
            distances[k] = distance;
            let [mass_sum, first, second] = prefix[k];
            prefix[k + 1] = [
                mass_sum + mass,
                first + mass * distance,
                second + mass * distance * distance,
            ];
        }
        // Sums of m, m d and m d^2 over the sorted targets [from, to).
        let range = |from: usize, to: usize| -> [f64; 3] {
            let (high, low) = (prefix[to], prefix[from]);
            [high[0] - low[0], high[1] - low[1], high[2] - low[2]]
        };
        let (mut far_below, mut level, mut far_above) = (0, 0, 0);
        for &i in &atom_order {
            let atom = f64::from(row_atoms[i]) - center;
            let tau = f64::from(taus[i]);
            while far_below < m && distances[far_below] < atom - kappa {
                far_below += 1;
            }
            while level < m && distances[level] < atom {
                level += 1;
            }
            while far_above < m && distances[far_above] <= atom + kappa {
                far_above += 1;
            }
            // Beyond kappa the Huber loss is kappa (|u| - kappa / 2), u = d - atom.
            let [mass, first, _] = range(0, far_below);
            let mut atom_loss = (1.0 - tau) * kappa * ((atom - kappa / 2.0) * mass - first);
            let mut atom_slope = -(1.0 - tau) * kappa * mass;
            let [mass, first, _] = range(far_above, m);
            atom_loss += tau * kappa * (first - atom * mass - kappa / 2.0 * mass);
            atom_slope += tau * kappa * mass;
            // Within kappa it is u^2 / 2: sum m u^2 = sum m d^2 - 2 atom sum m d + atom^2 sum m.
            for (from, to, weight) in [(far_below, level, 1.0 - tau), (level, far_above, tau)] {
                let [mass, first, second] = range(from, to);
                let squares = (second - 2.0 * atom * first + atom * atom * mass).max(0.0);
                atom_loss += weight * 0.5 * squares;
                atom_slope += weight * (first - atom * mass);
            }
            loss += atom_loss * scale;
            let slope = (-atom_slope * scale) as f32;
            gradient[b * n + i] = slope;
            surrogate_value += f64::from(slope) * f64::from(row_atoms[i]);
        }
    }
    with_gradient(atoms, gradient, loss - surrogate_value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use rand::{Rng, SeedableRng};

    /// The loss written with tensor ops, differentiated by Burn: the reference for the one-pass
    /// versions' value and gradient. Target j of every row weighs `target_masses[j]` (1/M each
    /// for the plain loss).
    fn reference_loss(
        atoms: Tensor<Autodiff<Flex>, 2>,
        targets: &[f32],
        taus: &[f32],
        target_masses: &[f64],
        kappa: f32,
    ) -> Tensor<Autodiff<Flex>, 1> {
        type B = Autodiff<Flex>;
        let device = atoms.device();
        let [batch, n] = atoms.dims();
        let m = target_masses.len();
        let targets =
            Tensor::<B, 2>::from_data(TensorData::new(targets.to_vec(), [batch, m]), &device);
        let errors = targets.unsqueeze_dim::<3>(1).repeat_dim(1, n)
            - atoms.unsqueeze_dim::<3>(2).repeat_dim(2, m);
        let magnitude = errors.clone().abs();
        let inside = magnitude.clone().clamp_max(kappa);
        let huber = inside.clone().powi_scalar(2) * 0.5 + (magnitude - inside) * kappa;
        let below = errors.lower_elem(0.0).float();
        let levels = Tensor::<B, 1>::from_floats(taus, &device)
            .reshape([1, n, 1])
            .expand([batch, n, m]);
        let masses: Vec<f32> = target_masses.iter().map(|&mass| mass as f32).collect();
        let masses = Tensor::<B, 1>::from_floats(masses.as_slice(), &device)
            .reshape([1, 1, m])
            .expand([batch, n, m]);
        ((levels - below).abs() * huber / kappa * masses)
            .sum_dim(2)
            .sum_dim(1)
            .mean()
            .reshape([1])
    }

    /// Two (value, gradient) pairs of a loss agree.
    fn assert_same_loss(
        (value, gradient): (f32, Vec<f32>),
        (other, other_gradient): (f32, Vec<f32>),
    ) {
        assert!((value - other).abs() < 1e-5, "{value} vs {other}");
        for (a, b) in gradient.iter().zip(&other_gradient) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn the_one_pass_loss_has_the_value_and_gradient_of_the_tensor_formula() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (batch, n, m, kappa) = (7, 5, 6, 1.0);
        let mut draw = |count: usize| -> Vec<f32> {
            (0..count).map(|_| rng.random_range(-3.0..3.0)).collect()
        };
        let (atom_values, targets) = (draw(batch * n), draw(batch * m));
        let taus = quantile_midpoints(n);
        let equal = vec![1.0 / m as f64; m];
        assert_same_loss(
            value_and_gradient(&atom_values, batch, n, |atoms| {
                quantile_huber_loss(atoms, &targets, &taus, kappa)
            }),
            value_and_gradient(&atom_values, batch, n, |atoms| {
                reference_loss(atoms, &targets, &taus, &equal, kappa)
            }),
        );
    }

    /// Value and gradient of a loss of `atom_values` ([batch, n]).
    fn value_and_gradient(
        atom_values: &[f32],
        batch: usize,
        n: usize,
        loss: impl Fn(Tensor<Autodiff<Flex>, 2>) -> Tensor<Autodiff<Flex>, 1>,
    ) -> (f32, Vec<f32>) {
        let atoms = Tensor::<Autodiff<Flex>, 2>::from_data(
            TensorData::new(atom_values.to_vec(), [batch, n]),
            &Default::default(),
        )
        .require_grad();
        let loss = loss(atoms.clone());
        let value = loss.clone().into_scalar();
        let gradients = loss.backward();
        let gradient = crate::common::host::to_vec(atoms.grad(&gradients).unwrap());
        (value, gradient)
    }

    /// Atoms and targets spread over a few kappas, with ties between them, so that every
    /// branch of the weighted loss (far below, near, far above) is taken.
    fn spread_draws(rng: &mut impl Rng, count: usize) -> Vec<f32> {
        (0..count)
            .map(|_| (rng.random_range(-12..12) as f32) * 0.5)
            .collect()
    }

    #[test]
    fn the_weighted_loss_with_equal_masses_is_the_one_pass_loss() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let (batch, n, kappa) = (6, 7, 1.0);
        let (atom_values, targets) = (
            spread_draws(&mut rng, batch * n),
            spread_draws(&mut rng, batch * n),
        );
        let taus = quantile_midpoints(n);
        let masses = vec![1.0 / n as f64; n];
        assert_same_loss(
            value_and_gradient(&atom_values, batch, n, |atoms| {
                weighted_quantile_huber_loss(atoms, &targets, &masses, &taus, kappa)
            }),
            value_and_gradient(&atom_values, batch, n, |atoms| {
                quantile_huber_loss(atoms, &targets, &taus, kappa)
            }),
        );
    }

    #[test]
    fn the_weighted_loss_has_the_value_and_gradient_of_the_weighted_tensor_formula() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let grid = QuantileGrid::with_tail(8, 5, 0.1);
        let (batch, n, kappa) = (5, grid.atom_count(), 1.5);
        let (atom_values, targets) = (
            spread_draws(&mut rng, batch * n),
            spread_draws(&mut rng, batch * n),
        );
        let (taus, masses) = (grid.levels(), grid.masses());
        assert_same_loss(
            value_and_gradient(&atom_values, batch, n, |atoms| {
                weighted_quantile_huber_loss(atoms, &targets, &masses, &taus, kappa)
            }),
            value_and_gradient(&atom_values, batch, n, |atoms| {
                reference_loss(atoms, &targets, &taus, &masses, kappa)
            }),
        );
    }

    #[test]
    fn a_row_with_a_nan_target_gets_a_nan_loss_and_is_not_sorted() {
        let masses = [0.5, 0.5];
        let (value, gradient) = value_and_gradient(&[0.0, 1.0, 0.0, 1.0], 2, 2, |atoms| {
            weighted_quantile_huber_loss(
                atoms,
                &[0.5, f32::NAN, 0.5, 0.5],
                &masses,
                &[0.25, 0.75],
                1.0,
            )
        });
        assert!(value.is_nan());
        assert!(gradient[..2].iter().all(|slope| slope.is_nan()));
        assert!(gradient[2..].iter().all(|slope| slope.is_finite()));
    }

    #[test]
    fn a_tail_grid_splits_its_atoms_at_the_tail_level() {
        let grid = QuantileGrid::with_tail(6, 4, 0.1);
        let masses = grid.masses();
        for (mass, expected) in masses.iter().zip([0.025, 0.025, 0.025, 0.025, 0.45, 0.45]) {
            assert!((mass - expected).abs() < 1e-12, "{masses:?}");
        }
        assert!((masses.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let levels = grid.levels();
        assert!((levels[0] - 0.0125).abs() < 1e-7 && (levels[5] - 0.775).abs() < 1e-7);
        assert!(!grid.is_uniform());
        assert_eq!(QuantileGrid::uniform(4).levels(), quantile_midpoints(4));
    }

    #[test]
    fn grid_weights_are_the_masses_below_the_cvar_level() {
        // CVaR_0.1 on the tail grid: the four tail atoms, a quarter each; the mean: the masses.
        let grid = QuantileGrid::with_tail(6, 4, 0.1);
        let cvar = grid.objective_weights(&Objective::Cvar(0.1)).unwrap();
        for (weight, expected) in cvar.iter().zip([0.25, 0.25, 0.25, 0.25, 0.0, 0.0]) {
            assert!((weight - expected).abs() < 1e-9, "{cvar:?}");
        }
        assert_eq!(
            grid.objective_weights(&Objective::Mean).unwrap(),
            grid.masses()
        );
        assert!(grid.objective_weights(&Objective::Median).is_none());
        // On a uniform grid they are the L-statistic's own weights, CVaR at a level between
        // atoms included.
        for objective in [Objective::Cvar(0.1), Objective::Cvar(0.33), Objective::Mean] {
            let plan = ordergrad_core::RankPlan::new(&objective, 10, 10).unwrap();
            let weights = QuantileGrid::uniform(10)
                .objective_weights(&objective)
                .unwrap();
            for (a, b) in weights.iter().zip(plan.rank_weights()) {
                assert!(
                    (a - b).abs() < 1e-9,
                    "{objective}: {weights:?} vs {:?}",
                    plan.rank_weights()
                );
            }
        }
    }

    /// The fixed point of the quantile Bellman operator, projected exactly onto `grid` (each
    /// atom takes the target mixture's quantile at its level), for an episode of `steps` steps
    /// that pays `reward` per step and, with chance `hazard` per step, `-penalty` once; then its
    /// CVaR_beta at the start.
    fn projected_cvar(
        grid: &QuantileGrid,
        steps: usize,
        hazard: f64,
        penalty: f64,
        beta: f64,
    ) -> f64 {
        let (reward, gamma) = (1.0, 0.99);
        let (masses, levels) = (grid.masses(), grid.levels());
        let mut atoms = vec![0.0f64; grid.atom_count()];
        for _ in 0..steps {
            // The next state's atoms (the penalty can still come) and their penalised copies.
            let mut mixture: Vec<(f64, f64)> = atoms
                .iter()
                .zip(&masses)
                .flat_map(|(&atom, &mass)| {
                    let next = reward + gamma * atom;
                    [
                        (next, mass * (1.0 - hazard)),
                        (next - penalty, mass * hazard),
                    ]
                })
                .collect();
            mixture.sort_by(|a, b| a.0.total_cmp(&b.0));
            atoms = levels
                .iter()
                .map(|&level| {
                    let mut cumulative = 0.0;
                    mixture
                        .iter()
                        .find(|(_, mass)| {
                            cumulative += mass;
                            cumulative >= f64::from(level)
                        })
                        .map_or(mixture[mixture.len() - 1].0, |(value, _)| *value)
                })
                .collect();
        }
        let mut sorted = atoms;
        sorted.sort_by(f64::total_cmp);
        let weights = grid.objective_weights(&Objective::Cvar(beta)).unwrap();
        sorted
            .iter()
            .zip(&weights)
            .map(|(atom, weight)| atom * weight)
            .sum()
    }

    #[test]
    fn equal_atoms_wider_than_twice_the_hazard_do_not_see_it_and_a_tail_grid_does() {
        // 200 steps with a 0.25 % chance per step of losing 100 (once): 39 % of episodes are
        // struck, so CVaR_0.1 of the discounted return is 4.3 against 86.6 without the risk.
        let (steps, hazard, penalty, beta) = (200usize, 0.0025f64, 100.0f64, 0.1f64);
        let safe: f64 = (0..steps).map(|t| 0.99f64.powi(t as i32)).sum();
        let mut truth = 0.0f64;
        let mut survive = 1.0f64;
        let mut tail_mass = 0.0f64;
        for t in 0..steps {
            let chance = survive * hazard;
            let take = chance.min(beta - tail_mass).max(0.0);
            truth += take * (safe - penalty * 0.99f64.powi(t as i32));
            tail_mass += take;
            survive *= 1.0 - hazard;
        }
        let truth = truth / beta;
        assert!((truth - 4.35).abs() < 0.1, "{truth}");
        // 40 equal atoms are 0.025 wide, ten times the hazard: the critic is the safe return.
        let uniform = projected_cvar(&QuantileGrid::uniform(40), steps, hazard, penalty, beta);
        assert!((uniform - safe).abs() < 1e-9, "{uniform} vs {safe}");
        // 24 atoms below 0.1 are 0.0042 wide, under 2h = 0.005: within 10 of the truth.
        let tail = QuantileGrid::with_tail(40, 24, beta);
        let seen = projected_cvar(&tail, steps, hazard, penalty, beta);
        assert!((seen - truth).abs() < 10.0, "{seen} vs {truth}");
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
