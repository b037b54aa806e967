# Sourced by the bench_*_vs_sb3.sh scripts: makes sure the scratch venv $VENV (default
# /tmp/sb3venv, outside the repository) has the pinned Stable-Baselines3 stack, and sets
# REPO_ROOT. The default torch wheel from PyPI pulls CUDA libraries (about 5 GB installed); the
# benchmarks use the CPU only.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${SB3_VENV:-/tmp/sb3venv}"
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

