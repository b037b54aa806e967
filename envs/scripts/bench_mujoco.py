#!/usr/bin/env python3
"""Env steps per second: Rust (`examples/bench_mujoco.rs`) against Python Gymnasium 1.4.0.

Run through `envs/scripts/bench_mujoco.sh`, which makes the venv and builds the Rust side.
Both sides step `make(id)` (Gymnasium: `gym.make(id)`, with its TimeLimit, OrderEnforcing and
PassiveEnvChecker wrappers) on one thread with a fixed cycle of uniform random actions inside
the bounds, drawn before timing, and reset whenever an episode ends. "MuJoCo alone" drives the
same model without any env code (set ctrl, mj_step frame-skip times, mj_rnePostConstraint,
mj_resetData every 100 steps), through each language's bindings: the ceiling of an env step.
The four single-env measurements are interleaved (Python, Rust, Python, Rust, ... per id and
repeat) so that a change in the machine's load hits both sides alike. Each figure is the
median of `--repeats` runs of `--seconds`, after a second of warm-up. The Rust vector env is
stepped with `--vector-envs` members on each thread count of `--threads`. Prints Markdown.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import gymnasium as gym
import mujoco
import numpy as np

ACTION_CYCLE = 4096


def python_steps_per_second(env_id, seconds):
    env = gym.make(env_id)
    rng = np.random.default_rng(0)
    space = env.action_space
    actions = [rng.uniform(space.low, space.high).astype(np.float32) for _ in range(ACTION_CYCLE)]
    env.reset(seed=0)
    t = 0

    def run_for(duration):
        nonlocal t
        calls = 0
        start = time.perf_counter()
        while time.perf_counter() - start < duration:
            for _ in range(64):
                _, _, terminated, truncated, _ = env.step(actions[t % ACTION_CYCLE])
                t += 1
                if terminated or truncated:
                    env.reset()
            calls += 64
        return calls / (time.perf_counter() - start)

    run_for(1.0)  # warm-up
    rate = run_for(seconds)
    env.close()
    return rate


RAW_RESET_EVERY = 100


def python_mujoco_only(env_id, seconds):
    """The Python bindings alone on the env's model: set ctrl, mj_step(nstep=frame_skip),
    mj_rnePostConstraint, mj_resetData every 100 steps (as the Rust side's mujoco_only)."""
    env = gym.make(env_id)
    unwrapped = env.unwrapped
    model, data, frame_skip = unwrapped.model, unwrapped.data, unwrapped.frame_skip
    rng = np.random.default_rng(0)
    space = env.action_space
    actions = [rng.uniform(space.low, space.high).astype(np.float32) for _ in range(ACTION_CYCLE)]
    mujoco.mj_resetData(model, data)
    mujoco.mj_forward(model, data)
    t = 0

    def run_for(duration):
        nonlocal t
        calls = 0
        start = time.perf_counter()
        while time.perf_counter() - start < duration:
            for _ in range(64):
                t += 1
                if t % RAW_RESET_EVERY == 0:
                    mujoco.mj_resetData(model, data)
                    mujoco.mj_forward(model, data)
                data.ctrl[:] = actions[t % ACTION_CYCLE]
                mujoco.mj_step(model, data, nstep=frame_skip)
                mujoco.mj_rnePostConstraint(model, data)
            calls += 64
        return calls / (time.perf_counter() - start)

    run_for(1.0)
    rate = run_for(seconds)
    env.close()
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rust-binary", required=True, help="target/release/examples/bench_mujoco")
    parser.add_argument("--ids", default="HalfCheetah-v5,Hopper-v5")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--vector-envs", type=int, default=8)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    ids = args.ids.split(",")

    def rust(kinds, env_id=None, repeats=1):
        command = [args.rust_binary, "--kinds", kinds, "--ids", env_id or args.ids,
                   "--seconds", str(args.seconds), "--repeats", str(repeats),
                   "--vector-envs", str(args.vector_envs), "--threads", args.threads]
        lines = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return [json.loads(line) for line in lines.splitlines() if line.strip()]

    load_before = os.getloadavg()[0]
    runs = {(side, env_id): [] for env_id in ids
            for side in ("python", "python_raw", "rust", "rust_raw")}
    for repeat in range(args.repeats):
        for env_id in ids:
            runs["python", env_id].append(python_steps_per_second(env_id, args.seconds))
            runs["rust", env_id].append(rust("single", env_id)[0]["steps_per_second"])
            runs["python_raw", env_id].append(python_mujoco_only(env_id, args.seconds))
            runs["rust_raw", env_id].append(rust("mujoco_only", env_id)[0]["steps_per_second"])
    for key, values in runs.items():
        print(f"{key}: {', '.join(f'{v:.0f}' for v in values)} steps/s", file=sys.stderr)
    median = {key: statistics.median(values) for key, values in runs.items()}
    python = {env_id: median["python", env_id] for env_id in ids}
    single = {env_id: median["rust", env_id] for env_id in ids}
    python_raw = {env_id: median["python_raw", env_id] for env_id in ids}
    rust_raw = {env_id: median["rust_raw", env_id] for env_id in ids}
    vector = rust("vector", repeats=args.repeats)
    for row in vector:
        print(f"rust {row}", file=sys.stderr)

    print(f"\nGymnasium {gym.__version__}, mujoco {mujoco.__version__}, NumPy {np.__version__}, "
          f"Python {sys.version.split()[0]}; {os.cpu_count()} cores; median of {args.repeats} "
          f"runs of {args.seconds:g} s; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after\n")
    print("| env | Python Gymnasium | Rust envs | Rust / Python | MuJoCo alone, Python bindings "
          "| MuJoCo alone, mujoco-rs |")
    print("|---|---:|---:|---:|---:|---:|")
    for env_id in ids:
        print(f"| {env_id} | {python[env_id]:,.0f} | {single[env_id]:,.0f} | "
              f"**{single[env_id] / python[env_id]:.2f}x** | {python_raw[env_id]:,.0f} | "
              f"{rust_raw[env_id]:,.0f} |")

    print(f"\n| vector env ({args.vector_envs} copies) | threads | env steps/s | "
          "vs 1 thread | vs one Python env |")
    print("|---|---:|---:|---:|---:|")
    for env_id in ids:
        rows = [row for row in vector if row["id"] == env_id]
        base = next((row["steps_per_second"] for row in rows if row["threads"] == 1), None)
        for row in rows:
            scaling = f"{row['steps_per_second'] / base:.2f}x" if base else "-"
            print(f"| {env_id} | {row['threads']} | {row['steps_per_second']:,.0f} | {scaling} | "
                  f"{row['steps_per_second'] / python[env_id]:.2f}x |")


if __name__ == "__main__":
    main()
