//! The one place where a concrete Burn backend is named: everything below `BackendJob::run` is
//! generic over `B: AutodiffBackend`.

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::AutodiffBackend;

use super::BadInput;
use crate::config::DeviceKind;

/// Work to run on whichever backend the config chose.
pub trait BackendJob {
    type Output;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> anyhow::Result<Self::Output>;
}

pub fn dispatch<J: BackendJob>(device: DeviceKind, job: J) -> anyhow::Result<J::Output> {
    match device {
        DeviceKind::Cpu => job.run::<Autodiff<Flex>>(Default::default()),
        other => Err(BadInput(format!(
            "device '{}' is not available in this build, which has: cpu. The GPU backends \
             (cuda, wgpu, vulkan) are not implemented yet; use device = \"cpu\"",
            format!("{other:?}").to_lowercase()
        ))
        .into()),
    }
}
