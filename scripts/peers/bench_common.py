"""Helpers shared by the bench_*_vs_sb3.py speed benchmarks: the machine's description (CPU model
and ISA flags, load, commit), update-phase SPS by differencing two run lengths, interleaved
rounds, and the two programs that run outside the benchmark's own Python: ordergrad (a binary)
and SBX (Stable-Baselines-JAX, in a venv of its own, through scripts/peers/bench_sbx_worker.py).

Standard library only: the benchmarks import it before numpy, torch or anything else.
"""

import datetime
import json
import os
import pathlib
import platform
import subprocess
import tempfile
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
DEFAULT_BINARY = REPO_ROOT / "target" / "release" / "ordergrad"
SBX_WORKER = REPO_ROOT / "scripts" / "peers" / "bench_sbx_worker.py"
DEFAULT_SBX_VENV = pathlib.Path("/tmp/sbxvenv")

# The flags that decide which GEMM kernels BLAS, XLA, PyTorch and Burn can use, in the order a
# reader compares them: 256-bit SIMD, then AVX-512, then the matrix units.
ISA_FLAGS = ("avx", "avx2", "fma", "f16c", "avx_vnni",
             "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512_vnni",
             "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8",
             "neon", "asimd", "sve", "sve2")


class SetupError(Exception):
    """A requested program cannot run; the message says what to do."""


# --------------------------------------------------------------------------------------------
# The machine


def _cpuinfo_field(name):
    """First value of `name` in /proc/cpuinfo, or None (no such file: not Linux)."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        pass
    return None


def cpu_model():
    return _cpuinfo_field("model name") or platform.processor() or platform.machine() or "unknown"


def cpu_isa_flags():
    """The ISA_FLAGS this CPU has ('flags' on x86, 'Features' on ARM), in ISA_FLAGS order."""
    present = set((_cpuinfo_field("flags") or _cpuinfo_field("Features") or "").split())
    return [flag for flag in ISA_FLAGS if flag in present]


def cpu_description():
    flags = cpu_isa_flags()
    return (f"{cpu_model()}, {os.cpu_count()} logical CPUs, ISA flags: "
            f"{' '.join(flags) if flags else 'none of ' + ' '.join(ISA_FLAGS)}")


def git_commit():
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                            capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT,
                           capture_output=True, text=True).stdout.strip()
    return (result.stdout.strip() or "unknown") + (" (uncommitted changes)" if dirty else "")


def timestamp():
    return datetime.datetime.now().isoformat(timespec="seconds")


def format_load(load):
    return " ".join(f"{x:.2f}" for x in load)


def machine_is_busy(load):
    """The 1-minute load average exceeds half the cores: other processes share the CPU."""
    return load[0] > 0.5 * (os.cpu_count() or 1)


def warn_if_busy(load):
    import sys
    if machine_is_busy(load):
        print(f"warning: load average {format_load(load)} on {os.cpu_count()} cores: "
              "other processes will disturb the timings", file=sys.stderr, flush=True)


def busy_warning_lines(load_before, remark=""):
    """The report's warning when other processes shared the CPU; `remark` adds to it."""
    # Only the load before counts: the benchmark's own runs load all cores.
    if not machine_is_busy(load_before):
        return []
    return ["", "**Warning**: the 1-minute load average before the start exceeded half the "
            "cores; other processes shared the CPU and these timings are not trustworthy"
            + (f" ({remark})." if remark else ".")]


def display_path(path):
    path = pathlib.Path(path)
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def limit_blas_threads(threads):
    """Must run before numpy/torch are imported: BLAS pools read these once."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


# --------------------------------------------------------------------------------------------
# Update-phase SPS by differencing two run lengths, over interleaved rounds


def sps_from_walls(walls_by_total):
    """{T: [wall seconds per round]} for two totals -> SPS from the fastest wall of each.
    Start-up and everything before the update phase are in both walls and cancel."""
    walls = {total: min(times) for total, times in walls_by_total.items()}
    (t1, wall1), (t2, wall2) = sorted(walls.items())
    if wall2 <= wall1:
        raise RuntimeError(f"wall({t2}) <= wall({t1}) ({walls}); the machine is too noisy, "
                           "use --repeats or longer runs")
    sps = (t2 - t1) / (wall2 - wall1)
    return {"walls": walls, "sps": sps, "ms_per_step": 1000.0 / sps}


def round_sps(walls_by_total, index):
    """SPS of round `index` alone (nan when that round's longer run was not the slower one)."""
    (t1, walls1), (t2, walls2) = sorted(walls_by_total.items())
    delta = walls2[index] - walls1[index]
    return (t2 - t1) / delta if delta > 0 else float("nan")


def run_rounds(timers, totals, repeats, after_each_round=None):
    """`repeats` rounds; each runs every timer once on `totals` (a timer takes the list of totals
    and returns their walls in seconds), so that a slow stretch of the machine (on a shared host
    it comes and goes) falls on every program alike. Returns {name: {total: [wall per round]}}.
    `after_each_round(index)` runs at the end of each round (e.g. the GEMM floor)."""
    walls = {name: {total: [] for total in totals} for name in timers}
    for index in range(repeats):
        print(f"round {index + 1} of {repeats}:", flush=True)
        for name, timer in timers.items():
            for total, wall in zip(totals, timer(totals)):
                walls[name][total].append(wall)
                print(f"    {name} T = {total}: {wall:.2f} s", flush=True)
        if after_each_round:
            after_each_round(index)
    return walls


def round_ratios(walls, name, reference, repeats):
    """Per round: SPS of `name` / SPS of `reference`, both from that round's own walls."""
    return [round_sps(walls[name], index) / round_sps(walls[reference], index)
            for index in range(repeats)]


def format_ratios(ratios):
    return ", ".join(f"{ratio:.2f}" for ratio in ratios)


# --------------------------------------------------------------------------------------------
# ordergrad: a binary, timed as a subprocess (wall clock, process start to exit)


def ordergrad_environment(threads):
    """Burn's CPU backend runs on rayon: give it the thread count torch and numpy get."""
    env = dict(os.environ)
    env.setdefault("RAYON_NUM_THREADS", str(threads))
    return env


def check_ordergrad(binary, config, option="--binary"):
    """`option` is the command-line option that named `binary`, for the message."""
    if not binary.is_file():
        raise SetupError(f"ordergrad binary ({option}) not found at {binary}: build it with "
                         f"`cargo build --release`, pass another {option}, or leave it out of "
                         "--programs")
    if not os.access(binary, os.X_OK):
        raise SetupError(f"ordergrad binary ({option}) {binary} is not executable")
    if not config.is_file():
        raise SetupError(f"config not found: {config}")
    probe = subprocess.run([str(binary), "train", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        first_line = (probe.stderr or probe.stdout).strip().splitlines()[:1]
        raise SetupError(f"{binary} has no working `train` command ({' '.join(first_line)}); "
                         "rebuild it with `cargo build --release`, or leave it out of --programs")


def time_ordergrad(binary, config, seed, sets, env, total_steps):
    """Wall seconds of `ordergrad train` for `total_steps`, in a scratch run directory."""
    with tempfile.TemporaryDirectory(prefix="bench_ordergrad_") as tmp:
        run_dir = pathlib.Path(tmp) / "run"
        log_path = pathlib.Path(tmp) / "train.log"
        command = [str(binary), "train", "--config", str(config), "--seed", str(seed),
                   "--total-steps", str(total_steps), "--run-dir", str(run_dir)]
        for item in sets:
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


# --------------------------------------------------------------------------------------------
# SBX: JAX lives in a venv of its own (its numpy/jax pins clash with torch's stack), so each
# timing runs scripts/peers/bench_sbx_worker.py with that venv's python.


def sbx_python(venv):
    return pathlib.Path(venv) / "bin" / "python"


def sbx_environment(threads):
    """JAX on the CPU with `threads` threads (see bench_sbx_worker.py's doc for how)."""
    env = dict(os.environ)
    env["JAX_PLATFORMS"] = "cpu"
    env["SBX_THREADS"] = str(threads)
    if threads == 1:
        # XLA's CPU client otherwise runs Eigen's matmuls and its intra-op work on a pool as
        # large as the machine.
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + flags).strip()
    return env


def _run_sbx_worker(venv, worker_args, threads):
    python = sbx_python(venv)
    command = [str(python), str(SBX_WORKER)] + [str(a) for a in worker_args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT,
                            stdin=subprocess.DEVNULL, env=sbx_environment(threads))
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-20:])
        raise RuntimeError(f"`{' '.join(command)}` exited with {result.returncode}:\n{tail}")
    return json.loads(lines[-1])  # the worker's answer is its last stdout line


def check_sbx(venv, threads):
    """The SBX stack's versions ({package: version}); SetupError when the venv cannot run it."""
    if not sbx_python(venv).is_file():
        raise SetupError(f"no SBX venv at {venv} (no {sbx_python(venv)}): run "
                         "scripts/peers/sbx_venv.sh (or set SBX_VENV), or leave sbx out of --programs")
    try:
        return _run_sbx_worker(venv, ["--versions"], threads)["versions"]
    except (RuntimeError, ValueError, KeyError) as error:
        raise SetupError(f"the SBX venv {venv} cannot run bench_sbx_worker.py: {error}; "
                         "rerun scripts/peers/sbx_venv.sh") from error


def make_sbx_timer(venv, algo, threads, seed, options):
    """A timer (list of totals -> walls) running one worker process per call: the worker builds
    the model, warms up (jit compilation) untimed, then times learn(T) for each total."""
    def time_sbx(totals):
        args = ["--algo", algo, "--seed", seed, "--totals", *totals]
        for key, value in options.items():
            args += [f"--{key.replace('_', '-')}", value]
        walls = _run_sbx_worker(venv, args, threads)["walls"]
        return [walls[str(total)] for total in totals]
    return time_sbx


def versions(programs, sbx_versions, numpy_for=("sb3",)):
    """The Python stack of this process (numpy when one of `numpy_for` runs, torch, SB3 and
    gymnasium with sb3) and of the SBX venv, one line each."""
    lines = [f"python {platform.python_version()}"]
    if any(program in programs for program in numpy_for):
        import numpy
        lines.append(f"numpy {numpy.__version__}")
    if "sb3" in programs:
        import gymnasium
        import stable_baselines3
        import torch
        lines += [f"torch {torch.__version__} (get_num_threads() = {torch.get_num_threads()})",
                  f"stable-baselines3 {stable_baselines3.__version__}",
                  f"gymnasium {gymnasium.__version__}"]
    if sbx_versions:
        lines.append(f"SBX venv: {format_versions(sbx_versions)}")
    return lines


def format_versions(versions):
    return ", ".join(f"{name} {version}" for name, version in versions.items())
