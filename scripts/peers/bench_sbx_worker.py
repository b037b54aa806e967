#!/usr/bin/env python3
"""Times SBX (Stable-Baselines-JAX) learn() for the bench_*_vs_sb3.py benchmarks.

Runs with the python of the SBX venv (scripts/peers/sbx_venv.sh), not the benchmark's: JAX and torch
pin different stacks. The benchmark starts one worker per round:

    $SBX_VENV/bin/python scripts/peers/bench_sbx_worker.py --algo sac --totals T1 T2 --seed S ...
    $SBX_VENV/bin/python scripts/peers/bench_sbx_worker.py --versions

and reads the last stdout line, JSON: {"walls": {"T1": seconds, "T2": seconds}} or
{"versions": {...}}. The worker builds one model and runs an untimed warm-up learn(), which
jit-compiles SBX's update functions, then times `model.learn(T, reset_num_timesteps=True)` of
that same model for each total with time.perf_counter (imports, compilation and model
construction excluded). Unlike the benchmarks' SB3 timer it does not build a fresh model per
total: JAX caches the compiled update per model (its apply functions are static arguments), so a
fresh model would compile again inside the timed learn(). reset_num_timesteps=True restarts the
step count, so each timed learn() again takes L random steps without updates, then T - L
steps with one update each, as a fresh model does; the replay buffer keeps the warm-up's
transitions, which costs nothing (preallocated, sampling is O(batch)), and the weights go on
from the warm-up's, which does not change the work of a step.

Threads. JAX runs on the CPU (JAX_PLATFORMS=cpu, set by the benchmark). XLA's CPU client has no
thread-count setting of its own; it sizes its pools from the CPUs the process may run on. So
with SBX_THREADS = N (the benchmark's --threads):
  - N < the CPUs available: the process is pinned to the first N of them
    (os.sched_setaffinity, before jax is imported), which bounds XLA's pools to N threads;
  - N = 1, in addition: XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
    intra_op_parallelism_threads=1" (set by the benchmark): Eigen's matmuls and XLA's intra-op
    work stay on the calling thread;
  - N >= the CPUs available: nothing to do.
"""

import argparse
import json
import os
import sys
import time

SAC_HIDDEN = 256
SAC_BATCH = 256
PPO_ROLLOUT = 2048


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", action="store_true",
                        help="print the SBX stack's versions and exit")
    parser.add_argument("--algo", choices=("sac", "ppo"))
    parser.add_argument("--totals", type=int, nargs="+", help="total steps of each timed learn()")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--learning-starts", type=int, default=1000, help="SAC only")
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    args = parser.parse_args(argv)
    if not args.versions and (args.algo is None or not args.totals):
        parser.error("--algo and --totals are needed unless --versions")
    return args


def limit_threads():
    """See the module doc; must run before jax is imported."""
    threads = int(os.environ.get("SBX_THREADS", "0"))
    available = sorted(os.sched_getaffinity(0))
    if 1 <= threads < len(available):
        os.sched_setaffinity(0, available[:threads])


def versions():
    from importlib.metadata import version

    import jax
    packages = ("sbx-rl", "jax", "jaxlib", "flax", "optax", "stable_baselines3", "gymnasium",
                "numpy")
    found = {name: version(name) for name in packages}
    found["jax devices"] = ",".join(str(device) for device in jax.devices())
    found["threads"] = (os.environ.get("SBX_THREADS", "all") + " (CPUs usable: "
                        f"{len(os.sched_getaffinity(0))}, XLA_FLAGS="
                        f"{os.environ.get('XLA_FLAGS', '') or 'unset'})")
    return found


def sac_builder(args):
    """SAC at the sizes of bench_sac_vs_sb3.py's SB3 SAC: 256-256 ReLU actor and twin critics,
    batch 256, buffer 1e6, train_freq 1, gradient_steps 1, auto entropy coefficient. SBX has no
    target_update_interval: it updates the targets after every gradient step, as SB3 does with
    target_update_interval=1. policy_delay=1 (its default): actor and alpha every step, as SB3."""
    import flax.linen as nn
    from sbx import SAC

    def build():
        return SAC("MlpPolicy", "Pendulum-v1",
                   policy_kwargs=dict(net_arch=[SAC_HIDDEN, SAC_HIDDEN], activation_fn=nn.relu),
                   batch_size=SAC_BATCH, buffer_size=1_000_000,
                   learning_starts=args.learning_starts, train_freq=1, gradient_steps=1,
                   policy_delay=1, ent_coef="auto", learning_rate=args.learning_rate, tau=0.005,
                   gamma=0.99, seed=args.seed, verbose=0)

    warm_up_steps = args.learning_starts + 100  # reaches train(): compiles the update
    return build, warm_up_steps


def ppo_builder(args):
    """PPO at the settings of bench_ppo_vs_sb3.py's SB3 PPO: one env under VecNormalize (obs and
    reward, clip 10), 2048 steps per rollout, 10 epochs of minibatches of 64, separate 64-64
    tanh actor and critic, ent_coef 0, vf_coef 0.5, gradient-norm clip 0.5."""
    import flax.linen as nn
    from sbx import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    def build():
        env = VecNormalize(make_vec_env("Pendulum-v1", n_envs=1, seed=args.seed),
                           norm_obs=True, norm_reward=True, clip_obs=10.0, clip_reward=10.0,
                           gamma=0.99)
        return PPO("MlpPolicy", env, n_steps=PPO_ROLLOUT, batch_size=64, n_epochs=10,
                   learning_rate=args.learning_rate, gamma=0.99, gae_lambda=0.95,
                   clip_range=0.2, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5,
                   seed=args.seed, verbose=0,
                   policy_kwargs=dict(net_arch=dict(pi=[64, 64], vf=[64, 64]),
                                      activation_fn=nn.tanh))

    warm_up_steps = PPO_ROLLOUT  # one rollout, then train(): compiles the update
    return build, warm_up_steps


def time_learn(build, totals, warm_up_steps):
    """One model: an untimed warm-up learn(), then learn(T, reset_num_timesteps=True) for each
    total. One model because the jit cache is keyed on the model's apply functions: a fresh model
    compiles its update again (about 3 s for SAC here), inside the timed learn()."""
    model = build()
    model.learn(total_timesteps=warm_up_steps)  # untimed: jit compilation, first-call costs
    walls = {}
    for total in totals:
        start = time.perf_counter()
        model.learn(total_timesteps=total, reset_num_timesteps=True)
        walls[str(total)] = time.perf_counter() - start
    return walls


def main(argv=None):
    args = parse_args(argv)
    limit_threads()
    if args.versions:
        answer = {"versions": versions()}
    else:
        builder = sac_builder if args.algo == "sac" else ppo_builder
        build, warm_up_steps = builder(args)
        answer = {"walls": time_learn(build, args.totals, warm_up_steps)}
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
