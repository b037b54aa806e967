//! n-step targets (`n_step`): each stored transition spans up to n env steps, its reward their
//! discounted sum, its next observation the state after the last of them, so that the target
//! r_t + gamma r_{t+1} + ... + gamma^k V(s_{t+k}) bootstraps k steps later (k <= n).
//!
//! Why: a one-step target learns a cost that recurs at every step (a stall, a slow cruise) one
//! step's cost per backup, and where that is below the critic's own error it is never learned
//! (docs/results-risk.md). Over n steps the same cost arrives n times per backup.
//!
//! A window closes early, bootstrapping where it stands, at the episode's end and before a
//! uniformly random action: the rewards after such an action are not what the policy would
//! have earned (Watkins's cut of the trace at an exploratory action). The first action of a
//! window may be anything: it is the action whose value the transition teaches. The policy's
//! own sampled actions count as the policy's, and the entropy bonus of the intermediate steps
//! is left out of the sum, as n-step SAC variants do.
//!
//! With n = 1 every window closes on the step it opens, and the buffer receives exactly the
//! one-step transitions it always did.

use std::collections::VecDeque;

use crate::common::replay::{ReplayBuffer, Transition};

/// One env step as the training loop saw it.
pub struct EnvStep<'a> {
    pub obs: &'a [f32],
    pub action: &'a [f32],
    /// The stored (possibly shaped) reward.
    pub reward: f64,
    pub next_obs: &'a [f32],
    pub terminated: bool,
    pub truncated: bool,
    /// False for a uniformly random action, which closes every open window before it.
    pub policy_action: bool,
}

/// A window not yet closed: where it started, and the discounted reward of its steps so far.
struct OpenWindow {
    obs: Vec<f32>,
    action: Vec<f32>,
    reward: f64,
    steps: u32,
}

/// The open windows of the current episode, oldest first.
pub struct NStepWindows {
    max_steps: u64,
    gamma: f64,
    open: VecDeque<OpenWindow>,
}

impl NStepWindows {
    pub fn new(max_steps: u64, gamma: f64) -> Self {
        Self {
            max_steps,
            gamma,
            open: VecDeque::new(),
        }
    }

    /// Adds `step` to every open window, opens one at it, and stores in `buffer` each window
    /// that closes with it.
    pub fn record(&mut self, step: EnvStep<'_>, buffer: &mut ReplayBuffer) {
        if !step.policy_action {
            self.close_all(step.obs, false, buffer);
        }
        self.open.push_back(OpenWindow {
            obs: step.obs.to_vec(),
            action: step.action.to_vec(),
            reward: 0.0,
            steps: 0,
        });
        for window in &mut self.open {
            window.reward += self.gamma.powi(window.steps as i32) * step.reward;
            window.steps += 1;
        }
        // Windows open one per step, so only the oldest can be full.
        if self
            .open
            .front()
            .is_some_and(|w| u64::from(w.steps) >= self.max_steps)
        {
            let full = self.open.pop_front().expect("checked above");
            store(full, step.next_obs, step.terminated, buffer);
        }
        if step.terminated || step.truncated {
            self.close_all(step.next_obs, step.terminated, buffer);
        }
    }

    /// Stores every open window, bootstrapping at `obs` (or not at all where `terminated`):
    /// at an episode's end, before a random action, and when training stops mid-episode.
    pub fn close_all(&mut self, obs: &[f32], terminated: bool, buffer: &mut ReplayBuffer) {
        for window in self.open.drain(..) {
            store(window, obs, terminated, buffer);
        }
    }
}

fn store(window: OpenWindow, next_obs: &[f32], terminated: bool, buffer: &mut ReplayBuffer) {
    buffer.push(Transition {
        obs: &window.obs,
        action: &window.action,
        reward: window.reward as f32,
        next_obs,
        terminated,
        bootstrap_steps: window.steps,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `steps` (reward, terminated, truncated, policy action) from obs 0, 1, 2, ... through
    /// windows of `n` steps with gamma 0.5, and returns every stored transition as
    /// (obs, reward, next_obs, terminated, bootstrap_steps), in storage order.
    fn stored(n: u64, steps: &[(f64, bool, bool, bool)]) -> Vec<(f32, f32, f32, bool, f32)> {
        let mut buffer = ReplayBuffer::new(100, 1, 1);
        let mut windows = NStepWindows::new(n, 0.5);
        for (t, &(reward, terminated, truncated, policy_action)) in steps.iter().enumerate() {
            let (obs, next_obs) = ([t as f32], [t as f32 + 1.0]);
            windows.record(
                EnvStep {
                    obs: &obs,
                    action: &[0.0],
                    reward,
                    next_obs: &next_obs,
                    terminated,
                    truncated,
                    policy_action,
                },
                &mut buffer,
            );
        }
        let batch = buffer.all();
        (0..batch.size)
            .map(|i| {
                (
                    batch.obs[i],
                    batch.rewards[i],
                    batch.next_obs[i],
                    batch.terminated[i] == 1.0,
                    batch.bootstrap_steps[i],
                )
            })
            .collect()
    }

    const STEP: (f64, bool, bool, bool) = (1.0, false, false, true);

    #[test]
    fn one_step_windows_store_each_step_as_it_comes() {
        let rows = stored(1, &[(2.0, false, false, true), (3.0, true, false, false)]);
        assert_eq!(
            rows,
            vec![(0.0, 2.0, 1.0, false, 1.0), (1.0, 3.0, 2.0, true, 1.0)]
        );
    }

    #[test]
    fn a_full_window_sums_its_discounted_rewards_and_bootstraps_n_steps_later() {
        let rewards = [
            (1.0, false, false, true),
            (2.0, false, false, true),
            (4.0, false, false, true),
        ];
        let rows = stored(3, &rewards);
        // Only the first window is full: 1 + 0.5 * 2 + 0.25 * 4 = 3, next state obs 3.
        assert_eq!(rows, vec![(0.0, 3.0, 3.0, false, 3.0)]);
    }

    #[test]
    fn the_episode_end_closes_every_window_there() {
        let rows = stored(3, &[STEP, STEP, (1.0, true, false, true)]);
        assert_eq!(
            rows,
            vec![
                (0.0, 1.75, 3.0, true, 3.0),
                (1.0, 1.5, 3.0, true, 2.0),
                (2.0, 1.0, 3.0, true, 1.0),
            ]
        );
        // A truncation closes them too, but they bootstrap.
        let rows = stored(5, &[STEP, (1.0, false, true, true)]);
        assert_eq!(
            rows,
            vec![(0.0, 1.5, 2.0, false, 2.0), (1.0, 1.0, 2.0, false, 1.0)]
        );
    }

    #[test]
    fn a_random_action_closes_the_windows_before_it_and_opens_its_own() {
        let rows = stored(
            4,
            &[
                STEP,
                STEP,
                (1.0, false, false, false),
                STEP,
                (1.0, true, false, true),
            ],
        );
        assert_eq!(
            rows,
            vec![
                // Closed at obs 2, before the random action taken there.
                (0.0, 1.5, 2.0, false, 2.0),
                (1.0, 1.0, 2.0, false, 1.0),
                // The random action's own window runs on to the end.
                (2.0, 1.75, 5.0, true, 3.0),
                (3.0, 1.5, 5.0, true, 2.0),
                (4.0, 1.0, 5.0, true, 1.0),
            ]
        );
    }

    #[test]
    fn stopping_mid_episode_stores_the_open_windows_bootstrapping_where_they_stand() {
        let mut buffer = ReplayBuffer::new(10, 1, 1);
        let mut windows = NStepWindows::new(5, 0.5);
        windows.record(
            EnvStep {
                obs: &[0.0],
                action: &[0.0],
                reward: 1.0,
                next_obs: &[1.0],
                terminated: false,
                truncated: false,
                policy_action: true,
            },
            &mut buffer,
        );
        assert_eq!(buffer.len(), 0);
        windows.close_all(&[1.0], false, &mut buffer);
        assert_eq!(buffer.len(), 1);
        let batch = buffer.all();
        assert_eq!(
            (
                batch.rewards[0],
                batch.next_obs[0],
                batch.bootstrap_steps[0]
            ),
            (1.0, 1.0, 1.0)
        );
    }
}
