#!/usr/bin/env python3
"""SAC training speed of ordergrad vs Stable-Baselines3 on this machine, and a matmul floor.

What it measures
----------------
1. **SPS in the update phase** (env steps per second once every env step also does one gradient
   step) of SAC on Pendulum-v1 at CleanRL's `sac_continuous_action` sizes: 256-256 ReLU actor and
   twin critics, batch 256, buffer 1e6, train_freq 1, gradient_steps 1, target update every step,
   auto-tuned entropy coefficient.
   - ordergrad: `target/release/ordergrad train --config configs/sac-pendulum.toml --seed S
     --total-steps T --set sac.learning_starts=L --run-dir <tmp>`, timed as a subprocess (wall
     clock, process start to exit).
   - SB3: `SAC("MlpPolicy", "Pendulum-v1", ...)` built in this process, `model.learn(T)` timed with
     `time.perf_counter` (imports and model construction excluded), `device="cpu"`,
     `torch.set_num_threads(--threads)`, after one untimed warm-up learn().
   --threads (default 2) also sets numpy's BLAS threads and ordergrad's RAYON_NUM_THREADS (unless
   already set in the environment).
   Each program runs with the same learning_starts L and two totals T1 < T2 (default L+1000 and
   L+3000); SPS_update = (T2 - T1) / (wall(T2) - wall(T1)). Start-up, model construction and the
   warm-up phase are the same in both runs, so they cancel. Both times include everything a
   training step does: the env step, the replay buffer insert and sample, the update, logging.
   With --repeats R there are R rounds, each timing every program once per total (and the floor
   once), so that a slow stretch of the machine (on a shared host it comes and goes) falls on all
   of them alike; each wall time is the fastest of its R runs (same seed, so the same work; the
   fastest is the one least disturbed), and the report adds each round's own ordergrad / SB3
   ratio and ordergrad / floor ratio, which show how far the machine moved the figures.

   Actor schedule. CleanRL uses policy_frequency = 2, but on every 2nd step it runs the actor (and
   alpha) update policy_frequency times "to compensate for the delay": on average one actor update
   per env step. SB3's SAC has no policy delay and updates actor and alpha once every step: also
   one actor update per env step. So SB3 with its defaults (target_update_interval=1,
   ent_coef="auto") does the same number of critic, actor and alpha updates per env step as CleanRL;
   nothing needs changing for the comparison. ordergrad's `agents/src/sac.rs` follows CleanRL
   (policy_frequency actor updates on every policy_frequency-th step). Were it to update the actor
   only once every policy_frequency steps, it would do half the actor work of both; the floor
   then needs `--actor-updates-per-step 0.5` (the average of a critic-only and a critic+actor step).

2. **Matmul floor**: only the matrix products (GEMMs) of one SAC update, in numpy float32 with
   preallocated outputs, no activations, losses, Adam, sampling or env; the time of a list is the
   smallest of 5 block medians (--floor-iterations split into 5 blocks). Sizes: batch B = 256,
   hidden H = 256, obs o, act a; critic input o + a; the actor's last layer outputs mean and
   log_std (2a). Shapes are written (rows x inner) @ (inner x cols).

   Critic step (every env step), 25 GEMMs:
     - actor forward on s' (for a' ~ pi(s')):   (B x o)@(o x H), (B x H)@(H x H), (B x H)@(H x 2a)
     - 2 target critics forward on (s', a'):    per critic (B x o+a)@(o+a x H), (B x H)@(H x H),
                                                (B x H)@(H x 1)
     - 2 online critics forward on (s, a):      same 3 GEMMs per critic
     - 2 online critics backward:               per critic dW3 = h2^T g3 (H x B)@(B x 1),
                                                dh2 = g3 W3^T (B x 1)@(1 x H),
                                                dW2 = h1^T g2 (H x B)@(B x H),
                                                dh1 = g2 W2^T (B x H)@(H x H),
                                                dW1 = x^T g1 (o+a x B)@(B x H);
                                                no gradient w.r.t. the data input x
   Actor update (on actor steps), 20 GEMMs:
     - actor forward on s:                      3 GEMMs as above
     - 2 critics forward on (s, pi(s)):         3 GEMMs per critic
     - backward through both critics to the action input only (their weights are not trained
       here): per critic dh2 = g3 W3^T, dh1 = g2 W2^T, dx = g1 W1^T (B x H)@(H x o+a)
     - actor backward:                          dW3 = h2^T g (H x B)@(B x 2a), dh2 = g W3^T
                                                (B x 2a)@(2a x H), dW2, dh1, dW1 = s^T g1
                                                (o x B)@(B x H); no gradient w.r.t. s
   Floor per env step = critic step + (actor updates per env step) x actor update, i.e. both with
   the CleanRL/SB3 schedule (default 1.0), or the average of a critic-only step and a critic+actor
   step with --actor-updates-per-step 0.5. Left out on purpose (so this stays a lower bound):
   the critic weight gradients that PyTorch's actor_loss.backward() also computes, CleanRL's extra
   no-grad actor forward for the alpha loss, and every non-GEMM operation.
   Rows: Pendulum sizes (o = 3, a = 1) and HalfCheetah sizes (o = 17, a = 6). ordergrad's ms per
   step includes env, replay and everything else, so its ratio to the floor is an upper bound on
   how far its update is from the GEMM floor.

How to run
----------
From the repository root, after `cargo build --release`:

    scripts/bench_sac_vs_sb3.sh                          # sets up /tmp/sb3venv, then runs all
    scripts/bench_sac_vs_sb3.sh --repeats 3 --out runs/bench_sac_vs_sb3.md
    scripts/bench_sac_vs_sb3.sh --programs sb3,floor     # without ordergrad

or with an existing environment that has stable-baselines3, gymnasium, torch and numpy:

    /tmp/sb3venv/bin/python scripts/bench_sac_vs_sb3.py --programs all

The table goes to stdout and to --out (default runs/bench_sac_vs_sb3.md). Exit code 2 when a
requested program cannot run (e.g. `ordergrad train` not built), before anything is timed.
Run it on an otherwise idle machine: the load average before and after is printed with the table.
"""

import argparse
import datetime
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_BINARY = REPO_ROOT / "target" / "release" / "ordergrad"
DEFAULT_CONFIG = REPO_ROOT / "configs" / "sac-pendulum.toml"
PROGRAMS = ("ordergrad", "sb3", "floor")
HIDDEN = 256
BATCH = 256
FLOOR_SIZES = (("Pendulum-v1", 3, 1), ("HalfCheetah sizes", 17, 6))
FLOOR_BLOCKS = 5


class SetupError(Exception):
    """A requested program cannot run; the message says what to do."""


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--programs", default="all",
                        help="comma-separated subset of ordergrad,sb3,floor, or 'all' (default)")
    parser.add_argument("--learning-starts", type=int, default=1000, help="L (default 1000)")
    parser.add_argument("--update-steps", type=int, nargs=2, default=(1000, 3000),
                        metavar=("D1", "D2"),
                        help="T1 = L + D1 and T2 = L + D2 (default 1000 3000)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds, each running every program once per total; the fastest "
                             "wall time of each is used (default 1)")
    parser.add_argument("--seed", type=int, default=1, help="seed of every run (default 1)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch.set_num_threads, OPENBLAS/OMP threads for numpy, and "
                             "RAYON_NUM_THREADS for ordergrad unless set (default 2)")
    parser.add_argument("--binary", type=pathlib.Path, default=DEFAULT_BINARY,
                        help="ordergrad binary (default target/release/ordergrad)")
    parser.add_argument("--config", type=pathlib.Path, default=DEFAULT_CONFIG,
                        help="ordergrad config (default configs/sac-pendulum.toml)")
    parser.add_argument("--ordergrad-set", action="append", default=[], metavar="KEY=VALUE",
                        help="extra --set for ordergrad train (repeatable)")
    parser.add_argument("--sb3-learning-rate", type=float, default=3e-4,
                        help="SB3 has one lr for actor, critic and alpha; it does not affect speed")
    parser.add_argument("--actor-updates-per-step", type=float, default=1.0,
                        help="actor updates per env step in the floor: 1.0 = CleanRL/SB3 "
                             "(default), 0.5 = one actor update every 2nd step")
    parser.add_argument("--floor-iterations", type=int, default=200,
                        help="timed iterations of each GEMM list (default 200)")
    parser.add_argument("--out", type=pathlib.Path,
                        default=REPO_ROOT / "runs" / "bench_sac_vs_sb3.md",
                        help="also write the report here (default runs/bench_sac_vs_sb3.md)")
    args = parser.parse_args(argv)
    args.programs = parse_programs(parser, args.programs)
    d1, d2 = args.update_steps
    if not 0 < d1 < d2:
        parser.error(f"--update-steps needs 0 < D1 < D2, got {d1} {d2}")
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be >= 1")
    return args


def parse_programs(parser, text):
    if text == "all":
        return list(PROGRAMS)
    programs = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in programs if p not in PROGRAMS]
    if unknown or not programs:
        parser.error(f"--programs: unknown {unknown}; choose from {','.join(PROGRAMS)} or all")
    return programs


def limit_blas_threads(threads):
    """Must run before numpy/torch are imported: BLAS pools read these once."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


# --------------------------------------------------------------------------------------------
# Preflight: fail before timing anything


def check_ordergrad(binary, config):
    if not binary.is_file():
        raise SetupError(f"ordergrad binary not found at {binary}: run `cargo build --release` "
                         "in the repository root, or pass --programs sb3,floor")
    if not config.is_file():
        raise SetupError(f"config not found: {config}")
    probe = subprocess.run([str(binary), "train", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        first_line = (probe.stderr or probe.stdout).strip().splitlines()[:1]
        raise SetupError(f"{binary} has no working `train` command yet ({' '.join(first_line)}); "
                         "rebuild with `cargo build --release` once it exists, "
                         "or pass --programs sb3,floor")


def check_python_modules(programs):
    needed = {"sb3": ["stable_baselines3", "gymnasium", "torch", "numpy"], "floor": ["numpy"]}
    import importlib.util
    missing = sorted({m for p in programs for m in needed.get(p, [])
                      if importlib.util.find_spec(m) is None})
    if missing:
        raise SetupError(f"missing Python modules {missing} in {sys.executable}: "
                         "run scripts/bench_sac_vs_sb3.sh, which sets up a venv")


# --------------------------------------------------------------------------------------------
# Update-phase SPS by differencing two run lengths


def update_phase_sps(walls_by_total):
    """{T: [wall seconds per round]} for the two totals -> SPS from the fastest wall of each."""
    walls = {total: min(times) for total, times in walls_by_total.items()}
    (t1, wall1), (t2, wall2) = sorted(walls.items())
    if wall2 <= wall1:
        raise RuntimeError(f"wall({t2}) <= wall({t1}) ({walls}); the machine is too noisy, "
                           "use --repeats or longer --update-steps")
    sps = (t2 - t1) / (wall2 - wall1)
    return {"walls": walls, "sps": sps, "ms_per_step": 1000.0 / sps}


def round_sps(walls_by_total, index):
    """SPS of round `index` alone."""
    (t1, walls1), (t2, walls2) = sorted(walls_by_total.items())
    delta = walls2[index] - walls1[index]
    return (t2 - t1) / delta if delta > 0 else float("nan")


def ordergrad_environment(threads):
    """Burn's CPU backend runs on rayon: give it the thread count torch and numpy get."""
    env = dict(os.environ)
    env.setdefault("RAYON_NUM_THREADS", str(threads))
    return env


def time_ordergrad(binary, config, seed, learning_starts, extra_sets, env, total_steps):
    with tempfile.TemporaryDirectory(prefix="bench_ordergrad_") as tmp:
        run_dir = pathlib.Path(tmp) / "run"
        log_path = pathlib.Path(tmp) / "train.log"
        command = [str(binary), "train", "--config", str(config), "--seed", str(seed),
                   "--total-steps", str(total_steps),
                   "--set", f"sac.learning_starts={learning_starts}", "--run-dir", str(run_dir)]
        for item in extra_sets:
            command += ["--set", item]
        with open(log_path, "w") as log:
            start = time.perf_counter()
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                                    stdin=subprocess.DEVNULL, env=env)
            wall = time.perf_counter() - start
        if result.returncode != 0:
            tail = log_path.read_text(errors="replace").splitlines()[-20:]
            raise RuntimeError(f"`{' '.join(command)}` exited with {result.returncode}:\n"
                               + "\n".join(tail))
        return wall


def make_sb3_timer(seed, learning_starts, learning_rate):
    from stable_baselines3 import SAC

    def time_sb3(total_steps):
        model = SAC(
            "MlpPolicy", "Pendulum-v1",
            policy_kwargs=dict(net_arch=[HIDDEN, HIDDEN]),  # ReLU is SB3's SAC default
            batch_size=BATCH, buffer_size=1_000_000, learning_starts=learning_starts,
            train_freq=1, gradient_steps=1, target_update_interval=1, ent_coef="auto",
            learning_rate=learning_rate, tau=0.005, gamma=0.99,
            device="cpu", seed=seed, verbose=0,
        )
        start = time.perf_counter()
        model.learn(total_timesteps=total_steps)
        return time.perf_counter() - start

    # One untimed short run first, so that one-time costs (lazy allocations, thread pools) of the
    # first learn() in this process fall into neither timed run.
    time_sb3(learning_starts + 100)
    return time_sb3


# --------------------------------------------------------------------------------------------
# Matmul floor


def mlp_forward(batch, sizes):
    """GEMMs (lhs shape, rhs shape) of an MLP forward; sizes = [in, h1, ..., out]."""
    return [((batch, n_in), (n_in, n_out)) for n_in, n_out in zip(sizes, sizes[1:])]


def mlp_backward(batch, sizes, weight_grads, input_grad):
    """GEMMs of an MLP backward: per layer dW = x^T g and dx = g W^T (not for the first layer's
    input unless input_grad)."""
    products = []
    layers = list(zip(sizes, sizes[1:]))
    for index in reversed(range(len(layers))):
        n_in, n_out = layers[index]
        if weight_grads:
            products.append(((n_in, batch), (batch, n_out)))
        if index > 0 or input_grad:
            products.append(((batch, n_out), (n_out, n_in)))
    return products


def sac_gemms(obs_dim, act_dim, batch=BATCH, hidden=HIDDEN):
    """(critic step GEMMs, actor update GEMMs) as (lhs shape, rhs shape) lists (module doc)."""
    critic = [obs_dim + act_dim, hidden, hidden, 1]
    actor = [obs_dim, hidden, hidden, 2 * act_dim]
    critic_step = (mlp_forward(batch, actor)                                   # a' ~ pi(s')
                   + 2 * mlp_forward(batch, critic)                            # target critics
                   + 2 * mlp_forward(batch, critic)                            # online critics
                   + 2 * mlp_backward(batch, critic, weight_grads=True, input_grad=False))
    actor_update = (mlp_forward(batch, actor)                                  # pi(s)
                    + 2 * mlp_forward(batch, critic)                           # Q(s, pi(s))
                    + 2 * mlp_backward(batch, critic, weight_grads=False, input_grad=True)
                    + mlp_backward(batch, actor, weight_grads=True, input_grad=False))
    return critic_step, actor_update


def time_gemms(products, iterations, rng, blocks=FLOOR_BLOCKS):
    """ms to run all products once (float32, preallocated operands and outputs): the iterations
    are split into blocks, and the floor is the smallest block median, which discounts both
    single spikes and a stretch where another process had the cores."""
    import numpy as np

    operands = [(rng.standard_normal(a).astype(np.float32),
                 rng.standard_normal(b).astype(np.float32),
                 np.empty((a[0], b[1]), dtype=np.float32)) for a, b in products]

    def run_once():
        for lhs, rhs, out in operands:
            np.matmul(lhs, rhs, out=out)

    for _ in range(max(10, iterations // 10)):  # warm up caches and BLAS threads
        run_once()
    block_medians = []
    for _ in range(blocks):
        samples = []
        for _ in range(max(1, iterations // blocks)):
            start = time.perf_counter()
            run_once()
            samples.append(time.perf_counter() - start)
        block_medians.append(statistics.median(samples))
    return 1000.0 * min(block_medians)


def gemm_flops(products):
    return sum(2 * a[0] * a[1] * b[1] for a, b in products)


def measure_floor(obs_dim, act_dim, actor_updates_per_step, iterations, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    critic_step, actor_update = sac_gemms(obs_dim, act_dim)
    critic_ms = time_gemms(critic_step, iterations, rng)
    actor_ms = time_gemms(actor_update, iterations, rng)
    step_ms = critic_ms + actor_updates_per_step * actor_ms
    flops = gemm_flops(critic_step) + actor_updates_per_step * gemm_flops(actor_update)
    return {"critic_ms": critic_ms, "actor_ms": actor_ms, "ms_per_step": step_ms,
            "sps": 1000.0 / step_ms, "gflops": flops / step_ms / 1e6,
            "n_critic": len(critic_step), "n_actor": len(actor_update)}


# --------------------------------------------------------------------------------------------
# Environment description and report


def versions(programs):
    lines = [f"python {platform.python_version()}", f"nproc {os.cpu_count()}"]
    if "sb3" in programs or "floor" in programs:
        import numpy
        lines.append(f"numpy {numpy.__version__}")
    if "sb3" in programs:
        import gymnasium
        import stable_baselines3
        import torch
        lines += [f"torch {torch.__version__} (get_num_threads() = {torch.get_num_threads()})",
                  f"stable-baselines3 {stable_baselines3.__version__}",
                  f"gymnasium {gymnasium.__version__}"]
    return lines


def format_load(load):
    return " ".join(f"{x:.2f}" for x in load)


def display_path(path):
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def cpu_model():
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit():
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                            capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT,
                           capture_output=True, text=True).stdout.strip()
    return (result.stdout.strip() or "unknown") + (" (uncommitted changes)" if dirty else "")


def format_table(results, floors, args):
    sb3 = results.get("sb3")
    pendulum_floor = floors.get("Pendulum-v1")
    ordergrad = results.get("ordergrad")
    schedule = f"{args.actor_updates_per_step:g} actor update(s) per env step"
    rows = ["| program | sizes (obs/act) | SPS (update phase) | ms per step | x SB3 speed "
            "| ordergrad ms / floor ms |",
            "|---|---|---:|---:|---:|---:|"]
    labels = (("ordergrad", "ordergrad (Burn, release)"), ("sb3", "SB3 SAC (PyTorch, CPU)"))
    for name, label in labels:
        if name not in results:
            continue
        r = results[name]
        vs_sb3 = f"{r['sps'] / sb3['sps']:.2f}" if sb3 else "-"
        vs_floor = (f"{r['ms_per_step'] / pendulum_floor['ms_per_step']:.1f}"
                    if name == "ordergrad" and pendulum_floor else "-")
        rows.append(f"| {label} | Pendulum-v1 (3/1) | {r['sps']:.1f} | {r['ms_per_step']:.2f} "
                    f"| {vs_sb3} | {vs_floor} |")
    for (label, obs_dim, act_dim) in FLOOR_SIZES:
        if label not in floors:
            continue
        f = floors[label]
        vs_sb3 = f"{f['sps'] / sb3['sps']:.2f}" if sb3 and label == "Pendulum-v1" else "-"
        vs_floor = (f"{ordergrad['ms_per_step'] / f['ms_per_step']:.1f}"
                    if ordergrad and label == "Pendulum-v1" else "-")
        rows.append(f"| numpy GEMM floor ({schedule}) | {label} ({obs_dim}/{act_dim}) "
                    f"| {f['sps']:.1f} | {f['ms_per_step']:.2f} | {vs_sb3} | {vs_floor} |")
    return "\n".join(rows)


def format_report(results, floors, args, env_lines, load_before, load_after):
    lines = ["# SAC update-phase speed: ordergrad vs Stable-Baselines3", "",
             format_table(results, floors, args), ""]
    d1, d2 = args.update_steps
    lines.append(f"- SPS (update phase) = (T2 - T1) / (wall(T2) - wall(T1)), L = "
                 f"{args.learning_starts}, T1 = {args.learning_starts + d1}, T2 = "
                 f"{args.learning_starts + d2}, fastest of {args.repeats} interleaved round(s), "
                 f"seed {args.seed}. A program's ms per step is a whole training step: env, replay "
                 "buffer, update, logging (ordergrad: wall clock of the process).")
    for name, r in results.items():
        walls = ", ".join(f"wall({t}) = {w:.2f} s" for t, w in r["walls"].items())
        lines.append(f"- {name}: {walls}")
    ratios = results.get("ordergrad", {}).get("round_ratios")
    if ratios:
        lines.append("- ordergrad SPS / SB3 SPS within each round: "
                     + ", ".join(f"{ratio:.2f}" for ratio in ratios))
    floor_ratios = results.get("ordergrad", {}).get("round_floor_ratios")
    if floor_ratios:
        lines.append("- ordergrad ms per step / Pendulum-v1 floor ms within each round: "
                     + ", ".join(f"{ratio:.2f}" for ratio in floor_ratios))
    if "sb3" in results:
        lines.append(f"- SB3: SAC('MlpPolicy', 'Pendulum-v1', net_arch=[256, 256], batch_size=256, "
                     f"buffer_size=1e6, train_freq=1, gradient_steps=1, target_update_interval=1, "
                     f"ent_coef='auto', learning_rate={args.sb3_learning_rate:g}, device='cpu'); "
                     "actor and alpha updated every step, which matches CleanRL's "
                     "policy_frequency=2 with its 2 actor updates every 2nd step.")
    if "ordergrad" in results:
        sets = " ".join(f"--set {s}" for s in [f"sac.learning_starts={args.learning_starts}"]
                        + args.ordergrad_set)
        lines.append(f"- ordergrad: `{display_path(args.binary)} "
                     f"train --config {args.config.name} {sets}`, RAYON_NUM_THREADS = "
                     f"{ordergrad_environment(args.threads)['RAYON_NUM_THREADS']}")
    for label, f in floors.items():
        lines.append(f"- floor {label}: critic step {f['n_critic']} GEMMs {f['critic_ms']:.3f} ms, "
                     f"actor update {f['n_actor']} GEMMs {f['actor_ms']:.3f} ms, per env step "
                     f"{f['ms_per_step']:.3f} ms ({f['gflops']:.1f} GFLOP/s), float32, batch "
                     f"{BATCH}, hidden {HIDDEN}, smallest median of {FLOOR_BLOCKS} blocks of "
                     f"{max(1, args.floor_iterations // FLOOR_BLOCKS)} iterations, fastest "
                     "round")
    # Only the load before counts: the benchmark's own runs load all cores.
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        lines += ["", "**Warning**: the 1-minute load average before the start exceeded half the "
                  "cores; other processes shared the CPU and these timings are not trustworthy "
                  "(the BLAS floor suffers most: its threads spin while waiting for each other)."]
    lines += ["", f"Machine: {cpu_model()}, {'; '.join(env_lines)}; threads: torch/BLAS "
              f"{args.threads}. Load average (1, 5, 15 min) before {format_load(load_before)}, "
              f"after {format_load(load_after)}. "
              f"Commit {git_commit()}, {datetime.datetime.now().isoformat(timespec='seconds')}."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------


def measure(args):
    """--repeats rounds; each round times every requested program once (both totals) and the
    floor once, so that a slow stretch of the machine (on a shared host it comes and goes) falls
    on all of them alike. Each program keeps its fastest walls, the floor its fastest round."""
    timers = {}
    if "ordergrad" in args.programs:
        env = ordergrad_environment(args.threads)
        timers["ordergrad"] = lambda t: time_ordergrad(
            args.binary, args.config, args.seed, args.learning_starts, args.ordergrad_set, env, t)
    if "sb3" in args.programs:
        timers["sb3"] = make_sb3_timer(args.seed, args.learning_starts, args.sb3_learning_rate)
    totals = [args.learning_starts + d for d in args.update_steps]
    walls = {name: {total: [] for total in totals} for name in timers}
    floor_rounds = {label: [] for label, _, _ in FLOOR_SIZES} if "floor" in args.programs else {}
    for index in range(args.repeats):
        print(f"round {index + 1} of {args.repeats}:", flush=True)
        for name, timer in timers.items():
            for total in totals:
                walls[name][total].append(timer(total))
                print(f"    {name} T = {total}: {walls[name][total][-1]:.2f} s", flush=True)
        for label, obs_dim, act_dim in FLOOR_SIZES:
            if label in floor_rounds:
                floor_rounds[label].append(measure_floor(
                    obs_dim, act_dim, args.actor_updates_per_step, args.floor_iterations,
                    args.seed))
                print(f"    floor {label}: {floor_rounds[label][-1]['ms_per_step']:.3f} ms",
                      flush=True)
    results = {name: update_phase_sps(by_total) for name, by_total in walls.items()}
    if {"ordergrad", "sb3"} <= results.keys():
        results["ordergrad"]["round_ratios"] = [
            round_sps(walls["ordergrad"], index) / round_sps(walls["sb3"], index)
            for index in range(args.repeats)]
    if "ordergrad" in results and "Pendulum-v1" in floor_rounds:
        results["ordergrad"]["round_floor_ratios"] = [
            1000.0 / round_sps(walls["ordergrad"], index)
            / floor_rounds["Pendulum-v1"][index]["ms_per_step"]
            for index in range(args.repeats)]
    floors = {label: min(rounds, key=lambda f: f["ms_per_step"])
              for label, rounds in floor_rounds.items()}
    return results, floors


def main(argv=None):
    args = parse_args(argv)
    args.binary = args.binary.resolve()
    args.config = args.config.resolve()
    limit_blas_threads(args.threads)
    try:
        check_python_modules(args.programs)
        if "ordergrad" in args.programs:
            check_ordergrad(args.binary, args.config)
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if "sb3" in args.programs:
        import torch
        torch.set_num_threads(args.threads)
    env_lines = versions(args.programs)
    print("\n".join(env_lines), flush=True)
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {format_load(load_before)} on {os.cpu_count()} cores: "
              "other processes will disturb the timings", file=sys.stderr, flush=True)
    try:
        results, floors = measure(args)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    load_after = os.getloadavg()

    report = format_report(results, floors, args, env_lines, load_before, load_after)
    print()
    print(report, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(f"(written to {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
