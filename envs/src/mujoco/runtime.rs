//! The MuJoCo library as a whole: the version check, the log hook, and the compiled models
//! that every env of an id shares.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use mujoco_rs::mujoco_c;
use mujoco_rs::prelude::MjModel;

use crate::error::EnvError;

/// `mj_version()` of MuJoCo 3.17.0 (`major * 1_000_000 + minor * 1_000 + patch`), the version
/// mujoco-rs 7.0.0's bindings were generated from and the fixtures were recorded with.
const EXPECTED_VERSION: u32 = mujoco_c::mjVERSION_HEADER;

/// Checks, once per process, that the loaded library is MuJoCo 3.17.0, then routes MuJoCo's
/// messages to the `log` crate. Every MuJoCo call of this crate comes after this.
///
/// Without the hook, MuJoCo prints its warnings and appends them to `MUJOCO_LOG.TXT` in the
/// working directory; Gymnasium's `half_cheetah.xml` alone triggers one (a deprecated compiler
/// attribute) on every load.
pub(crate) fn ensure_runtime() -> Result<(), EnvError> {
    static RUNTIME: OnceLock<Result<(), EnvError>> = OnceLock::new();
    RUNTIME.get_or_init(check_and_hook).clone()
}

fn check_and_hook() -> Result<(), EnvError> {
    // SAFETY: `mj_version` only returns a constant of the loaded library.
    check_version(unsafe { mujoco_c::mj_version() })?;
    // SAFETY: no thread of this crate uses MuJoCo before `ensure_runtime` returns, and this runs
    // once (inside the `OnceLock`), so no other thread is inside MuJoCo while the hook changes.
    unsafe { mujoco_rs::logging::install_logging_hook() };
    Ok(())
}

/// mujoco-rs itself would panic on its first model load with another version; we stop before.
fn check_version(found: i32) -> Result<(), EnvError> {
    if u32::try_from(found).ok() == Some(EXPECTED_VERSION) {
        return Ok(());
    }
    Err(EnvError::MujocoVersion {
        found: describe_version(found),
        expected: describe_version(EXPECTED_VERSION as i32),
    })
}

/// `3017000` -> `3.17.0 (mj_version 3017000)`; MuJoCo 2.x numbered `2.2.2` as `222`.
fn describe_version(version: i32) -> String {
    let dotted = if version >= 1_000_000 {
        format!(
            "{}.{}.{}",
            version / 1_000_000,
            version / 1_000 % 1_000,
            version % 1_000
        )
    } else {
        format!("{}.{}.{}", version / 100, version / 10 % 10, version % 10)
    };
    format!("{dotted} (mj_version {version})")
}

/// The compiled model of a bundled XML, loaded once per process and shared (read-only) by all
/// the envs of that id: MuJoCo's `mj_step` never writes the model, so one `MjModel` serves
/// any number of `MjData`, on any threads.
pub(crate) fn bundled_model(
    env_id: &str,
    file_name: &'static str,
    xml: &'static str,
) -> Result<Arc<MjModel>, EnvError> {
    ensure_runtime()?;
    let mut models = loaded_models();
    if let Some(model) = models.get(file_name) {
        return Ok(Arc::clone(model));
    }
    let model = MjModel::from_xml_string(xml).map_err(|error| EnvError::MujocoModel {
        env_id: env_id.to_owned(),
        model: format!("{file_name} (bundled)"),
        reason: error.to_string(),
        hint: "the bundled v5 models must stay as Gymnasium 1.4.0 ships them \
               (envs/assets/mujoco/)"
            .to_owned(),
    })?;
    let model = Arc::new(model);
    models.insert(file_name, Arc::clone(&model));
    Ok(model)
}

/// The bundled models loaded so far. Holding the guard also serialises every model load of this
/// crate: MuJoCo's XML loader keeps global state (the last loaded spec).
fn loaded_models() -> MutexGuard<'static, HashMap<&'static str, Arc<MjModel>>> {
    static MODELS: OnceLock<Mutex<HashMap<&'static str, Arc<MjModel>>>> = OnceLock::new();
    MODELS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A model from a file, like Gymnasium's `xml_file=` argument. Not cached.
pub(crate) fn model_from_file(env_id: &str, path: &Path) -> Result<Arc<MjModel>, EnvError> {
    ensure_runtime()?;
    let error = |reason: String| EnvError::MujocoModel {
        env_id: env_id.to_owned(),
        model: path.display().to_string(),
        reason,
        hint: "pass the path of a readable MuJoCo XML file (relative paths start at the \
               working directory), or use make(id) for the bundled v5 model"
            .to_owned(),
    };
    if !path.is_file() {
        let reason = if path.exists() {
            "it is not a file"
        } else {
            "no such file"
        };
        return Err(error(reason.to_owned()));
    }
    let _serialised = loaded_models();
    MjModel::from_xml(path)
        .map(Arc::new)
        .map_err(|load_error| error(load_error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_described_in_both_numberings() {
        assert_eq!(describe_version(3017000), "3.17.0 (mj_version 3017000)");
        assert_eq!(describe_version(222), "2.2.2 (mj_version 222)");
    }

    #[test]
    fn another_mujoco_version_is_an_error_that_says_how_to_fix_it() {
        // Debian's libmujoco 2.2.2 reports 222.
        let message = check_version(222).unwrap_err().to_string();
        assert!(
            message.contains("version 2.2.2 (mj_version 222)")
                && message.contains("needs 3.17.0")
                && message.contains("scripts/setup_mujoco.sh"),
            "{message}"
        );
        assert!(check_version(3018000).is_err());
        assert_eq!(check_version(3017000), Ok(()));
    }

    #[test]
    fn the_loaded_library_is_mujoco_3_17_0() {
        assert_eq!(ensure_runtime(), Ok(()));
        assert_eq!(mujoco_rs::mujoco_version(), "3.17.0");
    }
}
