//! Soft Actor-Critic, as CleanRL's `sac_continuous_action.py` (Haarnoja et al. 2018, with
//! automatic entropy tuning): twin soft Q networks with Polyak-averaged targets, a tanh-squashed
//! Gaussian actor updated every `policy_frequency` steps (that many times, to keep the number of
//! actor updates equal to critic updates), and alpha tuned towards an entropy of -|A|.
//! The training loop is shared with ReMAC: see `off_policy.rs`.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::adam::{AdamOptimizer, TORCH_ADAM_EPSILON, adam};
use crate::checkpoint::{load_module, load_record, save_record};
use crate::config::ConfigError;
use crate::critic::{TwinCritics, bootstrapped, record_fits};
use crate::entropy::EntropyTuning;
use crate::host;
use crate::metrics::Metrics;
use crate::nets::{ActionBounds, GaussianActor};
use crate::off_policy::{OffPolicyAgent, OffPolicySettings, Spaces};
use crate::replay::Batch;
use crate::setting_checks::{Accepted, check_number};

/// SAC's settings; the defaults are CleanRL's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SacConfig {
    /// Replay buffer capacity, in transitions.
    pub buffer_size: usize,
    /// Transitions per gradient step.
    pub batch_size: usize,
    /// Discount factor.
    pub gamma: f64,
    /// Target smoothing coefficient (Polyak averaging).
    pub tau: f64,
    /// Steps of uniformly random actions before learning starts.
    pub learning_starts: u64,
    /// Learning rate of the actor.
    pub policy_lr: f64,
    /// Learning rate of the Q networks (and of alpha).
    pub q_lr: f64,
    /// The actor (and alpha) are updated every this many steps, that many times (delayed update).
    pub policy_frequency: u64,
    /// The targets are updated every this many steps.
    pub target_network_frequency: u64,
    /// Entropy coefficient when `autotune` is off; its starting value is 1 when on (log alpha = 0).
    pub alpha: f64,
    /// Tune alpha automatically towards the target entropy -|A|.
    pub autotune: bool,
    /// Width of the two hidden layers of every network.
    pub hidden_size: usize,
}

impl Default for SacConfig {
    fn default() -> Self {
        Self {
            buffer_size: 1_000_000,
            batch_size: 256,
            gamma: 0.99,
            tau: 0.005,
            learning_starts: 5_000,
            policy_lr: 3e-4,
            q_lr: 1e-3,
            policy_frequency: 2,
            target_network_frequency: 1,
            alpha: 0.2,
            autotune: true,
            hidden_size: 256,
        }
    }
}

impl SacConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.off_policy_settings().validate("sac")?;
        check_number("sac.alpha", self.alpha, Accepted::NonNegative)
    }

    pub fn off_policy_settings(&self) -> OffPolicySettings {
        OffPolicySettings {
            buffer_size: self.buffer_size,
            batch_size: self.batch_size,
            gamma: self.gamma,
            tau: self.tau,
            learning_starts: self.learning_starts,
            policy_lr: self.policy_lr,
            q_lr: self.q_lr,
            policy_frequency: self.policy_frequency,
            target_network_frequency: self.target_network_frequency,
            hidden_size: self.hidden_size,
        }
    }
}

pub struct Sac<B: AutodiffBackend> {
    config: SacConfig,
    bounds: ActionBounds,
    spaces: Spaces,
    device: B::Device,
    actor: GaussianActor<B>,
    critics: TwinCritics<B>,
    entropy: EntropyTuning<B>,
    actor_optimizer: AdamOptimizer<GaussianActor<B>, B>,
}

impl<B: AutodiffBackend> Sac<B> {
    pub fn new(config: SacConfig, spaces: Spaces, device: &B::Device) -> Self {
        let (obs_dim, action_dim, hidden) =
            (spaces.obs_dim, spaces.bounds.dim(), config.hidden_size);
        // The critics are built before the actor: Burn draws initial weights in that order.
        let critics = TwinCritics::new(obs_dim, action_dim, hidden, 1, TORCH_ADAM_EPSILON, device);
        Self {
            bounds: spaces.bounds.clone(),
            device: device.clone(),
            actor: GaussianActor::new(obs_dim, action_dim, hidden, device),
            critics,
            entropy: EntropyTuning::new(
                config.autotune,
                config.alpha,
                action_dim,
                TORCH_ADAM_EPSILON,
                device,
            ),
            actor_optimizer: adam(TORCH_ADAM_EPSILON),
            spaces,
            config,
        }
    }
}

impl<B: AutodiffBackend> OffPolicyAgent for Sac<B> {
    fn settings(&self) -> OffPolicySettings {
        self.config.off_policy_settings()
    }

    fn act(&self, obs: &[f32], deterministic: bool, rng: &mut impl Rng) -> Vec<f32> {
        self.actor
            .valid()
            .act(obs, deterministic, &self.bounds, rng)
    }

    fn update(&mut self, step: u64, batch: &Batch, rng: &mut impl Rng, record: bool) -> Metrics {
        let config = &self.config;
        let (n, obs_dim, action_dim) = (batch.size, self.spaces.obs_dim, self.bounds.dim());
        let device = &self.device;
        let obs = host::matrix::<B>(&batch.obs, n, obs_dim, device);
        let actions = host::matrix::<B>(&batch.actions, n, action_dim, device);
        let mut metrics = Metrics::new(record);

        // Soft target from one next action a' ~ pi(.|s'):
        // y = r + gamma (1 - terminated) (min_i Q'_i(s', a') - alpha log pi(a'|s')).
        let alpha = self.entropy.alpha();
        let next_q = {
            let next_obs = host::matrix(&batch.next_obs, n, obs_dim, device);
            let noise = host::standard_normal(rng, n, action_dim, device);
            let next = self
                .actor
                .valid()
                .sample(next_obs.clone(), noise, &self.bounds);
            let next_value =
                self.critics.targets.min(next_obs, next.actions) - next.log_prob * alpha;
            bootstrapped::<B>(batch, next_value, config.gamma)
        };
        // Critic loss, one Adam step per critic: mean((Q_i(s, a) - y)^2).
        let fits = self
            .critics
            .regress(obs.clone(), actions, config.q_lr, |values| {
                (values - next_q.clone()).powi_scalar(2).mean()
            });
        record_fits(fits, &mut metrics);

        if step.is_multiple_of(config.policy_frequency) {
            // The actor's gradient flows through the critics' inputs only; with their
            // parameters detached, backward skips two weight-gradient GEMMs per critic. (The
            // critics' parameters are initialised by now, so no_grad on this clone leaves the
            // originals tracked: see burn-notes on lazy initialisation.)
            let frozen_critics = self.critics.online.clone().no_grad();
            for _ in 0..config.policy_frequency {
                let noise = host::standard_normal(rng, n, action_dim, device);
                let policy = self.actor.sample(obs.clone(), noise, &self.bounds);
                let q_policy = frozen_critics.min(obs.clone(), policy.actions);
                let actor_loss = (policy.log_prob.clone() * self.entropy.alpha() - q_policy).mean();
                let mut grads = actor_loss.backward();
                let actor_grads = GradientsParams::from_module(&mut grads, &self.actor);
                self.actor =
                    self.actor_optimizer
                        .step(config.policy_lr, self.actor.clone(), actor_grads);
                metrics.record("losses/actor_loss", || host::scalar(actor_loss));
                metrics.record("charts/entropy", || -host::scalar(policy.log_prob.mean()));

                self.entropy.step(
                    &self.actor,
                    obs.clone(),
                    &self.bounds,
                    config.q_lr,
                    rng,
                    &mut metrics,
                );
            }
        }

        if step.is_multiple_of(config.target_network_frequency) {
            self.critics.soft_update(config.tau);
        }
        metrics.record("losses/alpha", || self.entropy.alpha() as f64);
        metrics
    }

    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        save_record(dir, "actor", self.actor.clone().into_record())?;
        self.critics.save(dir)?;
        self.entropy.save(dir)?;
        save_record(dir, "actor_optimizer", self.actor_optimizer.to_record())
    }

    fn load(mut self, dir: &Path) -> anyhow::Result<Self> {
        let device = self.device.clone();
        self.actor = load_module(dir, "actor", self.actor, &device)?;
        self.critics = self.critics.load(dir, &device)?;
        self.entropy = self.entropy.load(dir, &device)?;
        self.actor_optimizer =
            self.actor_optimizer
                .load_record(load_record(dir, "actor_optimizer", &device)?);
        Ok(self)
    }
}
