#!/usr/bin/env bash
# Sets up a scratch venv with the pinned SB3 stack, then runs scripts/bench_sac_vs_sb3.py with it.
# Arguments are passed through, e.g.:
#
#   cargo build --release                    # the ordergrad part times target/release/ordergrad
#   scripts/bench_sac_vs_sb3.sh              # ordergrad, SB3 and the numpy floor
#   scripts/bench_sac_vs_sb3.sh --programs sb3,floor --repeats 3
#
# The venv lives in $SB3_VENV (default /tmp/sb3venv, outside the repository). The default torch
# wheel from PyPI pulls CUDA libraries (about 5 GB installed); the benchmark uses the CPU only.
set -euo pipefail

VENV="${SB3_VENV:-/tmp/sb3venv}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PINS=(
  "stable-baselines3==2.9.2"
  "gymnasium==1.4.0"
  "torch==2.15.0"
  "numpy==2.4.6"
)

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "creating venv $VENV" >&2
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"; then
  echo "error: could not install ${PINS[*]} into $VENV" >&2
  exit 2
fi

cd "$REPO_ROOT"
exec "$VENV/bin/python" scripts/bench_sac_vs_sb3.py "$@"
