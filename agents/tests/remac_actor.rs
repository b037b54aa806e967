//! One ReMAC actor update's gradient against the chain rule written out by hand.
//!
//! For the mean head's bias b_mean, with a_sb = scale * tanh(x_sb) + bias and
//! x_sb = mean(s) + std(s) * eps_sb, the loss -1/n sum_s sum_b w_rank(s,b) Q(s, a_sb) has
//!     dL/db_mean = -1/n sum_s sum_b w_rank(s,b) * dQ/da(s, a_sb) * scale * (1 - tanh(x_sb)^2)
//! where w are the rank weights of ordergrad-core's plan (ranked on the host here) and dQ/da is
//! the critic's own action gradient, taken sample by sample.

#[path = "common/tensors.rs"]
mod tensors;

use agents::common::nets::{ActionBounds, Activation, GaussianActor, NetStyle, TwinQ};
use agents::remac::actor_loss;
use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use ordergrad_core::{Objective, RankMethod, RankPlan, RankWeightedValue};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serial_test::serial;
use tensors::values;

type B = Autodiff<Flex>;

#[derive(Default)]
struct ParamIds(Vec<ParamId>);

impl<Backend: burn::prelude::Backend> ModuleVisitor<Backend> for ParamIds {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Backend, D>>) {
        self.0.push(param.id);
    }
}

#[test]
#[serial(autodiff)]
fn actor_gradient_matches_the_hand_computed_chain_rule() {
    let device = Default::default();
    <B as burn::prelude::Backend>::seed(&device, 5);
    let (n, samples, obs_dim) = (3, 8, 3);
    let bounds = ActionBounds::from_box(&[-2.0], &[2.0]);
    let actor = GaussianActor::<B>::new(obs_dim, 1, 16, NetStyle::default(), &device);
    let critics = TwinQ::<B>::new(obs_dim, 1, 16, 1, Activation::Relu, &device);
    for objective in ["max", "top:2", "cvar:0.25"] {
        let plan = RankPlan::new(&objective.parse::<Objective>().unwrap(), samples, 4).unwrap();
        let rank_weights = plan.rank_weights().to_vec();
        let layer = RankWeightedValue::<B>::new(plan, RankMethod::Auto, &device);

        let mut rng = StdRng::seed_from_u64(9);
        let obs_data: Vec<f32> = (0..n * obs_dim)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let noise_data: Vec<f32> = (0..n * samples)
            .map(|_| rng.random_range(-2.0..2.0))
            .collect();
        let obs =
            Tensor::<B, 2>::from_data(TensorData::new(obs_data.clone(), [n, obs_dim]), &device);
        let noise = Tensor::<B, 2>::from_data(
            TensorData::new(noise_data.clone(), [n * samples, 1]),
            &device,
        );

        // Autodiff through the function the agent uses.
        let (loss, _) = actor_loss(
            &actor,
            &critics,
            &layer,
            obs.clone(),
            noise.clone(),
            &bounds,
        );
        let mut grads = loss.backward();
        let actor_grads = GradientsParams::from_module(&mut grads, &actor);
        let mut ids = ParamIds::default();
        actor.visit(&mut ids);
        // Visit order is declaration order: fc1 (w, b), fc2 (w, b), fc_mean (w, b), ...
        let mean_bias_id = ids.0[5];
        let autodiff = values(actor_grads.get::<Flex, 1>(mean_bias_id).unwrap())[0];

        // By hand: the samples' actions, their scores, ranks on the host, dQ/da per sample.
        let repeated_obs: Vec<f32> = (0..n * samples)
            .flat_map(|row| {
                obs_data[(row / samples) * obs_dim..(row / samples + 1) * obs_dim].to_vec()
            })
            .collect();
        let repeated_obs = Tensor::<B, 2>::from_data(
            TensorData::new(repeated_obs, [n * samples, obs_dim]),
            &device,
        );
        let actions = actor
            .valid()
            .sample(repeated_obs.clone().inner(), noise.inner(), &bounds)
            .actions;
        let actions = Tensor::<B, 2>::from_inner(actions).require_grad();
        let scores = critics.min(repeated_obs, actions.clone());
        let score_values = values(scores.clone());
        let action_gradients = values(actions.grad(&scores.sum().backward()).unwrap());
        let action_values = values(actions);

        let mut expected = 0.0;
        for state in 0..n {
            let row = &score_values[state * samples..(state + 1) * samples];
            let mut order: Vec<usize> = (0..samples).collect();
            order.sort_by(|&i, &j| row[i].total_cmp(&row[j]));
            for (rank, &b) in order.iter().enumerate() {
                let index = state * samples + b;
                let squashed = action_values[index] / 2.0;
                expected -= rank_weights[rank]
                    * action_gradients[index]
                    * 2.0
                    * (1.0 - squashed * squashed);
            }
        }
        expected /= n as f64;
        assert!(
            (autodiff - expected).abs() < 1e-5 * (1.0 + expected.abs()),
            "{objective}: autodiff {autodiff} vs hand {expected}"
        );
        assert!(
            expected.abs() > 1e-6,
            "{objective}: the check is not vacuous"
        );
    }
}
