//! What SAC, distributional SAC and ReMAC share besides the loop: a tanh-squashed Gaussian actor
//! with its Adam, twin critics (`common/critic.rs`), acting, checkpoints, and CleanRL's delayed actor
//! update. Each agent writes its own critic target and loss and its own actor loss.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use rand::Rng;

use super::{OffPolicySettings, Spaces};
use crate::checkpoint::{load_module, load_record, save_record};
use crate::common::adam::{AdamOptimizer, TORCH_ADAM_EPSILON, adam};
use crate::common::critic::TwinCritics;
use crate::common::entropy::EntropyTuning;
use crate::common::host;
use crate::common::nets::{ActionBounds, GaussianActor, TwinQ};
use crate::common::replay::Batch;
use crate::common::update_metrics::Metrics;

pub struct OffPolicyCore<B: AutodiffBackend> {
    pub settings: OffPolicySettings,
    pub spaces: Spaces,
    pub device: B::Device,
    pub actor: GaussianActor<B>,
    pub critics: TwinCritics<B>,
    actor_optimizer: AdamOptimizer<GaussianActor<B>, B>,
}

/// What an actor loss is computed from, at one of the delayed actor steps.
pub struct ActorStep<'a, B: Backend, R> {
    pub actor: &'a GaussianActor<B>,
    /// The online critics with their parameters detached: the actor's gradient flows through
    /// their inputs only, and backward skips two weight-gradient GEMMs per critic. (The
    /// critics' parameters are initialised by now, so no_grad on this clone leaves the originals
    /// tracked: see burn-notes on lazy initialisation.)
    pub critics: &'a TwinQ<B>,
    pub bounds: &'a ActionBounds,
    /// The entropy coefficient now (0 for an agent without an entropy term).
    pub alpha: f32,
    pub rng: &'a mut R,
}

impl<B: AutodiffBackend> OffPolicyCore<B> {
    /// Critics of `critic_outputs` values each, an actor, and the actor's Adam with
    /// `actor_adam_epsilon`.
    pub fn new(
        settings: OffPolicySettings,
        spaces: Spaces,
        critic_outputs: usize,
        actor_adam_epsilon: f32,
        device: &B::Device,
    ) -> Self {
        let (obs_dim, action_dim, hidden) =
            (spaces.obs_dim, spaces.bounds.dim(), settings.hidden_size);
        // The critics are built before the actor: Burn draws initial weights in that order.
        let critics = TwinCritics::new(
            obs_dim,
            action_dim,
            hidden,
            critic_outputs,
            TORCH_ADAM_EPSILON,
            device,
        );
        Self {
            actor: GaussianActor::new(obs_dim, action_dim, hidden, device),
            critics,
            actor_optimizer: adam(actor_adam_epsilon),
            device: device.clone(),
            spaces,
            settings,
        }
    }

    pub fn bounds(&self) -> &ActionBounds {
        &self.spaces.bounds
    }

    /// One action for one observation: a policy sample, or the deterministic action.
    pub fn act(&self, obs: &[f32], deterministic: bool, rng: &mut impl Rng) -> Vec<f32> {
        self.actor
            .valid()
            .act(obs, deterministic, self.bounds(), rng)
    }

    /// The batch's observations ([n, obs_dim]) and actions ([n, action_dim]).
    pub fn batch_tensors(&self, batch: &Batch) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let n = batch.size;
        let obs = host::matrix::<B>(&batch.obs, n, self.spaces.obs_dim, &self.device);
        let actions = host::matrix::<B>(&batch.actions, n, self.bounds().dim(), &self.device);
        (obs, actions)
    }

    /// CleanRL's delayed actor update: at every `policy_frequency`-th step, that many Adam steps
    /// of the actor on the loss `actor_loss` returns (with the log pi of the actions it drew, for
    /// the entropy chart), each followed by a step of `entropy` where alpha is tuned, at `obs`.
    pub fn update_actor<R: Rng>(
        &mut self,
        step: u64,
        obs: &Tensor<B, 2>,
        mut entropy: Option<&mut EntropyTuning<B>>,
        rng: &mut R,
        metrics: &mut Metrics,
        mut actor_loss: impl FnMut(ActorStep<'_, B, R>) -> (Tensor<B, 1>, Tensor<B, 2>),
    ) {
        let settings = &self.settings;
        if !step.is_multiple_of(settings.policy_frequency) {
            return;
        }
        let frozen_critics = self.critics.online.clone().no_grad();
        for _ in 0..settings.policy_frequency {
            let (loss, log_prob) = actor_loss(ActorStep {
                actor: &self.actor,
                critics: &frozen_critics,
                bounds: &self.spaces.bounds,
                alpha: entropy.as_deref().map_or(0.0, EntropyTuning::alpha),
                rng,
            });
            let mut grads = loss.backward();
            let actor_grads = GradientsParams::from_module(&mut grads, &self.actor);
            self.actor =
                self.actor_optimizer
                    .step(settings.policy_lr, self.actor.clone(), actor_grads);
            metrics.record("losses/actor_loss", || host::scalar(loss));
            metrics.record("charts/entropy", || -host::scalar(log_prob.mean()));

            if let Some(entropy) = entropy.as_deref_mut() {
                entropy.step(
                    &self.actor,
                    obs.clone(),
                    &self.spaces.bounds,
                    settings.q_lr,
                    rng,
                    metrics,
                );
            }
        }
    }

    /// Polyak averaging of the target critics, every `target_network_frequency` steps.
    pub fn update_targets(&mut self, step: u64) {
        if step.is_multiple_of(self.settings.target_network_frequency) {
            self.critics.soft_update(self.settings.tau);
        }
    }

    /// Writes the actor, the critics, their targets and the optimiser states into `dir`.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        save_record(dir, "actor", self.actor.clone().into_record())?;
        self.critics.save(dir)?;
        save_record(dir, "actor_optimizer", self.actor_optimizer.to_record())
    }

    pub fn load(mut self, dir: &Path) -> anyhow::Result<Self> {
        let device = self.device.clone();
        self.actor = load_module(dir, "actor", self.actor, &device)?;
        self.critics = self.critics.load(dir, &device)?;
        self.actor_optimizer =
            self.actor_optimizer
                .load_record(load_record(dir, "actor_optimizer", &device)?);
        Ok(self)
    }
}
