//! Proximal Policy Optimization, as CleanRL's `ppo_continuous_action.py` (Schulman et al. 2017):
//! a 64-64 tanh Gaussian actor and critic trained together by Adam on the clipped surrogate,
//! the clipped value loss and an entropy bonus, for `update_epochs` passes of shuffled
//! minibatches over each rollout, with the global gradient norm clipped.
//!
//! The policy's advantages are GAE's (plain PPO, `objective = "mean"`) or, for any other
//! objective, the OrderGrad rank advantages of whole episodes within groups of `group_size`
//! (docs/math.md sections 3 and 5): `cvar:0.1` makes PPO protect the lower tail of the episode return,
//! `top:2` or `max` makes it a best-of-K learner. Unlike CleanRL, a time-limit truncation
//! bootstraps from the critic. The rollout loop is in `common/on_policy.rs`.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use ordergrad_core::{Objective, RankPlan};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{load_module, load_record, save_record};
use crate::common::adam::{AdamOptimizer, adam};
use crate::common::grad_clip::clip_global_norm;
use crate::common::host;
use crate::common::nets::{ActorCritic, LogStd, SDE_EPSILON};
use crate::common::rollout_buffer::RolloutBatch;
use crate::common::update_metrics::Metrics;
use crate::config::objective_setting::ObjectiveSetting;
use crate::config::setting_checks::{Accepted, check_number, check_numbers, rank_plan_setting};
use crate::config::{ConfigError, invalid};

/// PPO's settings; the defaults are CleanRL's (`ppo_continuous_action.py`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PpoConfig {
    /// Envs stepped together; each has its own observation and reward normalisers, as in CleanRL.
    pub num_envs: usize,
    /// Steps of every env per rollout with GAE (the batch is num_envs * num_steps).
    pub num_steps: usize,
    /// Adam's learning rate (the start of the schedule when `anneal_lr`).
    pub learning_rate: f64,
    /// Decay the learning rate linearly to 0 over the run.
    pub anneal_lr: bool,
    /// Discount factor.
    pub gamma: f64,
    /// GAE's lambda.
    pub gae_lambda: f64,
    /// Minibatches per epoch.
    pub num_minibatches: usize,
    /// Passes over each rollout.
    pub update_epochs: usize,
    /// Standardise the advantages of each minibatch.
    pub norm_adv: bool,
    /// The surrogate's clip range (and the value clip range when `clip_vloss`).
    pub clip_coef: f64,
    /// Clip the value loss around the rollout's values.
    pub clip_vloss: bool,
    /// Weight of the entropy bonus.
    pub ent_coef: f64,
    /// Weight of the value loss.
    pub vf_coef: f64,
    /// Clip the global gradient norm to this.
    pub max_grad_norm: f64,
    /// Stop a rollout's epochs once the approximate KL exceeds this (absent: never).
    pub target_kl: Option<f64>,
    /// Adam's epsilon (CleanRL: 1e-5).
    pub adam_epsilon: f64,
    /// Width of the two hidden layers of the actor and the critic.
    pub hidden_size: usize,
    /// Normalised observations are clipped to +-this.
    pub clip_observation: f64,
    /// Normalised rewards are clipped to +-this.
    pub clip_reward: f64,
    /// The policy's objective. "mean": plain PPO with GAE advantages. Anything else (cvar:0.1,
    /// top:2, max, ...): the OrderGrad objective of the episode return over groups of episodes.
    pub objective: ObjectiveSetting,
    /// Comparison size K of the objective (1 <= K <= group_size - 1).
    pub k: usize,
    /// Episodes per group N (episode-group objective only).
    pub group_size: usize,
    /// Groups per rollout (episode-group objective only).
    pub groups_per_update: usize,
    /// Generalized state-dependent exploration (gSDE, Raffin et al. 2021, as SB3's with
    /// `full_std`): the exploration noise is z(s) @ theta, z(s) the actor's last hidden
    /// activation and theta ~ N(0, sigma^2) a [hidden_size, action_dim] matrix per env, held
    /// between resamples; sigma = exp(log_std) is a learned [hidden_size, action_dim] matrix.
    /// Off: CleanRL's state-independent Gaussian noise, drawn afresh every step.
    pub use_sde: bool,
    /// gSDE: steps between resamples of the noise matrices within a rollout; -1 or 0: only at
    /// the start of each rollout (they are always resampled there). SB3's default: -1.
    pub sde_sample_freq: i64,
    /// Initial value of every entry of the actor's log-std (both kinds; CleanRL and SB3: 0).
    pub log_std_init: f64,
    /// One set of observation and reward normaliser statistics for all envs, as SB3's
    /// `VecNormalize`; off: each env its own, as CleanRL (see `shared_normalizers.rs`).
    pub shared_normalization: bool,
    /// Normalise observations by their running statistics (CleanRL); off: the raw
    /// observations, as SB3 without `VecNormalize` (the RL Zoo's Pendulum PPO).
    pub normalize_observation: bool,
    /// Scale rewards by the running std of the discounted return (CleanRL); off: raw rewards.
    pub normalize_reward: bool,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            num_envs: 1,
            num_steps: 2048,
            learning_rate: 3e-4,
            anneal_lr: true,
            gamma: 0.99,
            gae_lambda: 0.95,
            num_minibatches: 32,
            update_epochs: 10,
            norm_adv: true,
            clip_coef: 0.2,
            clip_vloss: true,
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            target_kl: None,
            adam_epsilon: 1e-5,
            hidden_size: 64,
            clip_observation: 10.0,
            clip_reward: 10.0,
            objective: Objective::Mean.into(),
            k: 9,
            group_size: 10,
            groups_per_update: 1,
            use_sde: false,
            sde_sample_freq: -1,
            log_std_init: 0.0,
            shared_normalization: false,
            normalize_observation: true,
            normalize_reward: true,
        }
    }
}

/// Gradient steps (epochs times minibatches) one rollout may be followed by: a typo here would
/// stall the run inside its first update.
pub const MAX_GRADIENT_STEPS_PER_ROLLOUT: usize = 100_000;

/// The initial log-std accepted: sigma from about 2e-9 to about 5e8 (float32 keeps sigma^2).
const LOG_STD_INIT_RANGE: Accepted = Accepted::Between(-20.0, 20.0);

/// Where the policy's advantages come from.
#[derive(Debug, Clone)]
pub enum AdvantageSource {
    /// Plain PPO.
    Gae,
    /// The OrderGrad LR form over groups of `plan.n()` whole episodes.
    EpisodeGroups { plan: RankPlan, groups: usize },
}

impl PpoConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let counts = [
            ("num_envs", self.num_envs),
            ("num_steps", self.num_steps),
            ("num_minibatches", self.num_minibatches),
            ("update_epochs", self.update_epochs),
            ("hidden_size", self.hidden_size),
            ("group_size", self.group_size),
            ("groups_per_update", self.groups_per_update),
        ];
        for (name, value) in counts {
            if value == 0 {
                return Err(invalid(&format!("ppo.{name}"), "must be at least 1".into()));
            }
        }
        let steps = (self.update_epochs as u128) * (self.num_minibatches as u128);
        if steps > MAX_GRADIENT_STEPS_PER_ROLLOUT as u128 {
            return Err(invalid(
                "ppo.update_epochs",
                format!(
                    "ppo.update_epochs = {} with ppo.num_minibatches = {} makes {steps} gradient \
                     steps per rollout; at most {MAX_GRADIENT_STEPS_PER_ROLLOUT} are accepted \
                     (CleanRL: 10 x 32)",
                    self.update_epochs, self.num_minibatches
                ),
            ));
        }
        check_numbers(
            "ppo",
            &[("gamma", self.gamma), ("gae_lambda", self.gae_lambda)],
            Accepted::UnitInterval,
        )?;
        check_numbers(
            "ppo",
            &[
                ("learning_rate", self.learning_rate),
                ("clip_coef", self.clip_coef),
                ("max_grad_norm", self.max_grad_norm),
                ("adam_epsilon", self.adam_epsilon),
                ("clip_observation", self.clip_observation),
                ("clip_reward", self.clip_reward),
                ("target_kl", self.target_kl.unwrap_or(1.0)),
            ],
            Accepted::Positive,
        )?;
        check_numbers(
            "ppo",
            &[("ent_coef", self.ent_coef), ("vf_coef", self.vf_coef)],
            Accepted::NonNegative,
        )?;
        check_number("ppo.log_std_init", self.log_std_init, LOG_STD_INIT_RANGE)?;
        if self.sde_sample_freq < -1 {
            return Err(invalid(
                "ppo.sde_sample_freq",
                format!(
                    "{} is not accepted: expected -1 or 0 (resample the gSDE noise only at the \
                     start of each rollout) or a positive number of steps",
                    self.sde_sample_freq
                ),
            ));
        }
        self.advantage_source().map(|_| ())
    }

    /// GAE for `objective = "mean"`, the episode-group objective otherwise.
    pub fn advantage_source(&self) -> Result<AdvantageSource, ConfigError> {
        let objective = self.objective.objective();
        if *objective == Objective::Mean {
            return Ok(AdvantageSource::Gae);
        }
        if self.k >= self.group_size {
            return Err(invalid(
                "ppo.k",
                format!(
                    "k = {} needs group_size >= k + 1 (the rank advantages leave one episode \
                     out), but ppo.group_size = {}",
                    self.k, self.group_size
                ),
            ));
        }
        let plan = rank_plan_setting(
            "ppo.group_size",
            &format!(
                "ppo.group_size = {} with ppo.k = {}",
                self.group_size, self.k
            ),
            objective,
            self.group_size,
            self.k,
            |error| invalid("ppo.k", error.to_string()),
        )?;
        Ok(AdvantageSource::EpisodeGroups {
            plan,
            groups: self.groups_per_update,
        })
    }
}

/// What the policy did in one batch of observations, on the host.
pub struct PolicyStep {
    /// Row-major [rows, action_dim], unclipped (the env's ClipAction clips).
    pub actions: Vec<f32>,
    pub log_probs: Vec<f32>,
    pub values: Vec<f32>,
}

pub struct Ppo<B: AutodiffBackend> {
    config: PpoConfig,
    obs_dim: usize,
    action_dim: usize,
    device: B::Device,
    model: ActorCritic<B>,
    optimizer: AdamOptimizer<ActorCritic<B>, B>,
    /// gSDE: the noise matrices theta in use, one per env; none before the first resample.
    exploration: Option<ExplorationMatrices>,
}

/// gSDE's noise weights theta ~ N(0, sigma^2) for `rows` envs: row-major [rows, hidden,
/// action_dim], drawn with the sigma of the moment they were drawn (SB3's `sample_weights`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExplorationMatrices {
    pub rows: usize,
    pub theta: Vec<f32>,
}

impl<B: AutodiffBackend> Ppo<B> {
    pub fn new(config: PpoConfig, obs_dim: usize, action_dim: usize, device: &B::Device) -> Self {
        let log_std = LogStd {
            state_dependent: config.use_sde,
            init: config.log_std_init,
        };
        Self {
            model: ActorCritic::with_log_std(
                obs_dim,
                action_dim,
                config.hidden_size,
                log_std,
                device,
            ),
            optimizer: adam(config.adam_epsilon as f32),
            obs_dim,
            action_dim,
            device: device.clone(),
            config,
            exploration: None,
        }
    }

    /// gSDE: resamples every env's noise matrix when `rollout_step` (steps of each env since the
    /// rollout began, 0 at its first) calls for it: at the start of every rollout, and every
    /// `sde_sample_freq` steps when that is positive (SB3's `collect_rollouts`). Draws nothing
    /// without gSDE.
    pub fn prepare_exploration(&mut self, rollout_step: usize, rows: usize, rng: &mut impl Rng) {
        if !self.config.use_sde {
            return;
        }
        let every = self.config.sde_sample_freq;
        if rollout_step == 0 || (every > 0 && (rollout_step as u64).is_multiple_of(every as u64)) {
            self.exploration = Some(self.sample_exploration(rows, rng));
        }
    }

    /// The gSDE noise matrices in use (none before the first resample, or without gSDE).
    pub fn exploration(&self) -> Option<&ExplorationMatrices> {
        self.exploration.as_ref()
    }

    fn sample_exploration(&self, rows: usize, rng: &mut impl Rng) -> ExplorationMatrices {
        let sigma: Vec<f32> = host::to_vec(self.model.valid().actor.forward_log_std())
            .into_iter()
            .map(f32::exp)
            .collect();
        let theta = (0..rows)
            .flat_map(|_| sigma.iter())
            .map(|&sigma| sigma * rng.sample::<f32, _>(StandardNormal))
            .collect();
        ExplorationMatrices { rows, theta }
    }

    pub fn config(&self) -> &PpoConfig {
        &self.config
    }

    /// Samples an action for each row of `obs` ([rows, obs_dim], row-major) with noise from
    /// `rng`, with its log-probability and the critic's value. Runs without autodiff.
    ///
    /// With gSDE the noise is z(s) @ theta with the matrices of the last
    /// [`Ppo::prepare_exploration`]; where none are held for `rows` envs (a stochastic
    /// evaluation), matrices drawn from `rng` for this call alone.
    pub fn act(&self, obs: &[f32], rows: usize, rng: &mut impl Rng) -> PolicyStep {
        if self.config.use_sde {
            return self.act_sde(obs, rows, rng);
        }
        let model = self.model.valid();
        let obs = host::matrix(obs, rows, self.obs_dim, &self.device);
        let (mean, log_std) = model.actor.forward(obs.clone());
        let values = host::to_vec(model.critic.forward(obs));
        let (mean, log_std) = (host::to_vec(mean), host::to_vec(log_std));
        let mut actions = Vec::with_capacity(mean.len());
        let mut log_probs = vec![0.0; rows];
        for (row, log_prob) in log_probs.iter_mut().enumerate() {
            for (dim, &log_std) in log_std.iter().enumerate() {
                let noise: f32 = rng.sample(StandardNormal);
                actions.push(mean[row * self.action_dim + dim] + log_std.exp() * noise);
                *log_prob += -0.5 * noise * noise - log_std - crate::common::nets::HALF_LN_TWO_PI;
            }
        }
        PolicyStep {
            actions,
            log_probs,
            values,
        }
    }

    fn act_sde(&self, obs: &[f32], rows: usize, rng: &mut impl Rng) -> PolicyStep {
        let fresh;
        let theta = match &self.exploration {
            Some(held) if held.rows == rows => &held.theta,
            _ => {
                fresh = self.sample_exploration(rows, rng);
                &fresh.theta
            }
        };
        let model = self.model.valid();
        let obs = host::matrix(obs, rows, self.obs_dim, &self.device);
        let (mean, latent) = model.actor.mean_and_latent(obs.clone());
        let values = host::to_vec(model.critic.forward(obs));
        let sigma: Vec<f32> = host::to_vec(model.actor.forward_log_std())
            .into_iter()
            .map(f32::exp)
            .collect();
        let (mean, latent) = (host::to_vec(mean), host::to_vec(latent));
        let sde = SdeStep::new(
            &mean,
            &latent,
            &sigma,
            theta,
            rows,
            self.config.hidden_size,
            self.action_dim,
        );
        PolicyStep {
            actions: sde.actions,
            log_probs: sde.log_probs,
            values,
        }
    }

    /// The mean action for each row of `obs` (evaluation).
    pub fn mean_action(&self, obs: &[f32], rows: usize) -> Vec<f32> {
        let obs = host::matrix(obs, rows, self.obs_dim, &self.device);
        host::to_vec(self.model.valid().actor.forward(obs).0)
    }

    /// V(s) for each row of `obs`.
    pub fn values(&self, obs: &[f32], rows: usize) -> Vec<f32> {
        let obs = host::matrix(obs, rows, self.obs_dim, &self.device);
        host::to_vec(self.model.valid().critic.forward(obs))
    }

    /// `update_epochs` passes of shuffled minibatches over `batch`, at `learning_rate`.
    /// Returns CleanRL's PPO losses and diagnostics.
    pub fn update(
        &mut self,
        batch: &RolloutBatch,
        learning_rate: f64,
        rng: &mut impl Rng,
    ) -> Metrics {
        let config = &self.config;
        let len = batch.len();
        let minibatch_size = (len / config.num_minibatches).max(1);
        let clip = config.clip_coef as f32;
        let mut order: Vec<usize> = (0..len).collect();
        let mut clip_fractions = Vec::new();
        let (mut approx_kl, mut old_approx_kl) = (0.0, 0.0);
        let mut last_losses = None;
        'epochs: for _ in 0..config.update_epochs {
            order.shuffle(rng);
            for indices in order.chunks(minibatch_size) {
                let minibatch = Minibatch::gather(batch, indices, self.obs_dim, self.action_dim);
                let device = &self.device;
                let rows = indices.len();
                let obs = host::matrix::<B>(&minibatch.obs, rows, self.obs_dim, device);
                let actions = host::matrix::<B>(&minibatch.actions, rows, self.action_dim, device);
                let column = |values: &[f32]| host::matrix::<B>(values, rows, 1, device);
                let (old_log_probs, old_values) =
                    (column(&minibatch.log_probs), column(&minibatch.values));
                let returns = column(&minibatch.returns);
                let advantages = column(&standardised(&minibatch.advantages, config.norm_adv));

                let (log_probs, entropy) = if config.use_sde {
                    self.model
                        .actor
                        .sde_log_prob_and_entropy(obs.clone(), actions)
                } else {
                    self.model.actor.log_prob_and_entropy(obs.clone(), actions)
                };
                let new_values = self.model.critic.forward(obs);
                let log_ratio = log_probs - old_log_probs;
                let ratio = log_ratio.clone().exp();

                let policy_loss = (advantages.clone().neg() * ratio.clone())
                    .max_pair(advantages.neg() * ratio.clone().clamp(1.0 - clip, 1.0 + clip))
                    .mean();
                let value_loss = if config.clip_vloss {
                    let unclipped = (new_values.clone() - returns.clone()).powi_scalar(2);
                    let clipped_values =
                        old_values.clone() + (new_values - old_values).clamp(-clip, clip);
                    let clipped = (clipped_values - returns).powi_scalar(2);
                    unclipped.max_pair(clipped).mean() * 0.5
                } else {
                    (new_values - returns).powi_scalar(2).mean() * 0.5
                };
                let entropy = entropy.mean();
                let loss = policy_loss.clone() - entropy.clone() * config.ent_coef
                    + value_loss.clone() * config.vf_coef;

                let mut grads = GradientsParams::from_grads(loss.backward(), &self.model);
                clip_global_norm(&self.model, &mut grads, config.max_grad_norm);
                self.model = self
                    .optimizer
                    .step(learning_rate, self.model.clone(), grads);

                // Diagnostics on the pre-step ratio, as CleanRL computes them.
                let log_ratio = host::to_vec(log_ratio);
                approx_kl = mean(
                    &log_ratio
                        .iter()
                        .map(|r| r.exp() - 1.0 - r)
                        .collect::<Vec<_>>(),
                );
                old_approx_kl = -mean(&log_ratio);
                clip_fractions.push(mean(
                    &log_ratio
                        .iter()
                        .map(|r| f32::from((r.exp() - 1.0).abs() > clip))
                        .collect::<Vec<_>>(),
                ));
                last_losses = Some((policy_loss, value_loss, entropy));
                if config.target_kl.is_some_and(|target| approx_kl > target) {
                    break 'epochs;
                }
            }
        }
        // CleanRL logs the losses of the last minibatch.
        let mut metrics = Metrics::new(true);
        if let Some((policy_loss, value_loss, entropy)) = last_losses {
            metrics.record("losses/policy_loss", || host::scalar(policy_loss));
            metrics.record("losses/value_loss", || host::scalar(value_loss));
            metrics.record("losses/entropy", || host::scalar(entropy));
        }
        metrics.record("losses/old_approx_kl", || old_approx_kl);
        metrics.record("losses/approx_kl", || approx_kl);
        metrics.record("losses/clipfrac", || mean_f64(&clip_fractions));
        metrics.record("losses/explained_variance", || {
            explained_variance(&batch.values, &batch.returns)
        });
        metrics
    }

    /// Writes the networks and the optimiser state into `dir`.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        save_record(dir, "actor_critic", self.model.clone().into_record())?;
        save_record(dir, "optimizer", self.optimizer.to_record())
    }

    pub fn load(mut self, dir: &Path) -> anyhow::Result<Self> {
        let device = self.device.clone();
        self.model = load_module(dir, "actor_critic", self.model, &device)?;
        self.optimizer = self
            .optimizer
            .load_record(load_record(dir, "optimizer", &device)?);
        Ok(self)
    }
}

/// gSDE's actions and their log-probabilities on the host, for `rows` states: noise_j =
/// sum_i z_i theta_ij (theta the row's own matrix), action = mean + noise, and log N(action;
/// mean, sum_i z_i^2 sigma_ij^2 + SDE_EPSILON) summed over the action's dimensions.
struct SdeStep {
    actions: Vec<f32>,
    log_probs: Vec<f32>,
}

impl SdeStep {
    fn new(
        mean: &[f32],
        latent: &[f32],
        sigma: &[f32],
        theta: &[f32],
        rows: usize,
        hidden: usize,
        action_dim: usize,
    ) -> Self {
        let mut actions = Vec::with_capacity(rows * action_dim);
        let mut log_probs = vec![0.0; rows];
        for (row, log_prob) in log_probs.iter_mut().enumerate() {
            let z = &latent[row * hidden..(row + 1) * hidden];
            let theta = &theta[row * hidden * action_dim..(row + 1) * hidden * action_dim];
            for dim in 0..action_dim {
                let (mut noise, mut variance) = (0.0f32, 0.0f32);
                for (i, &z) in z.iter().enumerate() {
                    noise += z * theta[i * action_dim + dim];
                    variance += (z * sigma[i * action_dim + dim]).powi(2);
                }
                let variance = variance + SDE_EPSILON;
                actions.push(mean[row * action_dim + dim] + noise);
                *log_prob += -0.5 * noise * noise / variance
                    - 0.5 * variance.ln()
                    - crate::common::nets::HALF_LN_TWO_PI;
            }
        }
        Self { actions, log_probs }
    }
}

/// One minibatch gathered from the rollout, on the host.
struct Minibatch {
    obs: Vec<f32>,
    actions: Vec<f32>,
    log_probs: Vec<f32>,
    values: Vec<f32>,
    advantages: Vec<f32>,
    returns: Vec<f32>,
}

impl Minibatch {
    fn gather(batch: &RolloutBatch, indices: &[usize], obs_dim: usize, action_dim: usize) -> Self {
        let rows = |data: &[f32], width: usize| -> Vec<f32> {
            indices
                .iter()
                .flat_map(|&i| &data[i * width..(i + 1) * width])
                .copied()
                .collect()
        };
        Self {
            obs: rows(&batch.obs, obs_dim),
            actions: rows(&batch.actions, action_dim),
            log_probs: rows(&batch.log_probs, 1),
            values: rows(&batch.values, 1),
            advantages: rows(&batch.advantages, 1),
            returns: rows(&batch.returns, 1),
        }
    }
}

/// (x - mean) / (std + 1e-8) with the sample std, as CleanRL's `norm_adv`; unchanged when off.
fn standardised(values: &[f32], enabled: bool) -> Vec<f32> {
    if !enabled || values.len() < 2 {
        return values.to_vec();
    }
    let mean = mean(values) as f32;
    let variance =
        values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / (values.len() - 1) as f32;
    let scale = 1.0 / (variance.sqrt() + 1e-8);
    values.iter().map(|v| (v - mean) * scale).collect()
}

/// 1 - Var(returns - values) / Var(returns): how much of the return the critic explains
/// (NaN when the returns do not vary, as in CleanRL).
pub fn explained_variance(values: &[f32], returns: &[f32]) -> f64 {
    let variance = |xs: &[f64]| {
        let mean = mean_f64(xs);
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64
    };
    let returns: Vec<f64> = returns.iter().map(|&r| f64::from(r)).collect();
    let residuals: Vec<f64> = values
        .iter()
        .zip(&returns)
        .map(|(&v, r)| r - f64::from(v))
        .collect();
    let total = variance(&returns);
    if total == 0.0 {
        f64::NAN
    } else {
        1.0 - variance(&residuals) / total
    }
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len().max(1) as f64
}

fn mean_f64(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use serial_test::serial;

    use super::*;

    type Backend = Autodiff<Flex>;

    fn sde_config(sde_sample_freq: i64) -> PpoConfig {
        PpoConfig {
            use_sde: true,
            sde_sample_freq,
            hidden_size: 4,
            log_std_init: -0.5,
            ..PpoConfig::default()
        }
    }

    const OBS: [f32; 6] = [0.1, -0.2, 0.3, 0.5, 0.5, -1.0];

    /// The actions of `steps` rollout steps on the two fixed observations of `OBS`.
    fn rollout_actions(
        ppo: &mut Ppo<Backend>,
        steps: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<Vec<f32>> {
        (0..steps)
            .map(|step| {
                ppo.prepare_exploration(step, 2, rng);
                ppo.act(&OBS, 2, rng).actions
            })
            .collect()
    }

    #[test]
    #[serial(autodiff)]
    fn gsde_noise_is_held_between_resamples_and_changes_at_one() {
        let device = Default::default();
        let mut ppo = Ppo::<Backend>::new(sde_config(4), 3, 2, &device);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let actions = rollout_actions(&mut ppo, 9, &mut rng);
        for step in [1, 2, 3, 5, 6, 7] {
            assert_eq!(actions[step], actions[step - 1], "step {step}: held");
        }
        for step in [4, 8] {
            assert_ne!(actions[step], actions[step - 1], "step {step}: resampled");
        }
        // Acting with held matrices draws nothing from the RNG.
        let before = rng.clone();
        ppo.act(&OBS, 2, &mut rng);
        assert_eq!(rng, before);
        // Each env has its own matrix, and the noise depends on the state.
        let mean = ppo.mean_action(&OBS, 2);
        let noise: Vec<f32> = actions[8].iter().zip(&mean).map(|(a, m)| a - m).collect();
        assert_ne!(noise[0..2], noise[2..4]);
        let theta = &ppo.exploration().unwrap().theta;
        assert_eq!(theta.len(), 2 * 4 * 2);
        let shared = ExplorationMatrices {
            rows: 2,
            theta: [&theta[..8], &theta[..8]].concat(),
        };
        ppo.exploration = Some(shared);
        let actions = ppo.act(&OBS, 2, &mut rng).actions;
        assert_ne!(actions[0] - mean[0], actions[2] - mean[2]);

        // -1 (and 0): only at the start of a rollout.
        for every in [-1, 0] {
            let mut ppo = Ppo::<Backend>::new(sde_config(every), 3, 2, &device);
            let first = rollout_actions(&mut ppo, 6, &mut rng);
            assert!(first.windows(2).all(|pair| pair[0] == pair[1]), "{every}");
            let second = rollout_actions(&mut ppo, 1, &mut rng);
            assert_ne!(second[0], first[5], "{every}: a new rollout resamples");
        }
    }

    /// The log-probability `act` reports on the host is the one the update computes, and theta's
    /// entries spread as sigma: the actor's log-std matrix, not its initial value by chance.
    #[test]
    #[serial(autodiff)]
    fn gsde_actions_log_probs_agree_with_the_update_and_the_entropy_is_per_state() {
        let device = Default::default();
        let mut ppo = Ppo::<Backend>::new(sde_config(-1), 3, 2, &device);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        ppo.prepare_exploration(0, 2, &mut rng);
        let step = ppo.act(&OBS, 2, &mut rng);
        let actor = ppo.model.valid().actor;
        assert_eq!(actor.forward_log_std().dims(), [4, 2]);
        let (log_probs, entropy) = actor.sde_log_prob_and_entropy(
            host::matrix(&OBS, 2, 3, &device),
            host::matrix(&step.actions, 2, 2, &device),
        );
        for (host, tensor) in step.log_probs.iter().zip(host::to_vec(log_probs)) {
            assert!((host - tensor).abs() < 1e-4, "{host} vs {tensor}");
        }
        let entropy = host::to_vec(entropy);
        assert_eq!(entropy.len(), 2);
        assert_ne!(entropy[0], entropy[1], "the spread depends on the state");
    }

    #[test]
    #[serial(autodiff)]
    fn without_gsde_acting_is_cleanrl_gaussian_noise_and_draws_nothing_more() {
        let device = Default::default();
        let mut ppo = Ppo::<Backend>::new(PpoConfig::default(), 3, 2, &device);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let before = rng.clone();
        ppo.prepare_exploration(0, 2, &mut rng);
        assert_eq!(rng, before, "no gSDE: no draws");
        assert!(ppo.exploration().is_none());
        assert_eq!(ppo.model.actor.forward_log_std().dims(), [1, 2]);
        let mut expected_rng = rng.clone();
        let step = ppo.act(&OBS, 2, &mut rng);
        let mean = ppo.mean_action(&OBS, 2);
        for row in 0..2 {
            let mut log_prob = 0.0;
            for dim in 0..2 {
                let noise: f32 = expected_rng.sample(StandardNormal);
                // log-std 0: std 1.
                assert_eq!(step.actions[row * 2 + dim], mean[row * 2 + dim] + noise);
                log_prob += -0.5 * noise * noise - crate::common::nets::HALF_LN_TWO_PI;
            }
            assert_eq!(step.log_probs[row], log_prob);
        }
        assert_eq!(rng, expected_rng);
    }

    #[test]
    #[serial(autodiff)]
    fn a_gsde_checkpoint_holds_the_learned_log_std_matrix() {
        let device = Default::default();
        let mut ppo = Ppo::<Backend>::new(sde_config(4), 3, 2, &device);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // One update on a small made-up batch moves the log-std away from its initial value.
        ppo.prepare_exploration(0, 2, &mut rng);
        let step = ppo.act(&OBS, 2, &mut rng);
        let batch = RolloutBatch {
            obs: OBS.to_vec(),
            actions: step.actions,
            log_probs: step.log_probs,
            values: step.values,
            advantages: vec![1.0, -1.0],
            returns: vec![1.0, -1.0],
        };
        let update = PpoConfig {
            num_minibatches: 1,
            ..ppo.config.clone()
        };
        ppo.config = update;
        ppo.update(&batch, 1e-2, &mut rng);
        let trained = host::to_vec(ppo.model.actor.forward_log_std());
        assert!(trained.iter().any(|&v| v != -0.5), "{trained:?}");

        let dir = std::env::temp_dir().join(format!("ordergrad-gsde-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        ppo.save(&dir).unwrap();
        let loaded = Ppo::<Backend>::new(ppo.config.clone(), 3, 2, &device)
            .load(&dir)
            .unwrap();
        assert_eq!(host::to_vec(loaded.model.actor.forward_log_std()), trained);
        assert_eq!(loaded.mean_action(&OBS, 2), ppo.mean_action(&OBS, 2));
        // A checkpoint without gSDE's matrix does not load into a gSDE agent.
        let plain = Ppo::<Backend>::new(PpoConfig::default(), 3, 2, &device);
        assert!(plain.load(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_gsde_settings_are_named() {
        for (config, key) in [
            (
                PpoConfig {
                    sde_sample_freq: -2,
                    ..PpoConfig::default()
                },
                "ppo.sde_sample_freq",
            ),
            (
                PpoConfig {
                    log_std_init: f64::NAN,
                    ..PpoConfig::default()
                },
                "ppo.log_std_init",
            ),
            (
                PpoConfig {
                    log_std_init: 50.0,
                    ..PpoConfig::default()
                },
                "ppo.log_std_init",
            ),
        ] {
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains(key), "{error}");
        }
        for every in [-1, 0, 1, 4] {
            assert!(sde_config(every).validate().is_ok());
        }
    }

    #[test]
    fn standardised_advantages_have_mean_zero_and_sample_std_one() {
        let out = standardised(&[1.0, 2.0, 3.0, 6.0], true);
        assert!(mean(&out).abs() < 1e-6);
        let var = out.iter().map(|v| v * v).sum::<f32>() / 3.0;
        assert!((var - 1.0).abs() < 1e-5, "{var}");
        assert_eq!(standardised(&[1.0, 2.0], false), vec![1.0, 2.0]);
    }

    #[test]
    fn explained_variance_is_one_for_a_perfect_critic_and_zero_for_a_constant_one() {
        let returns = [1.0, 2.0, 4.0];
        assert!((explained_variance(&returns, &returns) - 1.0).abs() < 1e-12);
        let constant = [7.0 / 3.0; 3];
        assert!(explained_variance(&constant, &returns).abs() < 1e-6);
    }

    #[test]
    fn the_objective_decides_the_advantages_and_bad_k_is_named() {
        let config = PpoConfig::default();
        assert!(matches!(
            config.advantage_source().unwrap(),
            AdvantageSource::Gae
        ));
        let cvar = PpoConfig {
            objective: "cvar:0.1".parse().unwrap(),
            ..PpoConfig::default()
        };
        assert!(matches!(
            cvar.advantage_source().unwrap(),
            AdvantageSource::EpisodeGroups { groups: 1, .. }
        ));
        let too_big = PpoConfig {
            k: 10,
            ..cvar.clone()
        };
        let error = too_big.validate().unwrap_err().to_string();
        assert!(
            error.contains("ppo.k") && error.contains("group_size"),
            "{error}"
        );
        let endless = PpoConfig {
            update_epochs: 1_000_000_000_000,
            ..PpoConfig::default()
        };
        let error = endless.validate().unwrap_err().to_string();
        assert!(
            error.contains("ppo.update_epochs") && error.contains("at most 100000"),
            "{error}"
        );
        // A bad objective is refused as the config is read: see tests/ppo.rs.
    }
}
