//! Persistent worker threads for stepping chunks of a vector env's members.
//!
//! Spawning threads on every step (`std::thread::scope`) cost about 70 us per batch on the
//! 2-core benchmark VM, more than a whole MuJoCo batch gains. These workers live as long as the
//! vector env; each step lends a chunk of members to a worker (moving a `Vec` moves a
//! pointer, not the envs) and takes it back with the results, so between steps every member
//! is at home in `VectorEnv::envs`.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use super::{MemberStep, step_chunk};
use crate::env::Env;
use crate::error::EnvError;

/// A chunk of members to step, with their actions.
struct Job<E> {
    envs: Vec<E>,
    actions: Vec<f32>,
    action_dim: usize,
    first_index: usize,
}

/// The chunk handed back, with its results or the panic of one of its envs.
struct Done<E> {
    envs: Vec<E>,
    outcome: Result<Result<Vec<MemberStep>, EnvError>, Box<dyn Any + Send>>,
}

struct Worker<E> {
    jobs: Option<Sender<Job<E>>>,
    done: Receiver<Done<E>>,
    handle: Option<JoinHandle<()>>,
}

pub(super) struct WorkerPool<E> {
    workers: Vec<Worker<E>>,
}

impl<E: Env + 'static> WorkerPool<E> {
    pub(super) fn new(workers: usize) -> Self {
        let workers = (0..workers)
            .map(|_| {
                let (job_sender, jobs) = channel::<Job<E>>();
                let (done_sender, done) = channel::<Done<E>>();
                let handle = std::thread::spawn(move || {
                    for mut job in jobs {
                        let outcome = catch_unwind(AssertUnwindSafe(|| {
                            step_chunk(&mut job.envs, &job.actions, job.action_dim, job.first_index)
                        }));
                        let done = Done {
                            envs: job.envs,
                            outcome,
                        };
                        if done_sender.send(done).is_err() {
                            break;
                        }
                    }
                });
                Worker {
                    jobs: Some(job_sender),
                    done,
                    handle: Some(handle),
                }
            })
            .collect();
        Self { workers }
    }
}

impl<E: Env> WorkerPool<E> {
    pub(super) fn len(&self) -> usize {
        self.workers.len()
    }

    /// Steps `envs` in `workers + 1` contiguous chunks: the calling thread keeps the first,
    /// each worker takes one of the others. All members are back in `envs`, in order, when
    /// this returns (or re-raises a member's panic).
    pub(super) fn step(
        &self,
        envs: &mut Vec<E>,
        actions: &[f32],
        action_dim: usize,
    ) -> Result<Vec<MemberStep>, EnvError> {
        let num_envs = envs.len();
        let envs_per_chunk = num_envs.div_ceil(self.workers.len() + 1);
        let mut lent = 0;
        let mut rest = envs.split_off(envs_per_chunk.min(num_envs));
        for worker in &self.workers {
            if rest.is_empty() {
                break;
            }
            let tail = rest.split_off(envs_per_chunk.min(rest.len()));
            let first_index = num_envs - tail.len() - rest.len();
            let chunk_actions = &actions[first_index * action_dim..][..rest.len() * action_dim];
            let job = Job {
                envs: std::mem::replace(&mut rest, tail),
                actions: chunk_actions.to_vec(),
                action_dim,
                first_index,
            };
            worker
                .jobs
                .as_ref()
                .expect("jobs channel open while the pool lives")
                .send(job)
                .expect("vector env worker thread is gone");
            lent += 1;
        }

        let own_actions = &actions[..envs.len() * action_dim];
        let own_steps = step_chunk(envs, own_actions, action_dim, 0);
        let mut outcomes = Vec::with_capacity(lent);
        for worker in &self.workers[..lent] {
            let done = worker
                .done
                .recv()
                .expect("vector env worker thread is gone");
            envs.extend(done.envs);
            outcomes.push(done.outcome);
        }

        let mut member_steps = own_steps?;
        member_steps.reserve(num_envs - member_steps.len());
        for outcome in outcomes {
            match outcome {
                Ok(steps) => member_steps.extend(steps?),
                // An env that panicked is a bug in the env: re-raise its panic here.
                Err(panic) => resume_unwind(panic),
            }
        }
        Ok(member_steps)
    }
}

impl<E> Drop for WorkerPool<E> {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            worker.jobs.take(); // closing the channel ends the worker's loop
        }
        for worker in &mut self.workers {
            if let Some(handle) = worker.handle.take() {
                let _ = handle.join();
            }
        }
    }
}
