//! Uniformly random actions: every step before `learning_starts`, and after it with chance
//! `uniform_action_probability` (epsilon-uniform exploration), each such action held for
//! `uniform_action_steps` steps (Dabney et al. 2021's temporally extended epsilon-greedy, with
//! a fixed duration).
//!
//! Why hold it: one random step moves a state only as far as one action can. Where the risk
//! lies several actions away from the states the policy keeps to (the car's speed limit, two
//! full pushes above a cautious cruise), single random steps almost never reach it, and a
//! critic that has not seen the edge of the safe region draws it too early.

use envs::BoxSpace;
use rand::Rng;

use super::settings::OffPolicySettings;

/// Which steps take a uniformly random action, and the one held from an earlier step.
pub struct UniformExploration {
    learning_starts: u64,
    probability: f64,
    hold_steps: u64,
    /// The action being held and the steps it still takes after this one.
    held: Option<(Vec<f32>, u64)>,
}

impl UniformExploration {
    pub fn new(settings: &OffPolicySettings) -> Self {
        Self {
            learning_starts: settings.learning_starts,
            probability: settings.uniform_action_probability,
            hold_steps: settings.uniform_action_steps,
            held: None,
        }
    }

    /// A new episode: a held action is not carried into it.
    pub fn end_episode(&mut self) {
        self.held = None;
    }

    /// The uniformly random action step `step` takes, or None where it takes the policy's.
    /// The coin is drawn only where the chance is above 0, and not while an action is held, so
    /// that runs without these settings draw from `rng` what they always drew.
    pub fn action(&mut self, step: u64, space: &BoxSpace, rng: &mut impl Rng) -> Option<Vec<f32>> {
        if step < self.learning_starts {
            return Some(space.sample(rng));
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

    fn exploration(probability: f64, hold_steps: u64) -> UniformExploration {
        UniformExploration::new(&OffPolicySettings {
            learning_starts: 10,
            uniform_action_probability: probability,
            uniform_action_steps: hold_steps,
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
        held.end_episode();
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
}
