#!/usr/bin/env bash
# Sets up a scratch venv with the pinned SB3 stack, then runs scripts/bench_ppo_vs_sb3.py with it.
# Arguments are passed through, e.g.:
#
#   cargo build --release                    # the ordergrad part times target/release/ordergrad
#   scripts/bench_ppo_vs_sb3.sh --repeats 3
#
# The venv lives in $SB3_VENV (default /tmp/sb3venv): see sb3_venv.sh.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/sb3_venv.sh"

cd "$REPO_ROOT"
exec "$VENV/bin/python" scripts/bench_ppo_vs_sb3.py "$@"
