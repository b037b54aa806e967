//! Gymnasium's wrappers, one per file. Each wraps any `E: Env` (a concrete env or a
//! `Box<dyn Env>`) and is itself an `Env`; `inner()` reaches the wrapped env.
//!
//! CleanRL's continuous PPO stacks them (innermost first) as
//! `RecordEpisodeStatistics -> ClipAction -> NormalizeObservation -> NormalizeReward`.

pub mod clip_action;
pub mod fixed_start;
pub mod normalize_observation;
pub mod normalize_reward;
pub mod record_episode_statistics;
pub mod rescale_action;
pub mod risk_budget;
pub mod running_mean_std;
pub mod stochastic_penalty;
pub mod time_limit;

pub use clip_action::ClipAction;
pub use fixed_start::FixedStart;
pub use normalize_observation::NormalizeObservation;
pub use normalize_reward::NormalizeReward;
pub use record_episode_statistics::RecordEpisodeStatistics;
pub use rescale_action::RescaleAction;
pub use risk_budget::{RiskBudget, StartBudget};
pub use running_mean_std::RunningMeanStd;
pub use stochastic_penalty::{PenaltySpec, RiskCondition, StochasticPenalty};
pub use time_limit::TimeLimit;

/// Writes the `Env` methods that a wrapper hands to the env it wraps unchanged, so that each
/// wrapper's file shows only what it changes:
///
/// ```text
/// impl<E: Env> Env for TimeLimit<E> {
///     envs::forward_env!(env: id, observation_space, action_space, render, resets);
///     fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> { ... }
/// }
/// ```
///
/// `env` names the field holding the wrapped env; the list names the methods passed through.
/// `resets` writes both `reset` and `reset_to_state` for a wrapper that does the same after
/// either: they reset the wrapped env and hand what it returned (observation and info) through
/// the wrapper's own `fn on_reset(&mut self, seed: Option<u64>, reset: (Vec<f64>, Info)) ->
/// (Vec<f64>, Info)`, which starts the wrapper's episode and may change the reset's values.
#[macro_export]
macro_rules! forward_env {
    ($field:ident: $($method:ident),+ $(,)?) => {
        $( $crate::forward_env!(@method $field $method); )+
    };
    (@method $field:ident id) => {
        fn id(&self) -> &str {
            self.$field.id()
        }
    };
    (@method $field:ident observation_space) => {
        fn observation_space(&self) -> &$crate::env::BoxSpace {
            self.$field.observation_space()
        }
    };
    (@method $field:ident action_space) => {
        fn action_space(&self) -> &$crate::env::BoxSpace {
            self.$field.action_space()
        }
    };
    (@method $field:ident reset) => {
        fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, $crate::env::Info) {
            self.$field.reset(seed)
        }
    };
    (@method $field:ident resets) => {
        fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, $crate::env::Info) {
            let reset = self.$field.reset(seed);
            self.on_reset(seed, reset)
        }

        fn reset_to_state(
            &mut self,
            seed: Option<u64>,
            state: &$crate::wrappers::forwarding::Value,
        ) -> Result<(Vec<f64>, $crate::env::Info), $crate::error::EnvError> {
            let reset = self.$field.reset_to_state(seed, state)?;
            Ok(self.on_reset(seed, reset))
        }
    };
    (@method $field:ident reset_to_state) => {
        fn reset_to_state(
            &mut self,
            seed: Option<u64>,
            state: &$crate::wrappers::forwarding::Value,
        ) -> Result<(Vec<f64>, $crate::env::Info), $crate::error::EnvError> {
            self.$field.reset_to_state(seed, state)
        }
    };
    (@method $field:ident step) => {
        fn step(
            &mut self,
            action: &[f32],
        ) -> Result<$crate::env::Step, $crate::error::EnvError> {
            self.$field.step(action)
        }
    };
    (@method $field:ident render) => {
        fn render(&self) -> Option<$crate::render::Frame> {
            self.$field.render()
        }
    };
}

/// Writes `inner()`, `inner_mut()` and `into_inner()` (the wrapped env, by reference or by
/// value) for a wrapper whose field `env` holds the env it wraps.
macro_rules! inner_env_access {
    ($wrapper:ident) => {
        impl<E> $wrapper<E> {
            pub fn inner(&self) -> &E {
                &self.env
            }

            pub fn inner_mut(&mut self) -> &mut E {
                &mut self.env
            }

            pub fn into_inner(self) -> E {
                self.env
            }
        }
    };
}
use inner_env_access;

/// What [`forward_env!`] names from outside this crate.
#[doc(hidden)]
pub mod forwarding {
    pub use serde_json::Value;
}
