#!/usr/bin/env python3
"""The risk experiment's table, from a sweep directory of `ordergrad sweep`.

Reads DIR/sweep.json and every finished run's eval.json (the output of `ordergrad eval --json`)
and prints a Markdown table, one row per config (then the same for eval_fixed_start.json, the
evaluation from one fixed start state, where there is one): the mean +- sample std (n - 1) over seeds of
each seed's mean eval return, CVaR_0.1 and CVaR_0.05 of eval return, median, penalty events per
episode, share of episodes struck by at least one penalty and steps in the risky region per
episode; then CVaR_0.1 of all seeds' episodes pooled. Standard library only.

    python3 scripts/risk_table.py runs/risk-pendulum
"""

import json
import statistics
import sys
from pathlib import Path


def mean_std(values, digits=1):
    if not values:
        return "-"
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def lower_tail_mean(values, beta):
    """CVaR_beta: the mean of the worst beta share, the boundary episode weighted fractionally
    (ordergrad-core's cvar:beta with K = N)."""
    ordered = sorted(values)
    mass = beta * len(ordered)
    total = taken = 0.0
    for value in ordered:
        weight = min(max(mass - taken, 0.0), 1.0)
        total += weight * value
        taken += weight
    return total / taken


def table(root, manifest, eval_name):
    rows = {}
    for run in manifest["runs"]:
        row = rows.setdefault(run["config"], {"runs": 0, "evals": []})
        row["runs"] += 1
        eval_file = root / run["run_dir"] / eval_name
        if eval_file.exists():
            row["evals"].append((run["seed"], json.loads(eval_file.read_text())))
    if not any(row["evals"] for row in rows.values()):
        return False
    print(
        "| config | seeds | mean return | CVaR_0.1 | CVaR_0.05 | median | penalty events / episode "
        "| episodes with a penalty | risky steps / episode | CVaR_0.1, all episodes pooled |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for config, row in rows.items():
        evals = [e for _, e in row["evals"]]
        column = lambda key: [e[key] for e in evals if e.get(key) is not None]
        pooled = [r for e in evals for r in e["returns"]]
        if not pooled:
            print(f"| {config} | 0/{row['runs']} | - | - | - | - | - | - | - | - |")
            continue
        penalties = column("penalty_events_per_episode")
        struck = [100.0 * share for share in column("episodes_with_penalty")]
        risky = column("risky_steps_per_episode")
        cells = [
            config,
            f"{len(evals)}/{row['runs']}",
            mean_std(column("mean")),
            mean_std(column("cvar_0.1")),
            mean_std(column("cvar_0.05")),
            mean_std(column("median")),
            mean_std(penalties, 3),
            f"{mean_std(struck)} %" if struck else "-",
            mean_std(risky, 2),
            f"{lower_tail_mean(pooled, 0.1):.1f}",
        ]
        print("| " + " | ".join(cells) + " |")
    print("\nPer seed (mean / CVaR_0.1 / penalty events per episode):\n")
    for config, row in rows.items():
        seeds = [
            f"seed {seed}: {e['mean']:.1f} / {e['cvar_0.1']:.1f} / "
            + (f"{e['penalty_events_per_episode']:.2f}" if e.get("penalty_events_per_episode") is not None else "-")
            for seed, e in sorted(row["evals"], key=lambda item: item[0])
        ]
        print(f"- {config}: " + "; ".join(seeds))
    return True


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: risk_table.py SWEEP_DIR")
    root = Path(sys.argv[1])
    manifest = json.loads((root / "sweep.json").read_text())
    episodes = manifest["eval"]["episodes"]
    print(
        f"### Random starts: {episodes} deterministic episodes per seed, the same start states "
        "for every run; mean ± sample std over seeds\n"
    )
    table(root, manifest, "eval.json")
    print()
    print(
        "### Fixed start (eval_fixed_start.json): 100 deterministic episodes per seed from one "
        "state; only the penalty draws differ between episodes\n"
    )
    if not table(root, manifest, "eval_fixed_start.json"):
        print("(none)")


if __name__ == "__main__":
    main()
