//! Range checks of numeric config settings. Every floating-point setting must be finite (TOML
//! accepts `inf` and `nan`) and fit float32, since the networks compute in float32: 1e300 or
//! 1e-300 would turn into infinity or zero there without a word.

use ordergrad_core::{Objective, OrderGradError, RankPlan};

use crate::config::resource_limits::{MAX_MEMORY_ENV, MemoryBudget, check_rank_plan};
use crate::config::{ConfigError, invalid};

/// The numbers a setting accepts, for the check and for its error message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Accepted {
    /// (0, float32's largest].
    Positive,
    /// [0, float32's largest].
    NonNegative,
    /// [0, 1].
    UnitInterval,
    /// (0, 1].
    PositiveUpToOne,
    /// (low, high]: low excluded, high included.
    Between(f64, f64),
}

impl Accepted {
    fn contains(self, value: f64) -> bool {
        // Positive numbers below float32's smallest normal number flush towards zero there.
        let float32 = value == 0.0
            || (f64::from(f32::MIN_POSITIVE)..=f64::from(f32::MAX)).contains(&value.abs());
        match self {
            Accepted::Positive => value > 0.0 && float32,
            Accepted::NonNegative => value >= 0.0 && float32,
            Accepted::UnitInterval => (0.0..=1.0).contains(&value),
            Accepted::PositiveUpToOne => value > 0.0 && value <= 1.0,
            Accepted::Between(low, high) => value > low && value <= high,
        }
    }

    fn describe(self) -> String {
        match self {
            Accepted::Positive => format!(
                "a finite number in [{:e}, {:e}] (float32's positive normal range)",
                f32::MIN_POSITIVE,
                f32::MAX
            ),
            Accepted::NonNegative => format!(
                "0 or a finite number in [{:e}, {:e}] (float32's range)",
                f32::MIN_POSITIVE,
                f32::MAX
            ),
            Accepted::UnitInterval => "a number in [0, 1]".into(),
            Accepted::PositiveUpToOne => "a number in (0, 1]".into(),
            Accepted::Between(low, high) => format!("a number in ({low}, {high}]"),
        }
    }
}

/// `key = value` must be one of the `accepted` numbers.
pub fn check_number(key: &str, value: f64, accepted: Accepted) -> Result<(), ConfigError> {
    if accepted.contains(value) {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!(
                "{} is not accepted: expected {}",
                short_number(value),
                accepted.describe()
            ),
        ))
    }
}

/// 1e300 as "1e300", not as 301 digits.
fn short_number(value: f64) -> String {
    if value != 0.0 && value.is_finite() && !(1e-4..1e9).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// Every `(key, value)` of `table` (e.g. "sac") against one range.
pub fn check_numbers(
    table: &str,
    settings: &[(&str, f64)],
    accepted: Accepted,
) -> Result<(), ConfigError> {
    settings
        .iter()
        .try_for_each(|(name, value)| check_number(&format!("{table}.{name}"), *value, accepted))
}

/// A count that must be at least 1.
pub fn check_count(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        Err(invalid(key, "must be at least 1".into()))
    } else {
        Ok(())
    }
}

/// The rank plan of an objective setting (`key`, e.g. "remac.k") for groups of `n` compared
/// `k` at a time must fit the memory budget and the work limit; `what` names the sizes.
pub fn check_rank_plan_setting(
    key: &str,
    what: &str,
    objective: &Objective,
    n: usize,
    k: usize,
) -> Result<(), ConfigError> {
    let budget = MemoryBudget::current().map_err(|message| invalid(MAX_MEMORY_ENV, message))?;
    check_rank_plan(what, objective, n, k, &budget).map_err(|message| invalid(key, message))
}

/// The rank plan of an objective setting for groups of `n` compared `k` at a time, after
/// [`check_rank_plan_setting`] (`key`, `what`); `unfit` says which setting is to blame when the
/// objective does not fit `n` and `k`.
pub fn rank_plan_setting(
    key: &str,
    what: &str,
    objective: &Objective,
    n: usize,
    k: usize,
    unfit: impl FnOnce(OrderGradError) -> ConfigError,
) -> Result<RankPlan, ConfigError> {
    check_rank_plan_setting(key, what, objective, n, k)?;
    RankPlan::new(objective, n, k).map_err(unfit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_and_float32_overflowing_numbers_are_refused() {
        for value in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e300, 1e-300] {
            let error = check_number("sac.alpha", value, Accepted::NonNegative).unwrap_err();
            let message = error.to_string();
            assert!(message.contains("sac.alpha"), "{message}");
            assert!(message.contains("finite number"), "{message}");
        }
        for value in [0.0, -0.0, 0.2, 1e30] {
            check_number("sac.alpha", value, Accepted::NonNegative).unwrap();
        }
    }

    #[test]
    fn ranges_are_enforced_at_their_ends() {
        assert!(check_number("k", 0.0, Accepted::Positive).is_err());
        assert!(check_number("k", -1e-3, Accepted::NonNegative).is_err());
        assert!(check_number("k", 1.0, Accepted::UnitInterval).is_ok());
        assert!(check_number("k", 1.0 + 1e-12, Accepted::UnitInterval).is_err());
        assert!(check_number("k", 0.0, Accepted::PositiveUpToOne).is_err());
        assert!(check_number("k", 3600.0, Accepted::Between(0.0, 3600.0)).is_ok());
        assert!(check_number("k", 3600.5, Accepted::Between(0.0, 3600.0)).is_err());
        let message = check_numbers("ppo", &[("clip_coef", f64::NAN)], Accepted::Positive)
            .unwrap_err()
            .to_string();
        assert!(message.contains("ppo.clip_coef"), "{message}");
    }
}
