#!/usr/bin/env python3
"""PPO training speed of ordergrad vs Stable-Baselines3 and SBX on this machine.

What it measures
----------------
Steps per second of whole PPO training (rollout collection and updates) on Pendulum-v1 at
CleanRL's `ppo_continuous_action` settings: one env, 2048 steps per rollout, 10 epochs of 32
minibatches (64 samples), separate 64-64 tanh actor and critic, observation and reward
normalisation (clip 10), Adam with global gradient-norm clipping at 0.5.
  - ordergrad: `ordergrad train --config configs/ppo-pendulum.toml --seed S --total-steps T
    --set ppo.num_envs=1 --set ppo.num_steps=2048 --set ppo.num_minibatches=32 ...` (the CleanRL
    settings above, whatever the config tunes), timed as a subprocess (wall clock).
  - ordergrad-baseline (with --baseline-binary PATH): another ordergrad build, same command, in
    the same rounds (before/after a change).
  - SB3: `PPO("MlpPolicy", VecNormalize(DummyVecEnv([Pendulum-v1])), n_steps=2048,
    batch_size=64, n_epochs=10, net_arch=dict(pi=[64, 64], vf=[64, 64]), Tanh)`, built in this
    process; `model.learn(T)` timed with `time.perf_counter`, `device="cpu"`,
    `torch.set_num_threads(--threads)`, after one untimed warm-up learn().
  - SBX (Stable-Baselines-JAX, jit-compiled, JAX on the CPU): `sbx.PPO` with the same settings,
    run by scripts/peers/bench_sbx_worker.py in the SBX venv (--sbx-venv, default $SBX_VENV or
    /tmp/sbxvenv), one worker process per round: an untimed warm-up learn() of one rollout
    (which compiles the update), then learn(T) of the same model for each total.
Every program runs two totals T1 < T2 (default 2 and 6 rollouts); SPS = (T2 - T1) / (wall(T2) -
wall(T1)), so start-up and construction cancel. With --repeats R there are R interleaved rounds,
each timing every program once per total, so that a slow stretch of the machine falls on all of
them alike; each wall time is the fastest of its R runs, and the report adds each round's own
ratio ordergrad SPS / SB3, SBX and ordergrad-baseline SPS.
--threads (default 2) sets torch's threads, ordergrad's RAYON_NUM_THREADS (unless set) and JAX's
threads (see bench_sbx_worker.py). The report names the CPU (model and its AVX/AVX-512/AMX
flags), the versions, the load average before and after, and the commit.

How to run
----------
From the repository root, after `cargo build --release`:

    scripts/peers/bench_ppo_vs_sb3.sh                  # sets up /tmp/sb3venv and /tmp/sbxvenv, runs all
    scripts/peers/bench_ppo_vs_sb3.sh --repeats 3
    scripts/peers/bench_ppo_vs_sb3.sh --baseline-binary ../before/target/release/ordergrad --repeats 5

--programs all (the default) means ordergrad, ordergrad-baseline (when --baseline-binary is
given), sb3 and sbx. The table goes to stdout and to --out (default runs/bench_ppo_vs_sb3.md).
Exit code 2 when a requested program cannot run (a binary not built, a venv missing), before
anything is timed. Run it on an otherwise idle machine: the load average is printed.
"""

import argparse
import os
import pathlib
import sys
import time

from bench_common import (DEFAULT_BINARY, DEFAULT_SBX_VENV, REPO_ROOT, SetupError,
                          busy_warning_lines, check_ordergrad, check_sbx, cpu_description,
                          display_path, format_load, format_ratios, git_commit,
                          make_sbx_timer, ordergrad_environment, round_ratios, run_rounds,
                          sps_from_walls, time_ordergrad, timestamp, versions, warn_if_busy)

CONFIG = REPO_ROOT / "configs" / "ppo-pendulum.toml"
ROLLOUT = 2048
# CleanRL's ppo_continuous_action settings, forced whatever the config tunes.
CLEANRL_SETS = ["ppo.num_envs=1", f"ppo.num_steps={ROLLOUT}", "ppo.num_minibatches=32",
                "ppo.update_epochs=10", "ppo.hidden_size=64", "ppo.objective=mean",
                "ppo.gamma=0.99", "ppo.gae_lambda=0.95", "ppo.learning_rate=3e-4",
                "ppo.anneal_lr=true", "ppo.clip_vloss=true", "ppo.use_sde=false",
                "ppo.shared_normalization=false", "ppo.normalize_observation=true",
                "ppo.normalize_reward=true", "logging.progress=false",
                "checkpoint.every=1000000000"]
PROGRAMS = ("ordergrad", "ordergrad-baseline", "sb3", "sbx")
# The programs ordergrad is compared with, per round, in this order.
REFERENCES = ("ordergrad-baseline", "sb3", "sbx")
PROGRAM_LABELS = {"ordergrad": "ordergrad (Burn, release)",
                  "ordergrad-baseline": "ordergrad-baseline (--baseline-binary)",
                  "sb3": "SB3 PPO (PyTorch, CPU)",
                  "sbx": "SBX PPO (JAX, jit, CPU)"}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", default="all",
                        help=f"comma-separated subset of {','.join(PROGRAMS)}, or 'all' "
                             "(default: every one that applies)")
    parser.add_argument("--rollouts", default="2,6",
                        help="T1,T2 in rollouts of 2048 steps (default 2,6)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="interleaved rounds; the fastest wall time of each is used "
                             "(default 2)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--binary", type=pathlib.Path, default=DEFAULT_BINARY,
                        help="ordergrad binary (default target/release/ordergrad)")
    parser.add_argument("--baseline-binary", type=pathlib.Path,
                        help="a second ordergrad binary, timed as ordergrad-baseline in the same "
                             "rounds (before/after a change)")
    parser.add_argument("--sbx-venv", type=pathlib.Path,
                        default=pathlib.Path(os.environ.get("SBX_VENV", DEFAULT_SBX_VENV)),
                        help="venv with sbx-rl (default $SBX_VENV or /tmp/sbxvenv; "
                             "scripts/peers/sbx_venv.sh sets it up)")
    parser.add_argument("--out", type=pathlib.Path,
                        default=REPO_ROOT / "runs" / "bench_ppo_vs_sb3.md")
    args = parser.parse_args(argv)
    args.programs = parse_programs(parser, args)
    try:
        low, high = (int(x) for x in args.rollouts.split(","))
    except ValueError:
        parser.error(f"--rollouts wants T1,T2 (e.g. 2,6), got {args.rollouts!r}")
    if not 1 <= low < high or args.repeats < 1 or args.threads < 1:
        parser.error("need 1 <= T1 < T2, --repeats >= 1 and --threads >= 1")
    args.totals = (low * ROLLOUT, high * ROLLOUT)
    args.binary = args.binary.resolve()
    if args.baseline_binary:
        args.baseline_binary = args.baseline_binary.resolve()
    return args


def parse_programs(parser, args):
    if args.programs == "all":
        return [p for p in PROGRAMS if p != "ordergrad-baseline" or args.baseline_binary]
    programs = [p.strip() for p in args.programs.split(",") if p.strip()]
    unknown = [p for p in programs if p not in PROGRAMS]
    if unknown or not programs:
        parser.error(f"--programs: unknown {unknown}; choose from {','.join(PROGRAMS)} or all")
    if "ordergrad-baseline" in programs and not args.baseline_binary:
        parser.error("--programs ordergrad-baseline needs --baseline-binary PATH")
    return programs


def preflight(args):
    """Checks every requested program; returns the SBX stack's versions (empty without sbx)."""
    if "sb3" in args.programs:
        import importlib.util
        missing = [m for m in ("stable_baselines3", "gymnasium", "torch")
                   if importlib.util.find_spec(m) is None]
        if missing:
            raise SetupError(f"missing Python modules {missing} in {sys.executable}: run "
                             "scripts/peers/bench_ppo_vs_sb3.sh, which sets up a venv")
    if "ordergrad" in args.programs:
        check_ordergrad(args.binary, CONFIG)
    if "ordergrad-baseline" in args.programs:
        check_ordergrad(args.baseline_binary, CONFIG, option="--baseline-binary")
    if "sbx" in args.programs:
        return check_sbx(args.sbx_venv, args.threads)
    return {}


def make_ordergrad_timer(binary, args):
    env = ordergrad_environment(args.threads)
    return lambda totals: [time_ordergrad(binary, CONFIG, args.seed, CLEANRL_SETS, env, total)
                           for total in totals]


def make_sb3_timer(args):
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

    def time_sb3(total):
        model = build()
        start = time.perf_counter()
        model.learn(total)
        return time.perf_counter() - start

    return lambda totals: [time_sb3(total) for total in totals]


def make_timers(args):
    timers = {}
    if "ordergrad" in args.programs:
        timers["ordergrad"] = make_ordergrad_timer(args.binary, args)
    if "ordergrad-baseline" in args.programs:
        timers["ordergrad-baseline"] = make_ordergrad_timer(args.baseline_binary, args)
    if "sb3" in args.programs:
        timers["sb3"] = make_sb3_timer(args)
    if "sbx" in args.programs:
        timers["sbx"] = make_sbx_timer(args.sbx_venv, "ppo", args.threads, args.seed,
                                       {"learning_rate": 3e-4})
    return timers


def format_report(results, args, env_lines, load_before, load_after):
    references = [name for name in REFERENCES if name in results]
    low, high = args.totals
    header = ["program", "SPS", "ms per step"] + [f"x {name} speed" for name in references]
    lines = [f"# PPO speed on Pendulum-v1 (CleanRL settings), {args.threads} threads", "",
             "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for name, label in PROGRAM_LABELS.items():
        if name in results:
            r = results[name]
            cells = ([label, f"{r['sps']:.0f}", f"{r['ms_per_step']:.3f}"]
                     + [f"{r['sps'] / results[ref]['sps']:.2f}" for ref in references])
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"- SPS = ({high} - {low}) steps / (wall({high}) - wall({low})), fastest of "
              f"{args.repeats} interleaved round(s), seed {args.seed}; whole training: rollouts "
              "and updates."]
    for name, r in results.items():
        walls = ", ".join(f"wall({t}) = {w:.2f} s" for t, w in r["walls"].items())
        lines.append(f"- {name}: {walls}")
    for name, ratios in results.get("ordergrad", {}).get("round_ratios", {}).items():
        lines.append(f"- ordergrad SPS / {name} SPS within each round (> 1: ordergrad faster): "
                     f"{format_ratios(ratios)}")
    sets = " ".join(f"--set {s}" for s in CLEANRL_SETS)
    for name, binary in (("ordergrad", args.binary), ("ordergrad-baseline", args.baseline_binary)):
        if name in results:
            lines.append(f"- {name}: `{display_path(binary)} train --config "
                         f"{display_path(CONFIG)} {sets}`, RAYON_NUM_THREADS = "
                         f"{ordergrad_environment(args.threads)['RAYON_NUM_THREADS']}")
    if "sbx" in results:
        lines.append(f"- SBX: sbx.PPO with SB3's settings (net_arch pi/vf [64, 64], tanh), JAX on "
                     f"the CPU, in {args.sbx_venv} (scripts/peers/bench_sbx_worker.py: one process per "
                     "round, jit compilation in an untimed warm-up learn()).")
    lines += busy_warning_lines(load_before)
    lines += ["", f"Machine: {cpu_description()}.", "",
              f"Versions: {'; '.join(env_lines)}; threads: torch/JAX/rayon {args.threads}. "
              f"Load average (1, 5, 15 min) before {format_load(load_before)}, after "
              f"{format_load(load_after)}. Commit {git_commit()}, {timestamp()}."]
    return "\n".join(lines) + "\n"


def measure(args):
    timers = make_timers(args)
    walls = run_rounds(timers, list(args.totals), args.repeats)
    results = {name: sps_from_walls(by_total) for name, by_total in walls.items()}
    if "ordergrad" in results:
        results["ordergrad"]["round_ratios"] = {
            name: round_ratios(walls, "ordergrad", name, args.repeats)
            for name in REFERENCES if name in results}
    return results


def main(argv=None):
    args = parse_args(argv)
    try:
        sbx_versions = preflight(args)
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    warn_if_busy(load_before)
    try:
        results = measure(args)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    load_after = os.getloadavg()
    env_lines = versions(args.programs, sbx_versions, numpy_for=())
    print(cpu_description())
    report = format_report(results, args, env_lines, load_before, load_after)
    print()
    print(report, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(f"(written to {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
