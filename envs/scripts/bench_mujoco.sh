#!/usr/bin/env bash
# Rust against Python Gymnasium 1.4.0, env steps per second, on this machine, side by side:
# HalfCheetah-v5 and Hopper-v5 on one env, then the Rust vector env on 1 and 2 threads.
# Arguments go to bench_mujoco.py, e.g.:
#
#   scripts/setup_mujoco.sh                      # once
#   envs/scripts/bench_mujoco.sh                 # the README's table
#   envs/scripts/bench_mujoco.sh --seconds 5 --repeats 5 --threads 1,2
#
# The venv lives in $MUJOCO_BENCH_VENV (default /tmp/mjvenv, outside the repository). Run it
# on a quiet machine (check `uptime`): both sides are timed on one core each.
set -euo pipefail

VENV="${MUJOCO_BENCH_VENV:-/tmp/mjvenv}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PINS=("gymnasium[mujoco]==1.4.0" "mujoco==3.17.0")

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "creating venv $VENV" >&2
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"; then
  echo "error: could not install ${PINS[*]} into $VENV" >&2
  exit 2
fi

cd "$REPO_ROOT"
cargo build --release --quiet -p envs --features mujoco --example bench_mujoco
# MuJoCo's Python bindings append warnings to MUJOCO_LOG.TXT in the working directory.
cd "$(mktemp -d)"
"$VENV/bin/python" "$REPO_ROOT/envs/scripts/bench_mujoco.py" \
  --rust-binary "${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/examples/bench_mujoco" "$@"
