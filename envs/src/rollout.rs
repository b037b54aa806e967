//! Replaying a fixed list of actions in one env: the library side of `ordergrad rollout`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::env::{Env, validate_action};
use crate::error::EnvError;
use crate::registry::{make, spec};

/// One episode's trajectory, as `ordergrad rollout` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    /// The reset observation first, then one per step: `rewards.len() + 1` entries.
    pub observations: Vec<Vec<f64>>,
    pub rewards: Vec<f64>,
    pub terminated: Vec<bool>,
    pub truncated: Vec<bool>,
}

/// Runs `actions` in `make(env_id)` (time limit included) from a reset with `seed`
/// (`None`: OS entropy), or from `init_state` if given (e.g. `{"state": [theta, thetadot]}`
/// for Pendulum-v1; see `Env::reset_to_state`), which replaces the reset draw.
///
/// Stops after the step that ends the episode (terminated or truncated); any remaining
/// actions are not played. Every action is checked before the first step, so a wrong-length
/// or non-finite action anywhere in the list is an error (`RolloutAction`, with its index).
pub fn rollout(
    env_id: &str,
    actions: &[Vec<f32>],
    seed: Option<u64>,
    init_state: Option<&Value>,
) -> Result<Rollout, EnvError> {
    let mut env = make(env_id)?;
    for (index, action) in actions.iter().enumerate() {
        validate_action(env.id(), env.action_space(), action).map_err(|error| {
            EnvError::RolloutAction {
                index,
                error: Box::new(error),
            }
        })?;
    }
    let (reset_observation, _) = match init_state {
        Some(state) => env.reset_to_state(seed, state)?,
        None => env.reset(seed),
    };
    check_finite(env.id(), "observation", &reset_observation, || {
        "at reset".into()
    })?;

    let mut trajectory = Rollout {
        observations: vec![reset_observation],
        rewards: Vec::new(),
        terminated: Vec::new(),
        truncated: Vec::new(),
    };
    for (index, action) in actions.iter().enumerate() {
        let step = env.step(action).map_err(|error| EnvError::RolloutAction {
            index,
            error: Box::new(error),
        })?;
        let after = || format!("at action {index}");
        check_finite(env.id(), "observation", &step.observation, after)?;
        check_finite(env.id(), "reward", &[step.reward], after)?;
        let done = step.is_done();
        trajectory.observations.push(step.observation);
        trajectory.rewards.push(step.reward);
        trajectory.terminated.push(step.terminated);
        trajectory.truncated.push(step.truncated);
        if done {
            break;
        }
    }
    Ok(trajectory)
}

/// Errors unless every number of `values` is finite: JSON has no infinity or NaN.
fn check_finite(
    env_id: &str,
    what: &'static str,
    values: &[f64],
    after: impl Fn() -> String,
) -> Result<(), EnvError> {
    if values.iter().all(|value| value.is_finite()) {
        Ok(())
    } else {
        Err(EnvError::NonFiniteRollout {
            env_id: env_id.to_owned(),
            what,
            after: after(),
        })
    }
}

/// `rollout` from the command line's text: `actions_json` is a JSON array of actions, each an
/// array of numbers (`[[0.5], [-1.0]]`) or, for one-dimensional actions, a bare number
/// (`[0.5, -1.0]`); `init_state_json` is the `--init-state` text.
pub fn rollout_from_json(
    env_id: &str,
    actions_json: &str,
    seed: Option<u64>,
    init_state_json: Option<&str>,
) -> Result<Rollout, EnvError> {
    let env_spec = spec(env_id)?;
    let actions = parse_actions(actions_json)?;
    let init_state = init_state_json
        .map(|text| {
            serde_json::from_str::<Value>(text).map_err(|error| EnvError::InvalidInitialState {
                env_id: env_id.to_owned(),
                reason: format!("not valid JSON: {error}"),
                expected: env_spec.initial_state_shape.to_owned(),
            })
        })
        .transpose()?;
    rollout(env_id, &actions, seed, init_state.as_ref())
}

/// Parses a JSON array of actions (see `rollout_from_json`). Numbers are read as float64 and
/// rounded to float32; a number too large for float32 becomes infinite and is then rejected
/// by the env as non-finite.
pub fn parse_actions(json: &str) -> Result<Vec<Vec<f32>>, EnvError> {
    let invalid = |reason: String| EnvError::InvalidActionsJson { reason };
    let value: Value = serde_json::from_str(json).map_err(|error| {
        // Python's json.dump writes NaN/Infinity as bare tokens that JSON does not allow.
        let non_finite = ["NaN", "Infinity"]
            .iter()
            .find(|token| json.contains(*token));
        match non_finite {
            Some(token) => invalid(format!(
                "{token} in the input: actions must be finite numbers"
            )),
            None => invalid(format!("not valid JSON: {error}")),
        }
    })?;
    let items = value.as_array().ok_or_else(|| {
        invalid(format!(
            "the top level is {}, not an array",
            json_kind(&value)
        ))
    })?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Number(_) => Ok(vec![number_as_f32(item)]),
            Value::Array(components) => components
                .iter()
                .map(|component| match component {
                    Value::Number(_) => Ok(number_as_f32(component)),
                    other => Err(invalid(format!(
                        "action {index} has a component that is {}, not a number",
                        json_kind(other)
                    ))),
                })
                .collect(),
            other => Err(invalid(format!(
                "action {index} is {}, not an array of numbers",
                json_kind(other)
            ))),
        })
        .collect()
}

fn number_as_f32(number: &Value) -> f32 {
    number.as_f64().expect("a JSON number fits in f64") as f32
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rollout_starts_with_the_reset_observation_and_stops_at_truncation() {
        let actions = vec![vec![0.0_f32]; 250];
        let trajectory = rollout("Pendulum-v1", &actions, Some(3), None).unwrap();
        assert_eq!(trajectory.rewards.len(), 200);
        assert_eq!(trajectory.observations.len(), 201);
        assert!(trajectory.truncated[199] && !trajectory.truncated[198]);
        assert!(trajectory.terminated.iter().all(|t| !t));
    }

    #[test]
    fn rollout_stops_at_termination() {
        let trajectory = rollout(
            "MountainCarContinuous-v0",
            &[vec![1.0], vec![1.0], vec![1.0]],
            None,
            Some(&json!({"state": [0.449, 0.05]})),
        )
        .unwrap();
        assert_eq!(trajectory.terminated, vec![true]);
        assert_eq!(trajectory.truncated, vec![false]);
        assert_eq!(trajectory.observations.len(), 2);
    }

    #[test]
    fn init_state_overrides_the_reset_draw() {
        let trajectory = rollout(
            "Pendulum-v1",
            &[],
            Some(0),
            Some(&json!({"state": [0.0, 0.5]})),
        )
        .unwrap();
        assert_eq!(trajectory.observations, vec![vec![1.0, 0.0, 0.5]]);
    }

    #[test]
    fn same_seed_gives_the_same_rollout() {
        let actions = vec![vec![0.3_f32]; 20];
        let a = rollout("Pendulum-v1", &actions, Some(7), None).unwrap();
        let b = rollout("Pendulum-v1", &actions, Some(7), None).unwrap();
        let c = rollout("Pendulum-v1", &actions, Some(8), None).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn bad_actions_anywhere_are_errors_with_their_index() {
        let mut actions = vec![vec![0.0_f32]; 300];
        actions[250] = vec![f32::NAN];
        let message = rollout("Pendulum-v1", &actions, Some(0), None)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("action 250") && message.contains("action[0] is NaN"),
            "{message}"
        );

        let message = rollout("Pendulum-v1", &[vec![0.0, 1.0]], Some(0), None)
            .unwrap_err()
            .to_string();
        assert!(message.contains("2 components, expected 1"), "{message}");
    }

    #[test]
    fn wrong_init_state_names_the_accepted_shape() {
        for state in [
            json!({"qpos": [0.0]}),
            json!({"state": [1.0]}),
            json!([1.0, 2.0]),
        ] {
            let message = rollout("Pendulum-v1", &[], None, Some(&state))
                .unwrap_err()
                .to_string();
            assert!(
                message.contains(r#"{"state": [theta, thetadot]}"#),
                "{message}"
            );
        }
        let message = rollout_from_json("MountainCarContinuous-v0", "[]", None, Some("{state"))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(r#"{"state": [position, velocity]}"#),
            "{message}"
        );
    }

    #[test]
    fn rollout_prints_as_the_cli_contract_says() {
        let trajectory = rollout_from_json(
            "MountainCarContinuous-v0",
            "[0.5]",
            Some(0),
            Some(r#"{"state": [-0.5, 0.0]}"#),
        )
        .unwrap();
        let printed = serde_json::to_string(&trajectory).unwrap();
        assert!(
            printed.starts_with(r#"{"observations":[[-0.5,0.0],["#),
            "{printed}"
        );
        assert!(
            printed.ends_with(r#""rewards":[-0.025],"terminated":[false],"truncated":[false]}"#),
            "{printed}"
        );
    }

    #[test]
    fn parse_actions_accepts_rows_and_bare_numbers() {
        assert_eq!(
            parse_actions("[[0.5], [-1]]").unwrap(),
            vec![vec![0.5], vec![-1.0]]
        );
        assert_eq!(
            parse_actions("[0.5, -1]").unwrap(),
            vec![vec![0.5], vec![-1.0]]
        );
        assert_eq!(parse_actions("[]").unwrap(), Vec::<Vec<f32>>::new());
    }

    #[test]
    fn parse_actions_explains_bad_input() {
        let nan = parse_actions("[[NaN]]").unwrap_err().to_string();
        assert!(nan.contains("NaN") && nan.contains("finite"), "{nan}");
        assert!(
            parse_actions(r#"{"a": 1}"#)
                .unwrap_err()
                .to_string()
                .contains("an object")
        );
        assert!(
            parse_actions(r#"[["x"]]"#)
                .unwrap_err()
                .to_string()
                .contains("a string")
        );
        let overflow = rollout_from_json("Pendulum-v1", "[[1e300]]", None, None).unwrap_err();
        assert!(overflow.to_string().contains("inf"), "{overflow}");
    }

    #[test]
    fn a_state_outside_the_env_is_refused_not_printed_as_null() {
        let error = rollout_from_json(
            "MountainCarContinuous-v0",
            "[[0.5]]",
            Some(0),
            Some(r#"{"state": [1e308, 0]}"#),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("state[0]") && error.contains("outside"),
            "{error}"
        );
        assert!(check_finite("X", "reward", &[f64::NAN], || "at action 2".into()).is_err());
        check_finite("X", "reward", &[1e308, -0.0], || unreachable!()).unwrap();
    }
}
