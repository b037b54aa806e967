//! The config tables of the off-policy agents ([sac], [dsac], [remac]): the settings all
//! three share, declared once in [`OffPolicySettings`], side by side with each agent's own ones
//! in one TOML table ([`OffPolicyConfig`]).
//!
//! serde's `flatten` would do this, but it cannot refuse unknown keys (`deny_unknown_fields`) and
//! it loses the key path of a bad value (`sac.batch_size`) in errors. So the table is read by
//! hand here: each key goes to the shared settings or to the agent's own struct as it comes,
//! through the same map access, so that a key's path stays known to `serde_path_to_error`, and an
//! unknown key is refused naming every accepted key, as `deny_unknown_fields` does.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::common::nets::{Activation, LOG_STD_MAX, LOG_STD_MIN, LogStdSquash, NetStyle};
use crate::config::setting_checks::{Accepted, check_count, check_number, check_numbers};
use crate::config::{ConfigError, invalid};

/// The actor's updates come in bursts of `policy_frequency`: a typo here would stall the run
/// for hours at one step.
pub const MAX_POLICY_FREQUENCY: u64 = 10_000;

/// The longest target window: beyond a few hundred steps gamma^n leaves nothing to bootstrap,
/// and the window's pending transitions are held in memory until it closes.
pub const MAX_N_STEP: u64 = 1_000;

/// Where `log_std_bounds` may lie: a standard deviation from about 2e-9 (below it the Gaussian's
/// log-density overflows f32) to about 22000 (far beyond any action box).
const LOG_STD_LIMITS: [f64; 2] = [-20.0, 10.0];

/// The settings every off-policy agent has; the defaults are CleanRL's (`sac_continuous_action.py`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OffPolicySettings {
    /// Replay buffer capacity, in transitions.
    pub buffer_size: usize,
    /// Transitions (replay states) per gradient step.
    pub batch_size: usize,
    /// Discount factor.
    pub gamma: f64,
    /// Target smoothing coefficient (Polyak averaging).
    pub tau: f64,
    /// Steps of uniformly random actions before learning starts.
    pub learning_starts: u64,
    /// Learning rate of the actor.
    pub policy_lr: f64,
    /// Learning rate of the Q networks (and of alpha, where it is tuned).
    pub q_lr: f64,
    /// The actor (and alpha) are updated every this many steps, that many times (delayed update).
    pub policy_frequency: u64,
    /// The targets are updated every this many steps.
    pub target_network_frequency: u64,
    /// Width of the two hidden layers of every network.
    pub hidden_size: usize,
    /// Activation of every network's hidden layers: "relu" (CleanRL) or "tanh".
    pub activation: Activation,
    /// Bounds [low, high] of the actor's log standard deviation.
    pub log_std_bounds: [f64; 2],
    /// How the log-std head is kept within `log_std_bounds`: "tanh" rescales it smoothly
    /// (CleanRL), "clip" clamps it.
    pub log_std_squash: LogStdSquash,
    /// The networks see every observation as (o - mean) / sqrt(var + 1e-8), with the running
    /// mean and variance of all the observations the run has collected (the ReMAC paper's Brax
    /// setting). The replay buffer keeps raw observations, so a sampled batch is normalised
    /// with today's statistics, not those of the day it was stored.
    pub normalize_observation: bool,
    /// After `learning_starts`, the chance that a step takes a uniformly random action instead
    /// of the policy's (epsilon-uniform exploration, 0 = SAC's). The critics then see actions
    /// the policy has stopped taking; otherwise they know its own actions only, and a CVaR
    /// critic can value a safe action it never saw as if it were risky (docs/results-risk.md).
    pub uniform_action_probability: f64,
    /// How many steps in a row each of those uniformly random actions is taken (1 = one step,
    /// the default). Held, they carry the state as far as several actions can, to where the
    /// policy's own steps and single random ones do not reach (`exploration.rs`). Needs
    /// `uniform_action_probability` above 0 when above 1.
    pub uniform_action_steps: u64,
    /// After `learning_starts`, the chance that an episode takes the policy's deterministic
    /// action at every step, and no uniformly random one (0, the default: every episode
    /// samples). Evaluation runs the deterministic action; where it stalls at a point that
    /// sampled actions leave by chance, only such episodes show the critics the stall
    /// (`exploration.rs`).
    pub deterministic_episode_probability: f64,
    /// Steps of observed reward in each critic target before it bootstraps (1, the default:
    /// the one-step target). A target over n steps learns a cost that recurs at every step,
    /// such as a stall, n steps per backup instead of one. A window ends early at the
    /// episode's end and before a uniformly random action, whose outcome is not the policy's
    /// (`n_step.rs`).
    pub n_step: u64,
}

impl Default for OffPolicySettings {
    fn default() -> Self {
        Self {
            buffer_size: 1_000_000,
            batch_size: 256,
            gamma: 0.99,
            tau: 0.005,
            learning_starts: 5_000,
            policy_lr: 3e-4,
            q_lr: 1e-3,
            policy_frequency: 2,
            target_network_frequency: 1,
            hidden_size: 256,
            activation: Activation::Relu,
            log_std_bounds: [f64::from(LOG_STD_MIN), f64::from(LOG_STD_MAX)],
            log_std_squash: LogStdSquash::Tanh,
            normalize_observation: false,
            uniform_action_probability: 0.0,
            uniform_action_steps: 1,
            deterministic_episode_probability: 0.0,
            n_step: 1,
        }
    }
}

impl OffPolicySettings {
    /// The TOML keys of the settings, in declaration order.
    pub const KEYS: [&str; 18] = [
        "buffer_size",
        "batch_size",
        "gamma",
        "tau",
        "learning_starts",
        "policy_lr",
        "q_lr",
        "policy_frequency",
        "target_network_frequency",
        "hidden_size",
        "activation",
        "log_std_bounds",
        "log_std_squash",
        "normalize_observation",
        "uniform_action_probability",
        "uniform_action_steps",
        "deterministic_episode_probability",
        "n_step",
    ];

    /// Reads the value of `key` from `map` when `key` is one of [`Self::KEYS`]; false otherwise.
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "buffer_size" => self.buffer_size = map.next_value()?,
            "batch_size" => self.batch_size = map.next_value()?,
            "gamma" => self.gamma = map.next_value()?,
            "tau" => self.tau = map.next_value()?,
            "learning_starts" => self.learning_starts = map.next_value()?,
            "policy_lr" => self.policy_lr = map.next_value()?,
            "q_lr" => self.q_lr = map.next_value()?,
            "policy_frequency" => self.policy_frequency = map.next_value()?,
            "target_network_frequency" => self.target_network_frequency = map.next_value()?,
            "hidden_size" => self.hidden_size = map.next_value()?,
            "activation" => self.activation = map.next_value()?,
            "log_std_bounds" => self.log_std_bounds = map.next_value()?,
            "log_std_squash" => self.log_std_squash = map.next_value()?,
            "normalize_observation" => self.normalize_observation = map.next_value()?,
            "uniform_action_probability" => self.uniform_action_probability = map.next_value()?,
            "uniform_action_steps" => self.uniform_action_steps = map.next_value()?,
            "deterministic_episode_probability" => {
                self.deterministic_episode_probability = map.next_value()?
            }
            "n_step" => self.n_step = map.next_value()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The networks' activation and log-std bounds.
    pub fn net_style(&self) -> NetStyle {
        let [low, high] = self.log_std_bounds;
        NetStyle {
            activation: self.activation,
            log_std_min: low as f32,
            log_std_max: high as f32,
            log_std_squash: self.log_std_squash,
        }
    }

    /// Checks the settings of config table `table` ("sac", "dsac", "remac").
    pub fn validate(&self, table: &str) -> Result<(), ConfigError> {
        let key = |name: &str| format!("{table}.{name}");
        let positive_counts = [
            ("buffer_size", self.buffer_size as u64),
            ("batch_size", self.batch_size as u64),
            ("policy_frequency", self.policy_frequency),
            ("target_network_frequency", self.target_network_frequency),
            ("hidden_size", self.hidden_size as u64),
            ("uniform_action_steps", self.uniform_action_steps),
            ("n_step", self.n_step),
        ];
        for (name, value) in positive_counts {
            check_count(&key(name), value)?;
        }
        if self.n_step > MAX_N_STEP {
            return Err(invalid(
                &key("n_step"),
                format!(
                    "{} is not accepted: a target window of 1 to {MAX_N_STEP} steps (1: the \
                     one-step target, SAC's)",
                    self.n_step
                ),
            ));
        }
        if self.policy_frequency > MAX_POLICY_FREQUENCY {
            return Err(invalid(
                &key("policy_frequency"),
                format!(
                    "{} is not accepted: the actor makes that many updates in a row, at most \
                     {MAX_POLICY_FREQUENCY} (CleanRL: 2)",
                    self.policy_frequency
                ),
            ));
        }
        let [low, high] = self.log_std_bounds;
        let in_range = |x: f64| (LOG_STD_LIMITS[0]..=LOG_STD_LIMITS[1]).contains(&x);
        if !(in_range(low) && in_range(high) && low < high) {
            return Err(invalid(
                &key("log_std_bounds"),
                format!(
                    "[{low}, {high}] is not accepted: [low, high] with low < high, both in \
                     [{}, {}] (CleanRL: [-5, 2]; the ReMAC paper: [-10, 2])",
                    LOG_STD_LIMITS[0], LOG_STD_LIMITS[1]
                ),
            ));
        }
        check_number(&key("gamma"), self.gamma, Accepted::UnitInterval)?;
        check_number(&key("tau"), self.tau, Accepted::PositiveUpToOne)?;
        check_number(
            &key("uniform_action_probability"),
            self.uniform_action_probability,
            Accepted::UnitInterval,
        )?;
        check_number(
            &key("deterministic_episode_probability"),
            self.deterministic_episode_probability,
            Accepted::UnitInterval,
        )?;
        if self.uniform_action_steps > 1 && self.uniform_action_probability == 0.0 {
            return Err(invalid(
                &key("uniform_action_steps"),
                format!(
                    "{} holds uniformly random actions, but {} is 0, so none is taken after \
                     learning starts: set it above 0, or uniform_action_steps = 1",
                    self.uniform_action_steps,
                    key("uniform_action_probability")
                ),
            ));
        }
        check_numbers(
            table,
            &[("policy_lr", self.policy_lr), ("q_lr", self.q_lr)],
            Accepted::Positive,
        )
    }
}

/// An off-policy agent's config table: the shared settings and the agent's own (`S`), whose
/// keys sit side by side in one table (`[sac] batch_size = 64` and `[sac] alpha = 0.1`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct OffPolicyConfig<S> {
    #[serde(flatten)]
    pub shared: OffPolicySettings,
    #[serde(flatten)]
    pub agent: S,
}

impl<'de, S: Deserialize<'de>> Deserialize<'de> for OffPolicyConfig<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TableVisitor(PhantomData))
    }
}

struct TableVisitor<S>(PhantomData<S>);

impl<'de, S: Deserialize<'de>> Visitor<'de> for TableVisitor<S> {
    type Value = OffPolicyConfig<S>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a table of agent settings")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut shared = OffPolicySettings::default();
        let keys = AcceptedKeys {
            agent: struct_fields::<S>(),
        };
        let agent = S::deserialize(MapAccessDeserializer::new(SharedKeysFirst {
            map,
            shared: &mut shared,
            keys,
        }))?;
        Ok(OffPolicyConfig { shared, agent })
    }
}

/// The map of a table as the agent's own struct sees it: shared keys are read into `shared` on
/// the way, and only the agent's own keys come through.
struct SharedKeysFirst<'a, A> {
    map: A,
    shared: &'a mut OffPolicySettings,
    keys: AcceptedKeys,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SharedKeysFirst<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.map.next_key_seed(self.keys)? else {
                return Ok(None);
            };
            if !self.shared.read(&key, &mut self.map)? {
                return seed.deserialize(key.into_deserializer()).map(Some);
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// Reads a key, refusing any but the shared and the agent's own ones with serde's
/// `deny_unknown_fields` message, from inside the key's deserialisation so that the error's
/// path names the key.
#[derive(Clone, Copy)]
struct AcceptedKeys {
    agent: &'static [&'static str],
}

impl<'de> DeserializeSeed<'de> for AcceptedKeys {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for AcceptedKeys {
    type Value = String;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a setting's name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        let mut accepted = OffPolicySettings::KEYS.iter().chain(self.agent);
        if accepted.any(|known| *known == key) {
            return Ok(key.to_string());
        }
        let expected: Vec<String> = OffPolicySettings::KEYS
            .iter()
            .chain(self.agent)
            .map(|known| format!("`{known}`"))
            .collect();
        Err(E::custom(format_args!(
            "unknown field `{key}`, expected one of {}",
            expected.join(", ")
        )))
    }
}

/// The field names a derived `Deserialize` struct accepts (what it passes to
/// `deserialize_struct`), found by asking it to read from a deserializer that only records them.
fn struct_fields<'de, S: Deserialize<'de>>() -> &'static [&'static str] {
    struct Probe<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields recorded"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = S::deserialize(Probe(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Own {
        alpha: f64,
        objective: String,
    }

    fn read(text: &str) -> Result<OffPolicyConfig<Own>, String> {
        let table: toml::Table = text.parse().unwrap();
        let value = toml::Value::Table([("sac".to_string(), table.into())].into_iter().collect());
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Outer {
            sac: OffPolicyConfig<Own>,
        }
        serde_path_to_error::deserialize::<_, Outer>(value)
            .map(|outer| outer.sac)
            .map_err(|error| format!("{}: {}", error.path(), error.inner()))
    }

    #[test]
    fn shared_and_own_keys_are_read_from_one_table() {
        let config =
            read("batch_size = 64\nalpha = 0.5\ngamma = 0.9\nobjective = \"max\"").unwrap();
        assert_eq!(config.shared.batch_size, 64);
        assert_eq!(config.shared.gamma, 0.9);
        assert_eq!(config.shared.tau, OffPolicySettings::default().tau);
        assert_eq!(
            config.agent,
            Own {
                alpha: 0.5,
                objective: "max".into()
            }
        );
    }

    #[test]
    fn errors_name_the_key_path() {
        let error = read("batch_size = -3").unwrap_err();
        assert!(error.starts_with("sac.batch_size: "), "{error}");
        let error = read("alpha = \"x\"").unwrap_err();
        assert!(error.starts_with("sac.alpha: "), "{error}");
        let error = read("learnin_starts = 1").unwrap_err();
        assert!(
            error.starts_with("sac.learnin_starts: unknown field"),
            "{error}"
        );
        assert!(
            error.contains("`learning_starts`") && error.contains("`objective`"),
            "lists every accepted key: {error}"
        );
    }

    #[test]
    fn written_back_with_the_same_keys() {
        let config = read("batch_size = 64\nalpha = 0.5").unwrap();
        let table = toml::Table::try_from(&config).unwrap();
        let mut keys: Vec<&str> = table.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected: Vec<&str> = OffPolicySettings::KEYS.to_vec();
        expected.extend(["alpha", "objective"]);
        expected.sort_unstable();
        assert_eq!(keys, expected);
        let again: toml::Table = toml::to_string(&table).unwrap().parse().unwrap();
        assert_eq!(
            read(&toml::to_string(&again).unwrap()).unwrap().shared,
            config.shared
        );
    }

    #[test]
    fn every_shared_key_is_read() {
        for key in OffPolicySettings::KEYS {
            let value = match key {
                "gamma"
                | "tau"
                | "policy_lr"
                | "q_lr"
                | "uniform_action_probability"
                | "deterministic_episode_probability" => "0.5",
                "activation" => "\"tanh\"",
                "log_std_bounds" => "[-10.0, 2.0]",
                "log_std_squash" => "\"clip\"",
                "normalize_observation" => "true",
                _ => "7",
            };
            let config = read(&format!("{key} = {value}")).unwrap();
            assert_ne!(config.shared, OffPolicySettings::default(), "{key}");
        }
    }

    #[test]
    fn the_exploration_chances_must_be_probabilities() {
        let with = |key: &str, chance: f64| match key {
            "uniform_action_probability" => OffPolicySettings {
                uniform_action_probability: chance,
                ..OffPolicySettings::default()
            },
            _ => OffPolicySettings {
                deterministic_episode_probability: chance,
                ..OffPolicySettings::default()
            },
        };
        for key in [
            "uniform_action_probability",
            "deterministic_episode_probability",
        ] {
            for bad in [-0.1, 1.5, f64::NAN] {
                let message = with(key, bad).validate("dsac").unwrap_err().to_string();
                assert!(
                    message.contains(&format!("dsac.{key}")) && message.contains("[0, 1]"),
                    "{message}"
                );
            }
            for good in [0.0, 0.3, 1.0] {
                assert!(with(key, good).validate("sac").is_ok(), "{key} {good}");
            }
        }
    }

    #[test]
    fn n_step_is_a_count_up_to_its_limit() {
        let with = |n_step: u64| OffPolicySettings {
            n_step,
            ..OffPolicySettings::default()
        };
        for bad in [0, MAX_N_STEP + 1] {
            let message = with(bad).validate("sac").unwrap_err().to_string();
            assert!(message.contains("sac.n_step"), "{message}");
        }
        for good in [1, 10, MAX_N_STEP] {
            assert!(with(good).validate("dsac").is_ok(), "{good}");
        }
    }

    #[test]
    fn uniform_action_steps_are_a_positive_count_with_a_chance_to_hold() {
        let with = |steps: u64, probability: f64| OffPolicySettings {
            uniform_action_steps: steps,
            uniform_action_probability: probability,
            ..OffPolicySettings::default()
        };
        let message = with(0, 0.3).validate("sac").unwrap_err().to_string();
        assert!(message.contains("sac.uniform_action_steps"), "{message}");
        let message = with(3, 0.0).validate("dsac").unwrap_err().to_string();
        assert!(
            message.contains("dsac.uniform_action_steps")
                && message.contains("dsac.uniform_action_probability"),
            "{message}"
        );
        for (steps, probability) in [(1, 0.0), (1, 0.3), (3, 0.3)] {
            assert!(with(steps, probability).validate("remac").is_ok());
        }
    }
}
