//! A conservative estimate of the memory a training config needs, so that an absurd size is
//! refused with the key to blame before anything is allocated. The estimate errs on the large
//! side (every tensor of an update counted as alive at once, a few copies of each) but is only
//! meant to tell a typo from a real experiment: every config in `configs/` needs well under 1 GiB.

use ordergrad_core::Objective;

use crate::common::off_policy::OffPolicySettings;
use crate::config::resource_limits::{MemoryBudget, format_bytes};
use crate::config::{AgentKind, ConfigError, TrainConfig, invalid};

const F32: f64 = 4.0;
/// Copies of each online parameter: the value, its gradient, Adam's two moments, and the new
/// value an optimiser step builds before the old one is dropped.
const ONLINE_COPIES: f64 = 5.0;
/// Copies of each target parameter: the value and the Polyak-averaged replacement.
const TARGET_COPIES: f64 = 2.0;
/// Float32 tensors of [rows, hidden] alive in one update of an off-policy agent: pre- and
/// post-activation values and their gradients, for two hidden layers of the actor, both online
/// critics and both targets, with room to spare.
const OFF_POLICY_ACTIVATIONS: f64 = 48.0;
/// The same for PPO's actor and critic.
const PPO_ACTIVATIONS: f64 = 24.0;
/// Float32 arrays of [batch, N] the quantile Huber loss keeps per critic: it runs in one pass on
/// the host (`common::quantile`), over the atoms, the target atoms, the gradient and its tensor,
/// with f64 prefix sums per row on a tail grid, and never builds the [batch, N, N] pairs.
const QUANTILE_LOSS_ARRAYS: f64 = 8.0;
/// One env with its wrappers and normalisers; a MuJoCo model and its data are the largest.
const BYTES_PER_ENV: f64 = 1024.0 * 1024.0;

/// One thing that takes memory, with the settings it grows with (the first is the one to blame).
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryPart {
    pub what: &'static str,
    pub keys: Vec<(String, String)>,
    pub bytes: f64,
}

impl MemoryPart {
    fn new(what: &'static str, keys: &[(&str, &dyn ToString)], bytes: f64) -> Self {
        Self {
            what,
            keys: keys
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
            bytes,
        }
    }

    /// "sac.hidden_size = 70000" or "dsac.num_quantiles = 100000 with dsac.shared.batch_size = 256".
    fn blame(&self) -> String {
        self.keys
            .iter()
            .map(|(key, value)| format!("{key} = {value}"))
            .collect::<Vec<_>>()
            .join(" with ")
    }
}

/// The parts of the memory `config` needs, in an env with `obs_dim` observations and
/// `action_dim` actions.
pub fn estimate(config: &TrainConfig, obs_dim: usize, action_dim: usize) -> Vec<MemoryPart> {
    let (obs, act) = (obs_dim as f64, action_dim as f64);
    match config.agent {
        AgentKind::Sac => off_policy("sac", &config.sac.shared, config, obs, act),
        AgentKind::Dsac => {
            let dsac = &config.dsac;
            let mut parts = off_policy("dsac", &dsac.shared, config, obs, act);
            let (atoms, batch, hidden) = (
                dsac.agent.num_quantiles as f64,
                dsac.shared.batch_size as f64,
                dsac.shared.hidden_size as f64,
            );
            // What N outputs per critic add to critics of one output: the last layers' weights
            // (with gradients, Adam moments and targets), their activations, and the loss.
            let extra = atoms - 1.0;
            let layers = (hidden + 1.0) * extra * (ONLINE_COPIES + TARGET_COPIES) * 2.0 * F32;
            let activations = batch * OFF_POLICY_ACTIVATIONS * extra * F32;
            let loss = 2.0 * QUANTILE_LOSS_ARRAYS * batch * atoms * F32;
            parts.push(MemoryPart::new(
                "the quantile critics' atoms (output layers, activations, the quantile loss)",
                &[
                    ("dsac.num_quantiles", &dsac.agent.num_quantiles),
                    ("dsac.batch_size", &dsac.shared.batch_size),
                ],
                layers + activations + loss,
            ));
            parts
        }
        AgentKind::Remac => {
            let remac = &config.remac;
            let mut parts = off_policy("remac", &remac.shared, config, obs, act);
            // The actor's B samples of every state go through the actor and both critics.
            let rows = remac.shared.batch_size as f64 * remac.agent.num_action_samples as f64;
            parts.push(MemoryPart::new(
                "the action samples",
                &[
                    ("remac.num_action_samples", &remac.agent.num_action_samples),
                    ("remac.batch_size", &remac.shared.batch_size),
                ],
                OFF_POLICY_ACTIVATIONS * rows * (remac.shared.hidden_size as f64 + obs + act) * F32,
            ));
            parts
        }
        AgentKind::Ppo => ppo(config, obs, act),
    }
}

/// SAC's networks, replay buffer and batch (critics of one output; DSAC adds its atoms).
fn off_policy(
    table: &str,
    settings: &OffPolicySettings,
    config: &TrainConfig,
    obs: f64,
    act: f64,
) -> Vec<MemoryPart> {
    let key = |name: &str| format!("{table}.{name}");
    let hidden = settings.hidden_size as f64;
    let actor = (obs + 1.0) * hidden + (hidden + 1.0) * hidden + 2.0 * (hidden + 1.0) * act;
    let critic = (obs + act + 1.0) * hidden + (hidden + 1.0) * hidden + (hidden + 1.0);
    let networks = (ONLINE_COPIES * (actor + 2.0 * critic) + TARGET_COPIES * 2.0 * critic) * F32;
    // The buffer grows with use: a run never stores more transitions than it takes steps.
    let stored = (settings.buffer_size as f64).min(config.total_steps as f64);
    let transition = (2.0 * obs + act + 2.0) * F32;
    let batch = settings.batch_size as f64;
    vec![
        MemoryPart::new(
            "the networks (with gradients, Adam moments and targets)",
            &[(&key("hidden_size"), &settings.hidden_size)],
            networks,
        ),
        MemoryPart::new(
            "the replay buffer",
            &[
                (&key("buffer_size"), &settings.buffer_size),
                ("total_steps", &config.total_steps),
            ],
            stored * transition,
        ),
        MemoryPart::new(
            "one update's batch and activations",
            &[
                (&key("batch_size"), &settings.batch_size),
                (&key("hidden_size"), &settings.hidden_size),
            ],
            batch * (transition + OFF_POLICY_ACTIVATIONS * (hidden + 1.0) * F32),
        ),
    ]
}

fn ppo(config: &TrainConfig, obs: f64, act: f64) -> Vec<MemoryPart> {
    let ppo = &config.ppo;
    let hidden = ppo.hidden_size as f64;
    let actor = (obs + 1.0) * hidden + (hidden + 1.0) * hidden + (hidden + 1.0) * act + act;
    let critic = (obs + 1.0) * hidden + (hidden + 1.0) * hidden + hidden + 1.0;
    let envs = ppo.num_envs as f64;
    // A rollout ends at num_steps per env (GAE) or once the episode groups are full; either way
    // it never outlasts the run.
    let run_rows = config.total_steps as f64 + envs;
    let rows = if *ppo.objective.objective() == Objective::Mean {
        (envs * ppo.num_steps as f64).min(run_rows)
    } else {
        run_rows
    };
    // Stored once as steps of episodes and once more as the update's batch.
    let row_bytes = 2.0 * (obs + act + 8.0) * F32;
    let minibatch = (rows / ppo.num_minibatches as f64).ceil().max(envs);
    vec![
        MemoryPart::new(
            "the networks (with gradients and Adam moments)",
            &[("ppo.hidden_size", &ppo.hidden_size)],
            ONLINE_COPIES * (actor + critic) * F32,
        ),
        MemoryPart::new(
            "the envs",
            &[("ppo.num_envs", &ppo.num_envs)],
            envs * BYTES_PER_ENV,
        ),
        MemoryPart::new(
            "the rollout",
            &[
                ("ppo.num_steps", &ppo.num_steps),
                ("ppo.num_envs", &ppo.num_envs),
            ],
            rows * row_bytes,
        ),
        MemoryPart::new(
            "one minibatch's activations",
            &[
                ("ppo.num_minibatches", &ppo.num_minibatches),
                ("ppo.hidden_size", &ppo.hidden_size),
            ],
            minibatch * PPO_ACTIVATIONS * (hidden + obs + act) * F32,
        ),
    ]
}

/// Refuses `config` when its estimate exceeds `budget`, naming the largest part's settings.
pub fn check(
    config: &TrainConfig,
    obs_dim: usize,
    action_dim: usize,
    budget: &MemoryBudget,
) -> Result<(), ConfigError> {
    let parts = estimate(config, obs_dim, action_dim);
    let total: f64 = parts.iter().map(|part| part.bytes).sum();
    if total <= budget.bytes {
        return Ok(());
    }
    let largest = parts
        .iter()
        .max_by(|a, b| a.bytes.total_cmp(&b.bytes))
        .expect("every agent has parts");
    let in_all = if largest.bytes < total * 0.99 {
        format!(" ({} in all)", format_bytes(total))
    } else {
        String::new()
    };
    Err(invalid(
        &largest.keys[0].0,
        format!(
            "{} needs about {} for {}{in_all}; {}",
            largest.blame(),
            format_bytes(largest.bytes),
            largest.what,
            budget.describe_limit()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const SAC: &str = "agent = \"sac\"\nenv = \"Pendulum-v1\"\ntotal_steps = 1000000\nseed = 1\n";

    fn config(agent: &str, sets: &[&str]) -> TrainConfig {
        let text = SAC.replace("\"sac\"", &format!("\"{agent}\""));
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        TrainConfig::parse(&text, Path::new("test.toml"), &sets).unwrap()
    }

    fn total(config: &TrainConfig) -> f64 {
        estimate(config, 3, 1).iter().map(|part| part.bytes).sum()
    }

    #[test]
    fn default_sac_counts_its_networks_buffer_and_batch() {
        let parts = estimate(&config("sac", &[]), 3, 1);
        // Actor 67,330 and each critic 67,329 parameters at hidden 256.
        let networks = (5.0 * (67_330.0 + 2.0 * 67_329.0) + 2.0 * 2.0 * 67_329.0) * 4.0;
        assert_eq!(parts[0].bytes, networks);
        // 1e6 transitions of 2 * 3 + 1 + 2 floats.
        assert_eq!(parts[1].bytes, 1e6 * 9.0 * 4.0);
        assert!(total(&config("sac", &[])) < 256.0 * 1024.0 * 1024.0);
    }

    #[test]
    fn the_estimate_grows_with_every_size() {
        let base = config("sac", &[]);
        for set in [
            "sac.hidden_size=512",
            "sac.batch_size=1024",
            "sac.buffer_size=2000000",
        ] {
            let bigger = config("sac", &[set, "total_steps=3000000"]);
            assert!(total(&bigger) > total(&base), "{set}");
        }
        let dsac = config("dsac", &[]);
        assert!(total(&config("dsac", &["dsac.num_quantiles=50"])) > total(&dsac));
        let remac = config("remac", &[]);
        assert!(total(&config("remac", &["remac.num_action_samples=16"])) > total(&remac));
        let ppo = config("ppo", &[]);
        assert!(total(&config("ppo", &["ppo.num_envs=4"])) > total(&ppo));
        // A buffer larger than the run never fills.
        let short = config("sac", &["total_steps=1000", "sac.buffer_size=1000000000"]);
        assert!(total(&short) < total(&base));
    }

    #[test]
    fn a_huge_size_is_refused_naming_its_key() {
        let budget = MemoryBudget::new(8.0, "a test");
        let mut sac = config("sac", &[]);
        sac.sac.shared.hidden_size = 70_000;
        let message = check(&sac, 3, 1, &budget).unwrap_err().to_string();
        assert!(message.contains("sac.hidden_size = 70000"), "{message}");
        assert!(
            message.contains("GiB") && message.contains("at most 8.0 GiB"),
            "{message}"
        );

        let mut dsac = config("dsac", &[]);
        dsac.dsac.agent.num_quantiles = 1_000_000;
        let message = check(&dsac, 3, 1, &budget).unwrap_err().to_string();
        assert!(
            message.contains("dsac.num_quantiles = 1000000"),
            "{message}"
        );

        let mut remac = config("remac", &[]);
        remac.remac.agent.num_action_samples = 1_000_000;
        let message = check(&remac, 3, 1, &budget).unwrap_err().to_string();
        assert!(
            message.contains("remac.num_action_samples = 1000000"),
            "{message}"
        );

        let mut ppo = config("ppo", &[]);
        ppo.ppo.num_envs = 1_000_000;
        let message = check(&ppo, 3, 1, &budget).unwrap_err().to_string();
        assert!(message.contains("ppo.num_envs = 1000000"), "{message}");

        // Saturating sizes are finite f64s, never an overflow.
        sac.sac.shared.hidden_size = usize::MAX;
        assert!(check(&sac, 3, 1, &budget).is_err());
    }

    #[test]
    fn every_shipped_config_fits_in_one_gib() {
        let budget = MemoryBudget::new(1.0, "a test");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|ext| ext != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let table: toml::Table = text.parse().unwrap();
            let Ok(config) =
                serde_path_to_error::deserialize::<_, TrainConfig>(toml::Value::Table(table))
            else {
                panic!("{} does not deserialise", path.display());
            };
            // HalfCheetah's spaces are the largest of the shipped configs' (17 and 6).
            check(&config, 17, 6, &budget)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        }
    }
}
