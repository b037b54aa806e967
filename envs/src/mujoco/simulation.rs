//! One MuJoCo simulation: a shared model and this env's own data, driven the way Gymnasium's
//! `MujocoEnv` drives it.

use std::sync::Arc;

use mujoco_rs::prelude::{MjData, MjModel, MjtObjBase};

/// Gymnasium's `MujocoEnv` minus the Gym parts: `set_state`, `do_simulation`, `dt`,
/// `init_qpos` / `init_qvel`.
pub(crate) struct Simulation {
    /// The model `data` runs on, kept to hand to the renderer.
    shared_model: Arc<MjModel>,
    data: MjData<Arc<MjModel>>,
    frame_skip: usize,
    dt: f64,
    init_qpos: Vec<f64>,
    init_qvel: Vec<f64>,
}

impl Simulation {
    pub(crate) fn new(model: Arc<MjModel>, frame_skip: usize) -> Result<Self, String> {
        // Gymnasium's `dt` property: `model.opt.timestep * frame_skip`.
        let dt = model.opt().timestep * frame_skip as f64;
        let data = MjData::try_new(Arc::clone(&model)).map_err(|error| error.to_string())?;
        // `init_qpos` / `init_qvel` are the fresh data's (the model's `qpos0`, zero velocity).
        let init_qpos = data.qpos().to_vec();
        let init_qvel = data.qvel().to_vec();
        Ok(Self {
            shared_model: model,
            data,
            frame_skip,
            dt,
            init_qpos,
            init_qvel,
        })
    }

    pub(crate) fn model(&self) -> &MjModel {
        self.data.model()
    }

    pub(crate) fn shared_model(&self) -> &Arc<MjModel> {
        &self.shared_model
    }

    pub(crate) fn data(&self) -> &MjData<Arc<MjModel>> {
        &self.data
    }

    /// Seconds per env step.
    pub(crate) fn dt(&self) -> f64 {
        self.dt
    }

    pub(crate) fn init_qpos(&self) -> &[f64] {
        &self.init_qpos
    }

    pub(crate) fn init_qvel(&self) -> &[f64] {
        &self.init_qvel
    }

    pub(crate) fn qpos(&self) -> &[f64] {
        self.data.qpos()
    }

    pub(crate) fn qvel(&self) -> &[f64] {
        self.data.qvel()
    }

    pub(crate) fn nq(&self) -> usize {
        self.init_qpos.len()
    }

    pub(crate) fn nv(&self) -> usize {
        self.init_qvel.len()
    }

    /// Gymnasium's `reset`: `mj_resetData`, then `set_state(qpos, qvel)` (assign, `mj_forward`).
    /// The lengths are the caller's to check.
    pub(crate) fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]) {
        self.data.reset();
        self.data.qpos_mut().copy_from_slice(qpos);
        self.data.qvel_mut().copy_from_slice(qvel);
        self.data.forward();
    }

    /// Gymnasium's `do_simulation(action, frame_skip)`: the float32 action becomes `ctrl`
    /// (MuJoCo clamps it to `ctrlrange` itself), `frame_skip` calls of `mj_step`, then
    /// `mj_rnePostConstraint` so that `cfrc_ext` and friends describe the new state.
    pub(crate) fn do_simulation(&mut self, action: &[f32]) {
        for (ctrl, &a) in self.data.ctrl_mut().iter_mut().zip(action) {
            *ctrl = f64::from(a);
        }
        for _ in 0..self.frame_skip {
            self.data.step();
        }
        self.data.rne_post_constraint();
    }
}

/// The id of the body called `name`, or a message for a model without one.
pub(crate) fn body_id(model: &MjModel, name: &str) -> Result<usize, String> {
    model
        .name_to_id(MjtObjBase::mjOBJ_BODY, name)
        .ok_or_else(|| format!("it has no body named `{name}`"))
}

/// Checks that a model has at least the coordinates a task indexes (`qpos[2]`, ...).
pub(crate) fn require_sizes(model: &MjModel, min_nq: usize, min_nv: usize) -> Result<(), String> {
    let (nq, nv) = (model.ffi().nq, model.ffi().nv);
    if nq < min_nq as i64 || nv < min_nv as i64 {
        return Err(format!(
            "it has nq = {nq} and nv = {nv}, and the env reads at least nq = {min_nq}, \
             nv = {min_nv}"
        ));
    }
    Ok(())
}
