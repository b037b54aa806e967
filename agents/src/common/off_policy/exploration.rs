//! Uniformly random actions: every step before `learning_starts`, and after it with chance
//! `uniform_action_probability` (epsilon-uniform exploration), each such action held for
//! `uniform_action_steps` steps (Dabney et al. 2021's temporally extended epsilon-greedy, with
//! a fixed duration).
//!
//! Why hold it: one random step moves a state only as far as one action can. Where the risk
//! lies several actions away from the states the policy keeps to (the car's speed limit, two
//! full pushes above a cautious cruise), single random steps almost never reach it, and a
//! critic that has not seen the edge of the safe region draws it too early.
//!
//! And whole episodes on the policy's deterministic action, with chance
//! `deterministic_episode_probability`: where the deterministic action stalls (a point the
//! sampled actions leave by chance), only such episodes put the stall into the replay buffer,
//! so that the critics learn what the evaluated policy earns there.

use envs::BoxSpace;
use rand::Rng;

use super::settings::OffPolicySettings;

/// Which steps take a uniformly random action, and the one held from an earlier step; which
/// episodes act deterministically.
pub struct Exploration {
    learning_starts: u64,
    probability: f64,
    hold_steps: u64,
    deterministic_probability: f64,
    /// The action being held and the steps it still takes after this one.
    held: Option<(Vec<f32>, u64)>,
    /// Whether the current episode takes the policy's deterministic action at every step.
    deterministic: bool,
}

impl Exploration {
    pub fn new(settings: &OffPolicySettings) -> Self {
        Self {
            learning_starts: settings.learning_starts,
            probability: settings.uniform_action_probability,
            hold_steps: settings.uniform_action_steps,
            deterministic_probability: settings.deterministic_episode_probability,
            held: None,
            deterministic: false,
        }
    }

    /// A new episode from step `step`: a held action is not carried into it, and it acts
    /// deterministically at its chance (once learning has started). The coin is drawn only
    /// where the chance is above 0.
    pub fn start_episode(&mut self, step: u64, rng: &mut impl Rng) {
        self.held = None;
        self.deterministic = step >= self.learning_starts
            && self.deterministic_probability > 0.0
            && rng.random_bool(self.deterministic_probability);
    }

    /// Whether the policy's action is its deterministic one in this episode.
    pub fn deterministic(&self) -> bool {
        self.deterministic
    }

    /// The uniformly random action step `step` takes, or None where it takes the policy's
    /// (always in a deterministic episode). The coin is drawn only where the chance is above 0,
    /// and not while an action is held, so that runs without these settings draw from `rng`
    /// what they always drew.
    pub fn action(&mut self, step: u64, space: &BoxSpace, rng: &mut impl Rng) -> Option<Vec<f32>> {
        if step < self.learning_starts {
            return Some(space.sample(rng));
        }
        if self.deterministic {
            return None;
        }
        if let Some((action, left)) = self.held.take() {
            if left > 1 {
                self.held = Some((action.clone(), left - 1));
            }
            return Some(action);
        }
        if self.probability > 0.0 && rng.random_bool(self.probability) {
            let action = space.sample(rng);
            if self.hold_steps > 1 {
                self.held = Some((action.clone(), self.hold_steps - 1));
            }
            return Some(action);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn exploration(probability: f64, hold_steps: u64) -> Exploration {
        exploration_with(probability, hold_steps, 0.0)
    }

    fn exploration_with(
        probability: f64,
        hold_steps: u64,
        deterministic_probability: f64,
    ) -> Exploration {
        Exploration::new(&OffPolicySettings {
            learning_starts: 10,
            uniform_action_probability: probability,
            uniform_action_steps: hold_steps,
            deterministic_episode_probability: deterministic_probability,
            ..OffPolicySettings::default()
        })
    }

    fn space() -> BoxSpace {
        BoxSpace::uniform_f32(-1.0, 1.0, 1)
    }

    #[test]
    fn uniform_actions_before_learning_and_then_at_their_chance() {
        let (space, mut rng) = (space(), ChaCha8Rng::seed_from_u64(7));
        // Off: uniform only before learning_starts, and the RNG is not drawn from after it.
        let mut off = exploration(0.0, 1);
        assert!((0..10).all(|step| off.action(step, &space, &mut rng).is_some()));
        let untouched = rng.clone();
        assert!((10..1000).all(|step| off.action(step, &space, &mut rng).is_none()));
        assert_eq!(rng, untouched);
        let mut always = exploration(1.0, 1);
        assert!((10..1000).all(|step| always.action(step, &space, &mut rng).is_some()));
        // At 0.3 over 10000 steps: 3000 expected, sd about 46; 5 sd either side.
        let mut some = exploration(0.3, 1);
        let count = (10..10_010)
            .filter(|&step| some.action(step, &space, &mut rng).is_some())
            .count();
        assert!((2770..=3230).contains(&count), "{count}");
    }

    #[test]
    fn a_drawn_action_is_held_for_its_steps_and_not_into_a_new_episode() {
        let (space, mut rng) = (space(), ChaCha8Rng::seed_from_u64(3));
        let mut held = exploration(1.0, 3);
        let first = held.action(10, &space, &mut rng).unwrap();
        // Held: the next two steps repeat it without drawing.
        let untouched = rng.clone();
        assert_eq!(held.action(11, &space, &mut rng).unwrap(), first);
        assert_eq!(held.action(12, &space, &mut rng).unwrap(), first);
        assert_eq!(rng, untouched);
        // Then a fresh draw, itself held; an episode's end drops it.
        let second = held.action(13, &space, &mut rng).unwrap();
        assert_ne!(second, first);
        held.start_episode(14, &mut rng);
        assert_ne!(held.action(14, &space, &mut rng).unwrap(), second);
        // Before learning_starts every step draws afresh, whatever the hold.
        let mut early = exploration(1.0, 3);
        let a = early.action(0, &space, &mut rng).unwrap();
        assert_ne!(early.action(1, &space, &mut rng).unwrap(), a);
        // At chance 0.3 with a hold of 4, about 0.3 * 4 / (1 + 0.3 * 3) = 63 % of the steps
        // are uniform: 6316 of 10000 expected, sd under 100 (the runs are correlated).
        let mut some = exploration(0.3, 4);
        let count = (10..10_010)
            .filter(|&step| some.action(step, &space, &mut rng).is_some())
            .count();
        assert!((5800..=6800).contains(&count), "{count}");
    }

    #[test]
    fn deterministic_episodes_take_no_uniform_action_and_come_at_their_chance() {
        let (space, mut rng) = (space(), ChaCha8Rng::seed_from_u64(5));
        // Off: no episode is deterministic, and the RNG is not drawn from.
        let mut off = exploration(0.3, 1);
        let untouched = rng.clone();
        off.start_episode(100, &mut rng);
        assert!(!off.deterministic());
        assert_eq!(rng, untouched);
        // Before learning starts an episode is never deterministic: its actions are uniform.
        let mut always = exploration_with(1.0, 3, 1.0);
        always.start_episode(0, &mut rng);
        assert!(!always.deterministic());
        assert!(always.action(0, &space, &mut rng).is_some());
        // After it, a deterministic episode drops a held action and takes none of its own.
        assert!(always.action(10, &space, &mut rng).is_some());
        always.start_episode(11, &mut rng);
        assert!(always.deterministic());
        assert!((11..100).all(|step| always.action(step, &space, &mut rng).is_none()));
        // At 0.2 over 5000 episodes: 1000 expected, sd about 28; 5 sd either side.
        let mut some = exploration_with(0.0, 1, 0.2);
        let count = (0..5000)
            .filter(|&episode| {
                some.start_episode(10 + episode, &mut rng);
                some.deterministic()
            })
            .count();
        assert!((860..=1140).contains(&count), "{count}");
    }
}
