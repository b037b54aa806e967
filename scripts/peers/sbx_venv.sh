# Sourced by the bench_*_vs_sb3.sh scripts: makes sure the scratch venv $SBX_VENV (default
# /tmp/sbxvenv, outside the repository) has the pinned SBX (Stable-Baselines-JAX) stack, and
# exports SBX_VENV for the benchmarks (their --sbx-venv default). A venv of its own because JAX
# and torch pin different stacks; the benchmarks run SBX through scripts/peers/bench_sbx_worker.py
# with this venv's python. sbx-rl depends on stable-baselines3, so this venv also gets torch
# (with CUDA libraries, as sb3_venv.sh's); JAX's wheel from PyPI is CPU-only, which the
# benchmarks use anyway (JAX_PLATFORMS=cpu). Not pinned: sbx-rl's other dependencies (e.g.
# tfp-nightly), whatever pip picks for the pins below.
SBX_VENV="${SBX_VENV:-/tmp/sbxvenv}"
export SBX_VENV
SBX_PINS=(
  "sbx-rl==0.28.0"
  "jax==0.10.2"
  "jaxlib==0.10.2"
  "flax==0.12.8"
  "optax==0.2.8"
  "stable-baselines3==2.9.2"
  "gymnasium==1.4.0"
  "numpy==2.4.6"
)

if [[ ! -x "$SBX_VENV/bin/python" ]]; then
  echo "creating venv $SBX_VENV" >&2
  python3 -m venv "$SBX_VENV"
fi
if ! "$SBX_VENV/bin/pip" install --quiet --disable-pip-version-check "${SBX_PINS[@]}"; then
  echo "error: could not install ${SBX_PINS[*]} into $SBX_VENV" >&2
  exit 2
fi
