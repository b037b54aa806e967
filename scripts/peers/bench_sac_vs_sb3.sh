#!/usr/bin/env bash
# Sets up the scratch venvs with the pinned SB3 and SBX stacks, then runs
# scripts/peers/bench_sac_vs_sb3.py with the SB3 one (SBX runs in its own, through
# scripts/peers/bench_sbx_worker.py). Arguments are passed through, e.g.:
#
#   cargo build --release                    # the ordergrad part times target/release/ordergrad
#   scripts/peers/bench_sac_vs_sb3.sh              # ordergrad, SB3, SBX and the numpy floor
#   scripts/peers/bench_sac_vs_sb3.sh --programs sb3,sbx,floor --repeats 3
#   scripts/peers/bench_sac_vs_sb3.sh --agent remac --repeats 3          # ReMAC vs its floor
#   scripts/peers/bench_sac_vs_sb3.sh --baseline-binary OTHER/ordergrad   # before/after a change
#
# The venvs live in $SB3_VENV (default /tmp/sb3venv, see sb3_venv.sh) and $SBX_VENV (default
# /tmp/sbxvenv, see sbx_venv.sh).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/sb3_venv.sh"
source "$(dirname "${BASH_SOURCE[0]}")/sbx_venv.sh"

cd "$REPO_ROOT"
exec "$VENV/bin/python" scripts/peers/bench_sac_vs_sb3.py "$@"
