#!/usr/bin/env python3
"""Follows a RiskyCrossing-v0 DSAC run's deterministic policy from a state, step by step, with
its critic at every state: where does it stop, and what does its critic say there?

    python3 scripts/crossing_rollout.py RUN                    # the actor's actions from (0.1, 0.1)
    python3 scripts/crossing_rollout.py RUN --critic-greedy    # the critic's best scanned action
    python3 scripts/crossing_rollout.py RUN --start 1.0 0.442 --steps 10 --binary /tmp/ordergrad

Each step runs `ordergrad eval --run RUN --episodes 1 --critic-report --init-state` at the
current state and reads the report: the actor's action, the critic's mean and CVaR there, and
its CVaR along each action axis (-1, -0.75, ..., +1, the other axis at the actor's action).
With --critic-greedy the step takes the best of those 18 scanned actions instead. The next
state comes from the env's dynamics, p' = clip(p + 0.1 a, 0, 1) (the spec's, no noise). A row
is printed every --every steps; the last line says whether the goal was reached, in how many
steps, and how many steps ended in the band.
"""

import argparse
import math
import re
import subprocess

GOAL = (0.1, 0.9)
TOLERANCE = 1e-9


def critic_report(binary, run, state):
    """The actor's action, the critic's (mean, CVaR) and its scanned (CVaR, action) pairs."""
    output = subprocess.run(
        [binary, "eval", "--run", run, "--episodes", "1", "--critic-report",
         "--init-state", '{"state": [%r, %r]}' % state],
        capture_output=True, text=True, check=True,
    ).stdout
    action = [float(v) for v in re.search(r"action \[([^,\]]+), ([^\]]+)\]", output).groups()]
    mean, cvar = (float(v) for v in
                  re.search(r"critic +mean ([-\d.]+) +CVaR_0.1 ([-\d.]+)", output).groups())
    scanned = []
    for axis in (0, 1):
        line = re.search(r"along action\[%d\]:(.*)" % axis, output).group(1)
        for value, critic_cvar in re.findall(r"([-\d.]+): ([-\d.]+)", line):
            candidate = list(action)
            candidate[axis] = float(value)
            scanned.append((float(critic_cvar), candidate))
    return action, (mean, cvar), scanned


def in_band(x, y):
    return x <= 0.8 + TOLERANCE and 0.45 - TOLERANCE <= y <= 0.55 + TOLERANCE


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--start", type=float, nargs=2, default=[0.1, 0.1])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--critic-greedy", action="store_true")
    parser.add_argument("--binary", default="target/release/ordergrad")
    args = parser.parse_args()

    x, y = args.start
    band_steps = 0
    for step in range(args.steps):
        action, (mean, cvar), scanned = critic_report(args.binary, args.run, (x, y))
        taken = max(scanned)[1] if args.critic_greedy else action
        if step % args.every == 0:
            print(f"step {step:2}  p ({x:.3f}, {y:.3f})  action ({taken[0]:+.2f}, {taken[1]:+.2f})"
                  f"  critic mean {mean:.2f}  CVaR_0.1 {cvar:.2f}")
        x = min(1.0, max(0.0, x + 0.1 * taken[0]))
        y = min(1.0, max(0.0, y + 0.1 * taken[1]))
        band_steps += in_band(x, y)
        if math.dist((x, y), GOAL) <= 0.1 + TOLERANCE:
            print(f"goal after {step + 1} steps, {band_steps} in the band")
            return
    print(f"no goal in {args.steps} steps, {band_steps} in the band; "
          f"last state ({x:.3f}, {y:.3f})")


if __name__ == "__main__":
    main()
