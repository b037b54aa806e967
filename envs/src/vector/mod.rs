//! N copies of an env stepped as one batch, with same-step autoreset.
//!
//! Autoreset choice (Gymnasium's `AutoresetMode.SAME_STEP`, the behaviour of SB3's vec envs):
//! when a member's episode ends in `step`, the member is reset within that same call. The
//! batch then carries, for that member, the new episode's reset observation in
//! `observations`, the finished step's reward and `terminated`/`truncated` flags, and the
//! finished episode's last observation and info in `final_observations` / `final_infos`.
//! A truncated transition bootstraps from `final_observations[i]`; a terminated one does not
//! bootstrap. Terminated and truncated are reported separately and never merged.
//! (Gymnasium's default, `NEXT_STEP`, would instead spend the next call on the reset and
//! return a transition to ignore; same-step keeps every returned transition real.)

mod worker_pool;

use crate::env::{BoxSpace, Env, Info, validate_action};
use crate::error::EnvError;
use crate::registry::make;
use worker_pool::WorkerPool;

/// The members of a vector env, stepped together. `E` is `Box<dyn Env>` unless the caller
/// wants typed access to its members' wrappers (e.g. to save normaliser statistics).
pub struct VectorEnv<E: Env = Box<dyn Env>> {
    envs: Vec<E>,
    /// Worker threads beside the calling one; `None` steps sequentially.
    pool: Option<WorkerPool<E>>,
}

/// One batched step. Row `i` of every field belongs to member `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorStep {
    /// `num_envs x observation_dim`, row-major. For a member whose episode ended in this
    /// step, its row is already the next episode's reset observation.
    pub observations: Vec<f64>,
    pub observation_dim: usize,
    pub rewards: Vec<f64>,
    pub terminated: Vec<bool>,
    pub truncated: Vec<bool>,
    /// The step's info, or the reset info for a member that was just reset.
    pub infos: Vec<Info>,
    /// The last observation of the episode that ended in this step (`Some` exactly where
    /// `terminated[i] || truncated[i]`): the observation to bootstrap a truncation from.
    pub final_observations: Vec<Option<Vec<f64>>>,
    /// The info of the step that ended the episode (it carries `RecordEpisodeStatistics`'
    /// episode return and length).
    pub final_infos: Vec<Option<Info>>,
}

impl VectorStep {
    pub fn num_envs(&self) -> usize {
        self.rewards.len()
    }

    /// Member `i`'s observation row.
    pub fn observation(&self, i: usize) -> &[f64] {
        &self.observations[i * self.observation_dim..(i + 1) * self.observation_dim]
    }
}

/// What one member returns from a batched step.
struct MemberStep {
    observation: Vec<f64>,
    reward: f64,
    terminated: bool,
    truncated: bool,
    info: Info,
    finished: Option<(Vec<f64>, Info)>,
}

impl VectorEnv<Box<dyn Env>> {
    /// `num_envs` copies of `make(id)` (time limit included).
    pub fn make(id: &str, num_envs: usize) -> Result<Self, EnvError> {
        let envs = (0..num_envs)
            .map(|_| make(id))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(envs)
    }
}

impl<E: Env> VectorEnv<E> {
    /// The members must share their spaces. Steps sequentially until `with_threads`.
    pub fn new(envs: Vec<E>) -> Result<Self, EnvError> {
        let first = envs.first().ok_or_else(|| {
            EnvError::InvalidArgument("a vector env needs at least one env".to_owned())
        })?;
        if let Some((index, env)) = envs.iter().enumerate().find(|(_, env)| {
            env.observation_space() != first.observation_space()
                || env.action_space() != first.action_space()
        }) {
            return Err(EnvError::InvalidArgument(format!(
                "vector env members must share their spaces: member {index} ({}) differs from member 0 ({})",
                env.id(),
                first.id()
            )));
        }
        Ok(Self { envs, pool: None })
    }

    /// Steps the members on `threads` OS threads: the calling thread plus `threads - 1`
    /// persistent workers, each taking a contiguous chunk of members per step. A hand-off
    /// costs a few microseconds, so this pays only when a batch costs much more (MuJoCo),
    /// not for classic control (see the README's benchmark). 0 or 1 is sequential.
    pub fn with_threads(mut self, threads: usize) -> Self
    where
        E: 'static,
    {
        let workers = threads.clamp(1, self.envs.len()) - 1;
        self.pool = (workers > 0).then(|| WorkerPool::new(workers));
        self
    }

    pub fn num_envs(&self) -> usize {
        self.envs.len()
    }

    /// Threads that step members, the calling one included.
    pub fn threads(&self) -> usize {
        self.pool.as_ref().map_or(1, |pool| pool.len() + 1)
    }

    pub fn single_observation_space(&self) -> &BoxSpace {
        self.envs[0].observation_space()
    }

    pub fn single_action_space(&self) -> &BoxSpace {
        self.envs[0].action_space()
    }

    pub fn envs(&self) -> &[E] {
        &self.envs
    }

    pub fn envs_mut(&mut self) -> &mut [E] {
        &mut self.envs
    }

    /// Resets every member: with `Some(seed)` member `i` gets `seed + i`, as in Gymnasium.
    /// Returns the `num_envs x observation_dim` observations (row-major) and the infos.
    pub fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Vec<Info>) {
        let mut observations = Vec::with_capacity(self.num_envs() * self.observation_dim());
        let mut infos = Vec::with_capacity(self.num_envs());
        for (i, env) in self.envs.iter_mut().enumerate() {
            let (observation, info) = env.reset(seed.map(|s| s.wrapping_add(i as u64)));
            observations.extend_from_slice(&observation);
            infos.push(info);
        }
        (observations, infos)
    }

    /// Steps every member with its row of `actions` (`num_envs x action_dim`, row-major).
    /// All actions are checked before any member moves, so an error leaves the batch intact.
    pub fn step(&mut self, actions: &[f32]) -> Result<VectorStep, EnvError> {
        let action_dim = self.single_action_space().dim();
        let expected = self.num_envs() * action_dim;
        if actions.len() != expected {
            return Err(EnvError::BatchLength {
                num_envs: self.num_envs(),
                action_dim,
                expected,
                got: actions.len(),
            });
        }
        for (index, (env, action)) in self.envs.iter().zip(actions.chunks(action_dim)).enumerate() {
            validate_action(env.id(), env.action_space(), action).map_err(|error| {
                EnvError::VectorMember {
                    index,
                    error: Box::new(error),
                }
            })?;
        }
        let member_steps = match &self.pool {
            Some(pool) => pool.step(&mut self.envs, actions, action_dim),
            None => step_chunk(&mut self.envs, actions, action_dim, 0),
        }?;
        Ok(self.assemble(member_steps))
    }

    /// `step` with one `Vec` per member.
    pub fn step_rows(&mut self, actions: &[Vec<f32>]) -> Result<VectorStep, EnvError> {
        let action_dim = self.single_action_space().dim();
        if actions.len() != self.num_envs() {
            return Err(EnvError::BatchLength {
                num_envs: self.num_envs(),
                action_dim,
                expected: self.num_envs(),
                got: actions.len(),
            });
        }
        for (index, (env, action)) in self.envs.iter().zip(actions).enumerate() {
            validate_action(env.id(), env.action_space(), action).map_err(|error| {
                EnvError::VectorMember {
                    index,
                    error: Box::new(error),
                }
            })?;
        }
        self.step(&actions.concat())
    }

    fn observation_dim(&self) -> usize {
        self.single_observation_space().dim()
    }

    fn assemble(&self, member_steps: Vec<MemberStep>) -> VectorStep {
        let n = member_steps.len();
        let mut batch = VectorStep {
            observations: Vec::with_capacity(n * self.observation_dim()),
            observation_dim: self.observation_dim(),
            rewards: Vec::with_capacity(n),
            terminated: Vec::with_capacity(n),
            truncated: Vec::with_capacity(n),
            infos: Vec::with_capacity(n),
            final_observations: Vec::with_capacity(n),
            final_infos: Vec::with_capacity(n),
        };
        for member in member_steps {
            batch.observations.extend_from_slice(&member.observation);
            batch.rewards.push(member.reward);
            batch.terminated.push(member.terminated);
            batch.truncated.push(member.truncated);
            batch.infos.push(member.info);
            let (final_observation, final_info) = member.finished.unzip();
            batch.final_observations.push(final_observation);
            batch.final_infos.push(final_info);
        }
        batch
    }
}

/// Steps `envs` (members `first_index..`) in order, resetting any whose episode ends.
fn step_chunk<E: Env>(
    envs: &mut [E],
    actions: &[f32],
    action_dim: usize,
    first_index: usize,
) -> Result<Vec<MemberStep>, EnvError> {
    envs.iter_mut()
        .zip(actions.chunks(action_dim))
        .enumerate()
        .map(|(offset, (env, action))| {
            step_member(env, action).map_err(|error| EnvError::VectorMember {
                index: first_index + offset,
                error: Box::new(error),
            })
        })
        .collect()
}

fn step_member<E: Env>(env: &mut E, action: &[f32]) -> Result<MemberStep, EnvError> {
    let step = env.step(action)?;
    let done = step.is_done();
    let mut member = MemberStep {
        observation: step.observation,
        reward: step.reward,
        terminated: step.terminated,
        truncated: step.truncated,
        info: step.info,
        finished: None,
    };
    if done {
        let (reset_observation, reset_info) = env.reset(None);
        let final_observation = std::mem::replace(&mut member.observation, reset_observation);
        let final_info = std::mem::replace(&mut member.info, reset_info);
        member.finished = Some((final_observation, final_info));
    }
    Ok(member)
}
