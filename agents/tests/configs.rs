//! Every ready-made experiment in `configs/` parses and passes validation, so a typo in a shipped
//! config fails CI rather than a user's first run.

use std::path::Path;

use agents::config::TrainConfig;

#[test]
fn every_shipped_config_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        let table: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let env = table["env"].as_str().unwrap();
        if !envs::registered_ids().contains(&env) {
            // MuJoCo configs need the `mujoco` feature; its CI step checks them.
            println!("skipping {}: {env} is not in this build", path.display());
            continue;
        }
        if let Err(error) = TrainConfig::load(&path, &[]) {
            panic!("{}: {error}", path.display());
        }
        checked.push(path.file_stem().unwrap().to_string_lossy().into_owned());
    }
    assert!(
        checked.len() >= 11,
        "found only {checked:?} in {}",
        dir.display()
    );
    // The pure-Rust risky tasks are in every build, so their configs are always checked.
    for arm in ["dsac-mean", "dsac-cvar"] {
        for task in ["risky-crossing", "risky-car"] {
            let name = format!("{arm}-{task}");
            assert!(checked.contains(&name), "{name} not checked: {checked:?}");
        }
    }
    #[cfg(feature = "mujoco")]
    for name in [
        "remac-hopper",
        "remac-halfcheetah",
        "sac-paper-hopper",
        "sac-paper-halfcheetah",
        "sac-risky-halfcheetah",
        "dsac-mean-risky-halfcheetah",
        "dsac-cvar-risky-halfcheetah",
    ] {
        assert!(checked.contains(&name.to_owned()), "{name} not checked");
    }
    for arm in ["ppo-mean", "ppo-cvar"] {
        for task in ["risky-crossing", "risky-car"] {
            let name = format!("{arm}-{task}");
            assert!(checked.contains(&name), "{name} not checked: {checked:?}");
        }
    }
}
