//! Which settings a resumed run may change. A checkpoint keeps the resolved config it was
//! trained with; `train --resume` compares the run's config (its `config.toml` and the command's
//! overrides) with it key by key and refuses any change outside [`CHANGEABLE_ON_RESUME`]: the
//! networks, env, agent, buffer and every hyperparameter must be those the checkpoint's files
//! were made with, or loading them would fail, or silently train something else than the config
//! says.

use std::collections::BTreeSet;

use crate::config::TrainConfig;

/// Keys a resumed run may set anew: how long it trains, where it computes, how it logs,
/// checkpoints and records videos. A key ending in `.` stands for every key of that table.
pub const CHANGEABLE_ON_RESUME: [&str; 5] =
    ["total_steps", "device", "logging.", "checkpoint.", "video."];

/// One key that differs: its value in the checkpoint's config and now (None: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    pub key: String,
    pub checkpoint: Option<String>,
    pub now: Option<String>,
}

impl std::fmt::Display for KeyChange {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |value: &Option<String>| value.clone().unwrap_or_else(|| "(absent)".into());
        write!(
            formatter,
            "{}: {} in the checkpoint, {} now",
            self.key,
            show(&self.checkpoint),
            show(&self.now)
        )
    }
}

/// The keys, outside [`CHANGEABLE_ON_RESUME`], whose values differ between the config a
/// checkpoint was trained with and the config of the resumed run, in key order.
pub fn forbidden_changes(checkpoint: &TrainConfig, now: &TrainConfig) -> Vec<KeyChange> {
    let (before, after) = (flatten(checkpoint), flatten(now));
    let keys: BTreeSet<&String> = before.iter().chain(&after).map(|(key, _)| key).collect();
    let value = |pairs: &[(String, String)], key: &str| {
        pairs
            .iter()
            .find(|(other, _)| other == key)
            .map(|(_, value)| value.clone())
    };
    keys.into_iter()
        .filter(|key| !is_changeable(key))
        .filter_map(|key| {
            let (checkpoint, now) = (value(&before, key), value(&after, key));
            (checkpoint != now).then(|| KeyChange {
                key: key.clone(),
                checkpoint,
                now,
            })
        })
        .collect()
}

pub fn is_changeable(key: &str) -> bool {
    CHANGEABLE_ON_RESUME
        .iter()
        .any(|allowed| match allowed.strip_suffix('.') {
            Some(table) => key
                .strip_prefix(table)
                .is_some_and(|rest| rest.starts_with('.')),
            None => key == *allowed,
        })
}

/// `table.key` -> value as TOML text, for every leaf of the resolved config (the agent tables
/// not in use are left out of it, so a change of agent shows as the `agent` key and the tables).
fn flatten(config: &TrainConfig) -> Vec<(String, String)> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<(String, String)>) {
        for (key, value) in table {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                toml::Value::Table(inner) => walk(&path, inner, out),
                leaf => out.push((path, leaf.to_string())),
            }
        }
    }
    let mut out = Vec::new();
    walk("", &config.resolved(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config(overrides: &[&str]) -> TrainConfig {
        let text = "agent = \"sac\"\nenv = \"Pendulum-v1\"\ntotal_steps = 1000\nseed = 1\n";
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        TrainConfig::parse(text, Path::new("test.toml"), &overrides).unwrap()
    }

    #[test]
    fn run_length_device_logging_and_checkpointing_may_change() {
        let changed = config(&[
            "total_steps=5000",
            "logging.log_every=7",
            "logging.progress=false",
            "checkpoint.every=3",
            "checkpoint.save_replay_buffer=false",
        ]);
        assert_eq!(forbidden_changes(&config(&[]), &changed), []);
    }

    #[test]
    fn everything_else_is_named_with_both_values() {
        let changes = forbidden_changes(
            &config(&[]),
            &config(&[
                "sac.hidden_size=64",
                "env=MountainCarContinuous-v0",
                "seed=2",
            ]),
        );
        let keys: Vec<&str> = changes.iter().map(|change| change.key.as_str()).collect();
        assert_eq!(keys, ["env", "sac.hidden_size", "seed"]);
        assert_eq!(
            changes[1].to_string(),
            "sac.hidden_size: 256 in the checkpoint, 64 now"
        );
        let to_remac = forbidden_changes(&config(&[]), &config(&["agent=remac"]));
        assert_eq!(to_remac[0].key, "agent");
        assert!(
            to_remac
                .iter()
                .any(|change| change.key == "sac.buffer_size" && change.now.is_none())
        );
    }

    #[test]
    fn a_table_prefix_does_not_cover_longer_names() {
        assert!(is_changeable("logging.flush_secs"));
        assert!(!is_changeable("logging"));
        assert!(!is_changeable("checkpointing.every"));
        assert!(!is_changeable("total_steps_extra"));
    }
}
