//! Helpers shared by the integration tests (each test file includes this with `mod common;`).

use std::path::PathBuf;

/// An empty folder of its own under the system's temp dir, for test `test`'s case `name`: the
/// process id keeps parallel test processes apart.
pub fn scratch_dir(test: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordergrad-{test}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
