#!/usr/bin/env python3
"""Record parity fixtures from Gymnasium for the Rust envs (`envs/tests/parity.rs`).

Run by hand in a scratch venv (see envs/README.md):

    python3 -m venv /tmp/gymvenv
    /tmp/gymvenv/bin/pip install "gymnasium[mujoco]==1.4.0" mujoco==3.17.0
    /tmp/gymvenv/bin/python envs/scripts/record_fixtures.py            # every env
    /tmp/gymvenv/bin/python envs/scripts/record_fixtures.py Hopper-v5  # only these ids

For every episode it records the state right after reset (the Rust test injects it instead of
reproducing NumPy's random stream): `env.unwrapped.state` for classic control, and `qpos` and
`qvel` for MuJoCo. Then the float32 actions, and the observations (reset observation first),
rewards, terminated and truncated flags that `gymnasium.make(id)` (time limit included)
returns. Floats are written with `repr`, which round-trips exactly.
"""

import json
import math
import os
import pathlib
import sys
import tempfile

import gymnasium as gym
import numpy as np

GYMNASIUM_VERSION = "1.4.0"
MUJOCO_VERSION = "3.17.0"
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


# --- MuJoCo v5 -------------------------------------------------------------------------------
# A MuJoCo policy maps (step, observation, action space) to a float32 action vector.


def uniform_vectors(seed, scale=1.0):
    """Uniform in the action bounds times `scale` (beyond the bounds when scale > 1: MuJoCo then
    clamps `ctrl` to `ctrlrange`, and the control cost sees the unclipped action)."""
    rng = np.random.default_rng(seed)
    return lambda t, obs, space: rng.uniform(scale * space.low, scale * space.high).astype(
        np.float32)


def constant_vector(fraction):
    """`fraction` of the upper bound in every component."""
    return lambda t, obs, space: (fraction * space.high).astype(np.float32)


def travelling_wave(fraction, frequency, phase_step):
    """Sinusoids with a phase shift between joints: a gait for the walkers and the swimmer."""
    def policy(t, obs, space):
        phases = phase_step * np.arange(space.shape[0])
        return (fraction * space.high * np.sin(frequency * t + phases)).astype(np.float32)
    return policy


def square_vectors(fraction, period):
    """All components at +fraction, then -fraction, of the bound, switching every `period`."""
    def policy(t, obs, space):
        sign = 1.0 if (t // period) % 2 == 0 else -1.0
        return (sign * fraction * space.high).astype(np.float32)
    return policy


def pole_balancer(t, obs, space):
    """A PD controller that keeps InvertedPendulum up for the whole 1000 steps (truncation)."""
    force = 1.0 * obs[0] + 20.0 * obs[1] + 1.0 * obs[2] + 3.0 * obs[3]
    return np.clip(np.array([force], dtype=np.float32), space.low, space.high)


# Discrete-time LQR gain for InvertedDoublePendulum-v5, from a finite-difference linearisation
# of one env step (5 MuJoCo steps) about the upright state; state = (cart x, hinge angle 1,
# hinge angle 2, their velocities).
DOUBLE_PENDULUM_GAIN = np.array([0.2128, 1.8131, 5.5687, 0.3149, 0.9024, 0.8482])


def double_pendulum_balancer(t, obs, space):
    """Keeps InvertedDoublePendulum up (observation: x, sin, sin, cos, cos, velocities, ...)."""
    state = np.array([obs[0], math.atan2(obs[1], obs[3]), math.atan2(obs[2], obs[4]),
                      obs[5], obs[6], obs[7]])
    force = -DOUBLE_PENDULUM_GAIN @ state
    return np.clip(np.array([force], dtype=np.float32), space.low, space.high)


def noisy(policy, seed, scale):
    """`policy` plus uniform noise of `scale` times the bounds."""
    rng = np.random.default_rng(seed)
    def noisy_policy(t, obs, space):
        noise = rng.uniform(-scale * space.high, scale * space.high)
        return (policy(t, obs, space) + noise).astype(np.float32)
    return noisy_policy


def set_velocity(index, value):
    """A state override: qvel[index] = value (e.g. throw the Ant upwards so that it terminates)."""
    def override(qpos, qvel):
        qvel[index] = value
    return override


def set_position(index, value):
    def override(qpos, qvel):
        qpos[index] = value
    return override


# Per id: (fixture file, episodes). An episode is (name, seed, policy, max steps, override or
# None); it ends at termination, truncation, or after `max steps`. Step counts are kept small
# because MuJoCo observations are long (Humanoid: 348 numbers a step).
MUJOCO_EPISODES = {
    "HalfCheetah-v5": ("half_cheetah-v5.json", [
        ("uniform-seed0", 0, uniform_vectors(300), 250, None),
        ("uniform-beyond-bounds-seed1", 1, uniform_vectors(301, 1.5), 150, None),
        ("gait-seed2", 2, travelling_wave(0.9, 0.4, 0.7), 250, None),
        ("square-saturating-seed3", 3, square_vectors(1.3, 20), 150, None),
    ]),
    "Hopper-v5": ("hopper-v5.json", [
        ("uniform-seed0-terminates", 0, uniform_vectors(310), 300, None),
        ("uniform-seed1-terminates", 1, uniform_vectors(311), 300, None),
        ("uniform-beyond-bounds-seed2", 2, uniform_vectors(312, 1.5), 300, None),
        ("gait-seed3", 3, travelling_wave(0.8, 0.3, 1.0), 300, None),
        ("constant-seed4", 4, constant_vector(0.2), 300, None),
        ("uniform-small-seed5", 5, uniform_vectors(315, 0.3), 300, None),
        ("uniform-small-seed6", 6, uniform_vectors(316, 0.3), 300, None),
        # |qvel[1]| > 100 after the first step: ends by the state range, not by height or angle.
        ("thrown-up-state-range", 7, constant_vector(0.0), 100, set_velocity(1, 150.0)),
    ]),
    "Walker2d-v5": ("walker2d-v5.json", [
        ("uniform-seed0-terminates", 0, uniform_vectors(320), 300, None),
        ("uniform-seed1-terminates", 1, uniform_vectors(321), 300, None),
        ("uniform-beyond-bounds-seed2", 2, uniform_vectors(322, 1.5), 300, None),
        ("gait-seed3", 3, travelling_wave(0.7, 0.25, 1.5), 300, None),
        ("square-seed4", 4, square_vectors(0.5, 15), 300, None),
        ("uniform-small-seed5", 5, uniform_vectors(325, 0.3), 300, None),
        ("uniform-small-seed6", 6, uniform_vectors(326, 0.3), 300, None),
        ("thrown-up-too-high", 7, constant_vector(0.0), 100, set_velocity(1, 6.0)),
    ]),
    "Ant-v5": ("ant-v5.json", [
        ("uniform-seed0", 0, uniform_vectors(330), 150, None),
        ("uniform-seed5", 5, uniform_vectors(335), 100, None),
        ("uniform-beyond-bounds-seed1", 1, uniform_vectors(331, 1.5), 80, None),
        ("gait-seed2", 2, travelling_wave(0.8, 0.3, 1.57), 120, None),
        ("thrown-up-terminates", 3, uniform_vectors(333), 100, set_velocity(2, 5.0)),
        ("dropped-low-seed4", 4, square_vectors(1.0, 10), 60, set_position(2, 0.3)),
    ]),
    "InvertedPendulum-v5": ("inverted_pendulum-v5.json", [
        ("uniform-seed0-terminates", 0, uniform_vectors(340), 1000, None),
        ("uniform-seed1-terminates", 1, uniform_vectors(341), 1000, None),
        ("uniform-beyond-bounds-seed2", 2, uniform_vectors(342, 1.5), 1000, None),
        ("balanced-truncated", 3, pole_balancer, 1000, None),
        ("balanced-noisy-seed4", 4, noisy(pole_balancer, 344, 0.3), 300, None),
    ]),
    "InvertedDoublePendulum-v5": ("inverted_double_pendulum-v5.json", [
        ("uniform-seed0-terminates", 0, uniform_vectors(350), 1000, None),
        ("uniform-seed1-terminates", 1, uniform_vectors(351), 1000, None),
        ("uniform-beyond-bounds-seed2", 2, uniform_vectors(352, 1.5), 1000, None),
        ("constant-seed3", 3, constant_vector(0.1), 1000, None),
        ("sinusoid-seed4", 4, travelling_wave(0.3, 0.5, 0.0), 1000, None),
        ("fast-cart-clipped-velocity", 5, constant_vector(0.0), 1000, set_velocity(0, 12.0)),
        ("balanced-seed6", 6, double_pendulum_balancer, 300, None),
        ("balanced-noisy-seed7", 7, noisy(double_pendulum_balancer, 357, 0.2), 300, None),
    ]),
    "Reacher-v5": ("reacher-v5.json", [
        ("uniform-seed0-truncated", 0, uniform_vectors(360), 60, None),
        ("uniform-beyond-bounds-seed1", 1, uniform_vectors(361, 1.5), 60, None),
        ("sinusoid-seed2", 2, travelling_wave(1.0, 0.2, 1.0), 60, None),
        ("square-seed3", 3, square_vectors(1.0, 10), 60, None),
        ("constant-seed4", 4, constant_vector(-0.5), 60, None),
    ]),
    "Swimmer-v5": ("swimmer-v5.json", [
        ("uniform-seed0", 0, uniform_vectors(370), 250, None),
        ("uniform-beyond-bounds-seed1", 1, uniform_vectors(371, 1.5), 150, None),
        ("swimming-gait-seed2", 2, travelling_wave(1.0, 0.3, 1.2), 300, None),
        ("square-seed3", 3, square_vectors(1.0, 25), 150, None),
    ]),
    "Humanoid-v5": ("humanoid-v5.json", [
        ("uniform-seed0-terminates", 0, uniform_vectors(380), 100, None),
        ("uniform-beyond-bounds-seed1-terminates", 1, uniform_vectors(381, 1.5), 100, None),
        ("zero-action-seed2-terminates", 2, constant_vector(0.0), 100, None),
        ("gait-seed3", 3, travelling_wave(0.8, 0.3, 0.5), 100, None),
        ("uniform-small-seed4", 4, uniform_vectors(384, 0.2), 100, None),
        ("square-seed5", 5, square_vectors(1.0, 8), 100, None),
    ]),
}


def record_mujoco_episode(env_id, name, seed, policy, max_steps, state_override):
    env = gym.make(env_id)
    observation, _ = env.reset(seed=seed)
    unwrapped = env.unwrapped
    if state_override is not None:
        qpos, qvel = unwrapped.data.qpos.copy(), unwrapped.data.qvel.copy()
        state_override(qpos, qvel)
        unwrapped.set_state(qpos, qvel)  # assigns and runs mj_forward, as reset does
        observation = unwrapped._get_obs()
    initial_state = {
        "qpos": [float(x) for x in unwrapped.data.qpos],
        "qvel": [float(x) for x in unwrapped.data.qvel],
    }

    actions, observations, rewards, terminated, truncated = [], [observation], [], [], []
    for t in range(max_steps):
        action = np.asarray(policy(t, observations[-1], env.action_space), dtype=np.float32)
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


def write_fixture(env_id, episodes, file_name, record=None):
    record = record or record_episode
    fixture = {
        "env_id": env_id,
        "gymnasium_version": gym.__version__,
        "numpy_version": np.__version__,
        "episodes": [record(env_id, *episode) for episode in episodes],
    }
    if record is record_mujoco_episode:
        import mujoco
        fixture["mujoco_version"] = mujoco.__version__
    path = FIXTURE_DIR / file_name
    path.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    for episode in fixture["episodes"]:
        ends = "terminated" if episode["terminated"][-1] else (
            "truncated" if episode["truncated"][-1] else "stopped")
        print(f"{env_id} {episode['name']}: {len(episode['actions'])} steps, {ends}")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


CLASSIC_EPISODES = {
    "Pendulum-v1": ("pendulum-v1.json", PENDULUM_EPISODES),
    "MountainCarContinuous-v0": ("mountain_car_continuous-v0.json", MOUNTAIN_CAR_EPISODES),
}


def check_mujoco():
    try:
        import mujoco
    except ImportError:
        sys.exit(f"the MuJoCo fixtures need mujoco=={MUJOCO_VERSION}: "
                 f"pip install 'gymnasium[mujoco]=={GYMNASIUM_VERSION}' mujoco=={MUJOCO_VERSION}")
    if mujoco.__version__ != MUJOCO_VERSION:
        sys.exit(f"need mujoco=={MUJOCO_VERSION} (newer MuJoCo diverges within ~100 steps), "
                 f"found {mujoco.__version__}")


def main():
    if gym.__version__ != GYMNASIUM_VERSION:
        sys.exit(f"need gymnasium=={GYMNASIUM_VERSION}, found {gym.__version__}")
    if int(np.__version__.split(".")[0]) < 2:
        sys.exit(f"need NumPy 2 (its float32 promotion rules are part of the contract), "
                 f"found {np.__version__}")
    known = list(CLASSIC_EPISODES) + list(MUJOCO_EPISODES)
    ids = sys.argv[1:] or known
    unknown = [env_id for env_id in ids if env_id not in known]
    if unknown:
        sys.exit(f"unknown ids {unknown}; known: {known}")
    if any(env_id in MUJOCO_EPISODES for env_id in ids):
        check_mujoco()
        # MuJoCo appends its warnings (half_cheetah.xml triggers one per load) to
        # MUJOCO_LOG.TXT in the working directory: record from a scratch directory.
        os.chdir(tempfile.mkdtemp(prefix="record_fixtures-"))
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    for env_id in ids:
        if env_id in CLASSIC_EPISODES:
            file_name, episodes = CLASSIC_EPISODES[env_id]
            write_fixture(env_id, episodes, file_name)
        else:
            file_name, episodes = MUJOCO_EPISODES[env_id]
            write_fixture(env_id, episodes, file_name, record_mujoco_episode)


if __name__ == "__main__":
    main()
