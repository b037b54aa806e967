//! Parsing the JSON state that `Env::reset_to_state` injects (`--init-state`, parity fixtures).

use serde_json::Value;

use crate::error::EnvError;

/// One named array an env accepts, e.g. `state` with 2 numbers, or MuJoCo's `qpos` with `nq`.
pub(crate) struct StateField<'a> {
    pub key: &'a str,
    pub len: usize,
    /// The range of each of the `len` numbers, where the env has one (finite is always
    /// required): a state outside it is one the dynamics never reach, and may overflow them.
    pub bounds: Option<&'a [(f64, f64)]>,
}

/// Reads `{"<key>": [numbers], ...}` with exactly the given keys and lengths, all finite.
///
/// `expected` describes the accepted shape for the error message, e.g.
/// `{"state": [theta, thetadot]}`.
pub(crate) fn parse_state_fields(
    env_id: &str,
    value: &Value,
    fields: &[StateField<'_>],
    expected: &str,
) -> Result<Vec<Vec<f64>>, EnvError> {
    let invalid = |reason: String| EnvError::InvalidInitialState {
        env_id: env_id.to_owned(),
        reason,
        expected: expected.to_owned(),
    };
    let object = value
        .as_object()
        .ok_or_else(|| invalid(format!("got {value}, not a JSON object")))?;
    if let Some(unknown) = object
        .keys()
        .find(|key| !fields.iter().any(|f| f.key == key.as_str()))
    {
        return Err(invalid(format!("unknown key `{unknown}`")));
    }
    fields
        .iter()
        .map(|field| {
            let array = object
                .get(field.key)
                .ok_or_else(|| invalid(format!("missing key `{}`", field.key)))?
                .as_array()
                .ok_or_else(|| invalid(format!("`{}` is not an array", field.key)))?;
            if array.len() != field.len {
                return Err(invalid(format!(
                    "`{}` has {} numbers, expected {}",
                    field.key,
                    array.len(),
                    field.len
                )));
            }
            array
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let number = x.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                        invalid(format!("`{}[{i}]` is {x}, not a finite number", field.key))
                    })?;
                    match field.bounds.and_then(|bounds| bounds.get(i)) {
                        Some(&(low, high)) if !(low..=high).contains(&number) => {
                            Err(invalid(format!(
                                "`{}[{i}]` is {number:e}, outside the env's range [{low}, {high}]",
                                field.key
                            )))
                        }
                        _ => Ok(number),
                    }
                })
                .collect()
        })
        .collect()
}
