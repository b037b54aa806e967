//! The agents' networks. Off-policy (SAC, ReMAC): CleanRL's tanh-squashed Gaussian actor and its
//! soft Q network, with PyTorch's default initialisation (Burn's `Linear` default:
//! U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases). PPO: CleanRL's 64-64 tanh actor with
//! a state-independent log-std and its value network, orthogonally initialised.

use burn::module::{Initializer, Param};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

/// CleanRL's bounds on the actor's log standard deviation.
pub const LOG_STD_MIN: f32 = -5.0;
pub const LOG_STD_MAX: f32 = 2.0;

/// The hidden layers' activation of the off-policy networks: ReLU (CleanRL) or tanh (the
/// ReMAC paper's Brax networks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    #[default]
    Relu,
    Tanh,
}

impl Activation {
    fn apply<B: Backend>(self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Activation::Relu => relu(x),
            Activation::Tanh => x.tanh(),
        }
    }
}

/// How the actor's log-std head is kept in its bounds: squashed smoothly with tanh (CleanRL) or
/// clamped (the ReMAC paper).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStdSquash {
    #[default]
    Tanh,
    Clip,
}

/// The shape of an off-policy network beyond its sizes: the activation and, for the actor,
/// how its log-std is bounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetStyle {
    pub activation: Activation,
    pub log_std_min: f32,
    pub log_std_max: f32,
    pub log_std_squash: LogStdSquash,
}

impl Default for NetStyle {
    /// CleanRL's: ReLU, log-std squashed with tanh into [-5, 2].
    fn default() -> Self {
        Self {
            activation: Activation::Relu,
            log_std_min: LOG_STD_MIN,
            log_std_max: LOG_STD_MAX,
            log_std_squash: LogStdSquash::Tanh,
        }
    }
}

/// Keeps log(1 - tanh(x)^2) finite when tanh saturates (CleanRL's constant).
const SQUASH_EPSILON: f32 = 1e-6;

/// Maps actions in [-1, 1] to the env's box: action = squashed * scale + bias, per dimension.
#[derive(Debug, Clone)]
pub struct ActionBounds {
    pub scale: Vec<f32>,
    pub bias: Vec<f32>,
}

impl ActionBounds {
    pub fn from_box(low: &[f64], high: &[f64]) -> Self {
        Self {
            scale: low
                .iter()
                .zip(high)
                .map(|(l, h)| ((h - l) / 2.0) as f32)
                .collect(),
            bias: low
                .iter()
                .zip(high)
                .map(|(l, h)| ((h + l) / 2.0) as f32)
                .collect(),
        }
    }

    pub fn dim(&self) -> usize {
        self.scale.len()
    }

    fn tensors<B: Backend>(&self, device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let dim = self.dim();
        let scale = Tensor::from_data(TensorData::new(self.scale.clone(), [1, dim]), device);
        let bias = Tensor::from_data(TensorData::new(self.bias.clone(), [1, dim]), device);
        (scale, bias)
    }
}

/// CleanRL's SAC actor: obs -> 256 -> 256 (ReLU) -> mean and log-std heads (sizes, activation
/// and log-std bounds are settings).
#[derive(Module, Debug)]
pub struct GaussianActor<B: Backend> {
    fc1: Linear<B>,
    fc2: Linear<B>,
    fc_mean: Linear<B>,
    fc_log_std: Linear<B>,
    #[module(skip)]
    style: NetStyle,
}

/// A reparameterised action sample: `actions` in the env's box, `log_prob` of the squashed
/// sample ([batch, 1]), and the deterministic action tanh(mean) in the env's box.
pub struct ActionSample<B: Backend> {
    pub actions: Tensor<B, 2>,
    pub log_prob: Tensor<B, 2>,
    pub mean_actions: Tensor<B, 2>,
}

impl<B: Backend> GaussianActor<B> {
    pub fn new(
        obs_dim: usize,
        action_dim: usize,
        hidden: usize,
        style: NetStyle,
        device: &B::Device,
    ) -> Self {
        Self {
            fc1: linear(obs_dim, hidden, device),
            fc2: linear(hidden, hidden, device),
            fc_mean: linear(hidden, action_dim, device),
            fc_log_std: linear(hidden, action_dim, device),
            style,
        }
    }

    /// Mean and log-std of the pre-squash Gaussian; the log-std kept in its bounds by tanh
    /// (CleanRL: smooth, unlike a clamp) or by a clamp.
    pub fn forward(&self, obs: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let NetStyle {
            activation,
            log_std_min,
            log_std_max,
            log_std_squash,
        } = self.style;
        let hidden = activation.apply(self.fc2.forward(activation.apply(self.fc1.forward(obs))));
        let mean = self.fc_mean.forward(hidden.clone());
        let log_std = self.fc_log_std.forward(hidden);
        let log_std = match log_std_squash {
            LogStdSquash::Tanh => {
                (log_std.tanh() + 1.0) * (0.5 * (log_std_max - log_std_min)) + log_std_min
            }
            LogStdSquash::Clip => log_std.clamp(log_std_min, log_std_max),
        };
        (mean, log_std)
    }

    /// Sample with the given standard-normal noise ([batch, action_dim], drawn by the caller so
    /// that every random number of a run comes from one checkpointed RNG).
    pub fn sample(
        &self,
        obs: Tensor<B, 2>,
        noise: Tensor<B, 2>,
        bounds: &ActionBounds,
    ) -> ActionSample<B> {
        let (mean, log_std) = self.forward(obs);
        let (scale, bias) = bounds.tensors::<B>(&mean.device());
        let [batch, dim] = mean.dims();
        let (scale, bias) = (scale.expand([batch, dim]), bias.expand([batch, dim]));
        let pre_squash = mean.clone() + log_std.clone().exp() * noise.clone();
        let squashed = pre_squash.tanh();
        // log N(x; mean, std) with x - mean = std * noise.
        let gaussian_log_prob =
            noise.powi_scalar(2) * (-0.5) - log_std - 0.5 * (2.0 * std::f32::consts::PI).ln();
        let squash_correction =
            (scale.clone() * (squashed.clone().powi_scalar(2).neg() + 1.0) + SQUASH_EPSILON).log();
        let log_prob = (gaussian_log_prob - squash_correction).sum_dim(1);
        ActionSample {
            actions: squashed * scale.clone() + bias.clone(),
            log_prob,
            mean_actions: mean.tanh() * scale + bias,
        }
    }

    /// One action for one observation, on the host: a policy sample with noise from `rng`, or
    /// the deterministic action. Runs without autodiff.
    pub fn act(
        &self,
        obs: &[f32],
        deterministic: bool,
        bounds: &ActionBounds,
        rng: &mut impl rand::Rng,
    ) -> Vec<f32> {
        let device = self.fc1.weight.device();
        let obs = crate::common::host::matrix(obs, 1, obs.len(), &device);
        let actions = if deterministic {
            self.deterministic(obs, bounds)
        } else {
            let noise = crate::common::host::standard_normal(rng, 1, bounds.dim(), &device);
            self.sample(obs, noise, bounds).actions
        };
        crate::common::host::to_vec(actions)
    }

    /// The deterministic (evaluation) action tanh(mean), in the env's box.
    pub fn deterministic(&self, obs: Tensor<B, 2>, bounds: &ActionBounds) -> Tensor<B, 2> {
        let (mean, _) = self.forward(obs);
        let (scale, bias) = bounds.tensors::<B>(&mean.device());
        let [batch, dim] = mean.dims();
        mean.tanh() * scale.expand([batch, dim]) + bias.expand([batch, dim])
    }
}

/// CleanRL's soft Q network: (obs, action) -> 256 -> 256 (ReLU) -> Q. With `outputs` > 1 it is
/// a quantile critic: the outputs are the return's quantiles at the midpoints (2i + 1) / 2N.
#[derive(Module, Debug)]
pub struct QNetwork<B: Backend> {
    fc1: Linear<B>,
    fc2: Linear<B>,
    fc3: Linear<B>,
    #[module(skip)]
    activation: Activation,
}

impl<B: Backend> QNetwork<B> {
    pub fn new(
        obs_dim: usize,
        action_dim: usize,
        hidden: usize,
        outputs: usize,
        activation: Activation,
        device: &B::Device,
    ) -> Self {
        Self {
            fc1: linear(obs_dim + action_dim, hidden, device),
            fc2: linear(hidden, hidden, device),
            fc3: linear(hidden, outputs, device),
            activation,
        }
    }

    /// Q(s, a) as [batch, outputs].
    pub fn forward(&self, obs: Tensor<B, 2>, actions: Tensor<B, 2>) -> Tensor<B, 2> {
        let input = Tensor::cat(vec![obs, actions], 1);
        let activation = self.activation;
        let hidden = activation.apply(self.fc2.forward(activation.apply(self.fc1.forward(input))));
        self.fc3.forward(hidden)
    }

    /// Polyak averaging towards `online`: target <- tau * online + (1 - tau) * target.
    pub fn soft_update(self, online: &QNetwork<B>, tau: f64) -> Self {
        Self {
            fc1: soft_update_linear(self.fc1, &online.fc1, tau),
            fc2: soft_update_linear(self.fc2, &online.fc2, tau),
            fc3: soft_update_linear(self.fc3, &online.fc3, tau),
            activation: self.activation,
        }
    }
}

/// Twin Q networks (clipped double Q): the agents train both and act on their minimum.
#[derive(Module, Debug)]
pub struct TwinQ<B: Backend> {
    q1: QNetwork<B>,
    q2: QNetwork<B>,
}

impl<B: Backend> TwinQ<B> {
    /// Two networks of `outputs` values each (1 for a scalar critic, N atoms for a quantile one).
    pub fn new(
        obs_dim: usize,
        action_dim: usize,
        hidden: usize,
        outputs: usize,
        activation: Activation,
        device: &B::Device,
    ) -> Self {
        Self {
            q1: QNetwork::new(obs_dim, action_dim, hidden, outputs, activation, device),
            q2: QNetwork::new(obs_dim, action_dim, hidden, outputs, activation, device),
        }
    }

    /// (Q1(s, a), Q2(s, a)), each [batch, outputs]. On the CPU the two networks run at once
    /// (see [`TwinQ::members_mut`]).
    pub fn forward(
        &self,
        obs: Tensor<B, 2>,
        actions: Tensor<B, 2>,
    ) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let (obs_copy, actions_copy) = (obs.clone(), actions.clone());
        crate::backend::side_by_side::<B, _, _>(
            || self.q1.forward(obs_copy, actions_copy),
            || self.q2.forward(obs, actions),
        )
    }

    /// The two networks, to train each on its own thread on the CPU. At CleanRL's sizes one
    /// network keeps 2 CPU cores only half busy: its element-wise ops run on one thread, and
    /// each matmul hands half its work to the other core and waits for it. The two networks are
    /// independent, so side by side they fill both cores (a SAC step on 2 cores: 11.2 ms one
    /// after the other, 7.7 ms side by side). Each computes exactly what it computes alone:
    /// same results. See [`crate::backend::side_by_side`].
    pub fn members_mut(&mut self) -> (&mut QNetwork<B>, &mut QNetwork<B>) {
        (&mut self.q1, &mut self.q2)
    }

    /// The two networks, to read.
    pub fn members(&self) -> [&QNetwork<B>; 2] {
        [&self.q1, &self.q2]
    }

    /// min(Q1, Q2)(s, a), [batch, outputs]: for quantile critics, the smaller of the two
    /// critics' values of each atom.
    pub fn min(&self, obs: Tensor<B, 2>, actions: Tensor<B, 2>) -> Tensor<B, 2> {
        let (q1, q2) = self.forward(obs, actions);
        q1.min_pair(q2)
    }

    pub fn soft_update(self, online: &TwinQ<B>, tau: f64) -> Self {
        Self {
            q1: self.q1.soft_update(&online.q1, tau),
            q2: self.q2.soft_update(&online.q2, tau),
        }
    }
}

fn soft_update_linear<B: Backend>(target: Linear<B>, online: &Linear<B>, tau: f64) -> Linear<B> {
    let weight = online.weight.val();
    let bias = online.bias.as_ref().map(|bias| bias.val());
    Linear {
        weight: target
            .weight
            .map(|target| target * (1.0 - tau) + weight * tau),
        bias: target
            .bias
            .zip(bias)
            .map(|(target, online)| target.map(|target| target * (1.0 - tau) + online * tau)),
    }
}

/// ln(2 pi) / 2, the constant of a Gaussian log-density per dimension.
pub const HALF_LN_TWO_PI: f32 = 0.918_938_5;

/// CleanRL's `layer_init`: an orthogonal weight matrix scaled by `gain`, and a zero bias.
fn orthogonal_linear<B: Backend>(
    inputs: usize,
    outputs: usize,
    gain: f64,
    device: &B::Device,
) -> Linear<B> {
    // Burn's initialiser would also apply to the bias, and an orthogonal 1-d tensor is undefined.
    let mut linear = LinearConfig::new(inputs, outputs)
        .with_bias(false)
        .with_initializer(Initializer::Orthogonal { gain })
        .init(device);
    linear.bias = Some(Param::from_tensor(Tensor::zeros([outputs], device)));
    initialised(linear)
}

/// PyTorch's default `nn.Linear` (see the module doc).
fn linear<B: Backend>(inputs: usize, outputs: usize, device: &B::Device) -> Linear<B> {
    initialised(LinearConfig::new(inputs, outputs).init(device))
}

/// Draws the layer's initial values now. Burn 0.21 initialises a parameter lazily, at its first
/// use, and a clone of a never-used parameter draws values of its own when it is used: a
/// checkpoint (`clone().into_record()`) taken before the actor's first use saved other values
/// than the run went on to train, and the backend's RNG was drawn in order of first use rather
/// than of construction.
fn initialised<B: Backend>(linear: Linear<B>) -> Linear<B> {
    linear.weight.val();
    if let Some(bias) = &linear.bias {
        bias.val();
    }
    linear
}

/// CleanRL's PPO actor: obs -> 64 -> 64 (tanh) -> the mean of a diagonal Gaussian whose log-std is
/// a parameter of its own (state-independent, starting at 0). Actions are not squashed; the env's
/// ClipAction wrapper clips them.
///
/// With generalized state-dependent exploration (gSDE, Raffin et al. 2021; SB3's
/// `StateDependentNoiseDistribution` with `full_std`, no `expln`, no learned features) the
/// log-std is a [hidden, action_dim] matrix instead of a [1, action_dim] row: sigma_ij =
/// exp(log_std_ij) scales the noise weights from hidden unit i (the last hidden activation z(s),
/// detached) to action j, and the action's distribution is the diagonal Gaussian with variance
/// sum_i z_i(s)^2 sigma_ij^2 (+ [`SDE_EPSILON`]). Which of the two the actor is follows from the
/// shape of `log_std`, chosen at construction ([`PpoActor::with_log_std`]).
#[derive(Module, Debug)]
pub struct PpoActor<B: Backend> {
    fc1: Linear<B>,
    fc2: Linear<B>,
    fc_mean: Linear<B>,
    log_std: Param<Tensor<B, 2>>,
}

/// SB3's `epsilon` of the gSDE distribution: added to the variance before its square root.
pub const SDE_EPSILON: f32 = 1e-6;

/// The shape and initial value of the PPO actor's log-std parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogStd {
    /// gSDE's [hidden, action_dim] matrix when true; CleanRL's [1, action_dim] row when false.
    pub state_dependent: bool,
    /// Every entry's initial value (CleanRL and SB3: 0).
    pub init: f64,
}

impl Default for LogStd {
    fn default() -> Self {
        Self {
            state_dependent: false,
            init: 0.0,
        }
    }
}

impl<B: Backend> PpoActor<B> {
    pub fn new(obs_dim: usize, action_dim: usize, hidden: usize, device: &B::Device) -> Self {
        Self::with_log_std(obs_dim, action_dim, hidden, LogStd::default(), device)
    }

    pub fn with_log_std(
        obs_dim: usize,
        action_dim: usize,
        hidden: usize,
        log_std: LogStd,
        device: &B::Device,
    ) -> Self {
        let rows = if log_std.state_dependent { hidden } else { 1 };
        Self {
            fc1: orthogonal_linear(obs_dim, hidden, std::f64::consts::SQRT_2, device),
            fc2: orthogonal_linear(hidden, hidden, std::f64::consts::SQRT_2, device),
            // A small head makes the first policy's mean close to 0 everywhere.
            fc_mean: orthogonal_linear(hidden, action_dim, 0.01, device),
            log_std: Param::from_tensor(Tensor::full([rows, action_dim], log_std.init, device)),
        }
    }

    /// The Gaussian's mean ([batch, action_dim]) and the log-std parameter ([1, action_dim], or
    /// gSDE's [hidden, action_dim]).
    pub fn forward(&self, obs: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let (mean, _) = self.mean_and_latent(obs);
        (mean, self.log_std.val())
    }

    /// The log-std parameter's values.
    pub fn forward_log_std(&self) -> Tensor<B, 2> {
        self.log_std.val()
    }

    /// The Gaussian's mean and the last hidden activation z(s) ([batch, hidden]), not detached.
    pub fn mean_and_latent(&self, obs: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let hidden = self.fc2.forward(self.fc1.forward(obs).tanh()).tanh();
        (self.fc_mean.forward(hidden.clone()), hidden)
    }

    /// log pi(actions | obs) ([batch, 1]) and the policy's entropy ([1, 1]: the same for every
    /// state, since the log-std does not depend on it).
    pub fn log_prob_and_entropy(
        &self,
        obs: Tensor<B, 2>,
        actions: Tensor<B, 2>,
    ) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let (mean, log_std) = self.forward(obs);
        let [batch, dim] = mean.dims();
        let log_std_rows = log_std.clone().expand([batch, dim]);
        let standardised = (actions - mean) / log_std_rows.clone().exp();
        let log_prob =
            (standardised.powi_scalar(2) * (-0.5) - log_std_rows - HALF_LN_TWO_PI).sum_dim(1);
        let entropy = (log_std + (0.5 + HALF_LN_TWO_PI)).sum_dim(1);
        (log_prob, entropy)
    }

    /// gSDE: log pi(actions | obs) and the entropy of each state's Gaussian (both [batch, 1])
    /// under N(mean(s), sum_i z_i(s)^2 sigma_ij^2 + SDE_EPSILON), with z(s) detached (SB3's
    /// `learn_features = False`): the log-std learns through the variance, the features only
    /// through the mean.
    pub fn sde_log_prob_and_entropy(
        &self,
        obs: Tensor<B, 2>,
        actions: Tensor<B, 2>,
    ) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let (mean, latent) = self.mean_and_latent(obs);
        let sigma_squared = (self.log_std.val() * 2.0).exp();
        let variance = latent.detach().powi_scalar(2).matmul(sigma_squared) + SDE_EPSILON;
        let log_std = variance.clone().log() * 0.5;
        let log_prob = ((actions - mean).powi_scalar(2) / variance * (-0.5)
            - log_std.clone()
            - HALF_LN_TWO_PI)
            .sum_dim(1);
        let entropy = (log_std + (0.5 + HALF_LN_TWO_PI)).sum_dim(1);
        (log_prob, entropy)
    }
}

/// CleanRL's PPO critic: obs -> 64 -> 64 (tanh) -> V(s).
#[derive(Module, Debug)]
pub struct ValueNetwork<B: Backend> {
    fc1: Linear<B>,
    fc2: Linear<B>,
    fc3: Linear<B>,
}

impl<B: Backend> ValueNetwork<B> {
    pub fn new(obs_dim: usize, hidden: usize, device: &B::Device) -> Self {
        Self {
            fc1: orthogonal_linear(obs_dim, hidden, std::f64::consts::SQRT_2, device),
            fc2: orthogonal_linear(hidden, hidden, std::f64::consts::SQRT_2, device),
            fc3: orthogonal_linear(hidden, 1, 1.0, device),
        }
    }

    /// V(s) as [batch, 1].
    pub fn forward(&self, obs: Tensor<B, 2>) -> Tensor<B, 2> {
        let hidden = self.fc2.forward(self.fc1.forward(obs).tanh()).tanh();
        self.fc3.forward(hidden)
    }
}

/// PPO's actor and critic as one module: CleanRL trains both with one Adam and clips the norm
/// of their joint gradient.
#[derive(Module, Debug)]
pub struct ActorCritic<B: Backend> {
    pub actor: PpoActor<B>,
    pub critic: ValueNetwork<B>,
}

impl<B: Backend> ActorCritic<B> {
    pub fn new(obs_dim: usize, action_dim: usize, hidden: usize, device: &B::Device) -> Self {
        Self::with_log_std(obs_dim, action_dim, hidden, LogStd::default(), device)
    }

    /// With the actor's log-std shaped and initialised by `log_std` (gSDE or CleanRL's).
    pub fn with_log_std(
        obs_dim: usize,
        action_dim: usize,
        hidden: usize,
        log_std: LogStd,
        device: &B::Device,
    ) -> Self {
        // The actor's initial values are drawn first: the order the results in the README were
        // measured with (Burn's RNG is not PyTorch's, so CleanRL's critic-first order would not
        // give CleanRL's values anyway).
        let actor = PpoActor::with_log_std(obs_dim, action_dim, hidden, log_std, device);
        Self {
            actor,
            critic: ValueNetwork::new(obs_dim, hidden, device),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;

    use crate::common::host;

    use super::*;

    /// gSDE's log-probability and entropy on a tiny case (2 hidden units, 2 action dimensions),
    /// against the formulas written out: var_j = z_1^2 s_1j^2 + z_2^2 s_2j^2 + 1e-6.
    #[test]
    fn gsde_log_prob_and_entropy_match_a_hand_computation() {
        let device = Default::default();
        let mut actor = PpoActor::<Flex>::with_log_std(
            1,
            2,
            2,
            LogStd {
                state_dependent: true,
                init: 0.0,
            },
            &device,
        );
        let log_std = [[-1.0f32, 0.5], [0.25, -2.0]];
        actor.log_std = Param::from_tensor(Tensor::from_floats(log_std, &device));
        let obs = Tensor::<Flex, 2>::from_floats([[0.7], [-1.3]], &device);
        let actions = [[0.4f32, -0.9], [-1.5, 2.0]];
        let (mean, latent) = actor.mean_and_latent(obs.clone());
        let (mean, latent) = (
            crate::common::host::to_vec(mean),
            crate::common::host::to_vec(latent),
        );
        let (log_prob, entropy) =
            actor.sde_log_prob_and_entropy(obs, Tensor::from_floats(actions, &device));
        let (log_prob, entropy) = (
            crate::common::host::to_vec(log_prob),
            crate::common::host::to_vec(entropy),
        );
        let half_ln_two_pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        for row in 0..2 {
            let z = [f64::from(latent[row * 2]), f64::from(latent[row * 2 + 1])];
            let (mut expected_log_prob, mut expected_entropy) = (0.0, 0.0);
            for j in 0..2 {
                let sigma = |i: usize| f64::from(log_std[i][j]).exp();
                let variance =
                    z[0] * z[0] * sigma(0).powi(2) + z[1] * z[1] * sigma(1).powi(2) + 1e-6;
                let deviation = f64::from(actions[row][j]) - f64::from(mean[row * 2 + j]);
                expected_log_prob += -deviation * deviation / (2.0 * variance)
                    - 0.5 * variance.ln()
                    - half_ln_two_pi;
                expected_entropy += 0.5 + half_ln_two_pi + 0.5 * variance.ln();
            }
            let close = |a: f32, b: f64| (f64::from(a) - b).abs() < 1e-4 * (1.0 + b.abs());
            assert!(
                close(log_prob[row], expected_log_prob),
                "{} vs {expected_log_prob}",
                log_prob[row]
            );
            assert!(
                close(entropy[row], expected_entropy),
                "{} vs {expected_entropy}",
                entropy[row]
            );
        }
    }

    /// The ReMAC paper's style: tanh hidden layers, the log-std head clamped into [-10, 2];
    /// CleanRL's: ReLU, the head squashed by tanh into [-5, 2].
    #[test]
    fn the_actor_follows_its_activation_and_log_std_squash() {
        let device = Default::default();
        let obs = Tensor::<Flex, 2>::from_floats([[0.5, -1.0, 2.0], [30.0, -40.0, 50.0]], &device);
        let paper = NetStyle {
            activation: Activation::Tanh,
            log_std_min: -10.0,
            log_std_max: 2.0,
            log_std_squash: LogStdSquash::Clip,
        };
        for style in [NetStyle::default(), paper] {
            let mut actor = GaussianActor::<Flex>::new(3, 2, 8, style, &device);
            // A large log-std head, so that both bounds are reached.
            actor.fc_log_std = actor.fc_log_std.clone().map(&mut Scale(50.0));
            let (mean, log_std) = actor.forward(obs.clone());
            let act = |x: Tensor<Flex, 2>| match style.activation {
                Activation::Relu => relu(x),
                Activation::Tanh => x.tanh(),
            };
            let hidden = act(actor.fc2.forward(act(actor.fc1.forward(obs.clone()))));
            mean.into_data()
                .assert_eq(&actor.fc_mean.forward(hidden.clone()).into_data(), true);
            let head = host::to_vec(actor.fc_log_std.forward(hidden));
            let expected: Vec<f32> = head
                .iter()
                .map(|&x| match style.log_std_squash {
                    LogStdSquash::Tanh => (x.tanh() + 1.0) * 3.5 - 5.0,
                    LogStdSquash::Clip => x.clamp(-10.0, 2.0),
                })
                .collect();
            let log_std = host::to_vec(log_std);
            for (got, want) in log_std.iter().zip(&expected) {
                assert!((got - want).abs() < 1e-5, "{style:?}: {got} vs {want}");
            }
            if style.log_std_squash == LogStdSquash::Clip {
                assert!(
                    log_std.iter().any(|&x| x == -10.0 || x == 2.0),
                    "a bound is reached: {log_std:?}"
                );
            }
        }
    }

    /// Multiplies every parameter by a constant.
    struct Scale(f32);

    impl<B: Backend> burn::module::ModuleMapper<B> for Scale {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (id, tensor, mapper) = param.consume();
            Param::from_mapped_value(id, tensor * self.0, mapper)
        }
    }

    /// The values a never-used network's copy holds are the values the network itself uses.
    #[test]
    fn a_copy_of_a_new_network_holds_its_values() {
        let device = Default::default();
        let obs = Tensor::<Flex, 2>::from_floats([[0.5, -1.0, 2.0]], &device);
        let actions = Tensor::<Flex, 2>::from_floats([[0.3]], &device);

        let critic = QNetwork::<Flex>::new(3, 1, 8, 1, Activation::Relu, &device);
        let copy = QNetwork::<Flex>::new(3, 1, 8, 1, Activation::Relu, &device)
            .load_record(critic.clone().into_record());
        let (original, copied) = (
            critic.forward(obs.clone(), actions.clone()),
            copy.forward(obs.clone(), actions),
        );
        original.into_data().assert_eq(&copied.into_data(), true);

        let actor = ActorCritic::<Flex>::new(3, 1, 8, &device);
        let copy =
            ActorCritic::<Flex>::new(3, 1, 8, &device).load_record(actor.clone().into_record());
        actor
            .critic
            .forward(obs.clone())
            .into_data()
            .assert_eq(&copy.critic.forward(obs.clone()).into_data(), true);
        let gaussian = GaussianActor::<Flex>::new(3, 1, 8, NetStyle::default(), &device);
        let copy = GaussianActor::<Flex>::new(3, 1, 8, NetStyle::default(), &device)
            .load_record(gaussian.clone().into_record());
        gaussian
            .forward(obs.clone())
            .0
            .into_data()
            .assert_eq(&copy.forward(obs).0.into_data(), true);
    }
}
