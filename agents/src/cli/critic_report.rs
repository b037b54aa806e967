//! `eval --critic-report`: does the distributional critic know the return distribution its
//! policy gets? At the fixed start, the critic's return atoms for the policy's action are set
//! beside the empirical quantiles of the evaluation episodes' returns, measured the way the
//! critic was trained: discounted with the run's gamma, on the rewards it learned from (shaped
//! where the run used shaping). A critic far from the empirical distribution has not learned
//! the tail; a calibrated critic with a policy that takes the risk points at the actor instead.
//!
//! The critic values the policy it was trained with (SAC's stochastic policy, with the entropy
//! bonus in its targets); the episodes follow the evaluated policy (deterministic unless
//! `--stochastic`), so a small gap is expected even for a perfect critic.
//!
//! A nested run (`dsac.nested_risk`) has critics that learn one step's outcome followed by the
//! objective's value of the next state, not the return. Its report sets the atoms beside what
//! they learn: the one-step targets of each episode's first transition, computed as training
//! computes them (over the first `n_step` steps where the run learned n-step targets). Where
//! that step holds no risk, the targets barely differ, and the atoms' spread is the critics'
//! own error, which the objective then prices as risk.
//!
//! A CVaR-regression critic (`dsac.critic = "cvar-regression"`) has no atoms: its report sets
//! its mean and CVaR heads beside those of the one-step targets.

use anyhow::Context;
use burn::tensor::backend::AutodiffBackend;
use ordergrad_core::{Objective, RankPlan};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::BadInput;
use crate::common::host::to_f32;
use crate::common::off_policy::OffPolicyAgent;
use crate::common::replay::{Batch, Transition};
use crate::dsac::Dsac;

/// The CVaR level the report compares.
const CVAR_LEVEL: f64 = 0.1;

#[derive(Debug, Serialize)]
pub struct CriticReport {
    /// The observation every episode started from.
    pub start: Vec<f32>,
    /// The policy's action there.
    pub action: Vec<f32>,
    /// A static-CVaR agent's start budget (the observation's last entry): the b where the
    /// critic's b - E[(b - Z)^+] / beta is highest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_budget: Option<f64>,
    pub gamma: f64,
    /// A nested run's report: the empirical side is the one-step targets of the episodes' first
    /// transitions, not their discounted returns (see the module's documentation).
    pub one_step: bool,
    /// The env steps each of a nested run's targets spans (`n_step`; 1 for one-step targets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_steps: Option<u64>,
    /// Whether the empirical returns include the run's potential-based shaping.
    pub shaped: bool,
    /// The critic's atoms, min(Z1, Z2) as the actor sees them, sorted.
    pub critic_atoms: Vec<f64>,
    /// The mass each sorted atom stands for (1/N each, unless the run gave the tail more atoms:
    /// `dsac.tail_atoms`).
    pub atom_masses: Vec<f64>,
    /// The empirical quantiles of the discounted returns at the atoms' levels, the middles of
    /// their intervals ((i + 1/2) / N on equal atoms).
    pub empirical_quantiles: Vec<f64>,
    pub critic_mean: f64,
    pub empirical_mean: f64,
    #[serde(rename = "critic_cvar_0.1")]
    pub critic_cvar_10: f64,
    #[serde(rename = "empirical_cvar_0.1")]
    pub empirical_cvar_10: f64,
    /// Wasserstein-1 distance between the critic's atoms (each of its mass) and the empirical
    /// distribution of the discounted returns; none for a CVaR-regression critic (no atoms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wasserstein_1: Option<f64>,
    /// Episodes cut by the time limit: the critic would bootstrap past their end, so their
    /// discounted returns undercount what it predicts.
    pub truncated_episodes: usize,
    /// The critic at the start for other actions, one scan per entry of the action: where the
    /// policy's action is not where the critic's objective peaks, the actor has not followed
    /// its critic; where the critic is flat, the actor has nothing to follow.
    pub action_scans: Vec<ActionScan>,
}

/// The critic's mean and CVaR_0.1 at the start as one entry of the action moves across its
/// bounds, the others held at the policy's action.
#[derive(Debug, Serialize)]
pub struct ActionScan {
    pub axis: usize,
    pub actions: Vec<f32>,
    pub critic_means: Vec<f64>,
    #[serde(rename = "critic_cvars_0.1")]
    pub critic_cvars_10: Vec<f64>,
}

/// The report for an agent loaded from its checkpoint; see the module's documentation.
#[allow(clippy::too_many_arguments)]
pub fn critic_report<B: AutodiffBackend>(
    agent: &Dsac<B>,
    mut env: Box<dyn envs::Env>,
    start_budget: Option<f64>,
    gamma: f64,
    shaping: Option<envs::risky::ShapingPotential>,
    episodes: usize,
    seed: u64,
    initial_state: Option<&serde_json::Value>,
    stochastic: bool,
) -> anyhow::Result<CriticReport> {
    let env_id = env.id().to_string();
    let reset = |env: &mut dyn envs::Env, episode: u64| -> anyhow::Result<Vec<f64>> {
        Ok(match initial_state {
            Some(state) => env.reset_to_state(Some(seed + episode), state)?.0,
            None => env.reset(Some(seed + episode)).0,
        })
    };
    let start = reset(env.as_mut(), 0)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut returns = Vec::with_capacity(episodes);
    let mut truncated_episodes = 0;
    let mut action = Vec::new();
    let one_step = agent.nested_risk();
    // The env steps of a target window, as training collected them (`n_step`).
    let target_steps = agent.core().settings.n_step;
    // The episodes' first transitions, as the replay buffer would hand them to an update.
    let mut first_steps = Batch::default();
    for episode in 0..episodes as u64 {
        let mut obs = reset(env.as_mut(), episode)?;
        if obs != start {
            return Err(BadInput(format!(
                "--critic-report compares the return distribution from one start state, but \
                 {env_id} started episode {episode} elsewhere ({obs:?}, not {start:?}): give \
                 --init-state or use an env with a fixed start"
            ))
            .into());
        }
        let (mut discounted, mut discount) = (0.0, 1.0);
        let first_obs = to_f32(&obs);
        let mut first_action = Vec::new();
        let mut steps = 0u64;
        loop {
            let chosen = agent.core().act(&to_f32(&obs), !stochastic, &mut rng);
            if episode == 0 && action.is_empty() {
                action = chosen.clone();
            }
            if steps == 0 {
                first_action = chosen.clone();
            }
            let outcome = env
                .step(&chosen)
                .with_context(|| format!("stepping {env_id}"))?;
            // As training stored it.
            let reward = match shaping {
                Some(potential) => envs::risky::shaped_reward(potential, gamma, &obs, &outcome),
                None => outcome.reward,
            };
            discounted += discount * reward;
            discount *= gamma;
            steps += 1;
            let ended = outcome.terminated || outcome.truncated;
            if one_step && (steps == target_steps || ended) {
                first_steps.push(Transition {
                    obs: &first_obs,
                    action: &first_action,
                    reward: discounted as f32,
                    next_obs: &to_f32(&outcome.observation),
                    terminated: outcome.terminated,
                    bootstrap_steps: steps as u32,
                });
                break;
            }
            if ended {
                truncated_episodes += usize::from(!outcome.terminated);
                break;
            }
            obs = outcome.observation;
        }
        if !one_step {
            returns.push(discounted);
        }
    }
    if one_step {
        returns = agent
            .one_step_targets(&first_steps, &mut rng)
            .into_iter()
            .map(f64::from)
            .collect();
        if let Some(bad) = returns.iter().find(|target| !target.is_finite()) {
            anyhow::bail!("the critics' one-step target is not finite ({bad}) at the start");
        }
    }

    let start = to_f32(&start);
    returns.sort_by(f64::total_cmp);
    let critic = if agent.has_cvar_heads() {
        heads_side(agent, &start, &action)?
    } else {
        atoms_side(agent, &start, &action, &returns)?
    };
    Ok(CriticReport {
        start,
        action,
        start_budget,
        gamma,
        one_step,
        target_steps: one_step.then_some(target_steps),
        shaped: shaping.is_some(),
        critic_mean: critic.mean,
        empirical_mean: statistic(&returns, Objective::Mean)?,
        critic_cvar_10: critic.cvar_10,
        empirical_cvar_10: statistic(&returns, Objective::Cvar(CVAR_LEVEL))?,
        wasserstein_1: critic.wasserstein_1,
        critic_atoms: critic.atoms,
        atom_masses: critic.atom_masses,
        empirical_quantiles: critic.empirical_quantiles,
        truncated_episodes,
        action_scans: critic.action_scans,
    })
}

/// The critic's side of the report: what it predicts at the start, and how that compares
/// with the sorted empirical returns where it has atoms.
struct CriticSide {
    mean: f64,
    cvar_10: f64,
    atoms: Vec<f64>,
    atom_masses: Vec<f64>,
    empirical_quantiles: Vec<f64>,
    wasserstein_1: Option<f64>,
    action_scans: Vec<ActionScan>,
}

/// A CVaR-regression critic's side: its mean and CVaR heads, no atoms.
fn heads_side<B: AutodiffBackend>(
    agent: &Dsac<B>,
    start: &[f32],
    action: &[f32],
) -> anyhow::Result<CriticSide> {
    let level = agent.cvar_level();
    if (level - CVAR_LEVEL).abs() > 1e-9 {
        return Err(BadInput(format!(
            "--critic-report compares CVaR_{CVAR_LEVEL}, but this run's CVaR-regression \
             critic estimates CVaR_{level} (its objective's level at this checkpoint)"
        ))
        .into());
    }
    let heads = |moved: &[f32]| {
        agent
            .cvar_heads(start, moved)
            .expect("a CVaR-regression critic")
    };
    let (mean, cvar_10) = heads(action);
    if let Some(bad) = [mean, cvar_10].into_iter().find(|head| !head.is_finite()) {
        anyhow::bail!("the critic predicts a non-finite value ({bad}) at the start");
    }
    Ok(CriticSide {
        mean,
        cvar_10,
        atoms: Vec::new(),
        atom_masses: Vec::new(),
        empirical_quantiles: Vec::new(),
        wasserstein_1: None,
        action_scans: scan_actions(agent, action, heads),
    })
}

/// A quantile critic's side: its sorted atoms, their statistics under the grid's weights, and
/// their distance to the sorted `returns`.
fn atoms_side<B: AutodiffBackend>(
    agent: &Dsac<B>,
    start: &[f32],
    action: &[f32],
    returns: &[f64],
) -> anyhow::Result<CriticSide> {
    let sorted_atoms = |moved: &[f32]| {
        let mut atoms: Vec<f64> = agent
            .return_atoms(start, moved)
            .into_iter()
            .map(f64::from)
            .collect();
        atoms.sort_by(f64::total_cmp);
        atoms
    };
    let atoms = sorted_atoms(action);
    if let Some(bad) = atoms.iter().find(|atom| !atom.is_finite()) {
        anyhow::bail!("the critic predicts a non-finite return atom ({bad}) at the start");
    }
    let grid = agent.quantile_grid();
    let atom_masses = grid.masses();
    let empirical_quantiles = grid
        .levels()
        .into_iter()
        .map(|level| lower_quantile(returns, f64::from(level)))
        .collect();
    let weights = |objective: Objective| {
        grid.objective_weights(&objective)
            .expect("mean and cvar have weights on any grid")
    };
    let (mean_weights, cvar_weights) = (
        weights(Objective::Mean),
        weights(Objective::Cvar(CVAR_LEVEL)),
    );
    let action_scans = scan_actions(agent, action, |moved| {
        let atoms = sorted_atoms(moved);
        (
            weighted_sum(&atoms, &mean_weights),
            weighted_sum(&atoms, &cvar_weights),
        )
    });
    Ok(CriticSide {
        mean: weighted_sum(&atoms, &mean_weights),
        cvar_10: weighted_sum(&atoms, &cvar_weights),
        wasserstein_1: Some(wasserstein_1(&atoms, &atom_masses, returns)),
        atoms,
        atom_masses,
        empirical_quantiles,
        action_scans,
    })
}

/// Points of each axis scan, evenly over the action's bounds.
const SCAN_POINTS: usize = 9;

/// The objective's value of the sorted `values` (exact-fraction weights of ordergrad-core).
fn statistic(values: &[f64], objective: Objective) -> anyhow::Result<f64> {
    Ok(RankPlan::new(&objective, values.len(), values.len())?.value(values)?)
}

/// For each entry of the action, the critic's (mean, CVaR_0.1) (`summarise`) at the start with
/// that entry moved across its bounds and the others kept at the policy's.
fn scan_actions<B: AutodiffBackend>(
    agent: &Dsac<B>,
    action: &[f32],
    summarise: impl Fn(&[f32]) -> (f64, f64),
) -> Vec<ActionScan> {
    let bounds = agent.core().bounds();
    (0..action.len())
        .map(|axis| {
            let (low, high) = (
                bounds.bias[axis] - bounds.scale[axis],
                bounds.bias[axis] + bounds.scale[axis],
            );
            let actions: Vec<f32> = (0..SCAN_POINTS)
                .map(|i| low + (high - low) * i as f32 / (SCAN_POINTS - 1) as f32)
                .collect();
            let (mut critic_means, mut critic_cvars_10) = (Vec::new(), Vec::new());
            for &value in &actions {
                let mut moved = action.to_vec();
                moved[axis] = value;
                let (mean, cvar) = summarise(&moved);
                critic_means.push(mean);
                critic_cvars_10.push(cvar);
            }
            ActionScan {
                axis,
                actions,
                critic_means,
                critic_cvars_10,
            }
        })
        .collect()
}

/// The sorted atoms' value under an objective whose weights (by mass) are `weights`.
fn weighted_sum(sorted_atoms: &[f64], weights: &[f64]) -> f64 {
    sorted_atoms
        .iter()
        .zip(weights)
        .map(|(atom, weight)| atom * weight)
        .sum()
}

/// The ceil(level n)-th smallest of the sorted `values` (level in (0, 1)).
fn lower_quantile(sorted: &[f64], level: f64) -> f64 {
    let rank = ((level * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// W1 between the sorted points `a`, of masses `a_masses` (summing to 1), and the sorted,
/// equally weighted points `b`: the integral over u in (0, 1) of |F_a^-1(u) - F_b^-1(u)|,
/// exact, over the merged breakpoints of the two quantile functions.
fn wasserstein_1(a: &[f64], a_masses: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len(), b.len());
    let (mut i, mut j, mut from, mut total) = (0, 0, 0.0, 0.0);
    let mut end_a = a_masses.first().copied().unwrap_or(1.0);
    while i < n && j < m {
        // The last piece of `a` ends at 1 exactly, whatever its masses' rounding.
        if i == n - 1 {
            end_a = 1.0;
        }
        let end_b = (j + 1) as f64 / m as f64;
        let to = end_a.min(end_b);
        total += (to - from) * (a[i] - b[j]).abs();
        from = to;
        // Both pieces can end together (e.g. n = m).
        if end_a <= to {
            i += 1;
            end_a += a_masses.get(i).copied().unwrap_or(0.0);
        }
        if end_b <= to {
            j += 1;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasserstein_1_of_shifted_and_split_distributions() {
        // A shift by c moves every quantile by c.
        let third = [1.0 / 3.0; 3];
        assert!((wasserstein_1(&[0.0, 1.0, 2.0], &third, &[0.5, 1.5, 2.5]) - 0.5).abs() < 1e-12);
        // Two atoms at 0 and 10 against four points 0, 0, 0, 10: on (1/2, 3/4) the quantiles
        // are 10 and 0, elsewhere equal: 10 / 4.
        let half = [0.5; 2];
        assert!((wasserstein_1(&[0.0, 10.0], &half, &[0.0, 0.0, 0.0, 10.0]) - 2.5).abs() < 1e-12);
        // Symmetric, and zero against itself.
        let (a, b) = ([-27.0, -7.0, -7.0], [-15.0, -15.0]);
        assert!((wasserstein_1(&a, &third, &b) - wasserstein_1(&b, &half, &a)).abs() < 1e-12);
        assert_eq!(wasserstein_1(&a, &third, &a), 0.0);
        // Unequal masses: atoms 0 (mass 3/4) and 10 (1/4) against 0, 0, 0, 10 agree exactly;
        // against 0, 10 they differ by 10 on (1/2, 3/4).
        let tail = [0.75, 0.25];
        assert!(wasserstein_1(&[0.0, 10.0], &tail, &[0.0, 0.0, 0.0, 10.0]).abs() < 1e-12);
        assert!((wasserstein_1(&[0.0, 10.0], &tail, &[0.0, 10.0]) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn lower_quantiles_take_the_ceiling_rank() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(lower_quantile(&sorted, 0.125), 1.0);
        assert_eq!(lower_quantile(&sorted, 0.5), 2.0);
        assert_eq!(lower_quantile(&sorted, 0.875), 4.0);
    }
}
