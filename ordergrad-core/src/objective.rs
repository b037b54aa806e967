//! Objectives as weight vectors alpha over the K order statistics of K i.i.d. draws
//! (math.md section 1). alpha is in ascending rank order: alpha[0] weights the smallest draw.

use std::fmt;
use std::str::FromStr;

use crate::error::{OrderGradError, Result};

/// An L-statistic objective: which weighted combination of the K order statistics to maximise.
#[derive(Debug, Clone, PartialEq)]
pub enum Objective {
    /// Ordinary expected return: alpha_j = 1/K.
    Mean,
    /// Best of K draws (ReMax, pass@K for 0/1 rewards).
    Max,
    /// Worst of K draws.
    Min,
    /// Mean of the best m of K draws.
    Top(usize),
    /// Mean of the worst m of K draws.
    Bottom(usize),
    /// Exact lower-tail conditional value at risk at level beta in (0, 1].
    Cvar(f64),
    /// Value at risk: the ceil(beta K)-th smallest draw.
    Var(f64),
    /// The middle draw (mean of the two middle draws for even K).
    Median,
    /// Mean after dropping the t smallest and t largest draws.
    Trim(usize),
    /// Any finite weight vector of length K, ascending by rank.
    Custom(Vec<f64>),
}

/// beta * K is snapped to the nearest integer when this close, so that `var:0.3` with K = 10
/// selects the 3rd draw although 0.3 * 10 is 3.0000000000000004 in f64.
const INTEGER_SNAP: f64 = 1e-9;

fn snapped(x: f64) -> f64 {
    let nearest = x.round();
    if (x - nearest).abs() <= INTEGER_SNAP * nearest.abs().max(1.0) {
        nearest
    } else {
        x
    }
}

impl Objective {
    /// The weight vector alpha (length K, ascending rank order) of this objective at comparison
    /// size K, or an error when the objective cannot be formed at this K.
    pub fn alpha(&self, k: usize) -> Result<Vec<f64>> {
        if k == 0 {
            return Err(self.misfit(k, "K must be at least 1".into()));
        }
        let kf = k as f64;
        let alpha = match self {
            Objective::Mean => vec![1.0 / kf; k],
            Objective::Max => one_hot(k, k - 1, 1.0),
            Objective::Min => one_hot(k, 0, 1.0),
            Objective::Top(m) | Objective::Bottom(m) => {
                if *m == 0 || *m > k {
                    return Err(self.misfit(k, format!("m = {m} must satisfy 1 <= m <= K")));
                }
                let mut alpha = vec![0.0; k];
                let selected = match self {
                    Objective::Top(_) => k - m..k,
                    _ => 0..*m,
                };
                alpha[selected].fill(1.0 / *m as f64);
                alpha
            }
            Objective::Cvar(beta) => {
                let tail = snapped(beta * kf);
                (1..=k)
                    .map(|j| {
                        let j = j as f64;
                        (tail.min(j) - (j - 1.0)).max(0.0) / tail
                    })
                    .collect()
            }
            Objective::Var(beta) => {
                let rank = snapped(beta * kf).ceil().max(1.0) as usize;
                one_hot(k, rank - 1, 1.0)
            }
            Objective::Median => {
                if k % 2 == 1 {
                    one_hot(k, k / 2, 1.0)
                } else {
                    let mut alpha = one_hot(k, k / 2 - 1, 0.5);
                    alpha[k / 2] = 0.5;
                    alpha
                }
            }
            Objective::Trim(t) => {
                if t.saturating_mul(2) >= k {
                    return Err(self.misfit(k, format!("t = {t} needs 2t < K")));
                }
                let mut alpha = vec![0.0; k];
                alpha[*t..k - t].fill(1.0 / (k - 2 * t) as f64);
                alpha
            }
            Objective::Custom(weights) => {
                if weights.len() != k {
                    return Err(self.misfit(
                        k,
                        format!(
                            "{} custom weights given, one per draw (K) is needed",
                            weights.len()
                        ),
                    ));
                }
                weights.clone()
            }
        };
        Ok(alpha)
    }

    /// How many of the K weights of [`Objective::alpha`] are nonzero, without building them (the
    /// same errors as `alpha`): what a plan's cost grows with, known before K numbers are
    /// allocated.
    pub fn nonzero_weights(&self, k: usize) -> Result<usize> {
        if k == 0 {
            return Err(self.misfit(k, "K must be at least 1".into()));
        }
        Ok(match self {
            Objective::Mean => k,
            Objective::Max | Objective::Min | Objective::Var(_) => 1,
            Objective::Top(m) | Objective::Bottom(m) => {
                if *m == 0 || *m > k {
                    return Err(self.misfit(k, format!("m = {m} must satisfy 1 <= m <= K")));
                }
                *m
            }
            // Draw j weighs in while j - 1 < beta K.
            Objective::Cvar(beta) => (snapped(beta * k as f64).ceil() as usize).clamp(1, k),
            Objective::Median => 2 - k % 2,
            Objective::Trim(t) => {
                if t.saturating_mul(2) >= k {
                    return Err(self.misfit(k, format!("t = {t} needs 2t < K")));
                }
                k - 2 * t
            }
            Objective::Custom(weights) => {
                self.alpha(k)?;
                weights.iter().filter(|weight| **weight != 0.0).count()
            }
        })
    }

    fn misfit(&self, k: usize, reason: String) -> OrderGradError {
        OrderGradError::ObjectiveDoesNotFitK {
            objective: self.to_string(),
            k,
            reason,
        }
    }
}

fn one_hot(len: usize, index: usize, value: f64) -> Vec<f64> {
    let mut alpha = vec![0.0; len];
    alpha[index] = value;
    alpha
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Objective::Mean => write!(f, "mean"),
            Objective::Max => write!(f, "max"),
            Objective::Min => write!(f, "min"),
            Objective::Top(m) => write!(f, "top:{m}"),
            Objective::Bottom(m) => write!(f, "bottom:{m}"),
            Objective::Cvar(beta) => write!(f, "cvar:{beta}"),
            Objective::Var(beta) => write!(f, "var:{beta}"),
            Objective::Median => write!(f, "median"),
            Objective::Trim(t) => write!(f, "trim:{t}"),
            Objective::Custom(weights) => {
                let parts: Vec<String> = weights.iter().map(f64::to_string).collect();
                write!(f, "custom:{}", parts.join(","))
            }
        }
    }
}

impl FromStr for Objective {
    type Err = OrderGradError;

    fn from_str(input: &str) -> Result<Self> {
        let invalid = |reason: String| OrderGradError::InvalidObjective {
            input: input.to_string(),
            reason,
        };
        let text = input.trim();
        let (name, parameter) = match text.split_once(':') {
            Some((name, parameter)) => (name.trim(), Some(parameter.trim())),
            None => (text, None),
        };
        let count = |what: &str| -> Result<usize> {
            let raw =
                parameter.ok_or_else(|| invalid(format!("'{name}' needs {what}, as {name}:2")))?;
            match raw.parse::<usize>() {
                Ok(value) => Ok(value),
                Err(_) => Err(invalid(format!(
                    "{what} '{raw}' is not a non-negative integer"
                ))),
            }
        };
        let level = || -> Result<f64> {
            let raw = parameter
                .ok_or_else(|| invalid(format!("'{name}' needs a level beta, as {name}:0.1")))?;
            let beta: f64 = raw
                .parse()
                .map_err(|_| invalid(format!("level '{raw}' is not a number")))?;
            if beta > 0.0 && beta <= 1.0 {
                Ok(beta)
            } else {
                Err(invalid(format!("level {raw} is outside (0, 1]")))
            }
        };
        let no_parameter = |objective: Objective| -> Result<Objective> {
            match parameter {
                None => Ok(objective),
                Some(raw) => Err(invalid(format!("'{name}' takes no parameter, got '{raw}'"))),
            }
        };
        match name {
            "mean" => no_parameter(Objective::Mean),
            "max" => no_parameter(Objective::Max),
            "min" => no_parameter(Objective::Min),
            "median" => no_parameter(Objective::Median),
            "top" => match count("a count m")? {
                0 => Err(invalid("m must be at least 1".into())),
                m => Ok(Objective::Top(m)),
            },
            "bottom" => match count("a count m")? {
                0 => Err(invalid("m must be at least 1".into())),
                m => Ok(Objective::Bottom(m)),
            },
            "trim" => Ok(Objective::Trim(count("a count t")?)),
            "cvar" => Ok(Objective::Cvar(level()?)),
            "var" => Ok(Objective::Var(level()?)),
            "custom" => {
                let raw = parameter
                    .filter(|raw| !raw.is_empty())
                    .ok_or_else(|| invalid("'custom' needs weights, as custom:0,0.5,0.5".into()))?;
                let weights = raw
                    .split(',')
                    .map(|part| {
                        let part = part.trim();
                        match part.parse::<f64>() {
                            Ok(weight) if weight.is_finite() => Ok(weight),
                            Ok(_) => Err(invalid(format!("custom weight '{part}' is not finite"))),
                            Err(_) => {
                                Err(invalid(format!("custom weight '{part}' is not a number")))
                            }
                        }
                    })
                    .collect::<Result<Vec<f64>>>()?;
                Ok(Objective::Custom(weights))
            }
            "" => Err(invalid("the objective is empty".into())),
            other => Err(invalid(format!("unknown objective name '{other}'"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_round_trips_through_display() {
        for text in [
            "mean",
            "max",
            "min",
            "top:2",
            "bottom:3",
            "cvar:0.1",
            "var:0.25",
            "median",
            "trim:1",
            "custom:0,0.25,0.75",
            "custom:-1,0.00000025,1",
        ] {
            let objective: Objective = text.parse().unwrap();
            let again: Objective = objective.to_string().parse().unwrap();
            assert_eq!(objective, again, "{text}");
            assert_eq!(objective.to_string(), text);
        }
    }

    #[test]
    fn bad_strings_are_errors_that_list_the_accepted_forms() {
        for text in [
            "",
            "maxx",
            "top",
            "top:0",
            "top:-1",
            "top:x",
            "cvar:0",
            "cvar:1.5",
            "cvar:nan",
            "var:-0.1",
            "mean:3",
            "custom:",
            "custom:1,x",
            "custom:1,inf",
        ] {
            let error = text.parse::<Objective>().unwrap_err();
            let message = error.to_string();
            assert!(message.contains("Accepted forms"), "{text}: {message}");
            assert!(message.contains(text.trim()), "{text}: {message}");
        }
    }

    #[test]
    fn cvar_alpha_is_exact_on_a_fractional_tail() {
        // cvar:0.1 at K = 16 covers 1.6 draws: 1/1.6 on the smallest, 0.6/1.6 on the next.
        let alpha = Objective::Cvar(0.1).alpha(16).unwrap();
        assert!((alpha[0] - 0.625).abs() < 1e-15);
        assert!((alpha[1] - 0.375).abs() < 1e-15);
        assert!(alpha[2..].iter().all(|&a| a == 0.0));
    }

    #[test]
    fn var_snaps_beta_times_k_to_an_integer() {
        let alpha = Objective::Var(0.3).alpha(10).unwrap();
        assert_eq!(alpha.iter().position(|&a| a == 1.0), Some(2));
        let alpha = Objective::Cvar(0.3).alpha(10).unwrap();
        assert_eq!(alpha.iter().filter(|&&a| a > 0.0).count(), 3);
    }

    #[test]
    fn median_splits_between_the_two_middle_draws_for_even_k() {
        assert_eq!(
            Objective::Median.alpha(4).unwrap(),
            vec![0.0, 0.5, 0.5, 0.0]
        );
        assert_eq!(
            Objective::Median.alpha(5).unwrap(),
            vec![0.0, 0.0, 1.0, 0.0, 0.0]
        );
    }

    #[test]
    fn objectives_that_do_not_fit_k_are_errors() {
        assert!(Objective::Top(5).alpha(4).is_err());
        assert!(Objective::Trim(2).alpha(4).is_err());
        assert!(Objective::Custom(vec![1.0, 0.0]).alpha(3).is_err());
        assert!(Objective::Mean.alpha(0).is_err());
        assert_eq!(
            Objective::Trim(1).alpha(4).unwrap(),
            vec![0.0, 0.5, 0.5, 0.0]
        );
    }

    #[test]
    fn nonzero_weights_counts_what_alpha_builds() {
        let objectives = [
            "mean",
            "max",
            "min",
            "top:1",
            "top:3",
            "bottom:2",
            "cvar:0.1",
            "cvar:0.3",
            "cvar:0.25",
            "cvar:1",
            "cvar:0.999",
            "cvar:0.001",
            "var:0.3",
            "var:1",
            "median",
            "trim:0",
            "trim:2",
            "custom:0,1,0",
            "custom:0,0,0,0",
        ];
        for text in objectives {
            let objective: Objective = text.parse().unwrap();
            for k in 0..40 {
                match (objective.alpha(k), objective.nonzero_weights(k)) {
                    (Ok(alpha), Ok(count)) => assert_eq!(
                        alpha.iter().filter(|&&a| a != 0.0).count(),
                        count,
                        "{text} at K = {k}"
                    ),
                    (Err(a), Err(b)) => assert_eq!(a, b, "{text} at K = {k}"),
                    (a, b) => panic!("{text} at K = {k}: alpha {a:?}, count {b:?}"),
                }
            }
        }
        // No allocation of K weights: a huge K is counted at once.
        assert_eq!(Objective::Median.nonzero_weights(usize::MAX), Ok(1));
        assert!(Objective::Trim(usize::MAX).nonzero_weights(3).is_err());
    }
}
