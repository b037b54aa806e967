#!/usr/bin/env python3
"""Record parity fixtures from Gymnasium for the Rust envs (`envs/tests/parity.rs`).

Run by hand in a scratch venv (see envs/README.md):

    python3 -m venv /tmp/gymvenv
    /tmp/gymvenv/bin/pip install gymnasium==1.4.0
    /tmp/gymvenv/bin/python envs/scripts/record_fixtures.py

For every episode it records the state right after reset (`env.unwrapped.state`; the Rust
test injects it instead of reproducing NumPy's random stream), the float32 actions, and the
observations (reset observation first), rewards, terminated and truncated flags that
`gymnasium.make(id)` (time limit included) returns. Floats are written with `repr`, which
round-trips exactly.
"""

import json
import math
import pathlib
import sys

import gymnasium as gym
import numpy as np

GYMNASIUM_VERSION = "1.4.0"
FIXTURE_DIR = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def uniform_actions(low, high, seed):
    rng = np.random.default_rng(seed)
    return lambda t, obs: np.float32(rng.uniform(low, high))


def constant(value):
    return lambda t, obs: np.float32(value)


def square_wave(amplitude, period):
    """Alternates +amplitude / -amplitude every `period` steps (saturating if beyond bounds)."""
    return lambda t, obs: np.float32(amplitude if (t // period) % 2 == 0 else -amplitude)


def sinusoid(amplitude, frequency):
    return lambda t, obs: np.float32(amplitude * math.sin(frequency * t))


def push_with_velocity(amplitude):
    """Bang-bang energy pumping for MountainCar: push in the direction of motion."""
    return lambda t, obs: np.float32(amplitude if obs[1] >= 0 else -amplitude)


def push_left_then_pump(amplitude, left_steps):
    """Drive into the left wall first, then pump energy: exercises the wall clamp."""
    pump = push_with_velocity(amplitude)
    return lambda t, obs: np.float32(-amplitude) if t < left_steps else pump(t, obs)


# (name, seed, policy, max steps, state override or None). An episode ends at termination,
# truncation, or after `max steps`. A state override replaces the reset draw, like
# `--init-state`, to reach edge cases (speed limits, walls) quickly.
PENDULUM_EPISODES = [
    ("uniform-seed0", 0, uniform_actions(-2.0, 2.0, 100), 200, None),
    ("uniform-seed1", 1, uniform_actions(-2.0, 2.0, 101), 200, None),
    ("constant-0.5", 2, constant(0.5), 200, None),
    ("saturating-square-3", 3, square_wave(3.0, 25), 200, None),
    ("sinusoid-2.5", 4, sinusoid(2.5, 0.1), 200, None),
    ("speed-limit", 5, constant(-3.0), 60, [0.3, -7.9]),
]

MOUNTAIN_CAR_EPISODES = [
    ("uniform-seed0-truncated", 0, uniform_actions(-1.0, 1.0, 200), 999, None),
    ("uniform-beyond-bounds-seed1", 1, uniform_actions(-2.0, 2.0, 201), 150, None),
    ("bang-bang-saturating-2-terminates", 2, push_with_velocity(2.0), 999, None),
    ("bang-bang-1-terminates", 3, push_with_velocity(1.0), 999, None),
    ("constant-0.3", 4, constant(0.3), 150, None),
    ("sinusoid-1.5", 5, sinusoid(1.5, 0.05), 200, None),
    ("left-wall-then-pump", 6, push_left_then_pump(1.0, 40), 999, [-0.9, -0.06]),
    ("speed-limit-left-wall-then-pump", 7, push_left_then_pump(2.0, 15), 999, [-0.5, -0.069]),
    ("speed-limit-right", 8, constant(2.0), 999, [-0.5, 0.069]),
    ("right-wall", 9, constant(0.5), 999, [0.58, 0.065]),
]


def observation_after_override(env, state):
    """What Gymnasium's reset would have returned had it drawn `state`."""
    env.unwrapped.state = np.array(state, dtype=np.float64)
    unwrapped = env.unwrapped
    if hasattr(unwrapped, "_get_obs"):  # Pendulum
        return unwrapped._get_obs()
    return np.array(unwrapped.state, dtype=np.float32)  # MountainCarContinuous


def record_episode(env_id, name, seed, policy, max_steps, state_override):
    env = gym.make(env_id)
    observation, _ = env.reset(seed=seed)
    if state_override is not None:
        observation = observation_after_override(env, state_override)
    initial_state = [float(x) for x in env.unwrapped.state]

    actions, observations, rewards, terminated, truncated = [], [observation], [], [], []
    for t in range(max_steps):
        action = np.array([policy(t, observations[-1])], dtype=np.float32)
        observation, reward, term, trunc, _ = env.step(action)
        actions.append([float(a) for a in action])
        observations.append(observation)
        rewards.append(float(reward))
        terminated.append(bool(term))
        truncated.append(bool(trunc))
        if term or trunc:
            break
    env.close()
    return {
        "name": name,
        "seed": seed,
        "initial_state": initial_state,
        "actions": actions,
        "observations": [[float(x) for x in obs] for obs in observations],
        "rewards": rewards,
        "terminated": terminated,
        "truncated": truncated,
    }


def write_fixture(env_id, episodes, file_name):
    fixture = {
        "env_id": env_id,
        "gymnasium_version": gym.__version__,
        "numpy_version": np.__version__,
        "episodes": [record_episode(env_id, *episode) for episode in episodes],
    }
    path = FIXTURE_DIR / file_name
    path.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    for episode in fixture["episodes"]:
        ends = "terminated" if episode["terminated"][-1] else (
            "truncated" if episode["truncated"][-1] else "stopped")
        print(f"{env_id} {episode['name']}: {len(episode['actions'])} steps, {ends}")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def main():
    if gym.__version__ != GYMNASIUM_VERSION:
        sys.exit(f"need gymnasium=={GYMNASIUM_VERSION}, found {gym.__version__}")
    if int(np.__version__.split(".")[0]) < 2:
        sys.exit(f"need NumPy 2 (its float32 promotion rules are part of the contract), "
                 f"found {np.__version__}")
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    write_fixture("Pendulum-v1", PENDULUM_EPISODES, "pendulum-v1.json")
    write_fixture("MountainCarContinuous-v0", MOUNTAIN_CAR_EPISODES,
                  "mountain_car_continuous-v0.json")


if __name__ == "__main__":
    main()
