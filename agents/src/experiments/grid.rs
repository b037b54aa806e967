//! `--grid key=v1,v2`: axes of a hyperparameter grid, their product, and a readable folder name
//! for each point of it (`sac.policy_lr=0.001`, `sac.policy_lr=0.001__sac.tau=0.01`).

use std::str::FromStr;

use super::SweepError;

/// The folder of the one point of a sweep without `--grid`.
pub const BASE_POINT: &str = "base";
/// Joins the `key=value` parts of a point with several axes in its folder name.
const NAME_SEPARATOR: &str = "__";

/// One `--grid` axis: a config key and the values it takes, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridAxis {
    pub key: String,
    pub values: Vec<String>,
}

impl FromStr for GridAxis {
    type Err = SweepError;

    /// `KEY=V1,V2,...`; when a value itself holds a comma (`custom:0.2,0.8`), separate the
    /// values with `;` instead. Values are TOML or bare strings, as for `--set`.
    fn from_str(text: &str) -> Result<Self, SweepError> {
        let fail = |reason: &str| SweepError::Grid {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (key, values) = text
            .split_once('=')
            .ok_or_else(|| fail("expected KEY=V1,V2"))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(|part| part.trim().is_empty()) {
            return Err(fail("the key is not a key path like sac.policy_lr"));
        }
        if key == "seed" {
            return Err(fail("seeds are swept with --seeds, not --grid"));
        }
        let separator = if values.contains(';') { ';' } else { ',' };
        let values: Vec<String> = values
            .split(separator)
            .map(|value| value.trim().to_string())
            .collect();
        if values.iter().any(String::is_empty) {
            return Err(fail("a value is empty"));
        }
        if let Some(repeated) = values
            .iter()
            .enumerate()
            .find(|(index, value)| values[..*index].contains(value))
        {
            return Err(fail(&format!("the value '{}' is listed twice", repeated.1)));
        }
        Ok(Self {
            key: key.to_string(),
            values,
        })
    }
}

/// One combination of grid values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridPoint {
    /// `(key, value)` per axis, in the order the axes were given.
    pub assignments: Vec<(String, String)>,
}

impl GridPoint {
    /// `--set` arguments that make this point.
    pub fn overrides(&self) -> Vec<String> {
        self.assignments
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect()
    }

    /// The folder name: `key=value` per axis joined by `__`, with characters that are awkward
    /// in paths or shells replaced by `_`; [`BASE_POINT`] without axes.
    pub fn name(&self) -> String {
        if self.assignments.is_empty() {
            return BASE_POINT.to_string();
        }
        self.overrides()
            .iter()
            .map(|assignment| {
                assignment
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "._=:+-,".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(NAME_SEPARATOR)
    }

    /// `key=value key=value` for progress lines and tables; `base` without axes.
    pub fn label(&self) -> String {
        if self.assignments.is_empty() {
            BASE_POINT.to_string()
        } else {
            self.overrides().join(" ")
        }
    }
}

/// Checks that no key is swept twice.
pub fn check_axes(axes: &[GridAxis]) -> Result<(), SweepError> {
    for (index, axis) in axes.iter().enumerate() {
        if axes[..index].iter().any(|other| other.key == axis.key) {
            return Err(SweepError::Grid {
                text: axis.key.clone(),
                reason: "this key is given to --grid twice; list all its values in one --grid"
                    .into(),
            });
        }
    }
    Ok(())
}

/// Every combination of the axes' values, the first axis varying slowest (like nested loops
/// written in the order of the flags). No axes: one point without assignments.
pub fn expand(axes: &[GridAxis]) -> Vec<GridPoint> {
    let mut points = vec![GridPoint {
        assignments: Vec::new(),
    }];
    for axis in axes {
        points = points
            .into_iter()
            .flat_map(|point| {
                axis.values.iter().map(move |value| {
                    let mut assignments = point.assignments.clone();
                    assignments.push((axis.key.clone(), value.clone()));
                    GridPoint { assignments }
                })
            })
            .collect();
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(text: &str) -> GridAxis {
        text.parse().unwrap()
    }

    #[test]
    fn axes_parse_keys_and_values() {
        assert_eq!(
            axis("sac.policy_lr = 3e-4, 1e-3"),
            GridAxis {
                key: "sac.policy_lr".into(),
                values: vec!["3e-4".into(), "1e-3".into()]
            }
        );
        assert_eq!(
            axis("remac.objective=custom:0.2,0.8;max").values,
            vec!["custom:0.2,0.8", "max"]
        );
    }

    #[test]
    fn malformed_axes_are_errors_that_show_the_accepted_form() {
        for (text, says) in [
            ("sac.policy_lr", "expected KEY=V1,V2"),
            ("=1,2", "not a key path"),
            ("sac..tau=1", "not a key path"),
            ("sac.tau=", "empty"),
            ("sac.tau=0.1,,0.2", "empty"),
            ("sac.tau=0.1,0.1", "listed twice"),
            ("seed=1,2", "--seeds"),
        ] {
            let error = text.parse::<GridAxis>().unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
            assert!(error.contains("KEY=V1,V2"), "{text}: {error}");
        }
        let twice = [axis("sac.tau=1,2"), axis("sac.tau=3")];
        assert!(
            check_axes(&twice)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }

    #[test]
    fn expansion_varies_the_last_axis_fastest() {
        let points = expand(&[axis("a.x=1,2"), axis("b.y=p,q,r")]);
        let names: Vec<String> = points.iter().map(GridPoint::name).collect();
        assert_eq!(
            names,
            [
                "a.x=1__b.y=p",
                "a.x=1__b.y=q",
                "a.x=1__b.y=r",
                "a.x=2__b.y=p",
                "a.x=2__b.y=q",
                "a.x=2__b.y=r"
            ]
        );
        assert_eq!(points[4].overrides(), ["a.x=2", "b.y=q"]);
        assert_eq!(points[4].label(), "a.x=2 b.y=q");
    }

    #[test]
    fn no_axes_is_one_base_point() {
        let points = expand(&[]);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].name(), BASE_POINT);
        assert!(points[0].overrides().is_empty());
    }

    #[test]
    fn names_replace_path_and_shell_characters() {
        let point = GridPoint {
            assignments: vec![("env".into(), "a/b c\"d".into())],
        };
        assert_eq!(point.name(), "env=a_b_c_d");
    }
}
