//! The critic half that SAC and ReMAC share: twin Q networks (clipped double Q) regressed onto
//! r + gamma (1 - terminated) (min_i Q'_i(s', a') - alpha log pi(a'|s')), a' ~ pi(.|s'), with
//! Polyak-averaged target networks. The agents differ only in the entropy term of the target and
//! in the scale of the loss, which are arguments here. Distributional SAC keeps the networks,
//! targets, optimiser and checkpoints here but writes its own (quantile) loss, see `dsac.rs`.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use rand::Rng;

use crate::checkpoint::{load_record, save_record};
use crate::host;
use crate::metrics::Metrics;
use crate::nets::{ActionBounds, GaussianActor, TwinQ};
use crate::replay::Batch;

/// The target's shape: discount and entropy bonus.
pub struct CriticTarget {
    pub gamma: f64,
    /// alpha of a soft (SAC) target; None for a hard target.
    pub entropy_coefficient: Option<f32>,
}

pub struct TwinCritics<B: AutodiffBackend> {
    pub online: TwinQ<B>,
    pub targets: TwinQ<B::InnerBackend>,
    optimizer: OptimizerAdaptor<Adam, TwinQ<B>, B>,
}

impl<B: AutodiffBackend> TwinCritics<B> {
    /// Twin critics of `outputs` values each (see [`TwinQ::new`]).
    pub fn new(
        obs_dim: usize,
        action_dim: usize,
        hidden: usize,
        outputs: usize,
        adam_epsilon: f32,
        device: &B::Device,
    ) -> Self {
        let online = TwinQ::new(obs_dim, action_dim, hidden, outputs, device);
        Self {
            targets: online.valid(),
            online,
            optimizer: AdamConfig::new().with_epsilon(adam_epsilon).init(),
        }
    }

    /// One gradient step on `loss_scale * mean((Q_i(s, a) - y)^2)` summed over both critics,
    /// with next actions sampled from `actor` (without autodiff). Records CleanRL's critic
    /// scalars into `metrics`.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        learning_rate: f64,
        loss_scale: f64,
        target: CriticTarget,
        actor: &GaussianActor<B::InnerBackend>,
        bounds: &ActionBounds,
        batch: &Batch,
        obs: Tensor<B, 2>,
        actions: Tensor<B, 2>,
        rng: &mut impl Rng,
        metrics: &mut Metrics,
    ) {
        let [n, obs_dim] = obs.dims();
        let device = obs.device();
        let next_q = {
            let next_obs = host::matrix(&batch.next_obs, n, obs_dim, &device);
            let noise = host::standard_normal(rng, n, bounds.dim(), &device);
            let next = actor.sample(next_obs.clone(), noise, bounds);
            let mut next_value = self.targets.min(next_obs, next.actions);
            if let Some(alpha) = target.entropy_coefficient {
                next_value = next_value - next.log_prob * alpha;
            }
            let rewards = host::matrix(&batch.rewards, n, 1, &device);
            let not_terminated = host::matrix(&batch.terminated, n, 1, &device).neg() + 1.0;
            Tensor::<B, 2>::from_inner(rewards + not_terminated * next_value * target.gamma)
        };

        let (qf1, qf2) = self.online.forward(obs, actions);
        let qf1_loss = (qf1.clone() - next_q.clone()).powi_scalar(2).mean() * loss_scale;
        let qf2_loss = (qf2.clone() - next_q).powi_scalar(2).mean() * loss_scale;
        let qf_loss = qf1_loss.clone() + qf2_loss.clone();
        self.descend(qf_loss.clone(), learning_rate);
        metrics.record("losses/qf1_values", || host::scalar(qf1.mean()));
        metrics.record("losses/qf2_values", || host::scalar(qf2.mean()));
        metrics.record("losses/qf1_loss", || host::scalar(qf1_loss));
        metrics.record("losses/qf2_loss", || host::scalar(qf2_loss));
        metrics.record("losses/qf_loss", || host::scalar(qf_loss) / 2.0);
    }

    /// One Adam step of the online critics on `loss`.
    pub fn descend(&mut self, loss: Tensor<B, 1>, learning_rate: f64) {
        let grads = GradientsParams::from_grads(loss.backward(), &self.online);
        self.online = self
            .optimizer
            .step(learning_rate, self.online.clone(), grads);
    }

    /// Polyak averaging of the targets towards the online critics.
    pub fn soft_update(&mut self, tau: f64) {
        let online = self.online.valid();
        self.targets = self.targets.clone().soft_update(&online, tau);
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        save_record(dir, "critics", self.online.clone().into_record())?;
        save_record(dir, "critic_targets", self.targets.clone().into_record())?;
        save_record(dir, "critic_optimizer", self.optimizer.to_record())
    }

    pub fn load(mut self, dir: &Path, device: &B::Device) -> anyhow::Result<Self> {
        self.online = self
            .online
            .load_record(load_record(dir, "critics", device)?);
        self.targets = self
            .targets
            .load_record(load_record(dir, "critic_targets", device)?);
        self.optimizer = self
            .optimizer
            .load_record(load_record(dir, "critic_optimizer", device)?);
        Ok(self)
    }
}
