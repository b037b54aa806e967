//! The risky tasks against their written-down oracle: scripted optimal behaviours take the
//! promised number of steps and risky steps and earn the promised returns, the penalty strikes
//! as often as its probability says, the time limits truncate, and a seed repeats its episode.

use std::collections::{BTreeMap, VecDeque};

use envs::risky::coin::{PENALTY_EVENT_KEY, PENALTY_KEY, RISKY_STEP_KEY};
use envs::risky::{Penalty, RiskyCar, RiskyCrossing, car, crossing};
use envs::{Env, EnvError, make};

/// What one episode gave.
#[derive(Debug, Clone, PartialEq)]
struct Episode {
    rewards: Vec<f64>,
    risky_steps: usize,
    penalty_events: usize,
    terminated: bool,
    truncated: bool,
    /// Every observation after the reset one.
    observations: Vec<Vec<f64>>,
}

impl Episode {
    fn steps(&self) -> usize {
        self.rewards.len()
    }

    fn episode_return(&self) -> f64 {
        self.rewards.iter().sum()
    }
}

/// Runs `policy` (observation -> action) in `make(id)` from a reset with `seed` to the end.
fn play(id: &str, seed: u64, mut policy: impl FnMut(&[f64]) -> Vec<f32>) -> Episode {
    let mut env = make(id).unwrap();
    let (mut observation, _) = env.reset(Some(seed));
    let mut episode = Episode {
        rewards: Vec::new(),
        risky_steps: 0,
        penalty_events: 0,
        terminated: false,
        truncated: false,
        observations: Vec::new(),
    };
    loop {
        let step = env.step(&policy(&observation)).unwrap();
        let flag = |key: &str| usize::from(step.info.values[key] > 0.0);
        episode.risky_steps += flag(RISKY_STEP_KEY);
        episode.penalty_events += flag(PENALTY_EVENT_KEY);
        episode.rewards.push(step.reward);
        episode.observations.push(step.observation.clone());
        if step.is_done() {
            episode.terminated = step.terminated;
            episode.truncated = step.truncated;
            return episode;
        }
        observation = step.observation;
    }
}

/// +1, -1 or 0 towards `target` on one axis of the crossing's grid of tenths: moves stay on the
/// grid, so the scripted paths land exactly where the arithmetic below says.
fn towards(from: f64, target: f64) -> f32 {
    let gap = target - from;
    if gap > 0.05 {
        1.0
    } else if gap < -0.05 {
        -1.0
    } else {
        0.0
    }
}

/// Straight up from the start to the goal, through the band.
fn direct(_: &[f64]) -> Vec<f32> {
    vec![0.0, 1.0]
}

/// Round the band's open end (x <= 0.8): out along y = 0.4, below the band, to its end; one
/// diagonal step to (0.9, 0.5), beside the band; diagonally back over it to y = 0.9; left to the
/// goal's edge at (0.2, 0.9). Every leg at full speed: 3 + 4 + 1 + 4 + 3 = 15 steps.
fn detour() -> impl FnMut(&[f64]) -> Vec<f32> {
    let waypoints = [[0.4, 0.4], [0.8, 0.4], [0.9, 0.5], [0.5, 0.9], [0.2, 0.9]];
    let mut next = 0;
    move |position: &[f64]| {
        let reached = |w: [f64; 2]| (0..2).all(|i| (position[i] - w[i]).abs() < 1e-6);
        while next + 1 < waypoints.len() && reached(waypoints[next]) {
            next += 1;
        }
        let target = waypoints[next];
        vec![
            towards(position[0], target[0]),
            towards(position[1], target[1]),
        ]
    }
}

#[test]
fn the_direct_crossing_takes_7_steps_with_one_band_step() {
    let mut returns = BTreeMap::new();
    for seed in 0..200 {
        let episode = play(crossing::ID, seed, direct);
        assert!(episode.terminated && !episode.truncated, "{episode:?}");
        assert_eq!(episode.steps(), 7);
        assert_eq!(episode.risky_steps, 1);
        let expected = -7.0 - 20.0 * episode.penalty_events as f64;
        assert_eq!(episode.episode_return(), expected);
        // The one band step is the fourth, at y = 0.5.
        assert_eq!(episode.observations[3], vec![0.1_f32 as f64, 0.5]);
        *returns.entry(episode.episode_return() as i64).or_insert(0) += 1;
    }
    // Both outcomes occur, and nothing else.
    assert_eq!(returns.keys().copied().collect::<Vec<_>>(), vec![-27, -7]);
}

#[test]
fn the_detour_takes_15_steps_and_never_enters_the_band() {
    for seed in 0..50 {
        let episode = play(crossing::ID, seed, detour());
        assert!(episode.terminated && !episode.truncated, "{episode:?}");
        assert_eq!(episode.steps(), 15, "{:?}", episode.observations);
        assert_eq!(episode.risky_steps, 0);
        assert_eq!(episode.penalty_events, 0);
        assert_eq!(episode.episode_return(), -15.0);
    }
}

/// Fewest steps from the start to the goal over the grid of tenths (moves of -1, 0 or +1 per
/// axis), through the band or not: the oracle's 7 and 15 are the shortest, not just two paths.
fn fewest_steps_on_the_grid(avoid_band: bool) -> Option<usize> {
    let mut env = RiskyCrossing::new();
    let tenths = |x: f64| (x * 10.0).round() as i32;
    let start = [tenths(crossing::START[0]), tenths(crossing::START[1])];
    let mut steps = BTreeMap::from([(start, 0)]);
    let mut queue = VecDeque::from([start]);
    while let Some(cell) = queue.pop_front() {
        for dx in -1..=1 {
            for dy in -1..=1 {
                let state =
                    serde_json::json!({"state": [cell[0] as f64 / 10.0, cell[1] as f64 / 10.0]});
                env.reset_to_state(Some(0), &state).unwrap();
                let step = env.step(&[dx as f32, dy as f32]).unwrap();
                if avoid_band && step.info.values[RISKY_STEP_KEY] > 0.0 {
                    continue;
                }
                if step.terminated {
                    return Some(steps[&cell] + 1);
                }
                let next = [tenths(step.observation[0]), tenths(step.observation[1])];
                if !steps.contains_key(&next) {
                    steps.insert(next, steps[&cell] + 1);
                    queue.push_back(next);
                }
            }
        }
    }
    None
}

#[test]
fn seven_and_fifteen_steps_are_the_shortest_paths_with_and_without_the_band() {
    assert_eq!(fewest_steps_on_the_grid(false), Some(7));
    assert_eq!(fewest_steps_on_the_grid(true), Some(15));
}

/// Full acceleration, every step.
fn full_acceleration(_: &[f64]) -> Vec<f32> {
    vec![1.0]
}

/// Full acceleration while it keeps v <= 1, then coasting at v = 1.
fn speed_limit(state: &[f64]) -> Vec<f32> {
    let velocity = state[1];
    vec![if velocity + 0.1 <= 1.0 + 1e-6 {
        1.0
    } else {
        0.0
    }]
}

#[test]
fn full_acceleration_arrives_in_23_steps_13_of_them_speeding() {
    let mut struck = 0;
    for seed in 0..200 {
        let episode = play(car::ID, seed, full_acceleration);
        assert!(episode.terminated && !episode.truncated, "{episode:?}");
        assert_eq!(episode.steps(), 23);
        assert_eq!(episode.risky_steps, 13);
        // 22 steps of -10, then the arrival's +370, less 40 a penalty.
        let expected = 150.0 - 40.0 * episode.penalty_events as f64;
        assert_eq!(episode.episode_return(), expected);
        // Speeding from the 11th step on, when v = 1.1.
        let speeds: Vec<f64> = episode.observations.iter().map(|o| o[1]).collect();
        assert!(speeds[9] <= 1.0 && speeds[10] > 1.0, "{speeds:?}");
        struck += usize::from(episode.penalty_events > 0);
    }
    // 1 - 0.9^13 = 75 % of episodes are struck at least once.
    assert!((100..190).contains(&struck), "{struck} of 200 struck");
}

#[test]
fn keeping_to_the_speed_limit_arrives_in_30_steps_without_risk() {
    for seed in 0..50 {
        let episode = play(car::ID, seed, speed_limit);
        assert!(episode.terminated && !episode.truncated, "{episode:?}");
        assert_eq!(episode.steps(), 30);
        assert_eq!(episode.risky_steps, 0);
        assert_eq!(episode.episode_return(), 80.0);
        let top_speed = episode
            .observations
            .iter()
            .map(|o| o[1])
            .fold(0.0, f64::max);
        assert!((top_speed - 1.0).abs() < 1e-6, "{top_speed}");
    }
}

#[test]
fn standing_still_is_truncated_at_the_time_limit() {
    for (id, limit, step_reward) in [(crossing::ID, 50, -1.0), (car::ID, 100, -10.0)] {
        let dim = make(id).unwrap().action_space().dim();
        let episode = play(id, 0, |_| vec![0.0; dim]);
        assert!(episode.truncated && !episode.terminated, "{id}");
        assert_eq!(episode.steps(), limit, "{id}");
        // Worse than either behaviour of the oracle: a timeout never pays.
        assert_eq!(episode.episode_return(), step_reward * limit as f64, "{id}");
    }
}

/// Penalty events of `episodes` episodes of `policy`, seeds 0, 1, ...
fn penalty_events(id: &str, episodes: u64, policy: fn(&[f64]) -> Vec<f32>) -> (usize, usize) {
    (0..episodes)
        .map(|seed| play(id, seed, policy))
        .fold((0, 0), |(risky, events), e| {
            (risky + e.risky_steps, events + e.penalty_events)
        })
}

/// Whether `events` successes in `trials` draws of chance `p` lie within 5 standard deviations
/// of the mean (fixed seeds: the test cannot flake, yet a wrong probability fails it).
fn within_five_sigma(events: usize, trials: usize, p: f64) -> bool {
    let mean = trials as f64 * p;
    let sd = (trials as f64 * p * (1.0 - p)).sqrt();
    (events as f64 - mean).abs() <= 5.0 * sd
}

#[test]
fn penalties_strike_as_often_as_their_probability_says() {
    // 2000 band steps at 0.2: mean 400, sd 17.9.
    let (risky, events) = penalty_events(crossing::ID, 2000, direct);
    assert_eq!(risky, 2000);
    assert!(within_five_sigma(events, risky, 0.2), "{events} of {risky}");
    // 13 * 400 = 5200 speeding steps at 0.1: mean 520, sd 21.6.
    let (risky, events) = penalty_events(car::ID, 400, full_acceleration);
    assert_eq!(risky, 5200);
    assert!(within_five_sigma(events, risky, 0.1), "{events} of {risky}");
    // The bound is tight enough to catch the other task's probability.
    assert!(!within_five_sigma(events, risky, 0.2));
}

#[test]
fn a_seed_repeats_its_episode_and_other_seeds_draw_otherwise() {
    let first: Vec<Episode> = (0..40).map(|s| play(crossing::ID, s, direct)).collect();
    let again: Vec<Episode> = (0..40).map(|s| play(crossing::ID, s, direct)).collect();
    assert_eq!(first, again);
    let struck = first.iter().filter(|e| e.penalty_events > 0).count();
    assert!(0 < struck && struck < 40, "{struck} of 40 struck");

    // A seeded reset restarts the coin even in the middle of an env's life.
    let mut env = make(car::ID).unwrap();
    let mut draws = |seed| {
        env.reset(Some(seed));
        (0..23)
            .map(|_| env.step(&[1.0]).unwrap().info.values[PENALTY_KEY])
            .collect::<Vec<_>>()
    };
    let first = draws(5);
    let other_seeds: Vec<Vec<f64>> = (6..30).map(&mut draws).collect();
    assert_eq!(draws(5), first);
    assert!(other_seeds.iter().any(|d| *d != first));
}

#[test]
fn the_init_state_starts_an_episode_there() {
    let rollout = envs::rollout_from_json(
        crossing::ID,
        "[[0, 1], [0, 1]]",
        Some(0),
        Some(r#"{"state": [0.1, 0.7]}"#),
    )
    .unwrap();
    assert_eq!(rollout.rewards, vec![-1.0]);
    assert_eq!(rollout.terminated, vec![true]);
    let rollout =
        envs::rollout_from_json(car::ID, "[0]", Some(0), Some(r#"{"state": [2.45, 0.5]}"#))
            .unwrap();
    assert_eq!(rollout.rewards, vec![370.0]);

    for (id, actions, state) in [
        (crossing::ID, "[[0, 0]]", r#"{"state": [0.1, 1.5]}"#),
        (crossing::ID, "[[0, 0]]", r#"{"state": [0.1, NaN]}"#),
        (car::ID, "[0]", r#"{"state": [3.0, 0.0]}"#),
        (car::ID, "[0]", r#"{"state": [0.0, 1e400]}"#),
    ] {
        let error = envs::rollout_from_json(id, actions, Some(0), Some(state)).unwrap_err();
        assert!(
            matches!(error, EnvError::InvalidInitialState { .. }),
            "{id} {state}: {error}"
        );
    }
}

#[test]
fn penalty_parameters_out_of_range_are_refused_by_name() {
    let cases = [
        (-0.01, 20.0, "probability"),
        (1.01, 20.0, "probability"),
        (0.2, -1.0, "cost"),
        (0.2, f64::INFINITY, "cost"),
    ];
    for (probability, cost, named) in cases {
        let penalty = Penalty { probability, cost };
        for error in [
            RiskyCrossing::with_penalty(penalty).err().unwrap(),
            RiskyCar::with_penalty(penalty).err().unwrap(),
        ] {
            let EnvError::InvalidRiskParameter { parameter, .. } = &error else {
                panic!("{error:?}")
            };
            assert_eq!(*parameter, named);
            let message = error.to_string();
            assert!(
                message.contains(named) && message.contains("must be"),
                "{message}"
            );
        }
    }
    // No risk at all is a valid control.
    let mut env = RiskyCrossing::with_penalty(Penalty {
        probability: 0.0,
        cost: 20.0,
    })
    .unwrap();
    env.reset(Some(0));
    for _ in 0..7 {
        assert_eq!(env.step(&[0.0, 1.0]).unwrap().reward, -1.0);
    }
}

#[test]
fn shaping_adds_the_same_amount_to_every_path_that_reaches_the_goal() {
    let potential = envs::risky::shaping_potential(crossing::ID).unwrap();
    assert!(envs::risky::shaping_potential("RiskyPendulum-v1").is_none());
    // Undiscounted, F = Phi(p') - Phi(p) telescopes to -Phi(start) with Phi = 0 after the goal:
    // both optima gain the same 8, so their order is the task's.
    let start = [crossing::START[0], crossing::START[1]];
    for mut policy in [
        Box::new(direct) as Box<dyn FnMut(&[f64]) -> Vec<f32>>,
        Box::new(detour()),
    ] {
        let episode = play(crossing::ID, 0, &mut policy);
        let mut previous = start.to_vec();
        let mut shaping = 0.0;
        for (i, observation) in episode.observations.iter().enumerate() {
            let last = i + 1 == episode.observations.len();
            let next = if last { 0.0 } else { potential(observation) };
            shaping += next - potential(&previous);
            previous = observation.clone();
        }
        assert!((shaping - 8.0).abs() < 1e-5, "{shaping}");
    }
}
