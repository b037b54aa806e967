//! Distributional SAC's actor against hand computations: its gradient is the rank-weighted
//! gradient of the critic's atoms, with the `mean` objective its loss is SAC's with
//! Q = the mean of the atoms, the static-CVaR actor's loss is the atoms' shortfall below the
//! budget, and the nested risk measure's next value is the mean over draws of each row's value
//! and its one-step target bootstraps only where the step was not terminal, at the policy's
//! deterministic next action where asked.

#[path = "common/tensors.rs"]
mod tensors;

use agents::common::nets::{ActionBounds, Activation, GaussianActor, NetStyle, TwinQ};
use agents::common::off_policy::{OffPolicyAgent, Spaces};
use agents::common::replay::Batch;
use agents::dsac::{
    Dsac, DsacConfig, DsacSettings, NestedContinuation, NestedNextAction, actor_loss,
    nested_next_value, return_value, shortfall_actor_loss,
};
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use ordergrad_core::{Objective, RankMethod, RankPlan, RankWeightedValue};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serial_test::serial;
use tensors::values;

type B = Autodiff<Flex>;

const ATOMS: usize = 8;

fn random_matrix(
    rng: &mut StdRng,
    rows: usize,
    cols: usize,
    device: &burn::tensor::Device<B>,
) -> Tensor<B, 2> {
    let data: Vec<f32> = (0..rows * cols)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    Tensor::from_data(TensorData::new(data, [rows, cols]), device)
}

fn layer(objective: &str, device: &burn::tensor::Device<B>) -> (RankWeightedValue<B>, Vec<f64>) {
    let plan = RankPlan::new(&objective.parse::<Objective>().unwrap(), ATOMS, ATOMS).unwrap();
    let weights = plan.rank_weights().to_vec();
    (
        RankWeightedValue::new(plan, RankMethod::Auto, device),
        weights,
    )
}

#[test]
#[serial(autodiff)]
fn the_value_gradient_is_the_rank_weighted_gradient_of_the_atoms() {
    let device = Default::default();
    <B as Backend>::seed(&device, 11);
    let (n, obs_dim, action_dim) = (4, 3, 2);
    let critics = TwinQ::<B>::new(obs_dim, action_dim, 16, ATOMS, Activation::Relu, &device);
    let mut rng = StdRng::seed_from_u64(3);
    let obs = random_matrix(&mut rng, n, obs_dim, &device);
    let actions = random_matrix(&mut rng, n, action_dim, &device);
    for objective in ["cvar:0.25", "mean", "top:2", "median"] {
        let (value_layer, rank_weights) = layer(objective, &device);
        let actions = actions.clone().require_grad();
        let value = return_value(&critics, &value_layer, obs.clone(), actions.clone());
        let autodiff = values(actions.grad(&value.sum().backward()).unwrap());

        // By hand: each atom's own action gradient, weighted by the weight of its rank in its
        // row (ranked on the host).
        let atoms = values(critics.min(obs.clone(), actions.clone()));
        let mut expected = vec![0.0; n * action_dim];
        for atom in 0..ATOMS {
            let actions = actions.clone().detach().require_grad();
            let column = critics
                .min(obs.clone(), actions.clone())
                .slice([0..n, atom..atom + 1]);
            let gradient = values(actions.grad(&column.sum().backward()).unwrap());
            for state in 0..n {
                let row = &atoms[state * ATOMS..(state + 1) * ATOMS];
                let rank = row.iter().filter(|&&v| v < row[atom]).count();
                for a in 0..action_dim {
                    expected[state * action_dim + a] +=
                        rank_weights[rank] * gradient[state * action_dim + a];
                }
            }
        }
        for (got, want) in autodiff.iter().zip(&expected) {
            assert!(
                (got - want).abs() < 1e-5 * (1.0 + want.abs()),
                "{objective}: autodiff {autodiff:?} vs hand {expected:?}"
            );
        }
    }
}

#[test]
#[serial(autodiff)]
fn with_the_mean_objective_the_actor_loss_is_sacs() {
    let device = Default::default();
    <B as Backend>::seed(&device, 12);
    let (n, obs_dim) = (5, 3);
    let bounds = ActionBounds::from_box(&[-2.0], &[2.0]);
    let actor = GaussianActor::<B>::new(obs_dim, 1, 16, NetStyle::default(), &device);
    let critics = TwinQ::<B>::new(obs_dim, 1, 16, ATOMS, Activation::Relu, &device);
    let mut rng = StdRng::seed_from_u64(4);
    let obs = random_matrix(&mut rng, n, obs_dim, &device);
    let noise = random_matrix(&mut rng, n, 1, &device);
    let alpha = 0.3;
    let (mean_layer, _) = layer("mean", &device);
    let (loss, log_prob) = actor_loss(
        &actor,
        &critics,
        &mean_layer,
        obs.clone(),
        noise.clone(),
        &bounds,
        alpha,
    );
    // SAC: mean over states of alpha log pi(a|s) - Q(s, a), Q = the mean of min(Z1, Z2)'s atoms.
    let policy = actor.sample(obs.clone(), noise, &bounds);
    let q = critics.min(obs, policy.actions).mean_dim(1);
    let sac_loss = (policy.log_prob * alpha - q).mean();
    let (loss, sac_loss) = (values(loss)[0], values(sac_loss)[0]);
    assert!((loss - sac_loss).abs() < 1e-5, "{loss} vs {sac_loss}");
    assert_eq!(values(log_prob).len(), n);
}

#[test]
#[serial(autodiff)]
fn the_static_cvar_actor_loss_is_alpha_log_pi_plus_the_shortfall_below_the_budget_over_beta() {
    let device = Default::default();
    <B as Backend>::seed(&device, 13);
    let (n, obs_dim) = (6, 3);
    let bounds = ActionBounds::from_box(&[-1.0], &[1.0]);
    let actor = GaussianActor::<B>::new(obs_dim, 1, 16, NetStyle::default(), &device);
    let critics = TwinQ::<B>::new(obs_dim, 1, 16, ATOMS, Activation::Relu, &device);
    let mut rng = StdRng::seed_from_u64(5);
    let obs = random_matrix(&mut rng, n, obs_dim, &device);
    let noise = random_matrix(&mut rng, n, 1, &device);
    let (alpha, beta) = (0.2, 0.25);
    let policy = actor.sample(obs.clone(), noise.clone(), &bounds);
    let atoms = values(critics.min(obs.clone(), policy.actions));
    let log_prob = values(policy.log_prob);
    // Budgets at each row's median atom: some atoms fall short, some do not.
    let budgets: Vec<f32> = atoms
        .chunks(ATOMS)
        .map(|row| {
            let mut sorted = row.to_vec();
            sorted.sort_by(f64::total_cmp);
            sorted[ATOMS / 2] as f32
        })
        .collect();
    let budget_column =
        Tensor::<B, 2>::from_data(TensorData::new(budgets.clone(), [n, 1]), &device);
    let (loss, _) = shortfall_actor_loss(
        &actor,
        &critics,
        obs,
        budget_column,
        noise,
        &bounds,
        alpha,
        beta,
    );
    let expected: f64 = (0..n)
        .map(|row| {
            let shortfall: f64 = atoms[row * ATOMS..(row + 1) * ATOMS]
                .iter()
                .map(|&atom| (f64::from(budgets[row]) - atom).max(0.0))
                .sum::<f64>()
                / ATOMS as f64;
            f64::from(alpha) * log_prob[row] + shortfall / f64::from(beta)
        })
        .sum::<f64>()
        / n as f64;
    let loss = values(loss)[0];
    assert!((loss - expected).abs() < 1e-4, "{loss} vs {expected}");
}

#[test]
#[serial(autodiff)]
fn the_nested_next_value_is_the_mean_over_draws_of_each_rows_objective_value() {
    let device = Default::default();
    // Two states, two draws each (draw-major: rows 0-1 are draw 0, rows 2-3 draw 1), unsorted
    // as a target critic's atoms come. CVaR_0.25 of 8 atoms is the mean of the lowest 2.
    let rows: [[f32; ATOMS]; 4] = [
        [5.0, -40.0, 3.0, 2.0, 7.0, 1.0, -35.0, 4.0],
        [0.5, 0.25, 1.0, 0.75, 2.0, 1.5, 1.25, 1.75],
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        [-3.0, 9.0, 0.0, -1.0, 2.0, 2.0, 2.0, 2.0],
    ];
    let next_atoms = Tensor::<B, 2>::from_data(TensorData::new(rows.concat(), [4, ATOMS]), &device);
    for (objective, expected) in [
        ("cvar:0.25", [(-37.5 + 1.0) / 2.0, (0.375 - 2.0) / 2.0]),
        (
            "mean",
            [(-53.0 / 8.0 + 1.0) / 2.0, (9.0 / 8.0 + 13.0 / 8.0) / 2.0],
        ),
    ] {
        let (value_layer, _) = layer(objective, &device);
        let next_value = values(nested_next_value(&value_layer, next_atoms.clone(), 2));
        assert_eq!(next_value.len(), 2);
        for (got, want) in next_value.iter().zip(expected) {
            assert!(
                (got - want).abs() < 1e-5,
                "{objective}: {next_value:?} vs {expected:?}"
            );
        }
    }
}

/// What a nested run's critics learn (`Dsac::one_step_targets`, which `eval --critic-report`
/// sets beside their atoms): the reward alone after a terminal step, the reward plus the
/// discounted value of the next state otherwise.
#[test]
#[serial(autodiff)]
fn a_nested_one_step_target_is_the_reward_after_a_terminal_step_and_bootstraps_otherwise() {
    let agent = nested_agent(NestedContinuation::Objective);
    let batch = terminal_and_not();
    let targets = agent.one_step_targets(&batch, &mut StdRng::seed_from_u64(3));
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0], -1.5);
    assert!(
        targets[1].is_finite() && (targets[1] - targets[0]).abs() > 1e-4,
        "a bootstrapped target adds gamma v(s'): {targets:?}"
    );
    // The next actions are drawn from the rng the caller passes.
    assert_eq!(
        targets,
        agent.one_step_targets(&batch, &mut StdRng::seed_from_u64(3))
    );
}

/// `dsac.nested_continuation = "mean"` values the next state by the mean of its atoms, which
/// is never below their CVaR: with the same critics and the same next actions, its bootstrapped
/// target is at least the nested one, and a terminal step's is the reward in both.
#[test]
#[serial(autodiff)]
fn a_mean_continuation_bootstraps_the_mean_of_the_next_atoms() {
    let batch = terminal_and_not();
    let [nested, mean] =
        [NestedContinuation::Objective, NestedContinuation::Mean].map(|continuation| {
            nested_agent(continuation).one_step_targets(&batch, &mut StdRng::seed_from_u64(3))
        });
    assert_eq!((nested[0], mean[0]), (-1.5, -1.5));
    assert!(mean[1] > nested[1] + 1e-6, "{mean:?} vs {nested:?}");
}

/// `dsac.nested_next_action = "deterministic"` values the next state at the policy's
/// deterministic action, without the entropy term and without drawing: its bootstrapped target
/// is r + gamma times the mean of the critics' atoms there (the targets are the critics'
/// copies at the start), whatever the rng.
#[test]
#[serial(autodiff)]
fn a_deterministic_next_action_bootstraps_the_atoms_at_the_policys_action() {
    let batch = terminal_and_not();
    let agent = nested_agent_acting(NestedContinuation::Mean, NestedNextAction::Deterministic);
    let targets = agent.one_step_targets(&batch, &mut StdRng::seed_from_u64(3));
    assert_eq!(targets[0], -1.5);
    assert_eq!(
        targets,
        agent.one_step_targets(&batch, &mut StdRng::seed_from_u64(4))
    );
    let next_obs = &batch.next_obs[3..];
    let action = agent
        .core()
        .act(next_obs, true, &mut StdRng::seed_from_u64(5));
    let atoms = agent.return_atoms(next_obs, &action);
    let mean = atoms.iter().sum::<f32>() / atoms.len() as f32;
    let expected = -1.5 + 0.99 * mean;
    assert!(
        (targets[1] - expected).abs() < 1e-4,
        "{} against -1.5 + 0.99 x {mean} = {expected}",
        targets[1]
    );
    // The sampled next actions' soft value differs: the draws and alpha log pi.
    let sampled = nested_agent_acting(NestedContinuation::Mean, NestedNextAction::Sampled)
        .one_step_targets(&batch, &mut StdRng::seed_from_u64(3));
    assert!((sampled[1] - targets[1]).abs() > 1e-3, "{sampled:?}");
}

/// A nested CVaR_0.25 agent over 8 atoms, its parameters drawn from one seed.
fn nested_agent(continuation: NestedContinuation) -> Dsac<B> {
    nested_agent_acting(continuation, NestedNextAction::Sampled)
}

/// [`nested_agent`] with the next action of its targets.
fn nested_agent_acting(continuation: NestedContinuation, next_action: NestedNextAction) -> Dsac<B> {
    let device = Default::default();
    <B as Backend>::seed(&device, 21);
    let config = DsacConfig {
        agent: DsacSettings {
            objective: "cvar:0.25".parse().unwrap(),
            num_quantiles: ATOMS,
            nested_risk: true,
            nested_continuation: continuation,
            nested_next_action: next_action,
            ..DsacSettings::default()
        },
        ..DsacConfig::default()
    };
    let spaces = Spaces {
        obs_dim: 3,
        bounds: ActionBounds::from_box(&[-1.0], &[1.0]),
    };
    Dsac::<B>::new(config, spaces, &device).unwrap()
}

/// The same transition twice, the first one terminal.
fn terminal_and_not() -> Batch {
    Batch {
        size: 2,
        obs: [0.1, -0.2, 0.3].repeat(2),
        actions: vec![0.5, 0.5],
        rewards: vec![-1.5, -1.5],
        next_obs: [0.2, -0.1, 0.4].repeat(2),
        terminated: vec![1.0, 0.0],
        bootstrap_steps: vec![1.0, 1.0],
    }
}
