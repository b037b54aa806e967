//! An objective setting (`objective = "cvar:0.1"` in [dsac], [remac], [ppo]): parsed once, when
//! the config is read, so that a bad one is refused there naming its key, and the agents get an
//! [`Objective`]. It is written back (config.toml, TensorBoard's hyperparameters, the resume
//! check) exactly as it was written.

use std::fmt;
use std::str::FromStr;

use ordergrad_core::{Objective, OrderGradError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveSetting {
    objective: Objective,
    /// The setting as written.
    text: String,
}

impl ObjectiveSetting {
    pub fn objective(&self) -> &Objective {
        &self.objective
    }
}

impl From<Objective> for ObjectiveSetting {
    fn from(objective: Objective) -> Self {
        Self {
            text: objective.to_string(),
            objective,
        }
    }
}

impl FromStr for ObjectiveSetting {
    type Err = OrderGradError;

    fn from_str(text: &str) -> Result<Self, OrderGradError> {
        Ok(Self {
            objective: text.parse()?,
            text: text.to_string(),
        })
    }
}

impl fmt::Display for ObjectiveSetting {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

impl Serialize for ObjectiveSetting {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ObjectiveSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_back_as_written() {
        let setting: ObjectiveSetting = " cvar:0.10".parse().unwrap();
        assert_eq!(setting.objective(), &Objective::Cvar(0.1));
        assert_eq!(
            toml::Value::try_from(&setting).unwrap().as_str(),
            Some(" cvar:0.10")
        );
    }

    #[test]
    fn a_bad_objective_is_refused_when_read() {
        let error = ObjectiveSetting::deserialize(toml::Value::String("cvar:2".into()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("cvar:2"), "{error}");
    }
}
