//! Proximal Policy Optimization, as CleanRL's `ppo_continuous_action.py` (Schulman et al. 2017):
//! a 64-64 tanh Gaussian actor and critic trained together by Adam on the clipped surrogate,
//! the clipped value loss and an entropy bonus, for `update_epochs` passes of shuffled
//! minibatches over each rollout, with the global gradient norm clipped.
//!
//! The policy's advantages are GAE's (plain PPO, `objective = "mean"`) or, for any other
//! objective, the OrderGrad rank advantages of whole episodes within groups of `group_size`
//! (spec sections 3 and 5): `cvar:0.1` makes PPO protect the lower tail of the episode return,
//! `top:2` or `max` makes it a best-of-K learner. Unlike CleanRL, a time-limit truncation
//! bootstraps from the critic. The rollout loop is in `on_policy.rs`.

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

use crate::adam::{AdamOptimizer, adam};
use crate::checkpoint::{load_module, load_record, save_record};
use crate::config::{ConfigError, invalid};
use crate::grad_clip::clip_global_norm;
use crate::host;
use crate::metrics::Metrics;
use crate::nets::ActorCritic;
use crate::objective_setting::ObjectiveSetting;
use crate::rollout::RolloutBatch;
use crate::setting_checks::{Accepted, check_numbers, rank_plan_setting};

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
        }
    }
}

/// Gradient steps (epochs times minibatches) one rollout may be followed by: a typo here would
/// stall the run inside its first update.
pub const MAX_GRADIENT_STEPS_PER_ROLLOUT: usize = 100_000;

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
}

impl<B: AutodiffBackend> Ppo<B> {
    pub fn new(config: PpoConfig, obs_dim: usize, action_dim: usize, device: &B::Device) -> Self {
        Self {
            model: ActorCritic::new(obs_dim, action_dim, config.hidden_size, device),
            optimizer: adam(config.adam_epsilon as f32),
            obs_dim,
            action_dim,
            device: device.clone(),
            config,
        }
    }

    pub fn config(&self) -> &PpoConfig {
        &self.config
    }

    /// Samples an action for each row of `obs` ([rows, obs_dim], row-major) with noise from
    /// `rng`, with its log-probability and the critic's value. Runs without autodiff.
    pub fn act(&self, obs: &[f32], rows: usize, rng: &mut impl Rng) -> PolicyStep {
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
                *log_prob += -0.5 * noise * noise - log_std - crate::nets::HALF_LN_TWO_PI;
            }
        }
        PolicyStep {
            actions,
            log_probs,
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

                let (log_probs, entropy) =
                    self.model.actor.log_prob_and_entropy(obs.clone(), actions);
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
    use super::*;

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
