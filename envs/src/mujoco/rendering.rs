//! Pictures of the MuJoCo envs: MuJoCo's own renderer (mujoco-rs's `MjRenderer`), offscreen
//! through EGL, from Gymnasium 1.4.0's default `rgb_array` camera of each task, 480 x 480.
//!
//! An OpenGL context belongs to the thread that made it current, so each thread that renders
//! keeps one renderer of its own (with its own `MjData`, into which the env's state is copied),
//! made at its first picture and kept for the thread's life, as Gymnasium keeps its viewer for
//! the env's. Nothing is made for an env that is never rendered.

use std::cell::RefCell;
use std::sync::Arc;

use mujoco_rs::prelude::{MjData, MjModel};
use mujoco_rs::renderer::MjRenderer;
use mujoco_rs::wrappers::MjvCamera;

use crate::render::Frame;

/// Gymnasium's `DEFAULT_SIZE`: the width and height of a MuJoCo env's `rgb_array`.
pub const FRAME_SIZE: usize = 480;

/// What installs the EGL and OpenGL libraries the renderer needs (Mesa's software renderer).
pub const SETUP_SCRIPT: &str = "scripts/setup_egl.sh";

/// A task's `DEFAULT_CAMERA_CONFIG` (`gymnasium/envs/mujoco/*_v5.py`); what it leaves out keeps
/// the value Gymnasium's `OffScreenViewer._init_camera` gives it. Its `trackbodyid` is left out:
/// Gymnasium renders with a free camera, which does not track (the camera stays where the
/// episode started, as in Gymnasium's own videos).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CameraConfig {
    pub distance: Option<f64>,
    pub lookat: Option<[f64; 3]>,
    pub elevation: Option<f64>,
}

impl CameraConfig {
    /// No config: Gymnasium's free camera as `_init_camera` leaves it.
    pub const FREE: Self = Self {
        distance: None,
        lookat: None,
        elevation: None,
    };
}

struct ThreadRenderer {
    model: Arc<MjModel>,
    data: MjData<Arc<MjModel>>,
    renderer: MjRenderer,
}

thread_local! {
    static RENDERER: RefCell<Option<ThreadRenderer>> = const { RefCell::new(None) };
    /// Why this thread's last picture could not be drawn (`Env::render` can only say None).
    static LAST_FAILURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Why the last MuJoCo picture this thread asked for could not be drawn, if it could not.
pub fn last_failure() -> Option<String> {
    LAST_FAILURE.with_borrow(Clone::clone)
}

/// The message for a renderer that cannot start, naming the way to fix it.
fn cannot_start(env_id: &str, error: &dyn std::error::Error) -> String {
    let mut reasons = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        reasons.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    format!(
        "{env_id}: MuJoCo's renderer cannot start ({reasons}); it draws offscreen through EGL: \
         run {SETUP_SCRIPT} to install Mesa's EGL and OpenGL libraries"
    )
}

/// The picture of the state `(qpos, qvel)` of `model`'s env `env_id`, seen by `camera`; None
/// when it cannot be drawn, the reason in [`last_failure`].
pub(crate) fn render(
    env_id: &str,
    model: &Arc<MjModel>,
    qpos: &[f64],
    qvel: &[f64],
    camera: CameraConfig,
) -> Option<Frame> {
    let drawn = draw(env_id, model, qpos, qvel, camera);
    LAST_FAILURE.with_borrow_mut(|failure| *failure = drawn.as_ref().err().cloned());
    drawn.ok()
}

fn draw(
    env_id: &str,
    model: &Arc<MjModel>,
    qpos: &[f64],
    qvel: &[f64],
    camera: CameraConfig,
) -> Result<Frame, String> {
    RENDERER.with_borrow_mut(|slot| {
        let current = match slot {
            Some(current) if Arc::ptr_eq(&current.model, model) => current,
            _ => slot.insert(start(env_id, model, qpos, qvel, camera)?),
        };
        current.data.qpos_mut().copy_from_slice(qpos);
        current.data.qvel_mut().copy_from_slice(qvel);
        current.data.forward();
        let failed = |error: mujoco_rs::renderer::RendererError| {
            format!("{env_id}: MuJoCo's renderer failed: {error}")
        };
        current
            .renderer
            .sync_data(&mut current.data)
            .map_err(failed)?;
        current.renderer.render().map_err(failed)?;
        let rgb = current
            .renderer
            .rgb_flat()
            .ok_or_else(|| format!("{env_id}: MuJoCo's renderer gave no RGB picture"))?;
        Ok(Frame::from_rgb(FRAME_SIZE, FRAME_SIZE, rgb))
    })
}

/// Makes this thread's renderer, with Gymnasium's camera: a free camera looking at the median
/// of the geoms' positions from the model's extent away (`_init_camera`), then the task's
/// config over it.
fn start(
    env_id: &str,
    model: &Arc<MjModel>,
    qpos: &[f64],
    qvel: &[f64],
    config: CameraConfig,
) -> Result<ThreadRenderer, String> {
    let mut data = MjData::try_new(Arc::clone(model)).map_err(|error| error.to_string())?;
    data.qpos_mut().copy_from_slice(qpos);
    data.qvel_mut().copy_from_slice(qvel);
    data.forward();
    let mut camera = MjvCamera::default();
    for axis in 0..3 {
        let mut values: Vec<f64> = data.geom_xpos().iter().map(|xpos| xpos[axis]).collect();
        camera.lookat[axis] = median(&mut values);
    }
    camera.distance = model.stat().extent;
    if let Some(distance) = config.distance {
        camera.distance = distance;
    }
    if let Some(lookat) = config.lookat {
        camera.lookat = lookat;
    }
    if let Some(elevation) = config.elevation {
        camera.elevation = elevation;
    }
    let renderer = MjRenderer::builder()
        .width(FRAME_SIZE as u32)
        .height(FRAME_SIZE as u32)
        .camera(camera)
        .build(model)
        .map_err(|error| cannot_start(env_id, &error))?;
    Ok(ThreadRenderer {
        model: Arc::clone(model),
        data,
        renderer,
    })
}

/// NumPy's `median`: the mean of the two middle values of an even count.
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}
