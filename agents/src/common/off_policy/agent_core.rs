//! What SAC, distributional SAC and ReMAC share besides the loop: a tanh-squashed Gaussian actor
//! with its Adam, twin critics (`common/critic.rs`), acting, checkpoints, and CleanRL's delayed actor
//! update. Each agent writes its own critic target and loss and its own actor loss.

use std::borrow::Cow;
use std::path::Path;

use anyhow::Context;

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use envs::wrappers::RunningMeanStd;
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
    /// The running statistics of the observations collected so far, when
    /// `normalize_observation` is on.
    observation_statistics: Option<RunningMeanStd>,
    /// SAC's entropy coefficient, for an agent with an entropy term ([`Self::with_entropy`]).
    entropy: Option<EntropyTuning<B>>,
}

/// Added to the variance before its square root, as the ReMAC paper's Brax normaliser does.
const NORMALIZATION_EPSILON: f64 = 1e-8;
/// The observation statistics' file in a checkpoint.
const OBSERVATION_STATISTICS_FILE: &str = "observation_statistics.json";

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
        let style = settings.net_style();
        let critics = TwinCritics::new(
            obs_dim,
            action_dim,
            hidden,
            critic_outputs,
            style.activation,
            TORCH_ADAM_EPSILON,
            device,
        );
        Self {
            actor: GaussianActor::new(obs_dim, action_dim, hidden, style, device),
            critics,
            actor_optimizer: adam(actor_adam_epsilon),
            observation_statistics: settings
                .normalize_observation
                .then(|| RunningMeanStd::new(obs_dim)),
            entropy: None,
            device: device.clone(),
            spaces,
            settings,
        }
    }

    /// Gives the agent SAC's entropy term: alpha enters the actor's loss, is tuned after each
    /// actor step (when `entropy` tunes it) and is checkpointed with the networks.
    pub fn with_entropy(mut self, entropy: EntropyTuning<B>) -> Self {
        self.entropy = Some(entropy);
        self
    }

    /// The entropy coefficient now (0 for an agent without an entropy term).
    pub fn alpha(&self) -> f32 {
        self.entropy.as_ref().map_or(0.0, EntropyTuning::alpha)
    }

    pub fn bounds(&self) -> &ActionBounds {
        &self.spaces.bounds
    }

    /// One action for one observation: a policy sample, or the deterministic action.
    pub fn act(&self, obs: &[f32], deterministic: bool, rng: &mut impl Rng) -> Vec<f32> {
        self.actor
            .valid()
            .act(&self.normalized(obs), deterministic, self.bounds(), rng)
    }

    /// Adds a collected observation to the running statistics (when `normalize_observation`).
    pub fn observe(&mut self, obs: &[f32]) {
        if let Some(statistics) = &mut self.observation_statistics {
            let sample: Vec<f64> = obs.iter().map(|&x| f64::from(x)).collect();
            statistics.update(&sample);
        }
    }

    /// Observations (rows of `obs_dim`) as the networks see them: normalised by the running
    /// statistics when `normalize_observation` is on, else as they are.
    pub fn normalized<'a>(&self, rows: &'a [f32]) -> Cow<'a, [f32]> {
        let Some(statistics) = &self.observation_statistics else {
            return Cow::Borrowed(rows);
        };
        let scales: Vec<(f64, f64)> = statistics
            .mean
            .iter()
            .zip(&statistics.var)
            .map(|(&mean, &var)| (mean, (var + NORMALIZATION_EPSILON).sqrt()))
            .collect();
        let dim = scales.len();
        Cow::Owned(
            rows.iter()
                .enumerate()
                .map(|(i, &x)| {
                    let (mean, std) = scales[i % dim];
                    ((f64::from(x) - mean) / std) as f32
                })
                .collect(),
        )
    }

    /// `n` observations as the networks see them, as an [n, obs_dim] tensor.
    pub fn observation_matrix<T: Backend<Device = B::Device>>(
        &self,
        rows: &[f32],
        n: usize,
    ) -> Tensor<T, 2> {
        host::matrix::<T>(&self.normalized(rows), n, self.spaces.obs_dim, &self.device)
    }

    /// The batch's observations ([n, obs_dim], as the networks see them) and actions
    /// ([n, action_dim]).
    pub fn batch_tensors(&self, batch: &Batch) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let n = batch.size;
        let obs = self.observation_matrix::<B>(&batch.obs, n);
        let actions = host::matrix::<B>(&batch.actions, n, self.bounds().dim(), &self.device);
        (obs, actions)
    }

    /// CleanRL's delayed actor update: at every `policy_frequency`-th step, that many Adam steps
    /// of the actor on the loss `actor_loss` returns (with the log pi of the actions it drew, for
    /// the entropy chart), each followed by a step of the entropy coefficient where alpha is
    /// tuned, at `obs`.
    pub fn update_actor<R: Rng>(
        &mut self,
        step: u64,
        obs: &Tensor<B, 2>,
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
                alpha: self.entropy.as_ref().map_or(0.0, EntropyTuning::alpha),
                rng,
            });
            let mut grads = loss.backward();
            let actor_grads = GradientsParams::from_module(&mut grads, &self.actor);
            self.actor =
                self.actor_optimizer
                    .step(settings.policy_lr, self.actor.clone(), actor_grads);
            metrics.record("losses/actor_loss", || host::scalar(loss));
            metrics.record("charts/entropy", || -host::scalar(log_prob.mean()));

            if let Some(entropy) = self.entropy.as_mut() {
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
        if let Some(statistics) = &self.observation_statistics {
            let path = dir.join(OBSERVATION_STATISTICS_FILE);
            std::fs::write(&path, serde_json::to_vec(statistics)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        if let Some(entropy) = &self.entropy {
            entropy.save(dir)?;
        }
        save_record(dir, "actor_optimizer", self.actor_optimizer.to_record())
    }

    pub fn load(mut self, dir: &Path) -> anyhow::Result<Self> {
        let device = self.device.clone();
        self.actor = load_module(dir, "actor", self.actor, &device)?;
        self.critics = self.critics.load(dir, &device)?;
        self.actor_optimizer =
            self.actor_optimizer
                .load_record(load_record(dir, "actor_optimizer", &device)?);
        if self.observation_statistics.is_some() {
            let path = dir.join(OBSERVATION_STATISTICS_FILE);
            let text = std::fs::read(&path).with_context(|| {
                format!(
                    "reading {} (a run with normalize_observation = true keeps its \
                     observation statistics there)",
                    path.display()
                )
            })?;
            let statistics: RunningMeanStd = serde_json::from_slice(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            if statistics.dim() != self.spaces.obs_dim {
                anyhow::bail!(
                    "{} holds statistics of {} observation values; the env has {}",
                    path.display(),
                    statistics.dim(),
                    self.spaces.obs_dim
                );
            }
            self.observation_statistics = Some(statistics);
        }
        if let Some(entropy) = self.entropy.take() {
            self.entropy = Some(entropy.load(dir, &device)?);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, Flex};

    use super::*;

    fn core(normalize_observation: bool) -> OffPolicyCore<Autodiff<Flex>> {
        let settings = OffPolicySettings {
            hidden_size: 4,
            normalize_observation,
            ..OffPolicySettings::default()
        };
        let spaces = Spaces {
            obs_dim: 2,
            bounds: ActionBounds::from_box(&[-1.0], &[1.0]),
        };
        OffPolicyCore::new(settings, spaces, 1, TORCH_ADAM_EPSILON, &Default::default())
    }

    #[test]
    fn observations_are_normalised_by_the_running_statistics_only_when_asked() {
        let mut plain = core(false);
        let mut normalising = core(true);
        let collected = [[1.0f32, 10.0], [3.0, 30.0], [5.0, -20.0]];
        for obs in &collected {
            plain.observe(obs);
            normalising.observe(obs);
        }
        let rows = [2.0f32, 0.0, 7.0, 5.0];
        assert_eq!(*plain.normalized(&rows), rows);
        // Running mean and population variance of the three samples (plus the statistics'
        // initial count of 1e-4 at mean 0, variance 1).
        let initial = envs::wrappers::running_mean_std::INITIAL_COUNT;
        let count = 3.0 + initial;
        let normalized = normalising.normalized(&rows);
        for column in 0..2 {
            let values: Vec<f64> = collected.iter().map(|o| f64::from(o[column])).collect();
            let sum: f64 = values.iter().sum();
            let mean = sum / count;
            let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            let var = (squares + initial * (1.0 + mean * mean)) / count;
            for row in 0..2 {
                let x = f64::from(rows[row * 2 + column]);
                let expected = (x - mean) / (var + 1e-8).sqrt();
                let got = f64::from(normalized[row * 2 + column]);
                assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
            }
        }
    }
}
