//! ReMAC (docs/math.md section 5): an actor that maximises an L-statistic of its own action samples.
//! Per replay state it draws B reparameterised actions, scores each with min(Q1, Q2), and
//! ascends the rank-weighted batch value of the B scores through the OrderGrad layer
//! (`ordergrad_core::RankWeightedValue`). The method's own objective is max@M (best of M), but
//! any objective string works (`top:2`, `cvar:0.25`, ...), which makes this a general
//! "L-statistic actor". No entropy term in the actor; the critic is SAC's without the entropy
//! bonus unless `soft_critic` is on. Risk here is over the policy's own action noise, not over
//! the environment's randomness.

use std::path::Path;

use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use ordergrad_core::{Objective, RankMethod, RankPlan, RankWeightedValue};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::common::critic::record_fits;
use crate::common::host;
use crate::common::nets::{ActionBounds, GaussianActor, TwinQ};
use crate::common::off_policy::{
    ActorStep, OffPolicyAgent, OffPolicyConfig, OffPolicyCore, Spaces,
};
use crate::common::replay::Batch;
use crate::common::update_metrics::Metrics;
use crate::config::objective_setting::ObjectiveSetting;
use crate::config::setting_checks::{Accepted, check_number, rank_plan_setting};
use crate::config::{ConfigError, invalid};
use crate::sac::{critic_loss, soft_target};

/// ReMAC's [remac] table: the off-policy settings ([`crate::common::off_policy::OffPolicySettings`],
/// SAC's) and its own.
pub type RemacConfig = OffPolicyConfig<RemacSettings>;

/// ReMAC's own settings: the actor objective and the critic's entropy term.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemacSettings {
    /// Objective over the B action samples of a state: max (the method's own), top:M, cvar:BETA, ...
    pub objective: ObjectiveSetting,
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
}

impl Default for RemacSettings {
    fn default() -> Self {
        Self {
            objective: Objective::Max.into(),
            k: 4,
            num_action_samples: 8,
            actor_adam_epsilon: 1e-8,
            soft_critic: false,
            critic_alpha: 0.2,
        }
    }
}

impl RemacConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.shared.validate("remac")?;
        self.agent.validate()
    }
}

impl RemacSettings {
    fn validate(&self) -> Result<(), ConfigError> {
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
        self.rank_plan().map(|_| ())
    }

    fn rank_plan(&self) -> Result<RankPlan, ConfigError> {
        let n = self.num_action_samples;
        rank_plan_setting(
            "remac.num_action_samples",
            &format!("remac.num_action_samples = {n} with remac.k = {}", self.k),
            self.objective.objective(),
            n,
            self.k,
            |error| {
                invalid(
                    "remac.k",
                    format!("{error} (N is remac.num_action_samples = {n})"),
                )
            },
        )
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
    core: OffPolicyCore<B>,
    settings: RemacSettings,
    /// The L-statistic of the B scores of each state.
    sample_value: RankWeightedValue<B>,
}

impl<B: AutodiffBackend> Remac<B> {
    /// Fails where the objective does not fit `k` and `num_action_samples` (refused by
    /// `RemacConfig::validate`).
    pub fn new(
        config: RemacConfig,
        spaces: Spaces,
        device: &B::Device,
    ) -> Result<Self, ConfigError> {
        let settings = config.agent;
        let actor_adam_epsilon = settings.actor_adam_epsilon as f32;
        let core = OffPolicyCore::new(config.shared, spaces, 1, actor_adam_epsilon, device);
        let plan = settings.rank_plan()?;
        Ok(Self {
            core,
            sample_value: RankWeightedValue::new(plan, RankMethod::Auto, device),
            settings,
        })
    }
}

impl<B: AutodiffBackend> OffPolicyAgent for Remac<B> {
    type Backend = B;

    fn core(&self) -> &OffPolicyCore<B> {
        &self.core
    }

    fn core_mut(&mut self) -> &mut OffPolicyCore<B> {
        &mut self.core
    }

    fn update(&mut self, step: u64, batch: &Batch, rng: &mut impl Rng, record: bool) -> Metrics {
        let (settings, remac) = (&self.core.settings, &self.settings);
        let (n, action_dim) = (batch.size, self.core.bounds().dim());
        let device = self.core.device.clone();
        let (obs, actions) = self.core.batch_tensors(batch);
        let mut metrics = Metrics::new(record);

        // Target from one next action a' ~ pi(.|s'): y = r + gamma (1 - terminated)
        // min_i Q'_i(s', a'), minus alpha log pi(a'|s') inside with a soft critic.
        let critic_alpha = if remac.soft_critic {
            remac.critic_alpha as f32
        } else {
            0.0
        };
        let next_q = soft_target(&self.core, batch, rng, critic_alpha);
        // Critic loss, one Adam step per critic: 0.5 mean((Q_i(s, a) - y)^2) (the method's
        // scale, half of SAC's).
        let q_lr = settings.q_lr;
        let fits = self
            .core
            .critics
            .regress(obs.clone(), actions, q_lr, |values| {
                critic_loss(values, next_q.clone()) * 0.5
            });
        record_fits(fits, &mut metrics);

        // Actor loss: minus the mean L-statistic of B sampled actions' scores (see
        // `actor_loss`); no entropy term.
        let (sample_value, samples) = (&self.sample_value, remac.num_action_samples);
        let actor_obs = obs.clone();
        self.core.update_actor(
            step,
            &obs,
            rng,
            &mut metrics,
            |ActorStep {
                 actor,
                 critics,
                 bounds,
                 rng,
                 ..
             }| {
                let noise = host::standard_normal(rng, n * samples, action_dim, &device);
                actor_loss(
                    actor,
                    critics,
                    sample_value,
                    actor_obs.clone(),
                    noise,
                    bounds,
                )
            },
        );

        self.core.update_targets(step);
        metrics
    }

    fn load(mut self, dir: &Path) -> anyhow::Result<Self> {
        self.core = self.core.load(dir)?;
        Ok(self)
    }
}
