#!/usr/bin/env python3
"""Off-policy training speed (SAC, DSAC, ReMAC) of ordergrad vs Stable-Baselines3 and SBX on this
machine, and a matmul floor per agent.

What it measures
----------------
1. **SPS in the update phase** (env steps per second once every env step also does one gradient
   step) on Pendulum-v1 at CleanRL's `sac_continuous_action` sizes: 256-256 ReLU actor and twin
   critics, batch 256, buffer 1e6, train_freq 1, gradient_steps 1, target update every step,
   auto-tuned entropy coefficient. --agent picks ordergrad's agent (default sac):
   - ordergrad: `ordergrad train --config C --seed S --total-steps T --set AGENT.learning_starts=L
     --set AGENT.hidden_size=256 --set AGENT.batch_size=256 [--set dsac.num_quantiles=N |
     --set remac.num_action_samples=B] --run-dir <tmp>`, timed as a subprocess (wall clock,
     process start to exit). C defaults to configs/sac-pendulum.toml,
     configs/dsac-cvar-risky-pendulum.toml (RiskyPendulum-v1: Pendulum-v1's sizes and dynamics
     plus a random cost) or configs/remac-pendulum.toml; the --set's force the floor's sizes
     whatever the config tunes (the DSAC configs train 64-64 networks).
   - ordergrad-baseline (with --baseline-binary PATH): another ordergrad build, same command,
     e.g. the commit before a change, so that before and after share every round.
   - SB3 (--agent sac only): `SAC("MlpPolicy", "Pendulum-v1", ...)` built in this process,
     `model.learn(T)` timed with `time.perf_counter` (imports and model construction excluded),
     `device="cpu"`, `torch.set_num_threads(--threads)`, after one untimed warm-up learn().
   - SBX (--agent sac only; Stable-Baselines-JAX, jit-compiled, JAX on the CPU): the same SAC
     settings, run by scripts/peers/bench_sbx_worker.py in the SBX venv (--sbx-venv, default $SBX_VENV
     or /tmp/sbxvenv: JAX and torch pin different stacks), one worker process per round; it
     does one untimed warm-up learn() (which compiles the update), then times
     learn(T, reset_num_timesteps=True) of that same model for each total (a fresh model would
     compile again inside the timed learn(); see bench_sbx_worker.py).
   --threads (default 2) sets torch's threads, numpy's BLAS threads, ordergrad's
   RAYON_NUM_THREADS (unless already set in the environment) and JAX's threads (fewer than the
   CPUs: the SBX worker is pinned to that many CPUs; 1: also XLA_FLAGS
   --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1; see bench_sbx_worker.py).
   Each program runs with the same learning_starts L and two totals T1 < T2 (default L+1000 and
   L+3000); SPS_update = (T2 - T1) / (wall(T2) - wall(T1)). Start-up, model construction and the
   warm-up phase are the same in both runs, so they cancel. All times include everything a
   training step does: the env step, the replay buffer insert and sample, the update, logging.
   With --repeats R there are R rounds, each timing every program once per total (and the floor
   once), so that a slow stretch of the machine (on a shared host it comes and goes) falls on all
   of them alike; each wall time is the fastest of its R runs (same seed, so the same work; the
   fastest is the one least disturbed), and the report adds each round's own ratios: ordergrad
   SPS / SB3, SBX and ordergrad-baseline SPS, and ordergrad ms per step / floor ms, which show
   how far the machine moved the figures.

   Actor schedule. CleanRL uses policy_frequency = 2, but on every 2nd step it runs the actor (and
   alpha) update policy_frequency times "to compensate for the delay": on average one actor update
   per env step. SB3's and SBX's SAC have no policy delay and update actor and alpha once every
   step: also one actor update per env step. So SB3 with its defaults (target_update_interval=1,
   ent_coef="auto") and SBX (policy_delay=1, targets after every gradient step) do the same number
   of critic, actor and alpha updates per env step as CleanRL. ordergrad's SAC, DSAC and ReMAC
   (`agents/src/sac.rs`, `dsac.rs`, `remac.rs`) follow CleanRL (policy_frequency actor updates on
   every policy_frequency-th step). Were an agent to update the actor only once every
   policy_frequency steps, the floor would need `--actor-updates-per-step 0.5`.

2. **Matmul floor** of the agent: only the matrix products (GEMMs) of one update, in numpy
   float32 with preallocated outputs, no activations, losses, sorting, Adam, sampling or env; the
   time of a list is the smallest of 5 block medians (--floor-iterations split into 5 blocks).
   Sizes: batch B = 256, hidden H = 256, obs o, act a; critic input o + a; the actor's last layer
   outputs mean and log_std (2a; ordergrad has two heads of a, the same products). Shapes are
   written (rows x inner) @ (inner x cols). The three agents share the networks (nets.rs) and
   the critic step's structure (critic.rs); they differ in the critic's outputs Q and in the rows
   R of the actor update:

   Critic step (every env step), 25 GEMMs:
     - actor forward on s' (for a' ~ pi(s')):   (B x o)@(o x H), (B x H)@(H x H), (B x H)@(H x 2a)
     - 2 target critics forward on (s', a'):    per critic (B x o+a)@(o+a x H), (B x H)@(H x H),
                                                (B x H)@(H x Q)
     - 2 online critics forward on (s, a):      same 3 GEMMs per critic
     - 2 online critics backward:               per critic dW3 = h2^T g3 (H x B)@(B x Q),
                                                dh2 = g3 W3^T (B x Q)@(Q x H),
                                                dW2 = h1^T g2 (H x B)@(B x H),
                                                dh1 = g2 W2^T (B x H)@(H x H),
                                                dW1 = x^T g1 (o+a x B)@(B x H);
                                                no gradient w.r.t. the data input x
   Actor update (on actor steps), 20 GEMMs on R rows:
     - actor forward on s:                      (R x o)@(o x H), (R x H)@(H x H), (R x H)@(H x 2a)
     - 2 critics forward on (s, pi(s)):         3 GEMMs per critic as above, R rows
     - backward through both critics to the action input only (their weights are detached:
       `no_grad()` in the agents): per critic dh2 = g3 W3^T (R x Q)@(Q x H), dh1 = g2 W2^T,
       dx = g1 W1^T (R x H)@(H x o+a)
     - actor backward:                          dW3 = h2^T g (H x R)@(R x 2a), dh2 = g W3^T
                                                (R x 2a)@(2a x H), dW2, dh1, dW1 = s^T g1
                                                (o x R)@(R x H); no gradient w.r.t. s
   Per agent:
     - sac:   Q = 1, R = B.
     - dsac:  Q = N = --num-quantiles (default 25, as the dsac-*-pendulum configs): each critic's
              last layer outputs the N quantiles (TwinCritics::new(..., outputs = N)), in the
              critic step (targets and online) and in the actor update. R = B. The quantile
              Huber loss (B x N x N element-wise) and the rank-weighted value of the N atoms
              (sort and weighted sum) are no GEMMs.
     - remac: Q = 1. R = B x S, S = --num-action-samples (default 8, as remac-pendulum.toml):
              remac::actor_loss repeats each state S times and runs the actor, both critics and
              their backward on all B S rows. The critic step is SAC's (loss scale 0.5, target
              without the entropy term by default: no GEMM changes). No alpha update.
   Floor per env step = critic step + (actor updates per env step) x actor update (default 1.0:
   policy_frequency updates every policy_frequency-th step). Left out on purpose (so this stays a
   lower bound): the critic weight gradients that PyTorch's actor_loss.backward() also computes
   (SB3 and CleanRL do not detach the critics), the extra no-grad actor forward of the alpha
   loss (SAC, DSAC), and every non-GEMM operation.
   Rows: Pendulum sizes (o = 3, a = 1) and HalfCheetah sizes (o = 17, a = 6). ordergrad's ms per
   step includes env, replay and everything else, so its ratio to the floor is an upper bound on
   how far its update is from the GEMM floor.

The report also names the CPU (model and its AVX/AVX-512/AMX flags), the versions, the load
average before and after, and the commit.

How to run
----------
From the repository root, after `cargo build --release`:

    scripts/peers/bench_sac_vs_sb3.sh                      # sets up /tmp/sb3venv and /tmp/sbxvenv
    scripts/peers/bench_sac_vs_sb3.sh --repeats 3 --out runs/bench_sac_vs_sb3.md
    scripts/peers/bench_sac_vs_sb3.sh --programs sb3,sbx,floor        # without ordergrad
    scripts/peers/bench_sac_vs_sb3.sh --agent remac --repeats 3        # ordergrad's ReMAC vs its floor
    scripts/peers/bench_sac_vs_sb3.sh --binary target/release/ordergrad \\
        --baseline-binary ../before/target/release/ordergrad --repeats 5   # before/after

or with an existing environment that has stable-baselines3, gymnasium, torch and numpy (and an
SBX venv for sbx):

    /tmp/sb3venv/bin/python scripts/peers/bench_sac_vs_sb3.py --programs all

--programs all (the default) means ordergrad, ordergrad-baseline (when --baseline-binary is
given), sb3 and sbx (--agent sac only: they have no DSAC or ReMAC) and floor. The table goes to
stdout and to --out (default runs/bench_sac_vs_sb3.md, or runs/bench_AGENT_vs_floor.md for the
other agents). Exit code 2 when a requested program cannot run (a binary not built, a venv
missing), before anything is timed. Run it on an otherwise idle machine: the load average before
and after is printed with the table.
"""

import argparse
import os
import pathlib
import statistics
import sys
import time
import tomllib

from bench_common import (DEFAULT_BINARY, DEFAULT_SBX_VENV, REPO_ROOT, SetupError,
                          busy_warning_lines, check_ordergrad, check_sbx, cpu_description,
                          display_path, format_load, format_ratios, git_commit,
                          limit_blas_threads, make_sbx_timer, ordergrad_environment, round_ratios,
                          round_sps, run_rounds, sps_from_walls, time_ordergrad, timestamp,
                          versions, warn_if_busy)

PROGRAMS = ("ordergrad", "ordergrad-baseline", "sb3", "sbx", "floor")
# The programs ordergrad is compared with, per round, in this order.
REFERENCES = ("ordergrad-baseline", "sb3", "sbx")
PROGRAM_LABELS = {"ordergrad": "ordergrad{agent} (Burn, release)",
                  "ordergrad-baseline": "ordergrad-baseline{agent} (--baseline-binary)",
                  "sb3": "SB3 SAC (PyTorch, CPU)",
                  "sbx": "SBX SAC (JAX, jit, CPU)"}
AGENTS = ("sac", "dsac", "remac")
DEFAULT_CONFIGS = {"sac": REPO_ROOT / "configs" / "sac-pendulum.toml",
                   "dsac": REPO_ROOT / "configs" / "dsac-cvar-risky-pendulum.toml",
                   "remac": REPO_ROOT / "configs" / "remac-pendulum.toml"}
HIDDEN = 256
BATCH = 256
FLOOR_SIZES = (("Pendulum-v1", 3, 1), ("HalfCheetah sizes", 17, 6))
FLOOR_BLOCKS = 5


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agent", choices=AGENTS, default="sac",
                        help="ordergrad's agent and the floor's GEMM list (default sac); SB3 and "
                             "SBX take part with sac only")
    parser.add_argument("--programs", default="all",
                        help=f"comma-separated subset of {','.join(PROGRAMS)}, or 'all' "
                             "(default: every one that applies)")
    parser.add_argument("--learning-starts", type=int, default=1000, help="L (default 1000)")
    parser.add_argument("--update-steps", type=int, nargs=2, default=(1000, 3000),
                        metavar=("D1", "D2"),
                        help="T1 = L + D1 and T2 = L + D2 (default 1000 3000)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds, each running every program once per total; the fastest "
                             "wall time of each is used (default 1)")
    parser.add_argument("--seed", type=int, default=1, help="seed of every run (default 1)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch.set_num_threads, OPENBLAS/OMP threads for numpy, JAX's "
                             "threads, and RAYON_NUM_THREADS for ordergrad unless set (default 2)")
    parser.add_argument("--binary", type=pathlib.Path, default=DEFAULT_BINARY,
                        help="ordergrad binary (default target/release/ordergrad)")
    parser.add_argument("--baseline-binary", type=pathlib.Path,
                        help="a second ordergrad binary, timed as ordergrad-baseline in the same "
                             "rounds (before/after a change)")
    parser.add_argument("--config", type=pathlib.Path,
                        help="ordergrad config (default: " + ", ".join(
                            f"{agent}: {display_path(path)}"
                            for agent, path in DEFAULT_CONFIGS.items()) + ")")
    parser.add_argument("--ordergrad-set", action="append", default=[], metavar="KEY=VALUE",
                        help="extra --set for ordergrad train, both binaries (repeatable)")
    parser.add_argument("--num-quantiles", type=int, default=25,
                        help="dsac: quantiles N per critic, forced in ordergrad and used by the "
                             "floor (default 25)")
    parser.add_argument("--num-action-samples", type=int, default=8,
                        help="remac: action samples S per state, forced in ordergrad and used by "
                             "the floor (default 8)")
    parser.add_argument("--sb3-learning-rate", type=float, default=3e-4,
                        help="SB3's and SBX's one lr for actor, critic and alpha; it does not "
                             "affect speed")
    parser.add_argument("--sbx-venv", type=pathlib.Path,
                        default=pathlib.Path(os.environ.get("SBX_VENV", DEFAULT_SBX_VENV)),
                        help="venv with sbx-rl (default $SBX_VENV or /tmp/sbxvenv; "
                             "scripts/peers/sbx_venv.sh sets it up)")
    parser.add_argument("--actor-updates-per-step", type=float, default=1.0,
                        help="actor updates per env step in the floor: 1.0 = CleanRL/SB3 "
                             "(default), 0.5 = one actor update every 2nd step")
    parser.add_argument("--floor-iterations", type=int, default=200,
                        help="timed iterations of each GEMM list (default 200)")
    parser.add_argument("--out", type=pathlib.Path,
                        help="also write the report here (default runs/bench_sac_vs_sb3.md, "
                             "runs/bench_dsac_vs_floor.md, runs/bench_remac_vs_floor.md)")
    args = parser.parse_args(argv)
    args.programs = parse_programs(parser, args)
    d1, d2 = args.update_steps
    if not 0 < d1 < d2:
        parser.error(f"--update-steps needs 0 < D1 < D2, got {d1} {d2}")
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be >= 1")
    if args.num_quantiles < 2 or args.num_action_samples < 1:
        parser.error("--num-quantiles must be >= 2 and --num-action-samples >= 1")
    args.config = (args.config or DEFAULT_CONFIGS[args.agent]).resolve()
    args.binary = args.binary.resolve()
    if args.baseline_binary:
        args.baseline_binary = args.baseline_binary.resolve()
    if args.out is None:
        name = "bench_sac_vs_sb3.md" if args.agent == "sac" else f"bench_{args.agent}_vs_floor.md"
        args.out = REPO_ROOT / "runs" / name
    return args


def parse_programs(parser, args):
    """'all' = every program that applies to --agent and the given binaries."""
    if args.programs == "all":
        return [p for p in PROGRAMS
                if (p != "ordergrad-baseline" or args.baseline_binary)
                and (p not in ("sb3", "sbx") or args.agent == "sac")]
    programs = [p.strip() for p in args.programs.split(",") if p.strip()]
    unknown = [p for p in programs if p not in PROGRAMS]
    if unknown or not programs:
        parser.error(f"--programs: unknown {unknown}; choose from {','.join(PROGRAMS)} or all")
    if "ordergrad-baseline" in programs and not args.baseline_binary:
        parser.error("--programs ordergrad-baseline needs --baseline-binary PATH")
    if args.agent != "sac" and {"sb3", "sbx"} & set(programs):
        parser.error(f"--agent {args.agent}: SB3 and SBX have no {args.agent.upper()}; "
                     "leave sb3 and sbx out of --programs")
    return programs


# --------------------------------------------------------------------------------------------
# Preflight: fail before timing anything


def check_python_modules(programs):
    needed = {"sb3": ["stable_baselines3", "gymnasium", "torch", "numpy"], "floor": ["numpy"]}
    import importlib.util
    missing = sorted({m for p in programs for m in needed.get(p, [])
                      if importlib.util.find_spec(m) is None})
    if missing:
        raise SetupError(f"missing Python modules {missing} in {sys.executable}: "
                         "run scripts/peers/bench_sac_vs_sb3.sh, which sets up a venv")


def preflight(args):
    """Checks every requested program; returns the SBX stack's versions (empty without sbx)."""
    check_python_modules(args.programs)
    if "ordergrad" in args.programs:
        check_ordergrad(args.binary, args.config)
    if "ordergrad-baseline" in args.programs:
        check_ordergrad(args.baseline_binary, args.config, option="--baseline-binary")
    if "sbx" in args.programs:
        return check_sbx(args.sbx_venv, args.threads)
    return {}


# --------------------------------------------------------------------------------------------
# The programs


def ordergrad_sets(args):
    """--set's that make ordergrad's agent train at the floor's sizes, whatever the config."""
    agent = args.agent
    sets = [f"{agent}.learning_starts={args.learning_starts}", f"{agent}.hidden_size={HIDDEN}",
            f"{agent}.batch_size={BATCH}"]
    if agent == "dsac":
        sets.append(f"dsac.num_quantiles={args.num_quantiles}")
    if agent == "remac":
        sets.append(f"remac.num_action_samples={args.num_action_samples}")
    return sets + args.ordergrad_set


def config_env(config):
    try:
        return tomllib.loads(config.read_text()).get("env", "?")
    except (OSError, tomllib.TOMLDecodeError):
        return "?"


def make_ordergrad_timer(binary, args):
    env = ordergrad_environment(args.threads)
    sets = ordergrad_sets(args)
    return lambda totals: [time_ordergrad(binary, args.config, args.seed, sets, env, total)
                           for total in totals]


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
    return lambda totals: [time_sb3(total) for total in totals]


def make_timers(args):
    timers = {}
    if "ordergrad" in args.programs:
        timers["ordergrad"] = make_ordergrad_timer(args.binary, args)
    if "ordergrad-baseline" in args.programs:
        timers["ordergrad-baseline"] = make_ordergrad_timer(args.baseline_binary, args)
    if "sb3" in args.programs:
        timers["sb3"] = make_sb3_timer(args.seed, args.learning_starts, args.sb3_learning_rate)
    if "sbx" in args.programs:
        timers["sbx"] = make_sbx_timer(
            args.sbx_venv, "sac", args.threads, args.seed,
            {"learning_starts": args.learning_starts, "learning_rate": args.sb3_learning_rate})
    return timers


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


def off_policy_gemms(obs_dim, act_dim, critic_outputs=1, actor_rows=BATCH, batch=BATCH,
                     hidden=HIDDEN):
    """(critic step GEMMs, actor update GEMMs) as (lhs shape, rhs shape) lists, for critics of
    `critic_outputs` values (Q in the module doc) and an actor update on `actor_rows` rows (R)."""
    critic = [obs_dim + act_dim, hidden, hidden, critic_outputs]
    actor = [obs_dim, hidden, hidden, 2 * act_dim]
    critic_step = (mlp_forward(batch, actor)                                   # a' ~ pi(s')
                   + 2 * mlp_forward(batch, critic)                            # target critics
                   + 2 * mlp_forward(batch, critic)                            # online critics
                   + 2 * mlp_backward(batch, critic, weight_grads=True, input_grad=False))
    actor_update = (mlp_forward(actor_rows, actor)                             # pi(s)
                    + 2 * mlp_forward(actor_rows, critic)                      # Q(s, pi(s))
                    + 2 * mlp_backward(actor_rows, critic, weight_grads=False, input_grad=True)
                    + mlp_backward(actor_rows, actor, weight_grads=True, input_grad=False))
    return critic_step, actor_update


def agent_gemms(args, obs_dim, act_dim):
    """The GEMM lists of --agent (see "Per agent" in the module doc)."""
    if args.agent == "dsac":
        return off_policy_gemms(obs_dim, act_dim, critic_outputs=args.num_quantiles)
    if args.agent == "remac":
        return off_policy_gemms(obs_dim, act_dim, actor_rows=BATCH * args.num_action_samples)
    return off_policy_gemms(obs_dim, act_dim)


def agent_floor_sizes(args):
    """Q and R of --agent, for the report."""
    outputs = args.num_quantiles if args.agent == "dsac" else 1
    rows = BATCH * args.num_action_samples if args.agent == "remac" else BATCH
    return f"critic outputs Q = {outputs}, actor-update rows R = {rows}"


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


def measure_floor(args, obs_dim, act_dim):
    import numpy as np

    rng = np.random.default_rng(args.seed)
    critic_step, actor_update = agent_gemms(args, obs_dim, act_dim)
    critic_ms = time_gemms(critic_step, args.floor_iterations, rng)
    actor_ms = time_gemms(actor_update, args.floor_iterations, rng)
    step_ms = critic_ms + args.actor_updates_per_step * actor_ms
    flops = gemm_flops(critic_step) + args.actor_updates_per_step * gemm_flops(actor_update)
    return {"critic_ms": critic_ms, "actor_ms": actor_ms, "ms_per_step": step_ms,
            "sps": 1000.0 / step_ms, "gflops": flops / step_ms / 1e6,
            "n_critic": len(critic_step), "n_actor": len(actor_update)}


# --------------------------------------------------------------------------------------------
# Environment description and report


def table_references(results):
    return [name for name in REFERENCES if name in results]


def format_table(results, floors, args):
    references = table_references(results)
    pendulum_floor = floors.get("Pendulum-v1")
    ordergrad_env = config_env(args.config)
    schedule = f"{args.actor_updates_per_step:g} actor update(s) per env step"
    header = (["program", "sizes (obs/act)", "SPS (update phase)", "ms per step"]
              + [f"x {name} speed" for name in references] + ["ms per step / floor ms"])
    rows = ["| " + " | ".join(header) + " |",
            "|---|---|" + "---:|" * (len(header) - 2)]

    def speed_ratios(sps, is_pendulum):
        return [f"{sps / results[name]['sps']:.2f}" if is_pendulum else "-"
                for name in references]

    for name, label in PROGRAM_LABELS.items():
        if name not in results:
            continue
        r = results[name]
        env = ordergrad_env if name.startswith("ordergrad") else "Pendulum-v1"
        vs_floor = (f"{r['ms_per_step'] / pendulum_floor['ms_per_step']:.1f}"
                    if name.startswith("ordergrad") and pendulum_floor else "-")
        agent = f" {args.agent.upper()}" if args.agent != "sac" else ""
        cells = ([label.format(agent=agent), f"{env} (3/1)", f"{r['sps']:.1f}", f"{r['ms_per_step']:.2f}"]
                 + speed_ratios(r["sps"], True) + [vs_floor])
        rows.append("| " + " | ".join(cells) + " |")
    for (label, obs_dim, act_dim) in FLOOR_SIZES:
        if label not in floors:
            continue
        f = floors[label]
        cells = ([f"numpy GEMM floor, {args.agent.upper()} ({schedule})",
                  f"{label} ({obs_dim}/{act_dim})", f"{f['sps']:.1f}", f"{f['ms_per_step']:.2f}"]
                 + speed_ratios(f["sps"], label == "Pendulum-v1") + ["-"])
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def format_round_ratios(results):
    lines = []
    ordergrad = results.get("ordergrad", {})
    for name in REFERENCES:
        ratios = ordergrad.get("round_ratios", {}).get(name)
        if ratios:
            lines.append(f"- ordergrad SPS / {name} SPS within each round (> 1: ordergrad "
                         f"faster): {format_ratios(ratios)}")
    for name in ("ordergrad", "ordergrad-baseline"):
        floor_ratios = results.get(name, {}).get("round_floor_ratios")
        if floor_ratios:
            lines.append(f"- {name} ms per step / Pendulum-v1 floor ms within each round: "
                         f"{format_ratios(floor_ratios)}")
    return lines


def format_program_notes(results, args):
    lines = []
    if "sb3" in results:
        lines.append(f"- SB3: SAC('MlpPolicy', 'Pendulum-v1', net_arch=[256, 256], batch_size=256, "
                     f"buffer_size=1e6, train_freq=1, gradient_steps=1, target_update_interval=1, "
                     f"ent_coef='auto', learning_rate={args.sb3_learning_rate:g}, device='cpu'); "
                     "actor and alpha updated every step, which matches CleanRL's "
                     "policy_frequency=2 with its 2 actor updates every 2nd step.")
    if "sbx" in results:
        lines.append(f"- SBX: sbx.SAC('MlpPolicy', 'Pendulum-v1', net_arch=[256, 256], "
                     f"activation_fn=relu, batch_size=256, buffer_size=1e6, train_freq=1, "
                     f"gradient_steps=1, policy_delay=1, ent_coef='auto', learning_rate="
                     f"{args.sb3_learning_rate:g}), JAX on the CPU, in {args.sbx_venv} "
                     "(scripts/peers/bench_sbx_worker.py: one process per round, jit compilation in "
                     "an untimed warm-up learn()).")
    sets = " ".join(f"--set {s}" for s in ordergrad_sets(args))
    for name, binary in (("ordergrad", args.binary),
                         ("ordergrad-baseline", args.baseline_binary)):
        if name in results:
            lines.append(f"- {name}: `{display_path(binary)} train --config "
                         f"{display_path(args.config)} {sets}`, RAYON_NUM_THREADS = "
                         f"{ordergrad_environment(args.threads)['RAYON_NUM_THREADS']}")
    return lines


def format_floor_notes(floors, args):
    return [f"- floor {label} ({args.agent}: {agent_floor_sizes(args)}): critic step "
            f"{f['n_critic']} GEMMs {f['critic_ms']:.3f} ms, actor update {f['n_actor']} GEMMs "
            f"{f['actor_ms']:.3f} ms, per env step {f['ms_per_step']:.3f} ms "
            f"({f['gflops']:.1f} GFLOP/s), float32, batch {BATCH}, hidden {HIDDEN}, smallest "
            f"median of {FLOOR_BLOCKS} blocks of {max(1, args.floor_iterations // FLOOR_BLOCKS)} "
            "iterations, fastest round"
            for label, f in floors.items()]


def report_title(args):
    if args.agent == "sac":
        return "# SAC update-phase speed: ordergrad vs Stable-Baselines3 and SBX"
    return f"# {args.agent.upper()} update-phase speed: ordergrad vs its GEMM floor"


def format_report(results, floors, args, env_lines, load_before, load_after):
    lines = [report_title(args), "", format_table(results, floors, args), ""]
    d1, d2 = args.update_steps
    lines.append(f"- SPS (update phase) = (T2 - T1) / (wall(T2) - wall(T1)), L = "
                 f"{args.learning_starts}, T1 = {args.learning_starts + d1}, T2 = "
                 f"{args.learning_starts + d2}, fastest of {args.repeats} interleaved round(s), "
                 f"seed {args.seed}. A program's ms per step is a whole training step: env, replay "
                 "buffer, update, logging (ordergrad: wall clock of the process).")
    for name, r in results.items():
        walls = ", ".join(f"wall({t}) = {w:.2f} s" for t, w in r["walls"].items())
        lines.append(f"- {name}: {walls}")
    lines += format_round_ratios(results)
    lines += format_program_notes(results, args)
    lines += format_floor_notes(floors, args)
    lines += busy_warning_lines(load_before, "the BLAS floor suffers most: its threads "
                                             "spin while waiting for each other")
    lines += ["", f"Machine: {cpu_description()}.", "",
              f"Versions: {'; '.join(env_lines)}; threads: torch/BLAS/JAX/rayon {args.threads}. "
              f"Load average (1, 5, 15 min) before {format_load(load_before)}, "
              f"after {format_load(load_after)}. Commit {git_commit()}, {timestamp()}."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------


def measure(args):
    """--repeats interleaved rounds of every program (bench_common.run_rounds) and the floor;
    each program keeps its fastest walls, the floor its fastest round."""
    timers = make_timers(args)
    totals = [args.learning_starts + d for d in args.update_steps]
    floor_rounds = {label: [] for label, _, _ in FLOOR_SIZES} if "floor" in args.programs else {}

    def time_floors(_round_index):
        for label, obs_dim, act_dim in FLOOR_SIZES:
            if label in floor_rounds:
                floor_rounds[label].append(measure_floor(args, obs_dim, act_dim))
                print(f"    floor {label}: {floor_rounds[label][-1]['ms_per_step']:.3f} ms",
                      flush=True)

    walls = run_rounds(timers, totals, args.repeats, after_each_round=time_floors)
    results = {name: sps_from_walls(by_total) for name, by_total in walls.items()}
    if "ordergrad" in results:
        results["ordergrad"]["round_ratios"] = {
            name: round_ratios(walls, "ordergrad", name, args.repeats)
            for name in REFERENCES if name in results}
    for name in ("ordergrad", "ordergrad-baseline"):
        if name in results and "Pendulum-v1" in floor_rounds:
            results[name]["round_floor_ratios"] = [
                1000.0 / round_sps(walls[name], index)
                / floor_rounds["Pendulum-v1"][index]["ms_per_step"]
                for index in range(args.repeats)]
    floors = {label: min(rounds, key=lambda f: f["ms_per_step"])
              for label, rounds in floor_rounds.items()}
    return results, floors


def main(argv=None):
    args = parse_args(argv)
    limit_blas_threads(args.threads)
    try:
        sbx_versions = preflight(args)
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if "sb3" in args.programs:
        import torch
        torch.set_num_threads(args.threads)
    env_lines = versions(args.programs, sbx_versions, numpy_for=("sb3", "floor"))
    print(cpu_description())
    print("\n".join(env_lines), flush=True)
    load_before = os.getloadavg()
    warn_if_busy(load_before)
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
