//! With the `mujoco` feature the `ordergrad` binary links MuJoCo's shared library; an rpath to
//! the folder it was linked from (`MUJOCO_DYNAMIC_LINK_DIR`, set by `.cargo/config.toml`) lets
//! `target/release/ordergrad` start without `LD_LIBRARY_PATH`. (`cargo run` and `cargo test`
//! find the library through envs' build script either way.)

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    if std::env::var_os("CARGO_FEATURE_MUJOCO").is_none()
        || std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux")
    {
        return;
    }
    if let Ok(dir) = std::env::var("MUJOCO_DYNAMIC_LINK_DIR") {
        println!("cargo::rustc-link-arg-bins=-Wl,-rpath,{dir}");
    }
}
