//! The MuJoCo v5 envs beyond parity: registration, spaces, seeding, `reset_to_state`, errors
//! that say how to fix them, model files, the vector env on threads, and rollout.
#![cfg(feature = "mujoco")]

use std::path::PathBuf;

use envs::mujoco::make_with_model_file;
use envs::{DType, Env, EnvError, VectorEnv, make, registered_ids, rollout, spec};
use serde_json::json;

/// A row of Gymnasium 1.4.0's v5 table: id, observation dim, action dim, action bound
/// (float32), time limit, reward threshold.
type Registration = (&'static str, usize, usize, f32, usize, Option<f64>);

const V5: &[Registration] = &[
    ("HalfCheetah-v5", 17, 6, 1.0, 1000, Some(4800.0)),
    ("Hopper-v5", 11, 3, 1.0, 1000, Some(3800.0)),
    ("Walker2d-v5", 17, 6, 1.0, 1000, None),
    ("Ant-v5", 105, 8, 1.0, 1000, Some(6000.0)),
    ("InvertedPendulum-v5", 4, 1, 3.0, 1000, Some(950.0)),
    ("InvertedDoublePendulum-v5", 9, 1, 1.0, 1000, Some(9100.0)),
    ("Reacher-v5", 10, 2, 1.0, 50, Some(-3.75)),
    ("Swimmer-v5", 8, 2, 1.0, 1000, Some(360.0)),
    ("Humanoid-v5", 348, 17, 0.4, 1000, None),
];

fn zeros(n: usize) -> Vec<f64> {
    vec![0.0; n]
}

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/mujoco")
}

#[test]
fn the_nine_v5_ids_are_registered_after_classic_control() {
    let ids = registered_ids();
    assert_eq!(ids[..2], ["Pendulum-v1", "MountainCarContinuous-v0"]);
    let mujoco: Vec<&str> = V5.iter().map(|row| row.0).collect();
    assert_eq!(ids[2..2 + mujoco.len()], mujoco);
    assert_eq!(
        ids[2 + mujoco.len()..],
        [
            "RiskyCrossing-v0",
            "RiskyCar-v0",
            "RiskyPendulum-v1",
            "RiskyHalfCheetah-v5"
        ]
    );
    assert_eq!(mujoco, envs::registry::MUJOCO_IDS);
}

#[test]
fn spaces_and_registrations_are_gymnasiums() {
    for &(id, observation_dim, action_dim, bound, limit, threshold) in V5 {
        let env = make(id).unwrap();
        let observations = env.observation_space();
        assert_eq!(observations.shape, vec![observation_dim], "{id}");
        assert_eq!(observations.dtype, DType::F64, "{id}");
        assert!(observations.low.iter().all(|&x| x == f64::NEG_INFINITY));
        assert!(observations.high.iter().all(|&x| x == f64::INFINITY));
        let actions = env.action_space();
        assert_eq!(actions.shape, vec![action_dim], "{id}");
        assert_eq!(actions.dtype, DType::F32, "{id}");
        assert!(actions.high.iter().all(|&x| x == f64::from(bound)), "{id}");
        assert!(actions.low.iter().all(|&x| x == -f64::from(bound)), "{id}");
        let registration = spec(id).unwrap();
        assert_eq!(registration.max_episode_steps, Some(limit), "{id}");
        assert_eq!(registration.reward_threshold, threshold, "{id}");
    }
}

#[test]
fn make_adds_the_registered_time_limit() {
    for id in ["Reacher-v5", "HalfCheetah-v5", "Swimmer-v5"] {
        let mut env = make(id).unwrap();
        env.reset(Some(0));
        let limit = spec(id).unwrap().max_episode_steps.unwrap();
        let action = vec![0.1; env.action_space().dim()];
        for step_index in 1..=limit {
            let step = env.step(&action).unwrap();
            assert!(!step.terminated, "{id}");
            assert_eq!(
                step.truncated,
                step_index == limit,
                "{id} step {step_index}"
            );
        }
    }
}

#[test]
fn initial_state_shapes_name_the_model_sizes() {
    for &(id, ..) in V5 {
        let shape = spec(id).unwrap().initial_state_shape;
        let mut env = make(id).unwrap();
        let message = env
            .reset_to_state(None, &json!({"qpos": []}))
            .unwrap_err()
            .to_string();
        // The message built from the model says the same as the registration.
        assert!(message.contains(shape), "{id}: {message} vs {shape}");
    }
}

#[test]
fn resets_follow_the_seed_and_stay_within_the_noise() {
    for &(id, ..) in V5 {
        let mut env = make(id).unwrap();
        let (first, _) = env.reset(Some(5));
        assert_eq!(first, env.reset(Some(5)).0, "{id}");
        assert_ne!(first, env.reset(Some(6)).0, "{id}");
        assert_ne!(env.reset(None).0, env.reset(None).0, "{id}");
    }
    // HalfCheetah: qpos (from index 1) within U(-0.1, 0.1) of zero.
    let mut cheetah = make("HalfCheetah-v5").unwrap();
    for seed in 0..50 {
        let (observation, info) = cheetah.reset(Some(seed));
        assert!(observation[..8].iter().all(|x| x.abs() <= 0.1), "{seed}");
        assert!(info.values["x_position"].abs() <= 0.1);
    }
    // Reacher: the target (qpos[2..4], observation[4..6]) lies in the disc of radius 0.2.
    let mut reacher = make("Reacher-v5").unwrap();
    for seed in 0..200 {
        let (observation, _) = reacher.reset(Some(seed));
        assert!(observation[4].hypot(observation[5]) < 0.2, "{seed}");
    }
}

#[test]
fn reset_to_state_injects_qpos_and_qvel() {
    let mut env = make("Hopper-v5").unwrap();
    let qpos = [0.1, 1.25, 0.01, -0.02, 0.03, -0.04];
    let qvel = [0.5_f64, -0.5, 0.1, 20.0, -0.2, 0.3];
    let (observation, info) = env
        .reset_to_state(Some(0), &json!({"qpos": qpos, "qvel": qvel}))
        .unwrap();
    // Hopper: qpos[1:], then qvel clipped to +-10.
    let expected: Vec<f64> = qpos[1..]
        .iter()
        .copied()
        .chain(qvel.iter().map(|v| v.clamp(-10.0, 10.0)))
        .collect();
    assert_eq!(observation, expected);
    assert_eq!(info.values["x_position"], 0.1);
}

#[test]
fn bad_initial_states_name_what_is_wrong_and_what_is_accepted() {
    let mut env = make("HalfCheetah-v5").unwrap();
    let shape = r#"{"qpos": [9 numbers], "qvel": [9 numbers]}"#;
    for (state, problem) in [
        (
            json!({"qpos": zeros(3), "qvel": zeros(9)}),
            "`qpos` has 3 numbers, expected 9",
        ),
        (
            json!({"qpos": zeros(9), "qvel": zeros(10)}),
            "`qvel` has 10 numbers, expected 9",
        ),
        (json!({"qpos": zeros(9)}), "missing key `qvel`"),
        (json!({"state": [0.0, 1.0]}), "unknown key `state`"),
        (json!([0.0, 1.0]), "not a JSON object"),
    ] {
        let message = env.reset_to_state(None, &state).unwrap_err().to_string();
        assert!(
            message.contains(problem) && message.contains(shape),
            "{message}"
        );
    }
    let not_a_number =
        json!({"qpos": zeros(9), "qvel": [0.0, "x", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]});
    let message = env
        .reset_to_state(None, &not_a_number)
        .unwrap_err()
        .to_string();
    assert!(message.contains("`qvel[1]`"), "{message}");
    // Beyond MuJoCo's mjMAXVAL (1e10) the simulation counts as diverged.
    let mut huge = zeros(9);
    huge[4] = 1e300;
    let message = env
        .reset_to_state(None, &json!({"qpos": zeros(9), "qvel": huge}))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("`qvel[4]` is 1e300, outside the env's range [-10000000000, 10000000000]"),
        "{message}"
    );
    let at_the_limit = json!({"qpos": zeros(9), "qvel": [1e10, 0, 0, 0, 0, 0, 0, 0, 0]});
    assert!(env.reset_to_state(None, &at_the_limit).is_ok());
}

#[test]
fn stepping_needs_a_reset_and_a_valid_action() {
    let mut env = make("Ant-v5").unwrap();
    let error = env.step(&[0.0; 8]).unwrap_err();
    assert!(matches!(error, EnvError::ResetNeeded { .. }), "{error}");
    env.reset(Some(0));
    let message = env.step(&[0.0; 7]).unwrap_err().to_string();
    assert!(message.contains("7 components, expected 8"), "{message}");
    let mut action = [0.0; 8];
    action[3] = f32::INFINITY;
    let message = env.step(&action).unwrap_err().to_string();
    assert!(message.contains("action[3] is inf"), "{message}");
}

#[test]
fn actions_beyond_the_bounds_are_clamped_by_mujoco_but_cost_in_full() {
    // Gymnasium passes the action to MuJoCo unclipped: the ctrlrange limits the force, while
    // the control cost uses the action as given.
    let state = json!({"qpos": zeros(9), "qvel": zeros(9)});
    let mut inside = make("HalfCheetah-v5").unwrap();
    let mut beyond = make("HalfCheetah-v5").unwrap();
    inside.reset_to_state(None, &state).unwrap();
    beyond.reset_to_state(None, &state).unwrap();
    let a = inside.step(&[1.0; 6]).unwrap();
    let b = beyond.step(&[2.0; 6]).unwrap();
    assert_eq!(a.observation, b.observation);
    assert_eq!(a.info.values["reward_ctrl"], -f64::from(0.1_f32 * 6.0));
    assert_eq!(b.info.values["reward_ctrl"], -f64::from(0.1_f32 * 24.0));
}

#[test]
fn a_missing_model_file_says_how_to_fix_it() {
    let message = make_with_model_file("Hopper-v5", "/no/such/hopper.xml")
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("/no/such/hopper.xml")
            && message.contains("no such file")
            && message.contains("pass the path of a readable MuJoCo XML file"),
        "{message}"
    );
}

#[test]
fn a_broken_model_file_reports_mujocos_parse_error() {
    let path = std::env::temp_dir().join(format!("ordergrad-broken-{}.xml", std::process::id()));
    std::fs::write(&path, "<mujoco><worldbody><body></mujoco>").unwrap();
    let message = make_with_model_file("Hopper-v5", &path)
        .err()
        .unwrap()
        .to_string();
    std::fs::remove_file(&path).unwrap();
    assert!(
        message.contains("cannot load the MuJoCo model") && message.contains("XML"),
        "{message}"
    );
}

#[test]
fn a_model_without_what_the_env_reads_is_an_error() {
    let message = make_with_model_file("Reacher-v5", assets().join("hopper.xml"))
        .err()
        .unwrap()
        .to_string();
    assert!(message.contains("Reacher-v5"), "{message}");
    assert!(message.contains("no body named `fingertip`"), "{message}");
    let message = make_with_model_file("Pendulum-v1", assets().join("hopper.xml"))
        .err()
        .unwrap()
        .to_string();
    assert!(message.contains("not a MuJoCo env"), "{message}");
}

#[test]
fn a_model_file_gives_the_same_env_as_the_bundled_model() {
    let mut bundled = make("Walker2d-v5").unwrap();
    let mut from_file =
        make_with_model_file("Walker2d-v5", assets().join("walker2d_v5.xml")).unwrap();
    assert_eq!(bundled.reset(Some(9)), from_file.reset(Some(9)));
    for t in 0..100 {
        let action: Vec<f32> = (0..6).map(|i| ((t + i) % 5) as f32 / 2.5 - 1.0).collect();
        let (a, b) = (
            bundled.step(&action).unwrap(),
            from_file.step(&action).unwrap(),
        );
        assert_eq!(a, b, "step {t}");
        if a.is_done() {
            break;
        }
    }
}

#[test]
fn loading_half_cheetah_writes_no_mujoco_log_file() {
    // half_cheetah.xml makes MuJoCo warn on every load; the warning goes to the `log` crate.
    let log_file = PathBuf::from("MUJOCO_LOG.TXT");
    make("HalfCheetah-v5").unwrap();
    make_with_model_file("HalfCheetah-v5", assets().join("half_cheetah.xml")).unwrap();
    assert!(!log_file.exists(), "MuJoCo wrote {}", log_file.display());
}

#[test]
fn threads_give_the_same_batches_as_sequential_stepping() {
    // Hopper ends episodes within the run, so autoresets happen on the worker threads too.
    for id in ["Hopper-v5", "HalfCheetah-v5", "Humanoid-v5"] {
        let mut sequential = VectorEnv::make(id, 5).unwrap();
        let mut threaded = VectorEnv::make(id, 5).unwrap().with_threads(2);
        assert_eq!(sequential.reset(Some(3)), threaded.reset(Some(3)));
        let dim = sequential.single_action_space().dim();
        let mut resets = 0;
        for t in 0..150 {
            let actions: Vec<f32> = (0..5 * dim)
                .map(|i| ((t * 7 + i * 3) % 11) as f32 / 5.0 - 1.0)
                .collect();
            let batch = sequential.step(&actions).unwrap();
            assert_eq!(batch, threaded.step(&actions).unwrap(), "{id} step {t}");
            resets += batch.final_observations.iter().flatten().count();
        }
        if id != "HalfCheetah-v5" {
            assert!(resets > 0, "{id}: no episode ended");
        }
    }
}

#[test]
fn rollout_takes_qpos_and_qvel() {
    let qpos = [0.0, 0.1];
    let qvel = [0.0, 0.0];
    let trajectory = rollout(
        "InvertedPendulum-v5",
        &vec![vec![0.0]; 100],
        None,
        Some(&json!({"qpos": qpos, "qvel": qvel})),
    )
    .unwrap();
    assert_eq!(trajectory.observations[0], vec![0.0, 0.1, 0.0, 0.0]);
    // Leaning 0.1 rad with no push, the pole falls past 0.2 rad and the episode ends.
    assert_eq!(trajectory.terminated.last(), Some(&true));
    assert_eq!(trajectory.rewards.last(), Some(&0.0));
    assert!(
        trajectory.rewards[..trajectory.rewards.len() - 1]
            .iter()
            .all(|&r| r == 1.0)
    );

    let message = envs::rollout_from_json("Hopper-v5", "[]", None, Some(r#"{"qpos": [1]}"#))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("`qpos` has 1 numbers, expected 6")
            && message.contains(r#"{"qpos": [6 numbers], "qvel": [6 numbers]}"#),
        "{message}"
    );
}

#[test]
fn risky_half_cheetah_starts_at_rest_and_strikes_fast_steps_at_most_once_per_episode() {
    use envs::risky::{HALF_CHEETAH_SPEED_LIMIT, HALF_CHEETAH_STRIKE_COST};
    let mut plain = make("HalfCheetah-v5").unwrap();
    let mut risky = make("RiskyHalfCheetah-v5").unwrap();
    assert_eq!(risky.id(), "RiskyHalfCheetah-v5");
    assert_eq!(
        spec("RiskyHalfCheetah-v5").unwrap().max_episode_steps,
        Some(1000)
    );
    // Every seed starts from HalfCheetah's initial state without its reset noise.
    let at_rest = json!({"qpos": zeros(9), "qvel": zeros(9)});
    let start = plain.reset_to_state(Some(0), &at_rest).unwrap().0;
    for seed in [0, 1, 2] {
        assert_eq!(risky.reset(Some(seed)).0, start, "seed {seed}");
    }
    assert_ne!(
        plain.reset(Some(1)).0,
        start,
        "HalfCheetah-v5 keeps its noise"
    );

    let mut risky_steps = 0;
    // Launched forward at 2 to 10 m/s, the cheetah crosses the limit within the first steps.
    for seed in 0..5u64 {
        let mut qvel = zeros(9);
        qvel[0] = 2.0 + 2.0 * seed as f64;
        let state = json!({"qpos": zeros(9), "qvel": qvel});
        assert_eq!(
            plain.reset_to_state(Some(seed), &state).unwrap().0,
            risky.reset_to_state(Some(seed), &state).unwrap().0
        );
        let mut strikes = 0.0;
        for t in 0..40 {
            let action: Vec<f32> = (0..6).map(|j| ((t + j) as f32 * 0.7).sin()).collect();
            let expected = plain.step(&action).unwrap();
            let step = risky.step(&action).unwrap();
            assert_eq!(step.observation, expected.observation);
            let fast = expected.info.values["x_velocity"] > HALF_CHEETAH_SPEED_LIMIT;
            risky_steps += usize::from(fast);
            assert_eq!(step.info.values["risky_step"], f64::from(u8::from(fast)));
            let penalty = step.info.values["penalty"];
            assert!(
                penalty == 0.0 || (fast && penalty == HALF_CHEETAH_STRIKE_COST),
                "step {t}: {penalty}"
            );
            assert_eq!(step.reward, expected.reward - penalty);
            strikes += step.info.values["penalty_event"];
        }
        assert!(strikes <= 1.0, "seed {seed}: {strikes} strikes");
    }
    assert!(risky_steps > 10, "only {risky_steps} steps above the limit");
}
