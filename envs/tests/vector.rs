//! Behaviour of the vector env: seeding, same-step autoreset, threads, errors.

mod common;

use common::Counter;
use envs::wrappers::{RecordEpisodeStatistics, TimeLimit};
use envs::{Env, EnvError, VectorEnv, make};

fn counters(terminate_after: &[usize]) -> VectorEnv<Counter> {
    VectorEnv::new(terminate_after.iter().map(|&n| Counter::new(n)).collect()).unwrap()
}

#[test]
fn member_i_is_seeded_with_seed_plus_i() {
    let mut vector = counters(&[5, 5, 5]);
    let (observations, _) = vector.reset(Some(10));
    assert_eq!(observations, vec![0.0, 10.0, 0.0, 11.0, 0.0, 12.0]);
}

/// Envs whose every episode starts in the same state (the seed only reseeds their penalty).
const FIXED_START: [&str; 3] = [
    envs::risky::crossing::ID,
    envs::risky::car::ID,
    envs::risky::RISKY_HALF_CHEETAH_ID,
];

#[test]
fn same_seed_gives_the_same_reset() {
    for id in envs::registered_ids() {
        let mut a = VectorEnv::make(id, 4).unwrap();
        let mut b = VectorEnv::make(id, 4).unwrap();
        let (first, _) = a.reset(Some(42));
        assert_eq!(first, b.reset(Some(42)).0, "{id}");
        if FIXED_START.contains(&id) {
            let start = make(id).unwrap().reset(None).0;
            assert_eq!(first, start.repeat(4), "{id}: every member at the start");
            continue;
        }
        assert_ne!(first, a.reset(Some(43)).0, "{id}");
        let dim = a.single_observation_space().dim();
        assert_ne!(
            first[..dim],
            first[dim..2 * dim],
            "{id}: members must differ"
        );

        let mut single = make(id).unwrap();
        assert_eq!(
            single.reset(Some(42)).0,
            first[..dim],
            "{id}: member 0 gets the seed itself"
        );
        assert_eq!(
            single.reset(Some(43)).0,
            first[dim..2 * dim],
            "{id}: member 1 gets seed + 1"
        );
    }
}

#[test]
fn autoreset_returns_the_reset_observation_and_keeps_the_final_one() {
    let mut vector = counters(&[2, 3]);
    vector.reset(Some(7));
    let actions = [0.5, 1.0, -0.5, 2.0];
    let first = vector.step(&actions).unwrap();
    assert_eq!(first.final_observations, vec![None, None]);
    let second = vector.step(&actions).unwrap();
    assert_eq!(second.terminated, vec![true, false]);
    assert_eq!(second.truncated, vec![false, false]);
    assert_eq!(second.rewards, vec![0.5, -0.5]);
    assert_eq!(
        second.observation(0),
        &[0.0, 7.0],
        "member 0 already holds the reset observation"
    );
    assert_eq!(second.final_observations[0], Some(vec![2.0, 7.0]));
    assert_eq!(
        second.final_infos[0].as_ref().unwrap().values["action_1"],
        1.0
    );
    assert!(
        second.infos[0].values.is_empty(),
        "the reset info replaces the step info"
    );
    assert_eq!(second.observation(1), &[2.0, 8.0]);
    assert_eq!(second.final_observations[1], None);
    assert_eq!(vector.envs()[0].resets, 2);

    let third = vector.step(&actions).unwrap();
    assert_eq!(
        third.observation(0),
        &[1.0, 7.0],
        "autoreset continues the member's stream"
    );
    assert_eq!(third.terminated, vec![false, true]);
}

#[test]
fn terminated_and_truncated_are_never_merged() {
    let envs = vec![
        TimeLimit::new(Counter::new(3), 100).unwrap(),
        TimeLimit::new(Counter::new(100), 3).unwrap(),
        TimeLimit::new(Counter::new(3), 3).unwrap(),
    ];
    let mut vector = VectorEnv::new(envs).unwrap();
    vector.reset(Some(0));
    let actions = [0.0; 6];
    vector.step(&actions).unwrap();
    vector.step(&actions).unwrap();
    let step = vector.step(&actions).unwrap();
    assert_eq!(step.terminated, vec![true, false, true]);
    assert_eq!(step.truncated, vec![false, true, true]);
    assert!(
        step.final_observations
            .iter()
            .all(|o| o.as_deref() == Some(&[3.0, 0.0][..])
                || o.as_deref() == Some(&[3.0, 1.0][..])
                || o.as_deref() == Some(&[3.0, 2.0][..]))
    );
}

#[test]
fn final_info_carries_the_episode_statistics() {
    let envs = (0..2)
        .map(|_| RecordEpisodeStatistics::new(make("Pendulum-v1").unwrap()))
        .collect();
    let mut vector = VectorEnv::new(envs).unwrap();
    vector.reset(Some(0));
    for t in 1..=200 {
        let step = vector.step(&[0.0, 0.0]).unwrap();
        assert_eq!(step.truncated, vec![t == 200; 2]);
        if t == 200 {
            let info = step.final_infos[1].as_ref().unwrap();
            assert_eq!(info.episode.unwrap().length, 200);
            assert!(step.final_observations[1].is_some());
        }
    }
}

#[test]
fn threads_give_the_same_batches_as_sequential_stepping() {
    for (id, threads) in envs::registered_ids().into_iter().zip([2, 3]) {
        let mut sequential = VectorEnv::make(id, 5).unwrap();
        let mut threaded = VectorEnv::make(id, 5).unwrap().with_threads(threads);
        assert_eq!(threaded.threads(), threads);
        assert_eq!(sequential.reset(Some(3)), threaded.reset(Some(3)));
        for t in 0..450 {
            let actions: Vec<f32> = (0..5)
                .map(|i| ((t * 7 + i * 3) % 11) as f32 / 5.0 - 1.0)
                .collect();
            assert_eq!(
                sequential.step(&actions).unwrap(),
                threaded.step(&actions).unwrap(),
                "{id} step {t}"
            );
        }
    }
}

#[test]
fn a_bad_action_is_an_error_and_moves_no_member() {
    let mut vector = counters(&[5, 5, 5]).with_threads(3);
    vector.reset(Some(0));
    let wrong_length = vector.step(&[0.0; 5]).unwrap_err();
    assert!(
        matches!(
            wrong_length,
            EnvError::BatchLength {
                expected: 6,
                got: 5,
                ..
            }
        ),
        "{wrong_length}"
    );
    let nan = vector
        .step(&[0.0, 0.0, 0.0, 0.0, 0.0, f32::NAN])
        .unwrap_err();
    assert_eq!(
        nan.to_string(),
        "vector env member 2: Counter-v0: action[1] is NaN; actions must be finite numbers"
    );
    let short_row = vector
        .step_rows(&[vec![0.0, 0.0], vec![0.0], vec![0.0, 0.0, 0.0]])
        .unwrap_err();
    assert!(short_row.to_string().contains("member 1"), "{short_row}");
    assert!(vector.envs().iter().all(|env| env.t == 0));
    assert!(vector.step_rows(&vec![vec![0.0, 0.0]; 3]).is_ok());
}

#[test]
fn members_must_share_their_spaces() {
    let envs = vec![
        make("Pendulum-v1").unwrap(),
        make("MountainCarContinuous-v0").unwrap(),
    ];
    assert!(VectorEnv::new(envs).is_err());
    assert!(VectorEnv::<Counter>::new(Vec::new()).is_err());
}

#[test]
fn a_member_error_on_a_worker_thread_names_the_member_and_loses_no_member() {
    let mut vector = VectorEnv::make("Pendulum-v1", 4).unwrap().with_threads(2);
    for env in &mut vector.envs_mut()[..2] {
        env.reset(Some(0));
    }
    let error = vector.step(&[0.0; 4]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "vector env member 2: Pendulum-v1: step() called before reset()"
    );
    assert_eq!(vector.num_envs(), 4);
    vector.reset(Some(0));
    assert_eq!(vector.step(&[0.0; 4]).unwrap().num_envs(), 4);
    assert_eq!(
        VectorEnv::make("Pendulum-v1", 2)
            .unwrap()
            .with_threads(8)
            .threads(),
        2
    );
}
