//! Behaviour of the Gymnasium wrappers.

mod common;

use common::Counter;
use envs::wrappers::{
    ClipAction, NormalizeObservation, NormalizeReward, RecordEpisodeStatistics, RescaleAction,
    RunningMeanStd, TimeLimit,
};
use envs::{Env, EnvError, make};

#[test]
fn time_limit_truncates_at_the_limit_and_not_before() {
    let mut env = TimeLimit::new(Counter::new(100), 5).unwrap();
    env.reset(Some(0));
    for t in 1..=5 {
        let step = env.step(&[0.0, 0.0]).unwrap();
        assert_eq!(step.truncated, t == 5, "step {t}");
        assert!(!step.terminated);
    }
    env.reset(None);
    assert_eq!(env.elapsed_steps(), 0);
    assert!(!env.step(&[0.0, 0.0]).unwrap().truncated);
}

#[test]
fn time_limit_keeps_terminated_and_truncated_apart() {
    let mut env = TimeLimit::new(Counter::new(3), 3).unwrap();
    env.reset(Some(0));
    env.step(&[0.0, 0.0]).unwrap();
    env.step(&[0.0, 0.0]).unwrap();
    let step = env.step(&[0.0, 0.0]).unwrap();
    assert!(step.terminated && step.truncated);
}

#[test]
fn time_limit_rejects_a_zero_limit() {
    assert!(matches!(
        TimeLimit::new(Counter::new(3), 0),
        Err(EnvError::InvalidArgument(_))
    ));
}

#[test]
fn clip_action_clips_each_component_into_the_bounds() {
    let mut env = ClipAction::new(Counter::new(100));
    assert!(env.action_space().low.iter().all(|l| l.is_infinite()));
    env.reset(Some(0));
    let step = env.step(&[5.0, -2.0]).unwrap();
    assert_eq!(step.reward, 1.0);
    assert_eq!(step.info.values["action_1"], 0.0);
    let step = env.step(&[-0.25, 9.0]).unwrap();
    assert_eq!(step.reward, -0.25);
    assert_eq!(step.info.values["action_1"], 4.0);
}

#[test]
fn clip_action_does_not_clamp_nan_or_fix_the_length() {
    let mut env = ClipAction::new(Counter::new(100));
    env.reset(Some(0));
    let nan = env.step(&[0.0, f32::NAN]).unwrap_err();
    assert!(
        matches!(nan, EnvError::NonFiniteAction { index: 1, .. }),
        "{nan}"
    );
    assert!(nan.to_string().contains("action[1] is NaN"), "{nan}");
    let inf = env.step(&[f32::NEG_INFINITY, 0.0]).unwrap_err();
    assert!(
        matches!(inf, EnvError::NonFiniteAction { index: 0, .. }),
        "{inf}"
    );
    let short = env.step(&[0.0]).unwrap_err();
    assert_eq!(
        short.to_string(),
        "Counter-v0: action has 1 components, expected 2"
    );
}

#[test]
fn envs_reject_nan_and_wrong_length_actions() {
    for id in envs::registered_ids() {
        let mut env = make(id).unwrap();
        env.reset(Some(0));
        let dim = env.action_space().dim();
        let mut action = vec![0.0; dim];
        action[dim - 1] = f32::NAN;
        let nan = env.step(&action).unwrap_err().to_string();
        assert!(
            nan.contains(&format!("action[{}] is NaN", dim - 1)),
            "{nan}"
        );
        let long = env.step(&vec![0.0; dim + 1]).unwrap_err().to_string();
        let expected = format!("{} components, expected {dim}", dim + 1);
        assert!(long.contains(&expected), "{long}");
    }
}

#[test]
fn rescale_action_maps_the_agent_range_onto_the_env_bounds() {
    let mut env = RescaleAction::new(Counter::new(100), -1.0, 1.0).unwrap();
    assert_eq!(env.rescale(&[-1.0, -1.0]), vec![-1.0, 0.0]);
    assert_eq!(env.rescale(&[1.0, 1.0]), vec![1.0, 4.0]);
    assert_eq!(env.rescale(&[0.0, 0.0]), vec![0.0, 2.0]);
    assert_eq!(env.rescale(&[0.5, 0.5]), vec![0.5, 3.0]);
    env.reset(Some(0));
    let step = env.step(&[0.0, 0.5]).unwrap();
    assert_eq!(step.info.values["action_1"], 3.0);

    let mut pendulum = RescaleAction::new(make("Pendulum-v1").unwrap(), 0.0, 1.0).unwrap();
    assert_eq!(pendulum.rescale(&[0.0]), vec![-2.0]);
    assert_eq!(pendulum.rescale(&[0.75]), vec![1.0]);
    pendulum.reset(Some(0));
    assert!(pendulum.step(&[f32::NAN]).is_err());
}

#[test]
fn rescale_action_rejects_an_empty_range() {
    assert!(RescaleAction::new(Counter::new(1), 1.0, 1.0).is_err());
    assert!(RescaleAction::new(Counter::new(1), 1.0, -1.0).is_err());
    let unbounded = ClipAction::new(Counter::new(1));
    assert!(RescaleAction::new(unbounded, -1.0, 1.0).is_err());
}

#[test]
fn normalize_observation_uses_running_statistics_of_every_observation() {
    let mut env = NormalizeObservation::with_settings(Counter::new(100), 1e-8, None).unwrap();
    let mut expected = RunningMeanStd::new(2);
    let (first, _) = env.reset(Some(3));
    expected.update(&[0.0, 3.0]);
    assert_eq!(env.statistics(), &expected);
    assert_eq!(
        first[1],
        ((3.0 - expected.mean[1]) / (expected.var[1] + 1e-8).sqrt()) as f32 as f64
    );
    for t in 1..=20 {
        let step = env.step(&[0.0, 0.0]).unwrap();
        expected.update(&[t as f64, 3.0]);
        let normalized = (t as f64 - expected.mean[0]) / (expected.var[0] + 1e-8).sqrt();
        assert_eq!(step.observation[0], normalized as f32 as f64);
    }
    assert_eq!(env.statistics(), &expected);
}

#[test]
fn normalize_observation_clips_to_ten_by_default() {
    let mut env = NormalizeObservation::new(Counter::new(1000));
    env.reset(Some(0));
    // A constant second component drives the variance to ~0; a jump is then far out.
    for _ in 0..200 {
        env.step(&[0.0, 0.0]).unwrap();
    }
    let frozen = env.statistics().clone();
    env.set_training(false);
    let (observation, _) = env.reset(Some(1_000_000));
    assert_eq!(observation[1], 10.0);
    assert_eq!(env.statistics(), &frozen);
}

#[test]
fn normalize_observation_statistics_freeze_save_and_restore() {
    let mut trained = NormalizeObservation::new(make("Pendulum-v1").unwrap());
    trained.reset(Some(0));
    for _ in 0..150 {
        trained.step(&[1.0]).unwrap();
    }
    let saved = serde_json::to_string(trained.statistics()).unwrap();

    let mut evaluation = NormalizeObservation::new(make("Pendulum-v1").unwrap());
    evaluation
        .set_statistics(serde_json::from_str(&saved).unwrap())
        .unwrap();
    evaluation.set_training(false);
    assert_eq!(evaluation.statistics(), trained.statistics());

    trained.set_training(false);
    let state = serde_json::json!({"state": [0.5, 0.1]});
    let (a, _) = trained.reset_to_state(Some(9), &state).unwrap();
    let (b, _) = evaluation.reset_to_state(Some(9), &state).unwrap();
    assert_eq!(a, b);
    for _ in 0..30 {
        assert_eq!(
            trained.step(&[0.3]).unwrap(),
            evaluation.step(&[0.3]).unwrap()
        );
    }
    assert_eq!(evaluation.statistics(), trained.statistics());
    assert_eq!(
        serde_json::to_string(evaluation.statistics()).unwrap(),
        saved
    );

    let wrong_length = RunningMeanStd::new(2);
    assert!(evaluation.set_statistics(wrong_length).is_err());
}

#[test]
fn normalize_reward_divides_by_the_std_of_the_discounted_return() {
    let gamma = 0.9;
    let mut env = NormalizeReward::with_settings(Counter::new(4), gamma, 1e-8, None).unwrap();
    env.reset(Some(0));
    let mut expected = RunningMeanStd::new(1);
    let mut discounted_return = 0.0;
    let rewards = [0.5_f32, -1.0, 0.25, 1.0];
    for (t, &reward) in rewards.iter().enumerate() {
        let step = env.step(&[reward, 0.0]).unwrap();
        // Gymnasium multiplies by (1 - terminated) of the current step: G = r on a terminal step.
        let continuing = if t == 3 { 0.0 } else { 1.0 };
        discounted_return = discounted_return * gamma * continuing + f64::from(reward);
        expected.update(&[discounted_return]);
        assert_eq!(
            step.reward,
            f64::from(reward) / (expected.var[0] + 1e-8).sqrt(),
            "step {t}"
        );
        assert_eq!(step.terminated, t == 3);
    }
    assert_eq!(env.discounted_return(), 1.0);
    // ... and a reset does not clear it: the next episode starts from gamma * r_T.
    env.reset(None);
    let step = env.step(&[0.5, 0.0]).unwrap();
    expected.update(&[0.9 * 1.0 + 0.5]);
    assert_eq!(env.discounted_return(), 0.9 * 1.0 + 0.5);
    assert_eq!(step.reward, 0.5 / (expected.var[0] + 1e-8).sqrt());
}

#[test]
fn normalize_reward_keeps_the_return_across_truncation_like_gymnasium() {
    let mut env = NormalizeReward::new(TimeLimit::new(Counter::new(100), 2).unwrap(), 0.5).unwrap();
    env.reset(Some(0));
    env.step(&[1.0, 0.0]).unwrap();
    assert!(env.step(&[1.0, 0.0]).unwrap().truncated);
    env.reset(None);
    env.step(&[1.0, 0.0]).unwrap();
    assert_eq!(env.discounted_return(), 1.75);
}

#[test]
fn normalize_reward_freezes_clips_and_restores() {
    let mut env = NormalizeReward::new(Counter::new(1000), 0.99).unwrap();
    env.reset(Some(0));
    for _ in 0..100 {
        env.step(&[0.001, 0.0]).unwrap();
    }
    env.set_training(false);
    let frozen = env.statistics().clone();
    let step = env.step(&[1.0, 0.0]).unwrap();
    assert_eq!(
        step.reward, 10.0,
        "a reward far beyond the return's std is clipped"
    );
    assert_eq!(env.statistics(), &frozen);

    let mut restored = NormalizeReward::new(Counter::new(1000), 0.99).unwrap();
    restored.set_statistics(frozen.clone()).unwrap();
    assert_eq!(restored.statistics(), &frozen);
    assert!(restored.set_statistics(RunningMeanStd::new(3)).is_err());
    assert!(NormalizeReward::new(Counter::new(1), 1.5).is_err());
}

#[test]
fn disabled_normalizers_hand_everything_through_and_learn_nothing() {
    let inner = || make("Pendulum-v1").unwrap();
    let mut plain = inner();
    let mut observation = NormalizeObservation::new(inner());
    let mut reward = NormalizeReward::new(inner(), 0.9).unwrap();
    observation.set_enabled(false);
    reward.set_enabled(false);
    assert!(!observation.is_enabled() && !reward.is_enabled());
    assert_eq!(observation.observation_space(), plain.observation_space());
    let (before_obs, before_reward) = (
        observation.statistics().clone(),
        reward.statistics().clone(),
    );
    let start = plain.reset(Some(4)).0;
    assert_eq!(observation.reset(Some(4)).0, start);
    assert_eq!(reward.reset(Some(4)).0, start);
    for t in 0..150 {
        let action = [((t % 7) as f32 - 3.0) / 1.5];
        let expected = plain.step(&action).unwrap();
        assert_eq!(observation.step(&action).unwrap(), expected, "step {t}");
        assert_eq!(reward.step(&action).unwrap(), expected, "step {t}");
    }
    assert_eq!(observation.statistics(), &before_obs);
    assert_eq!(reward.statistics(), &before_reward);
    assert_eq!(reward.discounted_return(), 0.0);
    // Enabled again, they normalise: an observation of Pendulum is no longer its raw value.
    observation.set_enabled(true);
    assert_ne!(observation.reset(Some(4)).0, start);
    assert_ne!(observation.observation_space(), plain.observation_space());
}

#[test]
fn record_episode_statistics_reports_return_and_length_at_episode_end() {
    let mut env = RecordEpisodeStatistics::new(TimeLimit::new(Counter::new(3), 10).unwrap());
    for episode in 0..3 {
        env.reset(None);
        let rewards = [0.5_f32, 0.25, -1.0];
        for (t, &reward) in rewards.iter().enumerate() {
            let step = env.step(&[reward, 0.0]).unwrap();
            match step.info.episode {
                Some(statistics) => {
                    assert_eq!(t, 2);
                    assert_eq!(statistics.episode_return, -0.25);
                    assert_eq!(statistics.length, 3);
                }
                None => assert!(t < 2),
            }
        }
        assert_eq!(env.episode_count(), episode + 1);
    }
    assert_eq!(env.recent_episodes().len(), 3);

    // Truncation ends an episode too.
    let mut truncated = RecordEpisodeStatistics::new(make("Pendulum-v1").unwrap());
    truncated.reset(Some(0));
    let last = (0..200)
        .map(|_| truncated.step(&[0.0]).unwrap())
        .last()
        .unwrap();
    assert_eq!(last.info.episode.unwrap().length, 200);
}

#[test]
fn cleanrl_wrapper_stack_runs_on_every_env() {
    for id in envs::registered_ids() {
        let env = RecordEpisodeStatistics::new(make(id).unwrap());
        let env = ClipAction::new(env);
        let env = NormalizeObservation::new(env);
        let mut env = NormalizeReward::new(env, 0.99).unwrap();
        env.reset(Some(1));
        let action = vec![3.0; env.action_space().dim()];
        let mut episodes = 0;
        for _ in 0..1200 {
            let step = env.step(&action).unwrap();
            assert!(step.observation.iter().all(|x| x.abs() <= 10.0));
            assert!(step.reward.abs() <= 10.0);
            if step.is_done() {
                assert!(step.info.episode.is_some());
                episodes += 1;
                env.reset(None);
            }
        }
        assert!(episodes >= 1, "{id}");
        let inner_count = env.inner().inner().inner().episode_count();
        assert_eq!(inner_count, episodes);
    }
}
