//! The critic machinery that SAC, distributional SAC and ReMAC share: twin Q networks (clipped
//! double Q) with one Adam each and Polyak-averaged target networks, their checkpoints, and
//! CleanRL's critic scalars. Each agent writes its own target and loss (`sac.rs`, `dsac.rs`,
//! `remac.rs`) and hands the loss to [`TwinCritics::regress`].

use std::path::Path;

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

use crate::backend::side_by_side;
use crate::checkpoint::{load_module, load_record, save_record};
use crate::common::adam::{AdamOptimizer, adam};
use crate::common::host;
use crate::common::nets::{Activation, QNetwork, TwinQ};
use crate::common::replay::Batch;
use crate::common::update_metrics::Metrics;

pub struct TwinCritics<B: AutodiffBackend> {
    pub online: TwinQ<B>,
    pub targets: TwinQ<B::InnerBackend>,
    /// One Adam per critic, so that each critic's whole step runs on a thread of its own. Adam
    /// keeps its state per parameter, so this is the same optimiser as one over both.
    optimizers: [CriticOptimizer<B>; 2],
}

type CriticOptimizer<B> = AdamOptimizer<QNetwork<B>, B>;

/// Checkpoint records of the two critics' optimisers.
const OPTIMIZER_RECORDS: [&str; 2] = ["critic1_optimizer", "critic2_optimizer"];

/// One critic's output on the batch ([batch, outputs]) and its loss, from [`TwinCritics::regress`].
pub struct CriticFit<B: Backend> {
    pub values: Tensor<B, 2>,
    pub loss: Tensor<B, 1>,
}

impl<B: AutodiffBackend> TwinCritics<B> {
    /// Twin critics of `outputs` values each (see [`TwinQ::new`]).
    pub fn new(
        obs_dim: usize,
        action_dim: usize,
        hidden: usize,
        outputs: usize,
        activation: Activation,
        adam_epsilon: f32,
        device: &B::Device,
    ) -> Self {
        let online = TwinQ::new(obs_dim, action_dim, hidden, outputs, activation, device);
        Self {
            targets: online.valid(),
            online,
            optimizers: [adam(adam_epsilon), adam(adam_epsilon)],
        }
    }

    /// One Adam step of each online critic on `loss(Q_i(s, a))`, the two side by side on the
    /// CPU (see [`TwinQ::members_mut`]). The same as one step on the sum of the two losses.
    ///
    /// The step runs in three phases, each side by side: both forward passes, then both
    /// `backward()`s, then both Adam steps. Burn 0.21's `backward()` ends by sweeping every
    /// autodiff graph in the process, and can free a step of a graph that another thread is
    /// building at that moment, which silently loses gradients (tracel-ai/burn#5573); no graph
    /// is built while a backward runs.
    pub fn regress(
        &mut self,
        obs: Tensor<B, 2>,
        actions: Tensor<B, 2>,
        learning_rate: f64,
        loss: impl Fn(Tensor<B, 2>) -> Tensor<B, 1> + Sync,
    ) -> [CriticFit<B>; 2] {
        let (first, second) = self.online.members_mut();
        let forward = |critic: &QNetwork<B>| {
            let values = critic.forward(obs.clone(), actions.clone());
            let loss = loss(values.clone());
            CriticFit { values, loss }
        };
        let (first_fit, second_fit) =
            side_by_side::<B, _, _>(|| forward(first), || forward(second));

        let backward = |fit: &CriticFit<B>| fit.loss.backward();
        let (first_grads, second_grads) =
            side_by_side::<B, _, _>(|| backward(&first_fit), || backward(&second_fit));

        let [first_optimizer, second_optimizer] = &mut self.optimizers;
        let step =
            |critic: &mut QNetwork<B>, optimizer: &mut CriticOptimizer<B>, grads: B::Gradients| {
                let grads = GradientsParams::from_grads(grads, critic);
                *critic = optimizer.step(learning_rate, critic.clone(), grads);
            };
        side_by_side::<B, _, _>(
            || step(first, first_optimizer, first_grads),
            || step(second, second_optimizer, second_grads),
        );
        [first_fit, second_fit]
    }

    /// Polyak averaging of the targets towards the online critics.
    pub fn soft_update(&mut self, tau: f64) {
        let online = self.online.valid();
        self.targets = self.targets.clone().soft_update(&online, tau);
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        save_record(dir, "critics", self.online.clone().into_record())?;
        save_record(dir, "critic_targets", self.targets.clone().into_record())?;
        for (name, optimizer) in OPTIMIZER_RECORDS.iter().zip(&self.optimizers) {
            save_record(dir, name, optimizer.to_record())?;
        }
        Ok(())
    }

    pub fn load(mut self, dir: &Path, device: &B::Device) -> anyhow::Result<Self> {
        self.online = load_module(dir, "critics", self.online, device)?;
        self.targets = load_module(dir, "critic_targets", self.targets, device)?;
        let [first, second] = self.optimizers;
        let [first_record, second_record] = [
            load_record(dir, OPTIMIZER_RECORDS[0], device)?,
            load_record(dir, OPTIMIZER_RECORDS[1], device)?,
        ];
        self.optimizers = [
            first.load_record(first_record),
            second.load_record(second_record),
        ];
        Ok(self)
    }
}

/// The bootstrapped target r + gamma^k (1 - terminated) next_value of each transition of
/// `batch` ([n, outputs], off the autodiff graph), from the value of its next state
/// ([n, outputs], on the inner backend); k is the transition's bootstrap steps (1 but for
/// n-step targets, where r is the discounted reward of its k steps).
pub fn bootstrapped<B: AutodiffBackend>(
    batch: &Batch,
    next_value: Tensor<B::InnerBackend, 2>,
    gamma: f64,
) -> Tensor<B, 2> {
    let (n, device) = (batch.size, next_value.device());
    let rewards = host::matrix(&batch.rewards, n, 1, &device);
    let not_terminated = host::matrix(&batch.terminated, n, 1, &device).neg() + 1.0;
    let discounts = host::matrix(&batch.discounts(gamma), n, 1, &device);
    Tensor::<B, 2>::from_inner(rewards + not_terminated * next_value * discounts)
}

/// CleanRL's critic scalars: each critic's mean value and loss, and the mean of the two losses.
pub fn record_fits<B: Backend>(fits: [CriticFit<B>; 2], metrics: &mut Metrics) {
    let [first, second] = fits;
    metrics.record("losses/qf1_values", || host::scalar(first.values.mean()));
    metrics.record("losses/qf2_values", || host::scalar(second.values.mean()));
    metrics.record("losses/qf1_loss", || host::scalar(first.loss.clone()));
    metrics.record("losses/qf2_loss", || host::scalar(second.loss.clone()));
    metrics.record("losses/qf_loss", || {
        host::scalar(first.loss + second.loss) / 2.0
    });
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use serial_test::serial;

    use super::*;

    type B = Autodiff<Flex>;

    fn train_once(critics: &mut TwinCritics<B>, device: &Device<B>) -> [f32; 2] {
        let obs = Tensor::<B, 2>::from_floats([[0.5, -1.0, 2.0], [0.1, 0.2, -0.3]], device);
        let actions = Tensor::<B, 2>::from_floats([[0.3], [-0.7]], device);
        let targets = Tensor::<B, 2>::from_floats([[1.0], [-2.0]], device);
        critics
            .regress(obs, actions, 1e-2, |values| {
                (values - targets.clone()).powi_scalar(2).mean()
            })
            .map(|fit| fit.loss.into_scalar())
    }

    /// Saved and loaded, the critics and both Adam states continue as if they had never stopped.
    #[test]
    #[serial(autodiff)]
    fn saved_critics_resume_with_both_optimizers() {
        let device = Default::default();
        let dir = std::env::temp_dir().join(format!("ordergrad-critic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();

        let mut critics = TwinCritics::<B>::new(3, 1, 8, 1, Activation::Relu, 1e-8, &device);
        train_once(&mut critics, &device);
        critics.save(&dir).unwrap();

        let mut resumed = TwinCritics::<B>::new(3, 1, 8, 1, Activation::Relu, 1e-8, &device)
            .load(&dir, &device)
            .unwrap();
        for (original, loaded) in critics.optimizers.iter().zip(&resumed.optimizers) {
            assert_eq!(loaded.to_record().len(), original.to_record().len());
        }
        // A second Adam step moves each critic by its first and second moments: equal losses
        // after it need the restored moments to be the original ones.
        train_once(&mut critics, &device);
        train_once(&mut resumed, &device);
        assert_eq!(
            train_once(&mut resumed, &device),
            train_once(&mut critics, &device)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
