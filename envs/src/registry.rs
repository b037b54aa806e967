//! Env ids as Gymnasium spells them, and `make`.

use crate::classic::{MountainCarContinuous, Pendulum, mountain_car_continuous, pendulum};
use crate::env::Env;
use crate::error::EnvError;
use crate::wrappers::TimeLimit;

/// What `gymnasium.register` records for an id.
#[derive(Debug, Clone, Copy)]
pub struct EnvSpec {
    pub id: &'static str,
    /// The `TimeLimit` that `make` adds, as in Gymnasium's registration.
    pub max_episode_steps: Option<usize>,
    /// Gymnasium's "solved" threshold, where it defines one.
    pub reward_threshold: Option<f64>,
    /// The JSON `Env::reset_to_state` accepts, for messages and `--help`.
    pub initial_state_shape: &'static str,
    /// Builds the bare env, without the time limit. Fails only for MuJoCo envs (a library of
    /// the wrong version).
    pub make_unwrapped: fn() -> Result<Box<dyn Env>, EnvError>,
    /// Built on the MuJoCo library: registered only with the `mujoco` feature.
    pub needs_mujoco: bool,
}

const CLASSIC_CONTROL: &[EnvSpec] = &[
    EnvSpec {
        id: pendulum::ID,
        max_episode_steps: Some(pendulum::MAX_EPISODE_STEPS),
        reward_threshold: None,
        initial_state_shape: pendulum::INIT_STATE_SHAPE,
        make_unwrapped: || Ok(Box::new(Pendulum::new())),
        needs_mujoco: false,
    },
    EnvSpec {
        id: mountain_car_continuous::ID,
        max_episode_steps: Some(mountain_car_continuous::MAX_EPISODE_STEPS),
        reward_threshold: Some(90.0),
        initial_state_shape: mountain_car_continuous::INIT_STATE_SHAPE,
        make_unwrapped: || Ok(Box::new(MountainCarContinuous::new())),
        needs_mujoco: false,
    },
];

/// Gymnasium's MuJoCo v5 ids, registered only with the `mujoco` feature. Known here in every
/// build so that asking for one without the feature says how to get it.
pub const MUJOCO_IDS: &[&str] = &[
    "HalfCheetah-v5",
    "Hopper-v5",
    "Walker2d-v5",
    "Ant-v5",
    "InvertedPendulum-v5",
    "InvertedDoublePendulum-v5",
    "Reacher-v5",
    "Swimmer-v5",
    "Humanoid-v5",
];

/// The risky tasks (see `risky`): the two written for it, then the variants of registered envs,
/// registered after the envs they wrap.
const RISKY: &[EnvSpec] = &[
    crate::risky::crossing::SPEC,
    crate::risky::car::SPEC,
    crate::risky::RISKY_PENDULUM,
    #[cfg(feature = "mujoco")]
    crate::risky::RISKY_HALF_CHEETAH,
];

/// Every registered spec: classic control, then (with the `mujoco` feature) the MuJoCo v5 envs,
/// then the risky variants.
pub fn specs() -> impl Iterator<Item = &'static EnvSpec> {
    let specs = CLASSIC_CONTROL.iter();
    #[cfg(feature = "mujoco")]
    let specs = specs.chain(crate::mujoco::SPECS);
    specs.chain(RISKY)
}

/// The ids `make` accepts, in registration order.
pub fn registered_ids() -> Vec<&'static str> {
    specs().map(|spec| spec.id).collect()
}

pub fn spec(id: &str) -> Result<&'static EnvSpec, EnvError> {
    specs()
        .find(|spec| spec.id == id)
        .ok_or_else(|| unknown_id(id))
}

/// `gymnasium.make(id)`: the env wrapped in its registered `TimeLimit`.
pub fn make(id: &str) -> Result<Box<dyn Env>, EnvError> {
    let spec = spec(id)?;
    let env = (spec.make_unwrapped)()?;
    Ok(match spec.max_episode_steps {
        Some(limit) => Box::new(TimeLimit::new(env, limit)?),
        None => env,
    })
}

fn unknown_id(id: &str) -> EnvError {
    if MUJOCO_IDS.contains(&id) || id == crate::risky::RISKY_HALF_CHEETAH_ID {
        return EnvError::MujocoNotBuilt { id: id.to_owned() };
    }
    // `Pendulum-v0` -> `Pendulum-v1`: same name, another version.
    let name = |id: &str| {
        id.rsplit_once("-v")
            .map_or(id, |(name, _)| name)
            .to_ascii_lowercase()
    };
    let suggestion = specs()
        .find(|spec| name(spec.id) == name(id))
        .map(|spec| spec.id.to_owned());
    EnvError::UnknownEnvId {
        id: id.to_owned(),
        known: registered_ids().into_iter().map(str::to_owned).collect(),
        suggestion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_id_lists_the_known_ids() {
        let error = make("CartPole-v1").err().unwrap();
        let message = error.to_string();
        assert!(message.contains("CartPole-v1"), "{message}");
        assert!(message.contains("Pendulum-v1"), "{message}");
        assert!(message.contains("MountainCarContinuous-v0"), "{message}");
    }

    #[test]
    fn unknown_version_suggests_the_registered_one() {
        let message = make("pendulum-v0").err().unwrap().to_string();
        assert!(message.contains("did you mean `Pendulum-v1`"), "{message}");
    }

    #[cfg(not(feature = "mujoco"))]
    #[test]
    fn mujoco_id_without_the_feature_says_how_to_get_it() {
        let message = make("HalfCheetah-v5").err().unwrap().to_string();
        assert!(
            message.contains("scripts/setup_mujoco.sh") && message.contains("--features mujoco"),
            "{message}"
        );
    }

    #[test]
    fn make_adds_gymnasium_time_limits() {
        for (id, limit) in [
            ("Pendulum-v1", 200),
            ("MountainCarContinuous-v0", 999),
            ("RiskyCrossing-v0", 50),
            ("RiskyCar-v0", 100),
        ] {
            let mut env = make(id).unwrap();
            env.reset(Some(0));
            let action = vec![0.0; env.action_space().dim()];
            for step_index in 1..=limit {
                let step = env.step(&action).unwrap();
                assert_eq!(
                    step.truncated,
                    step_index == limit,
                    "{id} step {step_index}"
                );
                if step.terminated {
                    break;
                }
            }
        }
    }
}
