#!/usr/bin/env python3
"""Train several seeds per config with `ordergrad train`, evaluate them, tabulate the returns.

What it measures
----------------
For every config and seed: `ordergrad train --config FILE --seed S --total-steps N --run-dir DIR
[--set K=V]...` (N: --total-steps, else the config's own total_steps), then `ordergrad eval --run DIR --episodes E --seed EVAL_SEED --json`
(deterministic policy unless --stochastic; the same EVAL_SEED, so the same start states, for
every run). The Markdown table gives, per config, the mean eval return of each seed, the mean +-
sample std (n - 1) of those means over the seeds, and the mean over seeds of each seed's CVaR_0.1
(the mean of its worst 10 % of eval episodes). Then the target checks (TARGETS below):
sac-pendulum after 20000 steps, mean over 5 seeds >= -200; ppo-pendulum after 200000 steps, mean
over 3 seeds >= -250 -> PASS / FAIL (n/a when the run used other steps or fewer seeds). The table is printed and written to <out>/results.md
(raw numbers in <out>/results.json).

Layout and resuming
-------------------
    <out>/<config name>/settings.json       steps, overrides, eval settings, config file hash
    <out>/<config name>/seed_<S>/           the run directory (ordergrad train --run-dir)
    <out>/<config name>/seed_<S>.train.log  stdout + stderr of train
    <out>/<config name>/seed_<S>.eval.log   stderr of eval
    <out>/<config name>/seed_<S>.eval.json  eval's JSON, written only once eval succeeded

A run whose eval JSON exists is skipped, so re-running the same command resumes. A run that
trained but failed to evaluate is only evaluated again; a run directory left by an interrupted or
failed train is moved aside (seed_<S>.stale-<unix time>) and trained again. If settings.json
differs from the current settings (other steps, --set, eval settings, or an edited config file),
the script stops before running anything: use another --out, or delete that folder.

Runs go through a pool of --jobs processes (default 2). Each process gets RAYON_NUM_THREADS =
cores / jobs (at least 1) unless RAYON_NUM_THREADS is already set or --threads-per-job is given,
so parallel runs do not oversubscribe the cores.

How to run
----------
From the repository root, after `cargo build --release`:

    python3 scripts/learning_targets.py                       # sac + remac on Pendulum, seeds 1-5
    python3 scripts/learning_targets.py --configs ppo-pendulum ppo-cvar-pendulum --seeds 1-3
    python3 scripts/learning_targets.py --configs sac-pendulum --seeds 1-3 --total-steps 5000 \\
        --set sac.learning_starts=1000 --out runs/lt_quick
    python3 scripts/learning_targets.py --dry-run             # print the commands only

--configs takes paths or names in configs/ (`sac-pendulum` = configs/sac-pendulum.toml).
--set KEY=VALUE goes to every config; --set remac-pendulum:remac.k=2 only to that one.
Exit code: 0 when every run succeeded and no target check FAILed, 1 otherwise, 2 on bad
arguments or a missing/unbuilt binary. Standard library only (Python 3.11+).
"""

import argparse
import concurrent.futures
import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time
import tomllib

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_BINARY = REPO_ROOT / "target" / "release" / "ordergrad"
DEFAULT_CONFIGS = ["sac-pendulum", "remac-pendulum"]
LOG_TAIL_LINES = 20
STOP = threading.Event()  # set on Ctrl-C: workers start nothing new and mark nothing done



@dataclasses.dataclass(frozen=True)
class Target:
    """A learning target: mean eval return over `seeds` seeds after `steps` steps."""
    what: str
    steps: int
    seeds: int
    min_return: float


# The learning targets this script checks, by config name.
TARGETS = {
    "sac-pendulum": Target("SAC on Pendulum-v1", 20000, 5, -200.0),
    "ppo-pendulum": Target("PPO on Pendulum-v1", 200000, 3, -250.0),
}


class UsageError(Exception):
    """Bad arguments or a missing binary; reported with exit code 2."""


@dataclasses.dataclass
class Run:
    config: pathlib.Path
    name: str
    seed: int
    folder: pathlib.Path

    @property
    def run_dir(self):
        return self.folder / f"seed_{self.seed}"

    @property
    def train_log(self):
        return self.folder / f"seed_{self.seed}.train.log"

    @property
    def eval_log(self):
        return self.folder / f"seed_{self.seed}.eval.log"

    @property
    def eval_json(self):
        return self.folder / f"seed_{self.seed}.eval.json"

    @property
    def train_done(self):
        return self.folder / f"seed_{self.seed}.train.done"


@dataclasses.dataclass
class Outcome:
    run: Run
    result: dict | None = None  # eval JSON
    error: str | None = None
    skipped: bool = False
    seconds: float = 0.0


# --------------------------------------------------------------------------------------------
# Arguments


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS,
                        help="config paths or names in configs/ "
                             "(default: sac-pendulum remac-pendulum)")
    parser.add_argument("--seeds", default="1-5", help="e.g. 1-5 or 1,3,7 (default 1-5)")
    parser.add_argument("--total-steps", type=int, default=None,
                        help="for every config (default: each config's own total_steps)")
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        metavar="[CONFIG:]KEY=VALUE",
                        help="override passed to train, for every config or, with a CONFIG: "
                             "prefix (e.g. remac-pendulum:remac.k=2), for that one (repeatable)")
    parser.add_argument("--episodes", type=int, default=20, help="eval episodes (default 20)")
    parser.add_argument("--stochastic", action="store_true", help="evaluate the stochastic policy")
    parser.add_argument("--eval-seed", type=int, default=1_000_000,
                        help="eval --seed for every run: episode i starts from seed EVAL_SEED + i, "
                             "the same start states for all seeds and configs (default 1000000)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel runs (default 2)")
    parser.add_argument("--threads-per-job", type=int, default=None,
                        help="RAYON_NUM_THREADS per run (default: cores / jobs)")
    parser.add_argument("--out", type=pathlib.Path, default=REPO_ROOT / "runs" / "learning_targets",
                        help="output folder (default runs/learning_targets)")
    parser.add_argument("--binary", type=pathlib.Path, default=DEFAULT_BINARY,
                        help="ordergrad binary (default target/release/ordergrad)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    if args.jobs < 1 or (args.total_steps is not None and args.total_steps < 1) \
            or args.episodes < 1:
        parser.error("--jobs, --total-steps and --episodes must be >= 1")
    try:
        args.seeds = parse_seeds(args.seeds)
        args.configs = [resolve_config(text) for text in args.configs]
    except UsageError as error:
        parser.error(str(error))
    names = [config.stem for config in args.configs]
    if len(set(names)) != len(names):
        parser.error(f"two configs share a file name: {names}")
    for item in args.sets:
        scope, _ = split_set(item)
        if "=" not in item or (scope is not None and scope not in names):
            parser.error(f"--set wants KEY=VALUE or CONFIG:KEY=VALUE with CONFIG one of {names}, "
                         f"got {item!r}")
    args.out = args.out.resolve()
    args.binary = args.binary.resolve()
    return args


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        bounds = part.strip().split("-")
        if len(bounds) > 2 or not all(b.strip().isdigit() for b in bounds):
            raise UsageError(f"--seeds: cannot read {part!r} (use e.g. 1-5 or 1,3,7)")
        low, high = int(bounds[0]), int(bounds[-1])
        seeds.extend(range(low, high + 1))
    if not seeds or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds: empty or repeated seeds in {text!r}")
    return seeds


def split_set(item):
    """'remac-pendulum:remac.k=2' -> ('remac-pendulum', 'remac.k=2'); 'a.b=1' -> (None, 'a.b=1')."""
    key = item.split("=", 1)[0]
    if ":" in key:
        scope, rest = item.split(":", 1)
        return scope, rest
    return None, item


def sets_for(config, args):
    """The --set overrides that apply to one config, without their CONFIG: prefix."""
    return [rest for scope, rest in map(split_set, args.sets) if scope in (None, config.stem)]


def resolve_config(text):
    for candidate in (pathlib.Path(text), REPO_ROOT / text, REPO_ROOT / "configs" / f"{text}.toml"):
        if candidate.is_file():
            return candidate.resolve()
    raise UsageError(f"config {text!r} not found (tried it as a path and as configs/{text}.toml)")


# --------------------------------------------------------------------------------------------
# Preflight


def check_binary(binary):
    if not binary.is_file():
        raise UsageError(f"ordergrad binary not found at {binary}: run `cargo build --release` in "
                         f"{REPO_ROOT}")
    for command in ("train", "eval"):
        probe = subprocess.run([str(binary), command, "--help"], capture_output=True, text=True)
        if probe.returncode != 0:
            first_line = ((probe.stderr or probe.stdout).strip().splitlines() or [""])[0]
            raise UsageError(f"{binary} has no working `{command}` command ({first_line}); "
                             "rebuild with `cargo build --release` once it exists")


def config_steps(config):
    """`total_steps` of a config file; None when it cannot be read."""
    try:
        return tomllib.loads(config.read_text()).get("total_steps")
    except (OSError, tomllib.TOMLDecodeError):
        return None


def steps_for(config, args):
    """The steps a config trains for: --total-steps, else the config's own total_steps."""
    if args.total_steps is not None:
        return args.total_steps
    steps = config_steps(config)
    if not isinstance(steps, int) or steps < 1:
        raise UsageError(f"{config} has no positive integer total_steps; pass --total-steps")
    return steps


def read_agent_env(config):
    """(agent, env) from a config file; (None, None) when it cannot be read."""
    try:
        table = tomllib.loads(config.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None, None
    return table.get("agent"), table.get("env")


def settings_for(config, args):
    return {
        "config": str(config),
        "config_sha256": hashlib.sha256(config.read_bytes()).hexdigest(),
        "total_steps": steps_for(config, args),
        "sets": sets_for(config, args),
        "episodes": args.episodes,
        "stochastic": args.stochastic,
        "eval_seed": args.eval_seed,
    }


def check_or_write_settings(folder, settings):
    """Results in a folder are reused only if they were made with the same settings."""
    path = folder / "settings.json"
    if path.exists():
        previous = json.loads(path.read_text())
        changed = sorted(key for key in settings.keys() | previous.keys()
                         if settings.get(key) != previous.get(key))
        if changed:
            differences = "; ".join(f"{key} was {previous.get(key)!r}, now {settings.get(key)!r}"
                                    for key in changed)
            raise UsageError(f"{folder} holds results made with other settings ({differences}); "
                             "use another --out or delete that folder")
        return
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")


# --------------------------------------------------------------------------------------------
# One run: train (unless done), then eval


def train_command(run, args):
    command = [str(args.binary), "train", "--config", str(run.config), "--seed", str(run.seed),
               "--total-steps", str(steps_for(run.config, args)), "--run-dir", str(run.run_dir)]
    for item in sets_for(run.config, args):
        command += ["--set", item]
    return command


def eval_command(run, args):
    command = [str(args.binary), "eval", "--run", str(run.run_dir), "--episodes",
               str(args.episodes), "--seed", str(args.eval_seed), "--json"]
    if args.stochastic:
        command.append("--stochastic")
    return command


def log_tail(path, lines=LOG_TAIL_LINES):
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def parse_eval_output(stdout):
    """The eval JSON object: the whole stdout, or else its last line that parses as an object."""
    candidates = [stdout] + stdout.strip().splitlines()[::-1]
    for text in candidates:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "mean" in value:
            return value
    raise ValueError("no JSON object with a 'mean' in eval's stdout")


def train(run, args, env):
    if run.run_dir.exists():  # left by an interrupted or failed train
        run.run_dir.rename(run.folder / f"seed_{run.seed}.stale-{int(time.time())}")
    with open(run.train_log, "w") as log:
        completed = subprocess.run(train_command(run, args), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=REPO_ROOT, env=env)
    if completed.returncode != 0:
        return (f"train exited with {completed.returncode}; last lines of {run.train_log}:\n"
                + log_tail(run.train_log))
    last_step = last_complete_checkpoint(run.run_dir)
    total_steps = steps_for(run.config, args)
    if last_step != total_steps or STOP.is_set():
        # ordergrad exits 0 after a Ctrl-C too, with a checkpoint at the step it stopped at.
        return (f"train stopped at step {last_step} of {total_steps} (interrupted?); last "
                f"lines of {run.train_log}:\n" + log_tail(run.train_log))
    run.train_done.write_text(datetime.datetime.now().isoformat() + "\n")
    return None


def last_complete_checkpoint(run_dir):
    """Step of the newest checkpoints/step_<N>/ holding its COMPLETE marker, or None."""
    steps = [int(path.parent.name.removeprefix("step_"))
             for path in (run_dir / "checkpoints").glob("step_*/COMPLETE")
             if path.parent.name.removeprefix("step_").isdigit()]
    return max(steps, default=None)


def evaluate(run, args, env):
    with open(run.eval_log, "w") as log:
        completed = subprocess.run(eval_command(run, args), stdout=subprocess.PIPE, stderr=log,
                                   stdin=subprocess.DEVNULL, text=True, cwd=REPO_ROOT, env=env)
    if completed.returncode != 0:
        return None, (f"eval exited with {completed.returncode}; last lines of {run.eval_log}:\n"
                      + log_tail(run.eval_log))
    try:
        result = parse_eval_output(completed.stdout)
    except ValueError as error:
        return None, f"eval output unreadable ({error}); stdout was:\n{completed.stdout[-2000:]}"
    partial = run.eval_json.with_suffix(".json.partial")
    partial.write_text(json.dumps(result) + "\n")
    partial.replace(run.eval_json)
    return result, None


def execute(run, args, env):
    if run.eval_json.exists():
        return Outcome(run, result=json.loads(run.eval_json.read_text()), skipped=True)
    start = time.perf_counter()
    try:
        if not run.train_done.exists():
            if STOP.is_set():
                return Outcome(run, error="not started (interrupted)")
            error = train(run, args, env)
            if error:
                return Outcome(run, error=error, seconds=time.perf_counter() - start)
        if STOP.is_set():
            return Outcome(run, error="not evaluated (interrupted)")
        result, error = evaluate(run, args, env)
    except OSError as error:  # e.g. the disk filled up: report it as this run's failure
        result, error = None, f"{type(error).__name__}: {error}"
    return Outcome(run, result=result, error=error, seconds=time.perf_counter() - start)


def run_environment(args):
    env = dict(os.environ)
    if args.threads_per_job is not None:
        env["RAYON_NUM_THREADS"] = str(args.threads_per_job)
    elif "RAYON_NUM_THREADS" not in env:
        env["RAYON_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // args.jobs))
    return env


def run_all(runs, args):
    env = run_environment(args)
    outcomes = []
    print(f"{len(runs)} runs, {args.jobs} at a time, RAYON_NUM_THREADS={env['RAYON_NUM_THREADS']}, "
          f"output in {args.out}", flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(execute, run, args, env) for run in runs]
        try:
            for future in concurrent.futures.as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                print(f"[{len(outcomes)}/{len(runs)}] {describe(outcome)}", flush=True)
        except KeyboardInterrupt:
            # The runs got the same SIGINT (same process group); ordergrad checkpoints and exits.
            STOP.set()
            print("\ninterrupted: waiting for the running runs to stop; finished runs are kept, "
                  "re-run the same command to resume", file=sys.stderr, flush=True)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return outcomes


def describe(outcome):
    head = f"{outcome.run.name} seed {outcome.run.seed}: "
    if outcome.error:
        return head + "FAILED\n" + indent(outcome.error)
    how = "cached" if outcome.skipped else f"{outcome.seconds:.0f} s"
    return head + f"mean {outcome.result['mean']:.1f}, cvar_0.1 {cvar(outcome.result):.1f} ({how})"


def indent(text):
    return "\n".join("    " + line for line in text.splitlines())


def cvar(result):
    return result.get("cvar_0.1", float("nan"))


# --------------------------------------------------------------------------------------------
# Report


def summarise(config, outcomes, args):
    by_seed = {o.run.seed: o for o in outcomes if o.run.config == config}
    means = [by_seed[s].result["mean"] for s in args.seeds if by_seed[s].result]
    cvars = [cvar(by_seed[s].result) for s in args.seeds if by_seed[s].result]
    agent, env = read_agent_env(by_seed[args.seeds[0]].run.run_dir / "config.toml")
    if agent is None:
        agent, env = read_agent_env(config)
    return {
        "name": config.stem, "agent": agent, "env": env, "steps": steps_for(config, args),
        "seed_means": {s: (by_seed[s].result["mean"] if by_seed[s].result else None)
                       for s in args.seeds},
        "mean": statistics.fmean(means) if means else None,
        "std": statistics.stdev(means) if len(means) >= 2 else None,
        "mean_cvar_0.1": statistics.fmean(cvars) if cvars else None,
        "finished": len(means),
    }


def target_check(summary, args):
    """'PASS' / 'FAIL' / 'n/a' and a sentence, for a summary of a config in TARGETS."""
    target = TARGETS[summary["name"]]
    if summary["steps"] != target.steps or len(args.seeds) < target.seeds:
        return "n/a", (f"target is defined at {target.steps} steps over {target.seeds} seeds; "
                       f"this used {summary['steps']} steps and {len(args.seeds)} seeds")
    if summary["finished"] < len(args.seeds):
        return "FAIL", f"only {summary['finished']} of {len(args.seeds)} seeds finished"
    verdict = "PASS" if summary["mean"] >= target.min_return else "FAIL"
    return verdict, f"mean {summary['mean']:.1f} over {summary['finished']} seeds"


def fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def format_report(summaries, outcomes, args):
    mode = "stochastic" if args.stochastic else "deterministic"
    lines = [f"# Learning targets: {args.episodes} {mode} eval episodes per seed", ""]
    seed_columns = " | ".join(f"seed {s}" for s in args.seeds)
    lines.append(f"| config | agent | env | steps | {seed_columns} | mean ± std over seeds "
                 "| mean CVaR_0.1 |")
    lines.append("|---|---|---|---:|" + "---:|" * len(args.seeds) + "---:|---:|")
    for s in summaries:
        cells = " | ".join(fmt(s["seed_means"][seed]) if s["seed_means"][seed] is not None
                           else "failed" for seed in args.seeds)
        spread = f"{fmt(s['mean'])} ± {fmt(s['std'])}"
        if s["finished"] < len(args.seeds):
            spread += f" ({s['finished']}/{len(args.seeds)} seeds)"
        lines.append(f"| {s['name']} | {s['agent']} | {s['env']} | {s['steps']} | {cells} | {spread} "
                     f"| {fmt(s['mean_cvar_0.1'])} |")
    lines.append("")
    for s in summaries:
        if s["name"] in TARGETS:
            target = TARGETS[s["name"]]
            verdict, reason = target_check(s, args)
            lines.append(f"**Target** {target.what} at {target.steps} steps, mean over "
                         f"{target.seeds} seeds >= {target.min_return:g} ({s['name']}): "
                         f"**{verdict}** ({reason})  ")
    sets = " ".join(f"--set {item}" for item in args.sets) or "none"
    lines += ["", f"Overrides: {sets}. Eval: --seed {args.eval_seed} for every run (the same "
              f"{args.episodes} start states). "
              f"Std is the sample std (n - 1) of the per-seed means. Commit {git_commit()}, "
              f"{datetime.datetime.now().isoformat(timespec='seconds')}."]
    failures = [o for o in outcomes if o.error]
    if failures:
        lines += ["", "## Failed runs", ""]
        for o in sorted(failures, key=lambda o: (o.run.name, o.run.seed)):
            lines += [f"{o.run.name} seed {o.run.seed}:", "```", o.error, "```"]
    return "\n".join(lines) + "\n"


def git_commit():
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    return (head or "unknown") + (" (uncommitted changes)" if dirty else "")


def exit_code(summaries, outcomes, args):
    if any(o.error for o in outcomes):
        return 1
    verdicts = [target_check(s, args)[0] for s in summaries if s["name"] in TARGETS]
    return 1 if "FAIL" in verdicts else 0


# --------------------------------------------------------------------------------------------


def plan_runs(args):
    return [Run(config, config.stem, seed, args.out / config.stem)
            for config in args.configs for seed in args.seeds]


def main(argv=None):
    args = parse_args(argv)
    try:
        runs = plan_runs(args)
        if args.dry_run:
            for config in args.configs:
                steps_for(config, args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.dry_run:
        for run in runs:
            print(" ".join(train_command(run, args)))
            print(" ".join(eval_command(run, args)) + f" > {run.eval_json}")
        return 0
    try:
        for config in args.configs:
            steps_for(config, args)
        check_binary(args.binary)
        for config in args.configs:
            check_or_write_settings(args.out / config.stem, settings_for(config, args))
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    try:
        outcomes = run_all(runs, args)
    except KeyboardInterrupt:
        return 130
    summaries = [summarise(config, outcomes, args) for config in args.configs]
    report = format_report(summaries, outcomes, args)
    print()
    print(report, end="")
    (args.out / "results.md").write_text(report)
    raw = {"settings": {"seeds": args.seeds, "total_steps": args.total_steps, "sets": args.sets,
                        "episodes": args.episodes, "stochastic": args.stochastic,
                        "eval_seed": args.eval_seed},
           "summaries": summaries,
           "runs": [{"config": o.run.name, "seed": o.run.seed, "eval": o.result,
                     "error": o.error} for o in outcomes]}
    (args.out / "results.json").write_text(json.dumps(raw, indent=2) + "\n")
    print(f"(written to {args.out / 'results.md'} and results.json)")
    return exit_code(summaries, outcomes, args)


if __name__ == "__main__":
    sys.exit(main())
