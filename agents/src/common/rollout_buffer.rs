//! PPO's rollout storage and its two kinds of advantage.
//!
//! A [`Segment`] is a run of consecutive steps of one env. With GAE (plain PPO) a rollout is
//! `num_steps` steps of every env, cut wherever it stands; with the OrderGrad episode-group
//! objective (docs/math.md section 5) it is whole episodes, ranked against the other episodes of their
//! group by return. Either way the rollout ends as one flat [`RolloutBatch`].

use ordergrad_core::RankPlan;

/// One env step as PPO stores it.
pub struct StepRecord<'a> {
    /// The (normalised) observation the action was taken in.
    pub obs: &'a [f32],
    pub action: &'a [f32],
    /// log pi_old(action | obs), for the importance ratio.
    pub log_prob: f32,
    /// V_old(obs).
    pub value: f32,
    /// The (normalised) reward the critic learns from.
    pub reward: f32,
    pub terminated: bool,
    pub truncated: bool,
    /// V_old of the episode's last observation when `truncated` (a time limit bootstraps from
    /// it); ignored otherwise.
    pub truncation_value: f32,
}

/// Consecutive steps of one env, as parallel columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Segment {
    pub obs: Vec<f32>,
    pub actions: Vec<f32>,
    pub log_probs: Vec<f32>,
    pub values: Vec<f32>,
    pub rewards: Vec<f32>,
    pub terminated: Vec<bool>,
    pub truncated: Vec<bool>,
    pub truncation_values: Vec<f32>,
}

impl Segment {
    pub fn push(&mut self, step: StepRecord<'_>) {
        self.obs.extend_from_slice(step.obs);
        self.actions.extend_from_slice(step.action);
        self.log_probs.push(step.log_prob);
        self.values.push(step.value);
        self.rewards.push(step.reward);
        self.terminated.push(step.terminated);
        self.truncated.push(step.truncated);
        self.truncation_values.push(step.truncation_value);
    }

    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// GAE(gamma, lambda) advantages of every step (Schulman et al. 2016, as CleanRL computes
    /// them), time-limit-correct: a terminated step bootstraps from 0, a truncated one from
    /// V(final observation), and neither lets the next episode's advantages leak back.
    /// `next_value` is V(the observation after the last step), used when that step did not end
    /// its episode (the rollout cut it).
    pub fn generalized_advantages(&self, next_value: f32, gamma: f32, lambda: f32) -> Vec<f32> {
        let len = self.len();
        let mut advantages = vec![0.0; len];
        let mut next_advantage = 0.0;
        for t in (0..len).rev() {
            let bootstrap = if self.terminated[t] {
                0.0
            } else if self.truncated[t] {
                self.truncation_values[t]
            } else if t + 1 < len {
                self.values[t + 1]
            } else {
                next_value
            };
            if self.terminated[t] || self.truncated[t] || t + 1 == len {
                next_advantage = 0.0;
            }
            let delta = self.rewards[t] + gamma * bootstrap - self.values[t];
            next_advantage = delta + gamma * lambda * next_advantage;
            advantages[t] = next_advantage;
        }
        advantages
    }
}

/// A finished episode: its steps and its undiscounted return in the env's own reward units
/// (before reward normalisation), plus its telescoped shaping where training shapes
/// (`EpisodeShaping`): what the episode-group objective ranks.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub steps: Segment,
    pub episode_return: f64,
}

/// What PPO's update consumes, flat over all the rollout's steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RolloutBatch {
    pub obs: Vec<f32>,
    pub actions: Vec<f32>,
    pub log_probs: Vec<f32>,
    pub values: Vec<f32>,
    /// The policy's advantages: GAE, or K * a_i of the episode's group.
    pub advantages: Vec<f32>,
    /// The critic's targets: GAE advantages + values, in both modes.
    pub returns: Vec<f32>,
}

impl RolloutBatch {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn push(&mut self, steps: &Segment, gae: &[f32], policy_advantages: &[f32]) {
        self.obs.extend_from_slice(&steps.obs);
        self.actions.extend_from_slice(&steps.actions);
        self.log_probs.extend_from_slice(&steps.log_probs);
        self.values.extend_from_slice(&steps.values);
        self.advantages.extend_from_slice(policy_advantages);
        self.returns.extend(
            gae.iter()
                .zip(&steps.values)
                .map(|(gae, value)| gae + value),
        );
    }

    /// Plain PPO: every segment with V(the observation after it), advantages by GAE.
    pub fn from_segments(segments: &[(Segment, f32)], gamma: f32, lambda: f32) -> Self {
        let mut batch = Self::default();
        for (steps, next_value) in segments {
            let gae = steps.generalized_advantages(*next_value, gamma, lambda);
            batch.push(steps, &gae, &gae);
        }
        batch
    }

    /// The OrderGrad episode-group objective (docs/math.md sections 3 and 5): consecutive runs of
    /// `plan.n()` episodes form groups; episode i of a group gets the rank advantage a_i of its
    /// return, and every one of its steps the policy advantage K * a_i (an L-statistic of the
    /// episode return does not split over time, so no GAE here). The critic still learns GAE
    /// returns, which only the value loss and its diagnostics use.
    pub fn from_episode_groups(
        episodes: &[Episode],
        plan: &RankPlan,
        gamma: f32,
        lambda: f32,
    ) -> Result<(Self, Vec<GroupSummary>), ordergrad_core::OrderGradError> {
        let mut batch = Self::default();
        let mut summaries = Vec::new();
        let scale = plan.k() as f64;
        for group in episodes.chunks(plan.n()) {
            let returns: Vec<f64> = group.iter().map(|e| e.episode_return).collect();
            let ranked = plan.advantages(&returns)?;
            for (episode, advantage) in group.iter().zip(&ranked.advantages) {
                let gae = episode.steps.generalized_advantages(0.0, gamma, lambda);
                let policy = vec![(scale * advantage) as f32; episode.steps.len()];
                batch.push(&episode.steps, &gae, &policy);
            }
            summaries.push(GroupSummary {
                value: ranked.value,
                mean_return: returns.iter().sum::<f64>() / returns.len() as f64,
                advantages: ranked.advantages,
            });
        }
        Ok((batch, summaries))
    }
}

/// What a group of episodes logs: the objective's batch value of its returns and their rank
/// advantages.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSummary {
    pub value: f64,
    pub mean_return: f64,
    pub advantages: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordergrad_core::Objective;

    fn segment(rewards: &[f32], values: &[f32], ends: &[(bool, bool, f32)]) -> Segment {
        let mut steps = Segment::default();
        for ((&reward, &value), &(terminated, truncated, truncation_value)) in
            rewards.iter().zip(values).zip(ends)
        {
            steps.push(StepRecord {
                obs: &[0.0],
                action: &[0.0],
                log_prob: 0.0,
                value,
                reward,
                terminated,
                truncated,
                truncation_value,
            });
        }
        steps
    }

    #[test]
    fn gae_matches_a_hand_computation_with_a_truncation_and_a_termination() {
        // Steps 0-1: an episode truncated at step 1 (bootstrap V(final) = 10);
        // steps 2-3: an episode terminated at step 3; step 4: cut by the rollout (next V = 7).
        let (gamma, lambda) = (0.5, 0.5);
        let steps = segment(
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            &[0.5, 1.0, 1.5, 2.0, 2.5],
            &[
                (false, false, 99.0),
                (false, true, 10.0),
                (false, false, 99.0),
                (true, false, 99.0),
                (false, false, 99.0),
            ],
        );
        let advantages = steps.generalized_advantages(7.0, gamma, lambda);
        // Step 4: delta = 5 + 0.5 * 7 - 2.5 = 6.
        // Step 3: terminal, delta = 4 - 2 = 2 (nothing from step 4).
        // Step 2: delta = 3 + 0.5 * 2 - 1.5 = 2.5; A = 2.5 + 0.25 * 2 = 3.
        // Step 1: truncated, delta = 2 + 0.5 * 10 - 1 = 6 (nothing from step 2).
        // Step 0: delta = 1 + 0.5 * 1 - 0.5 = 1; A = 1 + 0.25 * 6 = 2.5.
        assert_eq!(advantages, vec![2.5, 6.0, 3.0, 2.0, 6.0]);
        let batch = RolloutBatch::from_segments(&[(steps, 7.0)], gamma, lambda);
        assert_eq!(batch.returns, vec![3.0, 7.0, 4.5, 4.0, 8.5]);
        assert_eq!(batch.advantages, advantages);
    }

    #[test]
    fn episode_groups_give_every_step_k_times_the_rank_advantage_of_ordergrad_core() {
        let returns = [-120.0, -80.5, -300.0, -80.5, -95.0, -10.0];
        let lengths = [3, 1, 2, 4, 2, 3];
        let episodes: Vec<Episode> = returns
            .iter()
            .zip(lengths)
            .map(|(&episode_return, length)| Episode {
                steps: segment(
                    &vec![1.0; length],
                    &vec![0.0; length],
                    &(0..length)
                        .map(|t| (t + 1 == length, false, 0.0))
                        .collect::<Vec<_>>(),
                ),
                episode_return,
            })
            .collect();
        let plan = RankPlan::new(&"cvar:0.5".parse::<Objective>().unwrap(), 3, 2).unwrap();
        let (batch, summaries) =
            RolloutBatch::from_episode_groups(&episodes, &plan, 0.99, 0.95).unwrap();

        let mut expected = Vec::new();
        for (group, summary) in returns.chunks(3).zip(&summaries) {
            let reference = plan.advantages(group).unwrap();
            assert_eq!(summary.advantages, reference.advantages);
            assert_eq!(summary.value, reference.value);
            expected.extend_from_slice(&reference.advantages);
        }
        let per_step: Vec<f32> = expected
            .iter()
            .zip(lengths)
            .flat_map(|(a, length)| vec![(2.0 * a) as f32; length])
            .collect();
        assert_eq!(batch.advantages, per_step);
        assert_eq!(batch.len(), lengths.iter().sum::<usize>());
        // The critic's targets are still GAE returns: the last step of each episode is
        // terminal with reward 1 and value 0, so its return is 1.
        assert_eq!(batch.returns[2], 1.0);
    }
}
