//! With the `mujoco` feature: checks that MuJoCo 3.17.0's shared library is where
//! `.cargo/config.toml` says (`MUJOCO_DYNAMIC_LINK_DIR`, filled by `scripts/setup_mujoco.sh`),
//! and makes programs find it at run time without anyone exporting `LD_LIBRARY_PATH`.
//!
//! mujoco-rs's own build script only checks for a `libmujoco.so` there, and the committed
//! `.mujoco/lib/libmujoco.so` (a linker script) always satisfies it, so a missing library is
//! reported here, with the fix, rather than as mujoco-rs's advice about MuJoCo's `lib/` folder.
//! Then:
//!
//! - `cargo run` / `cargo test` / `cargo bench`: Cargo puts link-search folders that lie inside
//!   its target directory on the library path of the processes it starts, so the library is
//!   copied into `OUT_DIR` and that folder is declared as a link-search path.
//! - envs' own test, bench and example binaries started directly: an rpath to the folder.
//!   (The `ordergrad` binary gets its rpath from `agents/build.rs`.)
//!
//! Without the feature it does nothing.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

const LINK_DIR_VAR: &str = "MUJOCO_DYNAMIC_LINK_DIR";
const LIBRARY: &str = "libmujoco.so.3.17.0";
const SETUP_HINT: &str = "run `scripts/setup_mujoco.sh` from the workspace root (it puts MuJoCo \
     3.17.0's libmujoco.so.3.17.0 into .mujoco/lib, where .cargo/config.toml points \
     MUJOCO_DYNAMIC_LINK_DIR), or build without `--features mujoco`";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed={LINK_DIR_VAR}");
    if env::var_os("CARGO_FEATURE_MUJOCO").is_none() {
        return;
    }
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        // Elsewhere mujoco-rs's own build finds the library; nothing to copy.
        return;
    }

    let link_dir = match env::var_os(LINK_DIR_VAR) {
        Some(dir) => PathBuf::from(dir),
        None => fail(&format!(
            "{LINK_DIR_VAR} is not set (it comes from .cargo/config.toml at the workspace root)"
        )),
    };
    let library = link_dir.join(LIBRARY);
    if !library.is_file() {
        let found = describe_libmujoco(&link_dir);
        let overridden = if is_the_workspace_folder(&link_dir) {
            String::new()
        } else {
            format!(
                "; {LINK_DIR_VAR} is set to another folder than .mujoco/lib, so unset it or \
                 point it at a folder with libmujoco.so.3.17.0"
            )
        };
        fail(&format!(
            "the `mujoco` feature needs MuJoCo 3.17.0's shared library, and {} does not exist \
             ({LINK_DIR_VAR}={}; {found}){overridden}",
            library.display(),
            link_dir.display()
        ));
    }
    println!("cargo::rerun-if-changed={}", library.display());

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let runtime_dir = out_dir.join("mujoco-runtime");
    copy_if_changed(&library, &runtime_dir.join(LIBRARY));
    println!("cargo::rustc-link-search=native={}", runtime_dir.display());

    let rpath = format!("-Wl,-rpath,{}", link_dir.display());
    println!("cargo::rustc-link-arg-tests={rpath}");
    println!("cargo::rustc-link-arg-benches={rpath}");
    println!("cargo::rustc-link-arg-examples={rpath}");
}

/// Whether `dir` is the workspace's `.mujoco/lib`, where `.cargo/config.toml` points.
fn is_the_workspace_folder(dir: &Path) -> bool {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let ours = manifest_dir.join("../.mujoco/lib");
    match (ours.canonicalize(), dir.canonicalize()) {
        (Ok(ours), Ok(dir)) => ours == dir,
        _ => false,
    }
}

/// What the folder holds instead, for the error message.
fn describe_libmujoco(dir: &Path) -> String {
    let Ok(entries) = fs::read_dir(dir) else {
        return "the folder does not exist".to_owned();
    };
    let found: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("libmujoco.so."))
        .collect();
    if found.is_empty() {
        "the library has not been put there yet".to_owned()
    } else {
        format!(
            "the folder holds {}, another MuJoCo version",
            found.join(", ")
        )
    }
}

fn copy_if_changed(from: &Path, to: &Path) {
    let same = match (fs::read(from), fs::read(to)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return;
    }
    let copied = fs::create_dir_all(to.parent().expect("a file in OUT_DIR"))
        .and_then(|()| fs::copy(from, to));
    if let Err(error) = copied {
        fail(&format!(
            "cannot copy {} to {}: {error}",
            from.display(),
            to.display()
        ));
    }
}

fn fail(problem: &str) -> ! {
    eprintln!("error: {problem}\nfix: {SETUP_HINT}");
    // `cargo::error` fails the build with the message shown as an error.
    println!("cargo::error={problem}; to fix it, {SETUP_HINT}");
    std::process::exit(0);
}
