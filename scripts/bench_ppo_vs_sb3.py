#!/usr/bin/env python3
"""PPO training speed of ordergrad vs Stable-Baselines3 on this machine.

What it measures
----------------
Steps per second of whole PPO training (rollout collection and updates) on Pendulum-v1 at
CleanRL's `ppo_continuous_action` settings: one env, 2048 steps per rollout, 10 epochs of 32
minibatches (64 samples), separate 64-64 tanh actor and critic, observation and reward
normalisation (clip 10), Adam with global gradient-norm clipping at 0.5.
  - ordergrad: `target/release/ordergrad train --config configs/ppo-pendulum.toml --seed S
    --total-steps T --set ppo.num_envs=1 --set ppo.num_steps=2048 --set ppo.num_minibatches=32
    ...` (the CleanRL settings above, whatever the config tunes), timed as a subprocess.
  - SB3: `PPO("MlpPolicy", VecNormalize(DummyVecEnv([Pendulum-v1])), n_steps=2048,
    batch_size=64, n_epochs=10, net_arch=dict(pi=[64, 64], vf=[64, 64]), Tanh)`, built in this
    process; `model.learn(T)` timed with `time.perf_counter`, `device="cpu"`,
    `torch.set_num_threads(--threads)`, after one untimed warm-up learn().
Both run two totals T1 < T2 (default 2 and 6 rollouts); SPS = (T2 - T1) / (wall(T2) - wall(T1)),
so start-up and construction cancel. With --repeats R each wall time is the fastest of R runs.
--threads (default 2) sets torch's threads and ordergrad's RAYON_NUM_THREADS (unless set).

How to run
----------
From the repository root, after `cargo build --release`:

    scripts/bench_ppo_vs_sb3.sh                  # sets up /tmp/sb3venv, then runs both
    scripts/bench_ppo_vs_sb3.sh --repeats 3

The table goes to stdout and to --out (default runs/bench_ppo_vs_sb3.md). Exit code 2 when a
program cannot run. Run it on an otherwise idle machine: the load average is printed.
"""

import argparse
import datetime
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_BINARY = REPO_ROOT / "target" / "release" / "ordergrad"
CONFIG = REPO_ROOT / "configs" / "ppo-pendulum.toml"
ROLLOUT = 2048
# CleanRL's ppo_continuous_action settings, forced whatever the config tunes.
CLEANRL_SETS = ["ppo.num_envs=1", f"ppo.num_steps={ROLLOUT}", "ppo.num_minibatches=32",
                "ppo.update_epochs=10", "ppo.hidden_size=64", "ppo.objective=mean",
                "ppo.gamma=0.99", "ppo.learning_rate=3e-4", "logging.progress=false",
                "checkpoint.every=1000000000"]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", default="ordergrad,sb3",
                        help="comma-separated: ordergrad, sb3 (default both)")
    parser.add_argument("--rollouts", default="2,6",
                        help="T1,T2 in rollouts of 2048 steps (default 2,6)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--binary", type=pathlib.Path, default=DEFAULT_BINARY)
    parser.add_argument("--out", type=pathlib.Path,
                        default=REPO_ROOT / "runs" / "bench_ppo_vs_sb3.md")
    args = parser.parse_args(argv)
    args.programs = [p.strip() for p in args.programs.split(",") if p.strip()]
    unknown = set(args.programs) - {"ordergrad", "sb3"}
    if unknown or not args.programs:
        parser.error(f"--programs: unknown {sorted(unknown)}; use ordergrad and/or sb3")
    try:
        low, high = (int(x) for x in args.rollouts.split(","))
    except ValueError:
        parser.error(f"--rollouts wants T1,T2 (e.g. 2,6), got {args.rollouts!r}")
    if not 1 <= low < high or args.repeats < 1 or args.threads < 1:
        parser.error("need 1 <= T1 < T2, --repeats >= 1 and --threads >= 1")
    args.totals = (low * ROLLOUT, high * ROLLOUT)
    return args


def time_ordergrad(total, args):
    if not args.binary.is_file():
        raise SystemExit(f"error: {args.binary} not found: run `cargo build --release`")
    env = dict(os.environ)
    env.setdefault("RAYON_NUM_THREADS", str(args.threads))
    run_dir = pathlib.Path(tempfile.mkdtemp(prefix="bench-ppo-"))
    command = [str(args.binary), "train", "--config", str(CONFIG), "--seed", str(args.seed),
               "--total-steps", str(total), "--run-dir", str(run_dir / "run")]
    for item in CLEANRL_SETS:
        command += ["--set", item]
    try:
        start = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    if completed.returncode != 0:
        raise SystemExit(f"error: ordergrad train failed ({completed.returncode}):\n"
                         f"{completed.stderr[-2000:]}")
    return wall


def make_sb3(args):
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(args.threads)

    def build():
        env = VecNormalize(make_vec_env("Pendulum-v1", n_envs=1, seed=args.seed),
                           norm_obs=True, norm_reward=True, clip_obs=10.0, clip_reward=10.0,
                           gamma=0.99)
        return PPO("MlpPolicy", env, n_steps=ROLLOUT, batch_size=64, n_epochs=10,
                   learning_rate=3e-4, gamma=0.99, gae_lambda=0.95, clip_range=0.2,
                   ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5, device="cpu", seed=args.seed,
                   policy_kwargs=dict(net_arch=dict(pi=[64, 64], vf=[64, 64]),
                                      activation_fn=torch.nn.Tanh))

    build().learn(ROLLOUT)  # warm-up: imports, first-call overheads

    def run(total):
        model = build()
        start = time.perf_counter()
        model.learn(total)
        return time.perf_counter() - start

    return run


def fastest(run, total, repeats):
    return min(run(total) for _ in range(repeats))


def main(argv=None):
    args = parse_args(argv)
    load_before = os.getloadavg()
    timers = {}
    if "ordergrad" in args.programs:
        timers["ordergrad"] = lambda total: time_ordergrad(total, args)
    if "sb3" in args.programs:
        try:
            timers["sb3"] = make_sb3(args)
        except ImportError as error:
            print(f"error: SB3 stack missing ({error}); run scripts/bench_ppo_vs_sb3.sh",
                  file=sys.stderr)
            return 2
    low, high = args.totals
    results = {}
    for name, run in timers.items():
        walls = (fastest(run, low, args.repeats), fastest(run, high, args.repeats))
        results[name] = (high - low) / (walls[1] - walls[0])
        print(f"{name}: {walls[0]:.2f} s for {low} steps, {walls[1]:.2f} s for {high}: "
              f"{results[name]:.0f} SPS", file=sys.stderr)
    lines = [f"# PPO speed on Pendulum-v1 (CleanRL settings), {args.threads} threads", "",
             "| program | SPS | vs SB3 |", "|---|---:|---:|"]
    for name, sps in results.items():
        ratio = f"{sps / results['sb3']:.2f}x" if "sb3" in results else "-"
        lines.append(f"| {name} | {sps:.0f} | {ratio} |")
    load_after = os.getloadavg()
    lines += ["", f"SPS = ({high} - {low}) steps / (wall({high}) - wall({low})), fastest of "
              f"{args.repeats}. {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores; load average before {load_before[0]:.2f}, after "
              f"{load_after[0]:.2f}; {datetime.datetime.now().isoformat(timespec='seconds')}."]
    report = "\n".join(lines) + "\n"
    print(report, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
