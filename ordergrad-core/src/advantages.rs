//! The likelihood-ratio (score-function) form of math.md section 3: rank advantages a_i = q_i - v_i,
//! computed per group with one sort and two O(N) scans.

use crate::error::{OrderGradError, Result};
use crate::plan::RankPlan;

/// Rank advantages of one group, in the group's original order, and the group's batch value.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupAdvantages {
    pub value: f64,
    pub advantages: Vec<f64>,
}

/// Reusable working memory for [`RankPlan::advantages_into`], so that a loop over many groups
/// allocates nothing.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    keys: Vec<u64>,
    order: Vec<(f64, usize)>,
    sorted_advantages: Vec<f64>,
}

impl RankPlan {
    /// The batch value sum_m w_m r_(m) of one group (any K <= N). Errors on a wrong length or a
    /// non-finite reward (checked before sorting, so no NaN is ever sorted).
    pub fn value(&self, rewards: &[f64]) -> Result<f64> {
        self.check_group(0, rewards)?;
        let mut sorted = rewards.to_vec();
        sorted.sort_by(f64::total_cmp);
        Ok(dot(self.rank_weights(), &sorted))
    }

    /// Rank advantages and value of one group of N rewards (needs K <= N - 1).
    pub fn advantages(&self, rewards: &[f64]) -> Result<GroupAdvantages> {
        let mut advantages = vec![0.0; self.n()];
        let value = self.advantages_into(rewards, &mut advantages, &mut Scratch::default())?;
        Ok(GroupAdvantages { value, advantages })
    }

    /// Rank advantages of many groups at once: `rewards` is a row-major `[groups, N]` slice, and
    /// `advantages` (same length) receives them in the same layout. Returns each group's value.
    /// The error of a bad group names its index.
    pub fn batch_advantages(&self, rewards: &[f64], advantages: &mut [f64]) -> Result<Vec<f64>> {
        self.lr_coefficients()?;
        let n = self.n();
        if !rewards.len().is_multiple_of(n) {
            return Err(OrderGradError::RaggedGroups {
                len: rewards.len(),
                n,
            });
        }
        if advantages.len() != rewards.len() {
            return Err(OrderGradError::OutputLength {
                got: advantages.len(),
                expected: rewards.len(),
            });
        }
        let mut scratch = Scratch::default();
        rewards
            .chunks_exact(n)
            .zip(advantages.chunks_exact_mut(n))
            .enumerate()
            .map(|(group, (group_rewards, group_advantages))| {
                let mean = self.check_group(group, group_rewards)?;
                Ok(self.advantages_of_valid_group(
                    group_rewards,
                    mean,
                    group_advantages,
                    &mut scratch,
                ))
            })
            .collect()
    }

    /// Rank advantages of one group written into `advantages`; returns the group's value.
    pub fn advantages_into(
        &self,
        rewards: &[f64],
        advantages: &mut [f64],
        scratch: &mut Scratch,
    ) -> Result<f64> {
        self.lr_coefficients()?;
        let mean = self.check_group(0, rewards)?;
        if advantages.len() != rewards.len() {
            return Err(OrderGradError::OutputLength {
                got: advantages.len(),
                expected: rewards.len(),
            });
        }
        Ok(self.advantages_of_valid_group(rewards, mean, advantages, scratch))
    }

    /// Checks length and finiteness and returns the group's mean, in one pass over the rewards
    /// when they are finite (a NaN or infinity makes the sum non-finite).
    fn check_group(&self, group: usize, rewards: &[f64]) -> Result<f64> {
        if rewards.len() != self.n() {
            return Err(OrderGradError::RaggedGroups {
                len: rewards.len(),
                n: self.n(),
            });
        }
        let n = rewards.len() as f64;
        let sum: f64 = rewards.iter().sum();
        if sum.is_finite() {
            return Ok(sum / n);
        }
        match rewards.iter().position(|reward| !reward.is_finite()) {
            Some(index) => Err(OrderGradError::NonFiniteReward {
                group,
                index,
                value: rewards[index],
            }),
            // Finite rewards whose sum overflows.
            None => Ok(rewards.iter().map(|reward| reward / n).sum()),
        }
    }

    /// The scans of math.md section 3 on a group already checked to be finite and of length N,
    /// whose mean is `mean`.
    fn advantages_of_valid_group(
        &self,
        rewards: &[f64],
        mean: f64,
        advantages: &mut [f64],
        scratch: &mut Scratch,
    ) -> f64 {
        let lr = self
            .lr_coefficients()
            .expect("check_group verified that the LR form exists");
        let n = rewards.len();
        // Advantages are translation invariant, so work on centred rewards: a large common
        // offset then costs no precision.
        // The sort is most of the cost, and sorting bare u64 keys is about twice as fast as
        // sorting (value, index) pairs. So each key is the value's order-preserving bits with
        // the item's index in the lowest ceil(log2 N) bits: one sort yields order and index.
        // Values that differ only in those low bits (relative gap < 2^-(52 - log2 N)) may come
        // out swapped; the insertion pass below restores the exact order, in O(N) since the
        // input is almost sorted.
        let index_bits = usize::BITS - (n - 1).leading_zeros();
        let index_mask = (1u64 << index_bits) - 1;
        let keys = &mut scratch.keys;
        keys.clear();
        keys.extend(rewards.iter().enumerate().map(|(index, reward)| {
            (ordered_bits(reward - mean + 0.0) & !index_mask) | index as u64
        }));
        keys.sort_unstable();
        let order = &mut scratch.order;
        order.clear();
        order.extend(keys.iter().map(|&key| {
            let index = (key & index_mask) as usize;
            // Adding 0.0 turns -0.0 into 0.0, so that equal rewards compare equal below.
            (rewards[index] - mean + 0.0, index)
        }));
        for i in 1..n {
            let mut j = i;
            while j > 0 && order[j - 1].0 > order[j].0 {
                order.swap(j - 1, j);
                j -= 1;
            }
        }

        let sorted_advantages = &mut scratch.sorted_advantages;
        sorted_advantages.clear();
        sorted_advantages.resize(n, 0.0);
        let mut below_sum = 0.0;
        let mut centred_value = 0.0;
        for (t, &(reward, _)) in order.iter().enumerate() {
            sorted_advantages[t] = below_sum + reward * lr.itself[t];
            below_sum += reward * lr.below[t];
            centred_value += reward * self.rank_weights()[t];
        }
        let mut above_sum = 0.0;
        for (t, &(reward, _)) in order.iter().enumerate().rev() {
            sorted_advantages[t] += above_sum;
            above_sum += reward * lr.above[t];
        }

        // Tied rewards have equal advantages in exact arithmetic; averaging each run of ties
        // makes them bit-identical whatever the tie-break.
        let mut run_start = 0;
        while run_start < n {
            let mut run_end = run_start + 1;
            while run_end < n && order[run_end].0 == order[run_start].0 {
                run_end += 1;
            }
            if run_end - run_start > 1 {
                let run = &mut sorted_advantages[run_start..run_end];
                let run_mean = run.iter().sum::<f64>() / run.len() as f64;
                run.fill(run_mean);
            }
            run_start = run_end;
        }

        for (&(_, index), &advantage) in order.iter().zip(sorted_advantages.iter()) {
            advantages[index] = advantage;
        }
        centred_value + mean * self.rank_weights().iter().sum::<f64>()
    }
}

/// An integer whose order is the order of the (finite) floats: flip all bits of negatives, the
/// sign bit of positives.
fn ordered_bits(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_bits_sorts_like_the_floats() {
        let values = [-f64::MAX, -1.5, -1e-300, 0.0, 1e-300, 2.0, f64::MAX];
        for pair in values.windows(2) {
            assert!(ordered_bits(pair[0]) < ordered_bits(pair[1]), "{pair:?}");
        }
        assert_eq!(ordered_bits(-0.0 + 0.0), ordered_bits(0.0));
    }
}
