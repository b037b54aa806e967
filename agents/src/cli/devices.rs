use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::backend;
use crate::config::DeviceKind;

#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Print JSON instead of one line per device.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct DeviceStatus {
    device: DeviceKind,
    compiled: bool,
    available: bool,
    /// The device found, or why it cannot be used.
    detail: String,
}

/// Every device name `--device` accepts, whether this build has it, and whether it runs here.
pub fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let statuses: Vec<DeviceStatus> = DeviceKind::value_variants()
        .iter()
        .map(|&device| {
            let (available, detail) = match backend::describe(device) {
                Ok(description) => (true, description),
                Err(error) => (false, error.to_string()),
            };
            DeviceStatus {
                device,
                compiled: backend::compiled_devices().contains(&device),
                available,
                detail,
            }
        })
        .collect();
    if args.json {
        return super::print_json(&statuses);
    }
    for status in &statuses {
        let state = match (status.compiled, status.available) {
            (true, true) => "available",
            (true, false) => "absent",
            (false, _) => "not built",
        };
        println!("{:<7} {state:<10} {}", status.device.name(), status.detail);
    }
    Ok(())
}
