//! Soft Actor-Critic, as CleanRL's `sac_continuous_action.py` (Haarnoja et al. 2018, with
//! automatic entropy tuning): twin soft Q networks with Polyak-averaged targets, a tanh-squashed
//! Gaussian actor updated every `policy_frequency` steps (that many times, to keep the number of
//! actor updates equal to critic updates), and alpha tuned towards an entropy of -|A|.
//! The training loop and the parts shared with distributional SAC and ReMAC (networks, acting,
//! checkpoints, the delayed actor loop) are in `off_policy/`.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::common::adam::TORCH_ADAM_EPSILON;
use crate::common::critic::{bootstrapped, record_fits};
use crate::common::entropy::{EntropyTuning, check_target_entropy, target_entropy};
use crate::common::host;
use crate::common::nets::{ActionBounds, GaussianActor, TwinQ};
use crate::common::off_policy::{
    ActorStep, OffPolicyAgent, OffPolicyConfig, OffPolicyCore, Spaces,
};
use crate::common::replay::Batch;
use crate::common::update_metrics::Metrics;
use crate::config::ConfigError;
use crate::config::setting_checks::{Accepted, check_number};

/// SAC's [sac] table: the off-policy settings ([`crate::common::off_policy::OffPolicySettings`]) and
/// SAC's own. The defaults are CleanRL's.
pub type SacConfig = OffPolicyConfig<SacSettings>;

/// SAC's own settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SacSettings {
    /// Entropy coefficient when `autotune` is off; its starting value is 1 when on (log alpha = 0).
    pub alpha: f64,
    /// Tune alpha automatically towards the target entropy.
    pub autotune: bool,
    /// The entropy `autotune` aims at, in nats; absent: -|A| (CleanRL; SB3's "auto"). See
    /// [`crate::common::entropy::target_entropy`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_entropy: Option<f64>,
}

impl Default for SacSettings {
    fn default() -> Self {
        Self {
            alpha: 0.2,
            autotune: true,
            target_entropy: None,
        }
    }
}

impl SacConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.shared.validate("sac")?;
        check_number("sac.alpha", self.agent.alpha, Accepted::NonNegative)?;
        check_target_entropy("sac", self.agent.target_entropy, self.agent.autotune)
    }
}

/// The value of each next state in SAC's soft target ([n, 1]): min_i Q'_i(s', a') -
/// alpha log pi(a'|s'), with one next action a' drawn with `noise` ([n, action_dim]).
/// [`bootstrapped`] turns it into the target r + gamma (1 - terminated) value.
pub fn soft_next_value<B: Backend>(
    actor: &GaussianActor<B>,
    target_critics: &TwinQ<B>,
    next_obs: Tensor<B, 2>,
    noise: Tensor<B, 2>,
    bounds: &ActionBounds,
    alpha: f32,
) -> Tensor<B, 2> {
    let next = actor.sample(next_obs.clone(), noise, bounds);
    target_critics.min(next_obs, next.actions) - next.log_prob * alpha
}

/// The soft next values min_i Q'_i(s', a') - alpha log pi(a'|s') of `batch`'s next states, for
/// `draws` next actions a' ~ pi(.|s') each, drawn with `rng`: [draws * n, outputs], draw-major
/// (rows k * n .. (k + 1) * n hold draw k), off the autodiff graph.
pub fn sampled_next_values<B: AutodiffBackend>(
    core: &OffPolicyCore<B>,
    batch: &Batch,
    draws: usize,
    rng: &mut impl Rng,
    alpha: f32,
) -> Tensor<B::InnerBackend, 2> {
    let (n, action_dim) = (batch.size, core.bounds().dim());
    let next_obs = core.observation_matrix(&batch.next_obs, n);
    let next_obs = if draws > 1 {
        next_obs.repeat_dim(0, draws)
    } else {
        next_obs
    };
    let noise = host::standard_normal(rng, n * draws, action_dim, &core.device);
    soft_next_value(
        &core.actor.valid(),
        &core.critics.targets,
        next_obs,
        noise,
        core.bounds(),
        alpha,
    )
}

/// SAC's soft target for `batch`, from one next action a' ~ pi(.|s') drawn with `rng`:
/// y = r + gamma (1 - terminated) (min_i Q'_i(s', a') - alpha log pi(a'|s')), output by output
/// when the critics have several (DSAC's atoms); [n, outputs], off the autodiff graph.
pub fn soft_target<B: AutodiffBackend>(
    core: &OffPolicyCore<B>,
    batch: &Batch,
    rng: &mut impl Rng,
    alpha: f32,
) -> Tensor<B, 2> {
    let next_value = sampled_next_values(core, batch, 1, rng, alpha);
    bootstrapped::<B>(batch, next_value, core.settings.gamma)
}

/// One critic's loss: mean((Q_i(s, a) - y)^2) over the batch.
pub fn critic_loss<B: Backend>(values: Tensor<B, 2>, target: Tensor<B, 2>) -> Tensor<B, 1> {
    (values - target).powi_scalar(2).mean()
}

/// The actor's loss, mean over states of alpha log pi(a|s) - min_i Q_i(s, a), a drawn with
/// `noise` (reparameterised); also returns log pi ([n, 1]).
pub fn actor_loss<B: Backend>(
    actor: &GaussianActor<B>,
    critics: &TwinQ<B>,
    obs: Tensor<B, 2>,
    noise: Tensor<B, 2>,
    bounds: &ActionBounds,
    alpha: f32,
) -> (Tensor<B, 1>, Tensor<B, 2>) {
    let policy = actor.sample(obs.clone(), noise, bounds);
    let q_policy = critics.min(obs, policy.actions);
    let loss = (policy.log_prob.clone() * alpha - q_policy).mean();
    (loss, policy.log_prob)
}

pub struct Sac<B: AutodiffBackend> {
    /// Actor, twin critics and the entropy coefficient.
    core: OffPolicyCore<B>,
}

impl<B: AutodiffBackend> Sac<B> {
    /// Fails where `target_entropy` does not fit the action box.
    pub fn new(config: SacConfig, spaces: Spaces, device: &B::Device) -> Result<Self, ConfigError> {
        let SacSettings {
            alpha,
            autotune,
            target_entropy: target_entropy_setting,
        } = config.agent;
        let target = target_entropy(target_entropy_setting, &spaces.bounds, "sac")?;
        let entropy = EntropyTuning::new(autotune, alpha, target, TORCH_ADAM_EPSILON, device);
        Ok(Self {
            core: OffPolicyCore::new(config.shared, spaces, 1, TORCH_ADAM_EPSILON, device)
                .with_entropy(entropy),
        })
    }
}

impl<B: AutodiffBackend> OffPolicyAgent for Sac<B> {
    type Backend = B;

    fn core(&self) -> &OffPolicyCore<B> {
        &self.core
    }

    fn core_mut(&mut self) -> &mut OffPolicyCore<B> {
        &mut self.core
    }

    fn update(&mut self, step: u64, batch: &Batch, rng: &mut impl Rng, record: bool) -> Metrics {
        let settings = &self.core.settings;
        let (n, action_dim) = (batch.size, self.core.bounds().dim());
        let device = self.core.device.clone();
        let (obs, actions) = self.core.batch_tensors(batch);
        let mut metrics = Metrics::new(record);

        // Soft target from one next action a' ~ pi(.|s'):
        // y = r + gamma (1 - terminated) (min_i Q'_i(s', a') - alpha log pi(a'|s')).
        let alpha = self.core.alpha();
        let next_q = soft_target(&self.core, batch, rng, alpha);
        // Critic loss, one Adam step per critic: mean((Q_i(s, a) - y)^2).
        let q_lr = settings.q_lr;
        let fits = self
            .core
            .critics
            .regress(obs.clone(), actions, q_lr, |values| {
                critic_loss(values, next_q.clone())
            });
        record_fits(fits, &mut metrics);

        // Actor loss: mean(alpha log pi(a|s) - min_i Q_i(s, a)), a ~ pi(.|s) reparameterised;
        // then alpha's own step (see `EntropyTuning`).
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
                 alpha,
                 rng,
             }| {
                let noise = host::standard_normal(rng, n, action_dim, &device);
                actor_loss(actor, critics, actor_obs.clone(), noise, bounds, alpha)
            },
        );

        self.core.update_targets(step);
        metrics.record("losses/alpha", || self.core.alpha() as f64);
        metrics
    }

    fn load(mut self, dir: &Path) -> anyhow::Result<Self> {
        self.core = self.core.load(dir)?;
        Ok(self)
    }
}
