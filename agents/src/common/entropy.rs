//! SAC's entropy coefficient alpha with automatic tuning (Haarnoja et al. 2018b, as CleanRL):
//! log alpha descends alpha * (-log pi(a|s) - target) with target entropy -|A|. Shared by SAC and
//! distributional SAC.

use std::path::Path;

use burn::module::{AutodiffModule, Param};
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use rand::Rng;

use crate::checkpoint::{load_module, load_record, save_record};
use crate::common::adam::{AdamOptimizer, adam};
use crate::common::host;
use crate::common::nets::{ActionBounds, GaussianActor};
use crate::common::update_metrics::Metrics;

/// log(alpha) as a module of its own, so that it has its own Adam state.
#[derive(Module, Debug)]
pub struct EntropyCoefficient<B: Backend> {
    log_alpha: Param<Tensor<B, 1>>,
}

impl<B: Backend> EntropyCoefficient<B> {
    pub fn new(alpha: f64, device: &B::Device) -> Self {
        Self {
            log_alpha: Param::from_tensor(Tensor::from_floats([alpha.ln() as f32], device)),
        }
    }

    pub fn alpha(&self) -> Tensor<B, 1> {
        self.log_alpha.val().exp()
    }
}

/// alpha, fixed or tuned.
pub struct EntropyTuning<B: AutodiffBackend> {
    coefficient: EntropyCoefficient<B>,
    optimizer: AdamOptimizer<EntropyCoefficient<B>, B>,
    autotune: bool,
    /// alpha as a plain number, refreshed after each step (CleanRL's `alpha`).
    alpha: f32,
    /// -|A|, the entropy the tuning aims at.
    target_entropy: f32,
}

impl<B: AutodiffBackend> EntropyTuning<B> {
    /// Starts at alpha = 1 (log alpha = 0) when tuned, as CleanRL; at `fixed_alpha` otherwise.
    pub fn new(
        autotune: bool,
        fixed_alpha: f64,
        action_dim: usize,
        adam_epsilon: f32,
        device: &B::Device,
    ) -> Self {
        let initial_alpha = if autotune { 1.0 } else { fixed_alpha };
        Self {
            coefficient: EntropyCoefficient::new(initial_alpha, device),
            optimizer: adam(adam_epsilon),
            autotune,
            alpha: initial_alpha as f32,
            target_entropy: -(action_dim as f32),
        }
    }

    pub fn alpha(&self) -> f32 {
        self.alpha
    }

    /// One tuning step on fresh samples of `actor` at `obs` (nothing when alpha is fixed).
    pub fn step(
        &mut self,
        actor: &GaussianActor<B>,
        obs: Tensor<B, 2>,
        bounds: &ActionBounds,
        learning_rate: f64,
        rng: &mut impl Rng,
        metrics: &mut Metrics,
    ) {
        if !self.autotune {
            return;
        }
        let [n, _] = obs.dims();
        let noise = host::standard_normal(rng, n, bounds.dim(), &obs.device());
        let log_prob = actor.valid().sample(obs.inner(), noise, bounds).log_prob;
        let entropy_gap = Tensor::<B, 2>::from_inner(log_prob + self.target_entropy);
        let alpha_loss = (self.coefficient.alpha().unsqueeze::<2>().neg() * entropy_gap).mean();
        let grads = GradientsParams::from_grads(alpha_loss.backward(), &self.coefficient);
        self.coefficient = self
            .optimizer
            .step(learning_rate, self.coefficient.clone(), grads);
        self.alpha = host::scalar(self.coefficient.alpha()) as f32;
        metrics.record("losses/alpha_loss", || host::scalar(alpha_loss));
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        save_record(dir, "entropy", self.coefficient.clone().into_record())?;
        save_record(dir, "entropy_optimizer", self.optimizer.to_record())
    }

    pub fn load(mut self, dir: &Path, device: &B::Device) -> anyhow::Result<Self> {
        self.coefficient = load_module(dir, "entropy", self.coefficient, device)?;
        self.optimizer = self
            .optimizer
            .load_record(load_record(dir, "entropy_optimizer", device)?);
        if self.autotune {
            self.alpha = host::scalar(self.coefficient.alpha()) as f32;
        }
        Ok(self)
    }
}
