//! Replays episodes recorded from Gymnasium 1.4.0 (`scripts/record_fixtures.py`) and checks
//! that our envs reproduce them: observations and rewards within 1e-6, flags equal at every
//! step. The recorded state after reset is injected; NumPy's random stream is not reproduced.

use std::path::PathBuf;

use envs::{Env, make, rollout};
use serde::Deserialize;
use serde_json::json;

/// The contract's tolerance for observations and rewards.
const TOLERANCE: f64 = 1e-6;

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
    initial_state: Vec<f64>,
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

fn replay(fixture: &Fixture) -> Deviation {
    let mut deviation = Deviation::default();
    for episode in &fixture.episodes {
        let context = |step: usize| format!("{} / {} / step {step}", fixture.env_id, episode.name);
        let mut env = make(&fixture.env_id).unwrap();
        let (observation, _) = env
            .reset_to_state(
                Some(episode.seed),
                &json!({ "state": episode.initial_state }),
            )
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
                observation_error <= TOLERANCE,
                "{}: observation {:?}, Gymnasium {:?}",
                context(t + 1),
                step.observation,
                expected_observation
            );
            assert!(
                reward_error <= TOLERANCE,
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
        Some(&json!({ "state": episode.initial_state })),
    )
    .unwrap();
    assert_eq!(trajectory.terminated, episode.terminated);
    assert_eq!(trajectory.truncated, episode.truncated);
    assert_eq!(trajectory.observations.len(), episode.observations.len());
    for (ours, theirs) in trajectory.observations.iter().zip(&episode.observations) {
        assert!(max_abs_difference(ours, theirs, &episode.name) <= TOLERANCE);
    }
}
