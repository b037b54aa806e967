//! SAC's entropy coefficient alpha with automatic tuning (Haarnoja et al. 2018b, as CleanRL):
//! log alpha descends alpha * (-log pi(a|s) - target) with target entropy -|A| (or the agent's
//! `target_entropy`). Shared by SAC and distributional SAC.

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
use crate::config::{ConfigError, invalid};

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
    /// The entropy the tuning aims at (see [`target_entropy`]).
    target_entropy: f32,
}

/// Checks table `table`'s `target_entropy` where the env is not known yet: a finite number, and
/// only with `autotune` on (a fixed alpha has no target; the setting would be ignored).
/// [`target_entropy`] checks it against the action box.
pub fn check_target_entropy(
    table: &str,
    setting: Option<f64>,
    autotune: bool,
) -> Result<(), ConfigError> {
    let Some(target) = setting else {
        return Ok(());
    };
    let key = format!("{table}.target_entropy");
    if !target.is_finite() {
        return Err(invalid(
            &key,
            format!("{target} is not accepted: a finite number of nats (default: -|A|)"),
        ));
    }
    if !autotune {
        return Err(invalid(
            &key,
            format!(
                "{target} is the target of alpha's tuning, but {table}.autotune is false: set \
                 {table}.autotune = true, or remove {table}.target_entropy"
            ),
        ));
    }
    Ok(())
}

/// The entropy alpha's tuning aims at: `setting` (the `target_entropy` key of table `table`)
/// where given, otherwise -|A| (CleanRL; SB3's "auto").
///
/// A tanh-squashed policy spends entropy to keep its mean away from the action bounds, so at
/// -|A| its deterministic action stays short of a bound where the best action lies on it (on
/// RiskyCar-v0 full acceleration): a lower target lets it get there.
///
/// Fails for a setting that is not finite, or that is at or above the entropy of the uniform
/// distribution over the action box (the sum of ln(high - low)), which no policy inside the box
/// reaches: alpha would grow without end.
pub fn target_entropy(
    setting: Option<f64>,
    bounds: &ActionBounds,
    table: &str,
) -> Result<f32, ConfigError> {
    let Some(target) = setting else {
        return Ok(-(bounds.dim() as f32));
    };
    let box_entropy: f64 = bounds
        .scale
        .iter()
        .map(|&half_width| (2.0 * f64::from(half_width)).ln())
        .sum();
    if !(target.is_finite() && target < box_entropy) {
        return Err(invalid(
            &format!("{table}.target_entropy"),
            format!(
                "{target} is not accepted: a finite number below {box_entropy:.4}, the entropy \
                 of the uniform distribution over this env's action box, which no policy \
                 exceeds (default: -|A| = {})",
                -(bounds.dim() as f64)
            ),
        ));
    }
    Ok(target as f32)
}

impl<B: AutodiffBackend> EntropyTuning<B> {
    /// Starts at alpha = 1 (log alpha = 0) when tuned, as CleanRL; at `fixed_alpha` otherwise.
    pub fn new(
        autotune: bool,
        fixed_alpha: f64,
        target_entropy: f32,
        adam_epsilon: f32,
        device: &B::Device,
    ) -> Self {
        let initial_alpha = if autotune { 1.0 } else { fixed_alpha };
        Self {
            coefficient: EntropyCoefficient::new(initial_alpha, device),
            optimizer: adam(adam_epsilon),
            autotune,
            alpha: initial_alpha as f32,
            target_entropy,
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Autodiff;
    use burn_flex::{Flex, FlexDevice};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use crate::common::nets::NetStyle;

    type Trained = Autodiff<Flex>;

    /// Pendulum's box: one entry in [-2, 2], whose uniform distribution has entropy ln 4.
    fn pendulum_bounds() -> ActionBounds {
        ActionBounds::from_box(&[-2.0], &[2.0])
    }

    #[test]
    fn the_default_target_is_minus_the_action_dimension() {
        let bounds = ActionBounds::from_box(&[-1.0; 6], &[1.0; 6]);
        assert_eq!(target_entropy(None, &bounds, "sac").unwrap(), -6.0);
        assert_eq!(target_entropy(Some(-3.5), &bounds, "sac").unwrap(), -3.5);
    }

    #[test]
    fn a_target_the_action_box_cannot_reach_is_refused() {
        let bounds = pendulum_bounds();
        assert!(target_entropy(Some(1.38), &bounds, "dsac").is_ok());
        for unreachable in [4f64.ln(), 2.0, f64::INFINITY, f64::NAN] {
            let error = target_entropy(Some(unreachable), &bounds, "dsac").unwrap_err();
            let message = error.to_string();
            assert!(message.contains("dsac.target_entropy"), "{message}");
            assert!(message.contains("1.3863"), "{message}");
        }
    }

    #[test]
    fn a_target_needs_autotune_and_a_finite_value() {
        assert!(check_target_entropy("sac", None, false).is_ok());
        assert!(check_target_entropy("sac", Some(-3.0), true).is_ok());
        let fixed = check_target_entropy("sac", Some(-3.0), false).unwrap_err();
        assert!(fixed.to_string().contains("sac.autotune"), "{fixed}");
        assert!(check_target_entropy("dsac", Some(f64::NAN), true).is_err());
    }

    /// alpha rises while the policy's entropy is below the target and falls while it is above:
    /// the same actor and draws, two targets either side of its entropy.
    #[test]
    fn alpha_moves_towards_the_target() {
        let device = FlexDevice;
        let bounds = pendulum_bounds();
        let actor = GaussianActor::<Trained>::new(3, 1, 16, NetStyle::default(), &device);
        let obs = Tensor::<Trained, 2>::zeros([64, 3], &device);
        let alpha_after_one_step = |target: f32| {
            let mut tuning = EntropyTuning::<Trained>::new(true, 0.2, target, 1e-8, &device);
            let mut rng = StdRng::seed_from_u64(7);
            let mut metrics = Metrics::new(false);
            tuning.step(&actor, obs.clone(), &bounds, 1e-2, &mut rng, &mut metrics);
            tuning.alpha()
        };
        let noise = host::standard_normal(&mut StdRng::seed_from_u64(1), 64, 1, &device);
        let entropy = -host::scalar(actor.sample(obs.clone(), noise, &bounds).log_prob.mean());
        assert!(-6.0 < entropy && entropy < 1.3, "{entropy}");
        assert!(alpha_after_one_step(1.3) > 1.0);
        assert!(alpha_after_one_step(-6.0) < 1.0);
    }
}
