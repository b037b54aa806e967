//! Running mean and variance, as `gymnasium.wrappers.utils.RunningMeanStd`.

use serde::{Deserialize, Serialize};

use crate::error::EnvError;

/// Gymnasium's (and Stable-Baselines3's) initial count: a tiny pseudo-count so that the
/// first update does not divide by zero, with the initial mean 0 and variance 1.
pub const INITIAL_COUNT: f64 = 1e-4;

/// Per-component running mean and (population) variance, merged with Chan et al.'s parallel
/// algorithm. Serialisable, because normaliser statistics are part of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningMeanStd {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub count: f64,
}

impl RunningMeanStd {
    /// Mean 0, variance 1, count 1e-4, for `dim` components.
    pub fn new(dim: usize) -> Self {
        Self {
            mean: vec![0.0; dim],
            var: vec![1.0; dim],
            count: INITIAL_COUNT,
        }
    }

    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Adds one sample (a batch of size 1, as the single-env wrappers call it).
    pub fn update(&mut self, sample: &[f64]) {
        debug_assert_eq!(sample.len(), self.dim());
        let zeros = vec![0.0; sample.len()];
        self.update_from_moments(sample, &zeros, 1.0);
    }

    /// Merges a batch summarised by its mean, population variance and size
    /// (`update_mean_var_count_from_moments`).
    pub fn update_from_moments(&mut self, batch_mean: &[f64], batch_var: &[f64], batch_count: f64) {
        let total_count = self.count + batch_count;
        for ((mean, var), (&b_mean, &b_var)) in self
            .mean
            .iter_mut()
            .zip(self.var.iter_mut())
            .zip(batch_mean.iter().zip(batch_var))
        {
            let delta = b_mean - *mean;
            *mean += delta * batch_count / total_count;
            let m2 = *var * self.count
                + b_var * batch_count
                + delta * delta * self.count * batch_count / total_count;
            *var = m2 / total_count;
        }
        self.count = total_count;
    }

    /// Checks that restored statistics fit an env with `dim` components and are usable.
    pub(crate) fn check_compatible(&self, dim: usize, owner: &str) -> Result<(), EnvError> {
        if self.mean.len() != dim || self.var.len() != dim {
            return Err(EnvError::InvalidArgument(format!(
                "{owner}: statistics have mean of length {} and var of length {}, expected {dim}",
                self.mean.len(),
                self.var.len()
            )));
        }
        let all_finite = self.mean.iter().chain(&self.var).all(|x| x.is_finite());
        let count_positive = self.count.is_finite() && self.count > 0.0;
        if !all_finite || self.var.iter().any(|&v| v < 0.0) || !count_positive {
            return Err(EnvError::InvalidArgument(format!(
                "{owner}: statistics must be finite with var >= 0 and count > 0, got {self:?}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn running_statistics_match_the_batch_mean_and_variance(
            samples in proptest::collection::vec(-100.0f64..100.0, 2..50)
        ) {
            let mut stats = RunningMeanStd::new(1);
            for &x in &samples {
                stats.update(&[x]);
            }
            let n = samples.len() as f64;
            let mean = samples.iter().sum::<f64>() / n;
            let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            // The 1e-4 pseudo-count of (mean 0, var 1) biases the result by ~1e-4 / n.
            prop_assert!((stats.mean[0] - mean).abs() < 1e-3 * (1.0 + mean.abs()));
            prop_assert!((stats.var[0] - var).abs() < 1e-3 * (1.0 + var + mean * mean));
            prop_assert!((stats.count - n - INITIAL_COUNT).abs() < 1e-9);
        }
    }
}
