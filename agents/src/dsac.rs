//! Distributional SAC with an L-statistic actor (spec section 5, "SAC with a risk objective").
//! Twin quantile critics estimate N quantiles of the return Z(s, a); the actor maximises the
//! rank-weighted value of those N return samples at (s, a(theta)) for the configured objective
//! (`cvar:0.1` protects the lower tail, `mean` is SAC), through the OrderGrad layer, plus SAC's
//! entropy term with automatic tuning. Risk here is over the environment's randomness (the
//! return distribution), not over the policy's action noise (ReMAC) or over episode groups (PPO).
//!
//! Everything else is CleanRL's SAC: same networks (the critics' last layer has N outputs),
//! replay, delayed actor updates, Polyak targets and truncation bootstrapping. The critic target
//! takes, atom by atom, the smaller of the two target critics at one next action
//! (clipped double Q applied to quantiles), minus alpha log pi(a'|s').

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
use crate::entropy::EntropyTuning;
use crate::host;
use crate::metrics::Metrics;
use crate::nets::{ActionBounds, GaussianActor, TwinQ};
use crate::off_policy::{OffPolicyAgent, OffPolicySettings, Spaces};
use crate::quantile::{quantile_huber_loss, quantile_midpoints};
use crate::replay::Batch;
use crate::setting_checks::{Accepted, check_number, check_rank_plan_setting};

/// Distributional SAC's settings: SAC's (CleanRL's defaults) plus the return objective and the
/// quantile critic.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DsacConfig {
    /// Objective over the critic's return distribution: mean (SAC), cvar:BETA (risk-averse),
    /// top:M, median, ... (any ordergrad-core preset).
    pub objective: String,
    /// Quantiles N each critic estimates; the objective's weights apply to these N samples.
    pub num_quantiles: usize,
    /// Threshold of the quantile Huber loss.
    pub huber_kappa: f64,
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
    /// Learning rate of the critics (and of alpha).
    pub q_lr: f64,
    /// The actor (and alpha) are updated every this many steps, that many times.
    pub policy_frequency: u64,
    /// The targets are updated every this many steps.
    pub target_network_frequency: u64,
    /// Entropy coefficient when `autotune` is off; its starting value is 1 when on.
    pub alpha: f64,
    /// Tune alpha automatically towards the target entropy -|A|.
    pub autotune: bool,
    /// Width of the two hidden layers of every network.
    pub hidden_size: usize,
}

impl Default for DsacConfig {
    fn default() -> Self {
        let sac = crate::sac::SacConfig::default();
        Self {
            objective: "mean".into(),
            num_quantiles: 25,
            huber_kappa: 1.0,
            buffer_size: sac.buffer_size,
            batch_size: sac.batch_size,
            gamma: sac.gamma,
            tau: sac.tau,
            learning_starts: sac.learning_starts,
            policy_lr: sac.policy_lr,
            q_lr: sac.q_lr,
            policy_frequency: sac.policy_frequency,
            target_network_frequency: sac.target_network_frequency,
            alpha: sac.alpha,
            autotune: sac.autotune,
            hidden_size: sac.hidden_size,
        }
    }
}

impl DsacConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.off_policy_settings().validate("dsac")?;
        if self.num_quantiles < 2 {
            return Err(invalid(
                "dsac.num_quantiles",
                format!(
                    "{} must be at least 2 (1 quantile is no distribution)",
                    self.num_quantiles
                ),
            ));
        }
        check_number("dsac.huber_kappa", self.huber_kappa, Accepted::Positive)?;
        check_number("dsac.alpha", self.alpha, Accepted::NonNegative)?;
        check_rank_plan_setting(
            "dsac.num_quantiles",
            &format!("dsac.num_quantiles = {}", self.num_quantiles),
            &self.objective()?,
            self.num_quantiles,
            self.num_quantiles,
        )?;
        self.rank_plan().map(|_| ())
    }

    fn objective(&self) -> Result<Objective, ConfigError> {
        self.objective
            .parse()
            .map_err(|error: ordergrad_core::OrderGradError| {
                invalid("dsac.objective", error.to_string())
            })
    }

    /// The objective's weights over the N atoms (K = N: the L-statistic of the atoms themselves).
    fn rank_plan(&self) -> Result<RankPlan, ConfigError> {
        let objective = self.objective()?;
        RankPlan::new(&objective, self.num_quantiles, self.num_quantiles)
            .map_err(|error| invalid("dsac.objective", error.to_string()))
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

/// The objective's value of the return distribution at (s, a), per state ([n]): the rank-weighted
/// sum of the N atoms of min(Z1, Z2)(s, a). Differentiable in `actions` (and the critics).
pub fn return_value<B: Backend>(
    critics: &TwinQ<B>,
    objective_value: &RankWeightedValue<B>,
    obs: Tensor<B, 2>,
    actions: Tensor<B, 2>,
) -> Tensor<B, 1> {
    objective_value.forward(critics.min(obs, actions))
}

/// The actor's loss, mean over states of alpha log pi(a|s) - value(Z(s, a)), a = a(theta) drawn
/// with `noise`; also returns log pi ([n, 1]).
pub fn actor_loss<B: Backend>(
    actor: &GaussianActor<B>,
    critics: &TwinQ<B>,
    objective_value: &RankWeightedValue<B>,
    obs: Tensor<B, 2>,
    noise: Tensor<B, 2>,
    bounds: &ActionBounds,
    alpha: f32,
) -> (Tensor<B, 1>, Tensor<B, 2>) {
    let policy = actor.sample(obs.clone(), noise, bounds);
    let value = return_value(critics, objective_value, obs, policy.actions);
    let loss = (policy.log_prob.clone().squeeze_dim::<1>(1) * alpha - value).mean();
    (loss, policy.log_prob)
}

pub struct Dsac<B: AutodiffBackend> {
    config: DsacConfig,
    bounds: ActionBounds,
    spaces: Spaces,
    device: B::Device,
    actor: GaussianActor<B>,
    /// Twin quantile critics: N outputs each.
    critics: TwinCritics<B>,
    /// The quantile levels of the critics' outputs.
    taus: Tensor<B, 1>,
    /// The objective over the N atoms.
    objective_value: RankWeightedValue<B>,
    entropy: EntropyTuning<B>,
    actor_optimizer: AdamOptimizer<GaussianActor<B>, B>,
}

impl<B: AutodiffBackend> Dsac<B> {
    /// # Panics
    /// If `config` was not validated (`DsacConfig::validate`).
    pub fn new(config: DsacConfig, spaces: Spaces, device: &B::Device) -> Self {
        let (obs_dim, action_dim, hidden) =
            (spaces.obs_dim, spaces.bounds.dim(), config.hidden_size);
        let atoms = config.num_quantiles;
        let critics = TwinCritics::new(
            obs_dim,
            action_dim,
            hidden,
            atoms,
            TORCH_ADAM_EPSILON,
            device,
        );
        let plan = config
            .rank_plan()
            .expect("DsacConfig is validated before use");
        Self {
            bounds: spaces.bounds.clone(),
            device: device.clone(),
            actor: GaussianActor::new(obs_dim, action_dim, hidden, device),
            critics,
            taus: Tensor::from_floats(quantile_midpoints(atoms).as_slice(), device),
            objective_value: RankWeightedValue::new(plan, RankMethod::Auto, device),
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

impl<B: AutodiffBackend> OffPolicyAgent for Dsac<B> {
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

        // Target atoms: r + gamma (1 - terminated) (min_i Z'_i(s', a') - alpha log pi(a'|s')),
        // atom by atom, with one next action a' ~ pi(.|s').
        let alpha = self.entropy.alpha();
        let target_atoms = {
            let next_obs = host::matrix(&batch.next_obs, n, obs_dim, device);
            let noise = host::standard_normal(rng, n, action_dim, device);
            let next = self
                .actor
                .valid()
                .sample(next_obs.clone(), noise, &self.bounds);
            let next_atoms =
                self.critics.targets.min(next_obs, next.actions) - next.log_prob * alpha;
            bootstrapped::<B>(batch, next_atoms, config.gamma)
        };
        let kappa = config.huber_kappa as f32;
        let taus = &self.taus;
        let fits = self
            .critics
            .regress(obs.clone(), actions, config.q_lr, |atoms| {
                quantile_huber_loss(atoms, target_atoms.clone(), taus.clone(), kappa)
            });
        // The mean of the atoms is the critic's Q estimate: CleanRL's qf*_values.
        record_fits(fits, &mut metrics);

        if step.is_multiple_of(config.policy_frequency) {
            // Gradients flow through the critics' inputs only (see sac.rs).
            let frozen_critics = self.critics.online.clone().no_grad();
            for _ in 0..config.policy_frequency {
                let noise = host::standard_normal(rng, n, action_dim, device);
                let (actor_loss, log_prob) = actor_loss(
                    &self.actor,
                    &frozen_critics,
                    &self.objective_value,
                    obs.clone(),
                    noise,
                    &self.bounds,
                    self.entropy.alpha(),
                );
                let mut grads = actor_loss.backward();
                let actor_grads = GradientsParams::from_module(&mut grads, &self.actor);
                self.actor =
                    self.actor_optimizer
                        .step(config.policy_lr, self.actor.clone(), actor_grads);
                metrics.record("losses/actor_loss", || host::scalar(actor_loss));
                metrics.record("charts/entropy", || -host::scalar(log_prob.mean()));

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
