//! ReMAC (spec section 5): an actor that maximises an L-statistic of its own action samples.
//! Per replay state it draws B reparameterised actions, scores each with min(Q1, Q2), and
//! ascends the rank-weighted batch value of the B scores through the OrderGrad layer
//! (`ordergrad_core::RankWeightedValue`). The method's own objective is max@M (best of M), but
//! any objective string works (`top:2`, `cvar:0.25`, ...), which makes this a general
//! "L-statistic actor". No entropy term in the actor; the critic is SAC's without the entropy
//! bonus unless `soft_critic` is on. Risk here is over the policy's own action noise, not over
//! the environment's randomness.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use ordergrad_core::{Objective, RankMethod, RankPlan, RankWeightedValue};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::adam::{AdamOptimizer, TORCH_ADAM_EPSILON, adam};
use crate::checkpoint::{load_module, load_record, save_record};
use crate::config::{ConfigError, invalid};
use crate::critic::{TwinCritics, bootstrapped, record_fits};
use crate::host;
use crate::metrics::Metrics;
use crate::nets::{ActionBounds, GaussianActor, TwinQ};
use crate::off_policy::{OffPolicyAgent, OffPolicySettings, Spaces};
use crate::replay::Batch;
use crate::setting_checks::{Accepted, check_number, check_rank_plan_setting};

/// ReMAC's settings: SAC's off-policy settings plus the actor objective.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemacConfig {
    /// Objective over the B action samples of a state: max (the method's own), top:M, cvar:BETA, ...
    pub objective: String,
    /// Comparison size M of the objective (1 <= M <= B).
    pub k: usize,
    /// Action samples B per replay state (paper: 8 for M <= 4, 16 for M = 8).
    pub num_action_samples: usize,
    /// Adam epsilon of the actor: part of the method (it damps the actor's gradient).
    pub actor_adam_epsilon: f64,
    /// Subtract alpha * log pi(a'|s') in the critic target, as SAC does.
    pub soft_critic: bool,
    /// The fixed alpha of the soft critic.
    pub critic_alpha: f64,
    /// Replay buffer capacity, in transitions.
    pub buffer_size: usize,
    /// Replay states per gradient step.
    pub batch_size: usize,
    /// Discount factor.
    pub gamma: f64,
    /// Target smoothing coefficient (Polyak averaging).
    pub tau: f64,
    /// Steps of uniformly random actions before learning starts.
    pub learning_starts: u64,
    /// Learning rate of the actor.
    pub policy_lr: f64,
    /// Learning rate of the Q networks.
    pub q_lr: f64,
    /// The actor is updated every this many steps, that many times.
    pub policy_frequency: u64,
    /// The targets are updated every this many steps.
    pub target_network_frequency: u64,
    /// Width of the two hidden layers of every network.
    pub hidden_size: usize,
}

impl Default for RemacConfig {
    fn default() -> Self {
        Self {
            objective: "max".into(),
            k: 4,
            num_action_samples: 8,
            actor_adam_epsilon: 1e-8,
            soft_critic: false,
            critic_alpha: 0.2,
            buffer_size: 1_000_000,
            batch_size: 256,
            gamma: 0.99,
            tau: 0.005,
            learning_starts: 5_000,
            policy_lr: 3e-4,
            q_lr: 1e-3,
            policy_frequency: 2,
            target_network_frequency: 1,
            hidden_size: 256,
        }
    }
}

impl RemacConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.off_policy_settings().validate("remac")?;
        check_number(
            "remac.actor_adam_epsilon",
            self.actor_adam_epsilon,
            Accepted::Positive,
        )?;
        check_number(
            "remac.critic_alpha",
            self.critic_alpha,
            Accepted::NonNegative,
        )?;
        check_rank_plan_setting(
            "remac.num_action_samples",
            &format!(
                "remac.num_action_samples = {} with remac.k = {}",
                self.num_action_samples, self.k
            ),
            &self.objective()?,
            self.num_action_samples,
            self.k,
        )?;
        self.rank_plan().map(|_| ())
    }

    fn objective(&self) -> Result<Objective, ConfigError> {
        self.objective
            .parse()
            .map_err(|error: ordergrad_core::OrderGradError| {
                invalid("remac.objective", error.to_string())
            })
    }

    fn rank_plan(&self) -> Result<RankPlan, ConfigError> {
        let objective = self.objective()?;
        RankPlan::new(&objective, self.num_action_samples, self.k).map_err(|error| {
            invalid(
                "remac.k",
                format!(
                    "{error} (N is remac.num_action_samples = {})",
                    self.num_action_samples
                ),
            )
        })
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

/// ReMAC's actor loss: minus the mean over states of the L-statistic of the B scores
/// min(Q1, Q2)(s, a_b), a_b = actor sample b at s. `obs` is [n, obs_dim]; `noise` is
/// [n * B, action_dim], row s * B + b for sample b of state s. Also returns the samples' log pi.
pub fn actor_loss<B: Backend>(
    actor: &GaussianActor<B>,
    critics: &TwinQ<B>,
    sample_value: &RankWeightedValue<B>,
    obs: Tensor<B, 2>,
    noise: Tensor<B, 2>,
    bounds: &ActionBounds,
) -> (Tensor<B, 1>, Tensor<B, 2>) {
    let [n, obs_dim] = obs.dims();
    let samples = sample_value.plan().n();
    let repeated_obs = obs
        .unsqueeze_dim::<3>(1)
        .expand([n, samples, obs_dim])
        .reshape([n * samples, obs_dim]);
    let policy = actor.sample(repeated_obs.clone(), noise, bounds);
    let scores = critics
        .min(repeated_obs, policy.actions)
        .reshape([n, samples]);
    (sample_value.forward(scores).mean().neg(), policy.log_prob)
}

pub struct Remac<B: AutodiffBackend> {
    config: RemacConfig,
    bounds: ActionBounds,
    spaces: Spaces,
    device: B::Device,
    actor: GaussianActor<B>,
    critics: TwinCritics<B>,
    /// The L-statistic of the B scores of each state.
    sample_value: RankWeightedValue<B>,
    actor_optimizer: AdamOptimizer<GaussianActor<B>, B>,
}

impl<B: AutodiffBackend> Remac<B> {
    /// # Panics
    /// If `config` was not validated (`RemacConfig::validate`).
    pub fn new(config: RemacConfig, spaces: Spaces, device: &B::Device) -> Self {
        let (obs_dim, action_dim, hidden) =
            (spaces.obs_dim, spaces.bounds.dim(), config.hidden_size);
        // The critics are built before the actor: Burn draws initial weights in that order.
        let critics = TwinCritics::new(obs_dim, action_dim, hidden, 1, TORCH_ADAM_EPSILON, device);
        let plan = config
            .rank_plan()
            .expect("RemacConfig is validated before use");
        Self {
            bounds: spaces.bounds.clone(),
            device: device.clone(),
            actor: GaussianActor::new(obs_dim, action_dim, hidden, device),
            critics,
            sample_value: RankWeightedValue::new(plan, RankMethod::Auto, device),
            actor_optimizer: adam(config.actor_adam_epsilon as f32),
            spaces,
            config,
        }
    }
}

impl<B: AutodiffBackend> OffPolicyAgent for Remac<B> {
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

        // Target from one next action a' ~ pi(.|s'): y = r + gamma (1 - terminated)
        // min_i Q'_i(s', a'), minus alpha log pi(a'|s') inside with a soft critic.
        let next_q = {
            let next_obs = host::matrix(&batch.next_obs, n, obs_dim, device);
            let noise = host::standard_normal(rng, n, action_dim, device);
            let next = self
                .actor
                .valid()
                .sample(next_obs.clone(), noise, &self.bounds);
            let mut next_value = self.critics.targets.min(next_obs, next.actions);
            if config.soft_critic {
                next_value = next_value - next.log_prob * (config.critic_alpha as f32);
            }
            bootstrapped::<B>(batch, next_value, config.gamma)
        };
        // Critic loss, one Adam step per critic: 0.5 mean((Q_i(s, a) - y)^2) (the method's
        // scale, half of SAC's).
        let fits = self
            .critics
            .regress(obs.clone(), actions, config.q_lr, |values| {
                (values - next_q.clone()).powi_scalar(2).mean() * 0.5
            });
        record_fits(fits, &mut metrics);

        if step.is_multiple_of(config.policy_frequency) {
            // Gradients flow through the critics' inputs only (see sac.rs).
            let frozen_critics = self.critics.online.clone().no_grad();
            for _ in 0..config.policy_frequency {
                let noise =
                    host::standard_normal(rng, n * config.num_action_samples, action_dim, device);
                let (actor_loss, log_prob) = actor_loss(
                    &self.actor,
                    &frozen_critics,
                    &self.sample_value,
                    obs.clone(),
                    noise,
                    &self.bounds,
                );
                let mut grads = actor_loss.backward();
                let actor_grads = GradientsParams::from_module(&mut grads, &self.actor);
                self.actor =
                    self.actor_optimizer
                        .step(config.policy_lr, self.actor.clone(), actor_grads);
                metrics.record("losses/actor_loss", || host::scalar(actor_loss));
                metrics.record("charts/entropy", || -host::scalar(log_prob.mean()));
            }
        }

        if step.is_multiple_of(config.target_network_frequency) {
            self.critics.soft_update(config.tau);
        }
        metrics
    }

    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        save_record(dir, "actor", self.actor.clone().into_record())?;
        self.critics.save(dir)?;
        save_record(dir, "actor_optimizer", self.actor_optimizer.to_record())?;
        Ok(())
    }

    fn load(mut self, dir: &Path) -> anyhow::Result<Self> {
        let device = self.device.clone();
        self.actor = load_module(dir, "actor", self.actor, &device)?;
        self.critics = self.critics.load(dir, &device)?;
        self.actor_optimizer =
            self.actor_optimizer
                .load_record(load_record(dir, "actor_optimizer", &device)?);
        Ok(self)
    }
}
