//! The one place where a concrete Burn backend is named: the device a config or `--device`
//! asks for is checked here, and [`dispatch`] runs a [`BackendJob`] on the matching backend.
//! Everything below `BackendJob::run` is generic over `B: AutodiffBackend`.
//!
//! The GPU backends are cargo features of this crate (`wgpu`, `cuda`); the default build has
//! the CPU only. Before any Burn code touches a GPU, [`check`] asks the driver whether a
//! device is there, so that a missing GPU is an error that says what to do, not a panic
//! deep inside CubeCL.

use std::any::TypeId;

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::{AutodiffBackend, Backend};
use clap::ValueEnum;

use crate::config::DeviceKind;

/// Work to run on whichever backend the config chose.
pub trait BackendJob {
    type Output;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<Self::Output>;
}

/// Why a device cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    #[error(
        "device '{device}' needs the `{feature}` cargo feature, which this build lacks (it has: \
         {compiled}); rebuild with `cargo build --release --features agents/{feature}`"
    )]
    NotCompiled {
        device: DeviceKind,
        feature: &'static str,
        compiled: String,
    },
    #[error("device '{device}' is not available on this machine: {reason}")]
    Unavailable { device: DeviceKind, reason: String },
}

/// The cargo feature that builds `device` in; `None` for the CPU, which is always there.
fn feature(device: DeviceKind) -> Option<&'static str> {
    match device {
        DeviceKind::Cpu => None,
        DeviceKind::Cuda => Some("cuda"),
        DeviceKind::Wgpu | DeviceKind::Vulkan => Some("wgpu"),
    }
}

fn is_compiled(device: DeviceKind) -> bool {
    match device {
        DeviceKind::Cpu => true,
        DeviceKind::Cuda => cfg!(feature = "cuda"),
        DeviceKind::Wgpu | DeviceKind::Vulkan => cfg!(feature = "wgpu"),
    }
}

/// The devices this build can drive (whether or not one is present).
pub fn compiled_devices() -> Vec<DeviceKind> {
    DeviceKind::value_variants()
        .iter()
        .copied()
        .filter(|&device| is_compiled(device))
        .collect()
}

/// What the driver said about `device`, asked once per process: a description of the device
/// found, or why there is none. Only for compiled-in GPU devices.
fn probed(device: DeviceKind) -> &'static Result<String, String> {
    #[cfg(feature = "cuda")]
    if device == DeviceKind::Cuda {
        return cuda::probed();
    }
    #[cfg(feature = "wgpu")]
    if matches!(device, DeviceKind::Wgpu | DeviceKind::Vulkan) {
        return wgpu_device::probed(device);
    }
    unreachable!("{device} is not a compiled-in GPU device")
}

/// Whether `device` can run here: compiled in and found by its driver. Cheap after the first
/// call for a device (the answer is kept for the process).
pub fn check(device: DeviceKind) -> Result<(), BackendError> {
    describe(device).map(|_| ())
}

/// A one-line description of the device `device` resolves to (for logs), or why it cannot be
/// used.
pub fn describe(device: DeviceKind) -> Result<String, BackendError> {
    let Some(feature) = feature(device) else {
        return Ok("Burn's Flex backend on the CPU".to_string());
    };
    if !is_compiled(device) {
        return Err(BackendError::NotCompiled {
            device,
            feature,
            compiled: compiled_devices()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    probed(device)
        .clone()
        .map_err(|reason| BackendError::Unavailable { device, reason })
}

/// Runs `job` on `device`'s backend, after [`check`].
pub fn dispatch<J: BackendJob>(device: DeviceKind, job: J) -> anyhow::Result<J::Output> {
    check(device)?;
    match device {
        DeviceKind::Cpu => job.run::<Autodiff<Flex>>(Default::default()),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => job.run::<Autodiff<burn::backend::Cuda>>(cuda::device()),
        #[cfg(feature = "wgpu")]
        DeviceKind::Wgpu | DeviceKind::Vulkan => {
            job.run::<Autodiff<burn::backend::Wgpu>>(wgpu_device::device(device)?)
        }
        #[allow(unreachable_patterns)]
        _ => unreachable!("check() rejects devices that are not compiled in"),
    }
}

/// Runs two independent computations on `B`: side by side on two threads of the rayon pool on
/// the CPU backend, one after the other on a GPU. On the CPU one of SAC's 256-wide networks
/// keeps only one core busy through its element-wise ops and hands each matmul's second half
/// to the other core; two networks side by side fill both (see [`crate::common::nets::TwinQ::forward`]).
/// A GPU runs each op's kernel in parallel already, and CubeCL gives each host thread a stream
/// of its own: with the twin critics on two threads, SAC's actor loss on wgpu (lavapipe) came
/// out wrong (`agents/tests/backends.rs`).
pub fn side_by_side<B, RA, RB>(
    first: impl FnOnce() -> RA + Send,
    second: impl FnOnce() -> RB + Send,
) -> (RA, RB)
where
    B: Backend,
    RA: Send,
    RB: Send,
{
    if is_cpu::<B>() {
        rayon::join(first, second)
    } else {
        (first(), second())
    }
}

/// Whether `B` is the CPU backend, with or without autodiff.
fn is_cpu<B: Backend>() -> bool {
    let backend = TypeId::of::<B>();
    backend == TypeId::of::<Flex>() || backend == TypeId::of::<Autodiff<Flex>>()
}

#[cfg(feature = "cuda")]
mod cuda {
    //! CUDA through cudarc, which loads the driver (libcuda) and NVRTC (libnvrtc, CubeCL
    //! compiles its kernels at run time) when first used: both are looked for here first.

    use std::sync::OnceLock;

    use burn::backend::cuda::CudaDevice;
    use cudarc::driver::result as driver;

    fn probe() -> Result<String, String> {
        // SAFETY: these only try to open the shared libraries by name.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err("the NVIDIA driver library libcuda.so was not found".into());
        }
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(
                "libnvrtc.so (NVRTC, which compiles the CUDA kernels at run time) was not \
                 found; it comes with the CUDA toolkit or the `nvidia-cuda-nvrtc` wheel, on \
                 the library path"
                    .into(),
            );
        }
        driver::init().map_err(|error| format!("the CUDA driver failed to start: {error}"))?;
        let count = driver::device::get_count()
            .map_err(|error| format!("the CUDA driver cannot count devices: {error}"))?;
        if count < 1 {
            return Err("the CUDA driver reports no device".into());
        }
        let device = driver::device::get(0)
            .map_err(|error| format!("the CUDA driver cannot open device 0: {error}"))?;
        let name = driver::device::get_name(device).unwrap_or_else(|_| "unnamed".into());
        Ok(format!("CUDA device 0 of {count}: {name}"))
    }

    pub fn probed() -> &'static Result<String, String> {
        static PROBE: OnceLock<Result<String, String>> = OnceLock::new();
        PROBE.get_or_init(probe)
    }

    pub fn device() -> CudaDevice {
        CudaDevice::default()
    }
}

#[cfg(feature = "wgpu")]
mod wgpu_device {
    //! WGPU: `wgpu` lets wgpu pick the platform's graphics API (Vulkan on Linux and Windows,
    //! Metal on macOS), `vulkan` insists on Vulkan. Burn's runtime for the default device is
    //! set up once per process, on the first request.

    use std::sync::{Mutex, OnceLock};

    use burn::backend::wgpu::graphics::{AutoGraphicsApi, GraphicsApi, Vulkan};
    use burn::backend::wgpu::{RuntimeOptions, WgpuDevice, init_setup};

    use super::BackendError;
    use crate::config::DeviceKind;

    fn graphics_backend(device: DeviceKind) -> wgpu::Backend {
        match device {
            DeviceKind::Vulkan => Vulkan::backend(),
            _ => AutoGraphicsApi::backend(),
        }
    }

    /// The adapter wgpu would give Burn for `backend`, asked the same way CubeCL asks.
    fn probe(backend: wgpu::Backend) -> Result<String, String> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: backend.into(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = futures_lite::future::block_on(instance.request_adapter(
            &wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
            },
        ))
        .map_err(|error| {
            format!(
                "wgpu found no {backend:?} adapter ({error}); install the GPU's {backend:?} \
                 driver (on Debian or Ubuntu without a GPU, `apt-get install \
                 mesa-vulkan-drivers` gives a slow software device)"
            )
        })?;
        let info = adapter.get_info();
        Ok(format!(
            "{} ({:?}, {:?}, driver {} {})",
            info.name, info.device_type, info.backend, info.driver, info.driver_info
        ))
    }

    pub fn probed(device: DeviceKind) -> &'static Result<String, String> {
        static AUTO: OnceLock<Result<String, String>> = OnceLock::new();
        static VULKAN: OnceLock<Result<String, String>> = OnceLock::new();
        let backend = graphics_backend(device);
        match device {
            DeviceKind::Vulkan => VULKAN.get_or_init(|| probe(backend)),
            _ => AUTO.get_or_init(|| probe(backend)),
        }
    }

    /// Burn's default WGPU device, its runtime started on `device`'s graphics API. One process
    /// has one runtime for it, so a second, different API is an error (on Linux both names
    /// mean Vulkan and share it).
    pub fn device(device: DeviceKind) -> Result<WgpuDevice, BackendError> {
        static STARTED: Mutex<Option<wgpu::Backend>> = Mutex::new(None);
        let backend = graphics_backend(device);
        let mut started = STARTED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match *started {
            Some(running) if running == backend => {}
            Some(running) => {
                return Err(BackendError::Unavailable {
                    device,
                    reason: format!(
                        "this process already runs WGPU on {running:?}, and one process \
                         drives the default device through one graphics API"
                    ),
                });
            }
            None => {
                let options = RuntimeOptions::default();
                match device {
                    DeviceKind::Vulkan => {
                        init_setup::<Vulkan>(&WgpuDevice::DefaultDevice, options);
                    }
                    _ => {
                        init_setup::<AutoGraphicsApi>(&WgpuDevice::DefaultDevice, options);
                    }
                }
                *started = Some(backend);
            }
        }
        Ok(WgpuDevice::DefaultDevice)
    }
}
