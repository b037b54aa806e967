//! Replays episodes recorded from Gymnasium 1.4.0 (`scripts/record_fixtures.py`) and checks
//! that our envs reproduce them, flags equal at every step: classic control within 1e-6
//! (observations and rewards), MuJoCo (feature `mujoco`, MuJoCo 3.17.0) with observations
//! within 1e-9 and rewards within 1e-6. The recorded state after reset is injected; NumPy's
//! random stream is not reproduced.

use std::path::PathBuf;

use envs::{Env, make, rollout};
use serde::Deserialize;
use serde_json::{Value, json};

/// The contract's tolerance for observations and rewards.
const TOLERANCE: f64 = 1e-6;

/// How close a replay must come, per quantity.
#[derive(Debug, Clone, Copy)]
struct Tolerances {
    observation: f64,
    reward: f64,
}

const CLASSIC: Tolerances = Tolerances {
    observation: TOLERANCE,
    reward: TOLERANCE,
};

#[derive(Deserialize)]
struct Fixture {
    env_id: String,
    gymnasium_version: String,
    episodes: Vec<Episode>,
}

#[derive(Deserialize)]
struct Episode {
    name: String,
    seed: u64,
    /// `[numbers]` for classic control (`{"state": [...]}` in `reset_to_state`), or
    /// `{"qpos": [...], "qvel": [...]}` for MuJoCo.
    initial_state: Value,
    actions: Vec<Vec<f32>>,
    observations: Vec<Vec<f64>>,
    rewards: Vec<f64>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
}

fn load(file_name: &str) -> Fixture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file_name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    // serde_json's `float_roundtrip` feature (enabled in the workspace) parses exactly.
    let fixture: Fixture = serde_json::from_str(&text).expect("fixture JSON");
    assert_eq!(
        fixture.gymnasium_version, "1.4.0",
        "fixtures must come from the pinned Gymnasium"
    );
    fixture
}

/// Largest deviation seen over a fixture, to report how close "within 1e-6" really is.
#[derive(Default, Debug)]
struct Deviation {
    observation: f64,
    reward: f64,
    steps: usize,
}

impl Episode {
    /// The recorded start state as `reset_to_state` takes it.
    fn initial_state_json(&self) -> Value {
        match &self.initial_state {
            Value::Array(_) => json!({ "state": self.initial_state }),
            state => state.clone(),
        }
    }
}

fn replay(fixture: &Fixture) -> Deviation {
    replay_within(fixture, CLASSIC)
}

fn replay_within(fixture: &Fixture, tolerances: Tolerances) -> Deviation {
    let mut deviation = Deviation::default();
    for episode in &fixture.episodes {
        let context = |step: usize| format!("{} / {} / step {step}", fixture.env_id, episode.name);
        let mut env = make(&fixture.env_id).unwrap();
        let (observation, _) = env
            .reset_to_state(Some(episode.seed), &episode.initial_state_json())
            .unwrap();
        deviation.observation = deviation.observation.max(max_abs_difference(
            &observation,
            &episode.observations[0],
            &context(0),
        ));

        for (t, action) in episode.actions.iter().enumerate() {
            let step = env.step(action).unwrap();
            let expected_observation = &episode.observations[t + 1];
            let observation_error =
                max_abs_difference(&step.observation, expected_observation, &context(t + 1));
            let reward_error = (step.reward - episode.rewards[t]).abs();
            assert!(
                observation_error <= tolerances.observation,
                "{}: observation {:?}, Gymnasium {:?}",
                context(t + 1),
                step.observation,
                expected_observation
            );
            assert!(
                reward_error <= tolerances.reward,
                "{}: reward {}, Gymnasium {}",
                context(t + 1),
                step.reward,
                episode.rewards[t]
            );
            assert_eq!(
                step.terminated,
                episode.terminated[t],
                "{}: terminated",
                context(t + 1)
            );
            assert_eq!(
                step.truncated,
                episode.truncated[t],
                "{}: truncated",
                context(t + 1)
            );
            deviation.observation = deviation.observation.max(observation_error);
            deviation.reward = deviation.reward.max(reward_error);
            deviation.steps += 1;
        }
    }
    eprintln!("{}: {deviation:?}", fixture.env_id);
    deviation
}

fn max_abs_difference(ours: &[f64], gymnasium: &[f64], context: &str) -> f64 {
    assert_eq!(ours.len(), gymnasium.len(), "{context}: observation length");
    ours.iter()
        .zip(gymnasium)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

#[test]
fn pendulum_matches_gymnasium() {
    let deviation = replay(&load("pendulum-v1.json"));
    assert!(deviation.steps > 1000);
}

#[test]
fn mountain_car_continuous_matches_gymnasium() {
    let fixture = load("mountain_car_continuous-v0.json");
    let deviation = replay(&fixture);
    assert!(deviation.steps > 1500);
    let ended = |flags: fn(&Episode) -> bool| fixture.episodes.iter().any(flags);
    assert!(
        ended(|e| *e.terminated.last().unwrap()),
        "a fixture must reach the goal"
    );
    assert!(
        ended(|e| *e.truncated.last().unwrap()),
        "a fixture must hit the 999-step limit"
    );
}

/// With the float32 terms copied from NumPy 2, the match is exact (same libm: glibc's
/// correctly rounded sin/cos on both sides). Elsewhere only the 1e-6 contract is checked.
#[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
#[test]
fn classic_envs_match_gymnasium_bit_for_bit_on_linux() {
    for file in ["pendulum-v1.json", "mountain_car_continuous-v0.json"] {
        let deviation = replay(&load(file));
        assert_eq!(
            (deviation.observation, deviation.reward),
            (0.0, 0.0),
            "{file}"
        );
    }
}

#[test]
fn rollout_reproduces_a_fixture_episode() {
    let fixture = load("mountain_car_continuous-v0.json");
    let episode = fixture
        .episodes
        .iter()
        .find(|e| *e.terminated.last().unwrap())
        .unwrap();
    // Extra actions after the goal must be ignored.
    let mut actions = episode.actions.clone();
    actions.extend(vec![vec![0.0]; 10]);
    let trajectory = rollout(
        &fixture.env_id,
        &actions,
        Some(episode.seed),
        Some(&episode.initial_state_json()),
    )
    .unwrap();
    assert_eq!(trajectory.terminated, episode.terminated);
    assert_eq!(trajectory.truncated, episode.truncated);
    assert_eq!(trajectory.observations.len(), episode.observations.len());
    for (ours, theirs) in trajectory.observations.iter().zip(&episode.observations) {
        assert!(max_abs_difference(ours, theirs, &episode.name) <= TOLERANCE);
    }
}

/// MuJoCo v5: the nine envs replay Gymnasium 1.4.0 on MuJoCo 3.17.0.
#[cfg(feature = "mujoco")]
mod mujoco {
    use super::*;

    /// Observations: the contract allows 1e-9; the same MuJoCo build gives exactly 0.
    const MUJOCO: Tolerances = Tolerances {
        observation: 1e-9,
        reward: TOLERANCE,
    };

    /// Replays a fixture, checks what it must cover, and returns the deviations.
    fn replay_mujoco(file: &str) -> (Fixture, Deviation) {
        let fixture = load(file);
        let deviation = replay_within(&fixture, MUJOCO);
        assert!(fixture.episodes.len() >= 4, "{file}: several seeds");
        (fixture, deviation)
    }

    fn ends_by(fixture: &Fixture, flag: fn(&Episode) -> &Vec<bool>) -> bool {
        fixture
            .episodes
            .iter()
            .any(|episode| *flag(episode).last().unwrap())
    }

    fn terminates(fixture: &Fixture) -> bool {
        ends_by(fixture, |episode| &episode.terminated)
    }

    const FIXTURES: [&str; 9] = [
        "half_cheetah-v5.json",
        "hopper-v5.json",
        "walker2d-v5.json",
        "ant-v5.json",
        "inverted_pendulum-v5.json",
        "inverted_double_pendulum-v5.json",
        "reacher-v5.json",
        "swimmer-v5.json",
        "humanoid-v5.json",
    ];

    /// The same MuJoCo library and the NumPy reductions copied in `envs::mujoco` give exact
    /// observations and rewards on the platform the fixtures were recorded on.
    #[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
    #[test]
    fn mujoco_envs_match_gymnasium_bit_for_bit_on_linux() {
        let mut steps = 0;
        for file in FIXTURES {
            let deviation = replay_within(&load(file), MUJOCO);
            assert_eq!(
                (deviation.observation, deviation.reward),
                (0.0, 0.0),
                "{file}"
            );
            steps += deviation.steps;
        }
        eprintln!("{steps} MuJoCo steps replayed exactly");
    }

    #[test]
    fn half_cheetah_matches_gymnasium() {
        let (_, deviation) = replay_mujoco("half_cheetah-v5.json");
        assert!(deviation.steps >= 500);
    }

    #[test]
    fn hopper_matches_gymnasium() {
        let (fixture, deviation) = replay_mujoco("hopper-v5.json");
        assert!(terminates(&fixture));
        assert!(deviation.steps >= 100);
    }

    #[test]
    fn walker2d_matches_gymnasium() {
        let (fixture, deviation) = replay_mujoco("walker2d-v5.json");
        assert!(terminates(&fixture));
        assert!(deviation.steps >= 100);
    }

    #[test]
    fn ant_matches_gymnasium() {
        let (fixture, deviation) = replay_mujoco("ant-v5.json");
        assert!(terminates(&fixture));
        assert!(deviation.steps >= 200);
    }

    #[test]
    fn inverted_pendulum_matches_gymnasium() {
        let (fixture, deviation) = replay_mujoco("inverted_pendulum-v5.json");
        assert!(terminates(&fixture));
        assert!(
            ends_by(&fixture, |episode| &episode.truncated),
            "a fixture must reach the 1000-step limit"
        );
        assert!(deviation.steps >= 1000);
    }

    #[test]
    fn inverted_double_pendulum_matches_gymnasium() {
        let (fixture, deviation) = replay_mujoco("inverted_double_pendulum-v5.json");
        assert!(terminates(&fixture));
        assert!(deviation.steps >= 600);
    }

    #[test]
    fn reacher_matches_gymnasium() {
        let (fixture, deviation) = replay_mujoco("reacher-v5.json");
        assert!(
            ends_by(&fixture, |episode| &episode.truncated),
            "a fixture must reach the 50-step limit"
        );
        assert!(deviation.steps >= 200);
    }

    #[test]
    fn swimmer_matches_gymnasium() {
        let (_, deviation) = replay_mujoco("swimmer-v5.json");
        assert!(deviation.steps >= 500);
    }

    #[test]
    fn humanoid_matches_gymnasium() {
        let (fixture, deviation) = replay_mujoco("humanoid-v5.json");
        assert!(terminates(&fixture));
        assert!(deviation.steps >= 100);
    }
}
