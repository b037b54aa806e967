//! SAC's critic target, critic loss and actor loss against the same quantities computed by hand
//! in f64 from the networks' parameters: the MLPs, the tanh-squashed Gaussian and its log-density,
//! the clipped double Q, the entropy term and the termination mask, all written out below.

#[path = "common/tensors.rs"]
mod tensors;

use agents::common::critic::bootstrapped;
use agents::common::nets::{
    ActionBounds, Activation, GaussianActor, LOG_STD_MAX, LOG_STD_MIN, NetStyle, TwinQ,
};
use agents::common::replay::Batch;
use agents::sac::{actor_loss, critic_loss, soft_next_value};
use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serial_test::serial;
use tensors::values;

type B = Autodiff<Flex>;
type Inner = Flex;

const OBS_DIM: usize = 3;
const ACTION_DIM: usize = 2;
const HIDDEN: usize = 5;
const BATCH: usize = 6;
const GAMMA: f64 = 0.9;
const ALPHA: f32 = 0.35;
/// CleanRL's guard inside log(scale (1 - tanh^2) + epsilon).
const SQUASH_EPSILON: f64 = 1e-6;

/// A module's parameters as f64, in declaration order (each Linear's weight, [inputs, outputs]
/// row-major, then its bias).
#[derive(Default)]
struct Parameters(Vec<Vec<f64>>);

impl<Any: Backend> ModuleVisitor<Any> for Parameters {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Any, D>>) {
        self.0.push(values(param.val()));
    }
}

fn parameters<Any: Backend, M: Module<Any>>(module: &M) -> Vec<Vec<f64>> {
    let mut visitor = Parameters::default();
    module.visit(&mut visitor);
    visitor.0
}

/// x W + b for one input row.
fn dense(input: &[f64], weight: &[f64], bias: &[f64]) -> Vec<f64> {
    let outputs = bias.len();
    (0..outputs)
        .map(|o| {
            bias[o]
                + input
                    .iter()
                    .enumerate()
                    .map(|(i, x)| x * weight[i * outputs + o])
                    .sum::<f64>()
        })
        .collect()
}

fn relu(values: Vec<f64>) -> Vec<f64> {
    values.into_iter().map(|v| v.max(0.0)).collect()
}

/// Layers of a network as (weight, bias) pairs.
fn layers(parameters: &[Vec<f64>]) -> Vec<(&[f64], &[f64])> {
    parameters
        .chunks(2)
        .map(|pair| (pair[0].as_slice(), pair[1].as_slice()))
        .collect()
}

/// Q(s, a) of one critic: cat(s, a) -> ReLU -> ReLU -> 1.
fn q_value(critic: &[Vec<f64>], obs: &[f64], action: &[f64]) -> f64 {
    let layers = layers(critic);
    let input = [obs, action].concat();
    let hidden = relu(dense(&input, layers[0].0, layers[0].1));
    let hidden = relu(dense(&hidden, layers[1].0, layers[1].1));
    dense(&hidden, layers[2].0, layers[2].1)[0]
}

/// The actor's action in the env's box and its log pi, for one state and its noise.
fn policy_sample(
    actor: &[Vec<f64>],
    obs: &[f64],
    noise: &[f64],
    scale: &[f64],
    bias: &[f64],
) -> (Vec<f64>, f64) {
    let layers = layers(actor);
    let hidden = relu(dense(obs, layers[0].0, layers[0].1));
    let hidden = relu(dense(&hidden, layers[1].0, layers[1].1));
    let mean = dense(&hidden, layers[2].0, layers[2].1);
    let raw_log_std = dense(&hidden, layers[3].0, layers[3].1);
    let (low, high) = (f64::from(LOG_STD_MIN), f64::from(LOG_STD_MAX));
    let mut action = Vec::new();
    let mut log_prob = 0.0;
    for d in 0..noise.len() {
        let log_std = low + 0.5 * (high - low) * (raw_log_std[d].tanh() + 1.0);
        let squashed = (mean[d] + log_std.exp() * noise[d]).tanh();
        let gaussian =
            -0.5 * noise[d] * noise[d] - log_std - 0.5 * (2.0 * std::f64::consts::PI).ln();
        log_prob += gaussian - (scale[d] * (1.0 - squashed * squashed) + SQUASH_EPSILON).ln();
        action.push(squashed * scale[d] + bias[d]);
    }
    (action, log_prob)
}

fn row(data: &[f64], index: usize, width: usize) -> &[f64] {
    &data[index * width..(index + 1) * width]
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() < 1e-5 * (1.0 + want.abs())
}

fn random(rng: &mut StdRng, count: usize, range: std::ops::Range<f32>) -> Vec<f32> {
    (0..count)
        .map(|_| rng.random_range(range.clone()))
        .collect()
}

fn matrix<Any: Backend>(data: &[f32], cols: usize) -> Tensor<Any, 2> {
    Tensor::from_data(
        TensorData::new(data.to_vec(), [data.len() / cols, cols]),
        &Default::default(),
    )
}

fn as_f64(data: &[f32]) -> Vec<f64> {
    data.iter().map(|&v| f64::from(v)).collect()
}

#[test]
#[serial(autodiff)]
fn target_and_losses_match_a_hand_computation() {
    let device = Default::default();
    <B as Backend>::seed(&device, 21);
    // Online and target critics apart, as after some training: the target must use the targets.
    let actor = GaussianActor::<B>::new(OBS_DIM, ACTION_DIM, HIDDEN, NetStyle::default(), &device);
    let critics = TwinQ::<B>::new(OBS_DIM, ACTION_DIM, HIDDEN, 1, Activation::Relu, &device);
    let target_critics =
        TwinQ::<Inner>::new(OBS_DIM, ACTION_DIM, HIDDEN, 1, Activation::Relu, &device);
    // An asymmetric box, so that both the scale and the bias of the squashing count.
    let (low, high) = ([-2.0, -1.0], [2.0, 0.5]);
    let bounds = ActionBounds::from_box(&low, &high);
    let scale: Vec<f64> = as_f64(&bounds.scale);
    let bias: Vec<f64> = as_f64(&bounds.bias);

    let mut rng = StdRng::seed_from_u64(8);
    let batch = Batch {
        size: BATCH,
        obs: random(&mut rng, BATCH * OBS_DIM, -1.5..1.5),
        actions: random(&mut rng, BATCH * ACTION_DIM, -1.0..1.0),
        rewards: random(&mut rng, BATCH, -2.0..2.0),
        next_obs: random(&mut rng, BATCH * OBS_DIM, -1.5..1.5),
        // Two terminal transitions: their targets are the reward alone.
        terminated: vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0],
        // n-step transitions (`n_step`) bootstrap with gamma to the power of their steps.
        bootstrap_steps: vec![1.0, 2.0, 3.0, 1.0, 1.0, 5.0],
    };
    let next_noise = random(&mut rng, BATCH * ACTION_DIM, -1.5..1.5);
    let actor_noise = random(&mut rng, BATCH * ACTION_DIM, -1.5..1.5);

    // The agent's functions, as `Sac::update` calls them.
    let next_value = soft_next_value(
        &actor.valid(),
        &target_critics,
        matrix(&batch.next_obs, OBS_DIM),
        matrix(&next_noise, ACTION_DIM),
        &bounds,
        ALPHA,
    );
    let target = bootstrapped::<B>(&batch, next_value, GAMMA);
    let (obs, actions) = (
        matrix::<B>(&batch.obs, OBS_DIM),
        matrix::<B>(&batch.actions, ACTION_DIM),
    );
    let code_critic_losses = critics.members().map(|critic| {
        let fitted = critic.forward(obs.clone(), actions.clone());
        values(critic_loss(fitted, target.clone()))[0]
    });
    let code_target = values(target);
    let (loss, log_prob) = actor_loss(
        &actor,
        &critics,
        obs,
        matrix(&actor_noise, ACTION_DIM),
        &bounds,
        ALPHA,
    );
    let (code_actor_loss, code_log_prob) = (values(loss)[0], values(log_prob));

    // By hand.
    let actor_parameters = parameters(&actor);
    let [online_1, online_2] = critics.members().map(parameters);
    let [target_1, target_2] = target_critics.members().map(parameters);
    let (obs, actions, next_obs) = (
        as_f64(&batch.obs),
        as_f64(&batch.actions),
        as_f64(&batch.next_obs),
    );
    let (next_noise, actor_noise) = (as_f64(&next_noise), as_f64(&actor_noise));
    let alpha = f64::from(ALPHA);

    // Each variant of the target, to show below that the check tells them apart.
    let target_of = |clipped: fn(f64, f64) -> f64, alpha: f64, mask_terminal: bool| -> Vec<f64> {
        (0..BATCH)
            .map(|i| {
                let s = row(&next_obs, i, OBS_DIM);
                let (a, log_pi) = policy_sample(
                    &actor_parameters,
                    s,
                    row(&next_noise, i, ACTION_DIM),
                    &scale,
                    &bias,
                );
                let q = clipped(q_value(&target_1, s, &a), q_value(&target_2, s, &a));
                let not_terminated = if mask_terminal {
                    1.0 - f64::from(batch.terminated[i])
                } else {
                    1.0
                };
                let discount = GAMMA.powi(batch.bootstrap_steps[i] as i32);
                f64::from(batch.rewards[i]) + discount * not_terminated * (q - alpha * log_pi)
            })
            .collect()
    };
    let hand_target = target_of(f64::min, alpha, true);
    let critic_loss_of = |critic: &[Vec<f64>], target: &[f64]| -> f64 {
        (0..BATCH)
            .map(|i| {
                let q = q_value(critic, row(&obs, i, OBS_DIM), row(&actions, i, ACTION_DIM));
                (q - target[i]).powi(2)
            })
            .sum::<f64>()
            / BATCH as f64
    };
    let hand_critic_losses = [
        critic_loss_of(&online_1, &hand_target),
        critic_loss_of(&online_2, &hand_target),
    ];
    let actor_loss_of = |clipped: fn(f64, f64) -> f64, alpha: f64| -> (f64, Vec<f64>) {
        let mut log_probs = Vec::new();
        let mut total = 0.0;
        for i in 0..BATCH {
            let s = row(&obs, i, OBS_DIM);
            let (a, log_pi) = policy_sample(
                &actor_parameters,
                s,
                row(&actor_noise, i, ACTION_DIM),
                &scale,
                &bias,
            );
            total += alpha * log_pi - clipped(q_value(&online_1, s, &a), q_value(&online_2, s, &a));
            log_probs.push(log_pi);
        }
        (total / BATCH as f64, log_probs)
    };
    let (hand_actor_loss, hand_log_prob) = actor_loss_of(f64::min, alpha);

    for (i, (got, want)) in code_target.iter().zip(&hand_target).enumerate() {
        assert!(close(*got, *want), "target {i}: code {got} vs hand {want}");
    }
    for (i, (got, want)) in code_log_prob.iter().zip(&hand_log_prob).enumerate() {
        assert!(close(*got, *want), "log pi {i}: code {got} vs hand {want}");
    }
    for (critic, (got, want)) in code_critic_losses
        .iter()
        .zip(&hand_critic_losses)
        .enumerate()
    {
        assert!(
            close(*got, *want),
            "critic {} loss: code {got} vs hand {want}",
            critic + 1
        );
    }
    assert!(
        close(code_actor_loss, hand_actor_loss),
        "actor loss: code {code_actor_loss} vs hand {hand_actor_loss}"
    );

    // Not vacuous: the max instead of the min, no entropy term, or no termination mask would
    // each have failed the checks above.
    let differs = |a: &[f64], b: &[f64]| a.iter().zip(b).any(|(x, y)| !close(*x, *y));
    assert!(differs(&target_of(f64::max, alpha, true), &hand_target));
    assert!(differs(&target_of(f64::min, 0.0, true), &hand_target));
    assert!(differs(&target_of(f64::min, alpha, false), &hand_target));
    assert!(!close(actor_loss_of(f64::max, alpha).0, hand_actor_loss));
    assert!(!close(actor_loss_of(f64::min, 0.0).0, hand_actor_loss));
    // The two critics differ, so each loss is its own critic's.
    assert!(!close(hand_critic_losses[0], hand_critic_losses[1]));
}
