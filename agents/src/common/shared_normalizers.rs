//! One set of normaliser statistics for all of PPO's envs, as SB3's `VecNormalize` keeps
//! (`ppo.shared_normalization`), where CleanRL gives each env its own. With per-env statistics an
//! env whose episodes keep failing (a pendulum that spins) gathers statistics of its own, so the
//! policy sees its states scaled differently from the other envs' and can stay stuck there; the
//! evaluation env, normalised by the pooled statistics, sees yet another scaling.
//!
//! The env stack keeps its per-env wrappers: after every reset and step of the vector env, what
//! each env's normalisers added since the last synchronisation is merged into one set of
//! statistics (Chan et al.'s parallel update), which every env then takes. Observations are
//! normalised with the statistics of the previous synchronisation plus the env's own new sample.

use envs::VectorEnv;
use envs::wrappers::RunningMeanStd;

use crate::common::on_policy::{NormalizerStatistics, PpoEnv};

/// The statistics every env held at the last synchronisation.
pub struct SharedNormalizers {
    last: NormalizerStatistics,
}

impl SharedNormalizers {
    pub fn new(envs: &VectorEnv<PpoEnv>) -> Self {
        Self {
            last: NormalizerStatistics::capture(envs),
        }
    }

    /// Merges what every env added since the last call into one set of statistics and gives it
    /// to every env.
    pub fn sync(&mut self, envs: &mut VectorEnv<PpoEnv>) -> anyhow::Result<()> {
        let now = NormalizerStatistics::capture(envs);
        let num_envs = envs.num_envs();
        let observation = merged(&self.last.observation, &now.observation);
        let reward = merged(&self.last.reward, &now.reward);
        let shared = NormalizerStatistics {
            observation: vec![observation; num_envs],
            reward: vec![reward; num_envs],
        };
        shared.restore(envs)?;
        self.last = shared;
        Ok(())
    }
}

/// The first env's statistics before, plus every env's new samples.
fn merged(before: &[RunningMeanStd], after: &[RunningMeanStd]) -> RunningMeanStd {
    let mut shared = before[0].clone();
    for (before, after) in before.iter().zip(after) {
        if let Some((mean, var, count)) = added(before, after) {
            shared.update_from_moments(&mean, &var, count);
        }
    }
    shared
}

/// The mean, population variance and count of the samples `after` holds beyond `before`
/// (`RunningMeanStd::update_from_moments` inverted); None when it holds none.
fn added(before: &RunningMeanStd, after: &RunningMeanStd) -> Option<(Vec<f64>, Vec<f64>, f64)> {
    let count = after.count - before.count;
    // Counts grow by whole samples.
    if count < 0.5 {
        return None;
    }
    let mut means = Vec::with_capacity(before.mean.len());
    let mut vars = Vec::with_capacity(before.mean.len());
    for i in 0..before.mean.len() {
        let mean = (after.count * after.mean[i] - before.count * before.mean[i]) / count;
        let delta = mean - before.mean[i];
        let m2 = after.var[i] * after.count
            - before.var[i] * before.count
            - delta * delta * before.count * count / after.count;
        means.push(mean);
        vars.push((m2 / count).max(0.0));
    }
    Some((means, vars, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_the_new_samples_of_each_env_equals_one_shared_update() {
        let mut base = RunningMeanStd::new(2);
        for sample in [[0.5, -1.0], [2.0, 3.0], [1.0, 0.0]] {
            base.update(&sample);
        }
        let samples = [[[1.5, 2.5], [-0.5, 4.0]], [[3.0, -2.0], [0.25, 0.75]]];
        let mut expected = base.clone();
        let after: Vec<RunningMeanStd> = samples
            .iter()
            .map(|env| {
                let mut stats = base.clone();
                for sample in env {
                    stats.update(sample);
                    expected.update(sample);
                }
                stats
            })
            .collect();
        let shared = merged(&[base.clone(), base], &after);
        assert!((shared.count - expected.count).abs() < 1e-9);
        for i in 0..2 {
            assert!((shared.mean[i] - expected.mean[i]).abs() < 1e-9);
            assert!((shared.var[i] - expected.var[i]).abs() < 1e-9);
        }
    }
}
