#!/usr/bin/env bash
# The risk-averse experiment of docs/results-risk.md: mean-SAC against CVaR-SAC on a risky task,
# 5 seeds each at a fixed budget, deterministic eval episodes on the same start states (50 from
# random starts on the pendulum, 500 from the cheetah's fixed start).
#
#   scripts/risk_experiment.sh pendulum      # RiskyPendulum-v1, 30k steps: ~15 min on 2 cores
#   scripts/risk_experiment.sh halfcheetah   # RiskyHalfCheetah-v5, 300k steps (feature mujoco):
#                                            # hours per run on 2 cores, meant for a cluster
#
# Arms: sac (scalar critic), dsac objective=mean (quantile critic, risk-neutral), dsac
# objective=cvar:0.1 (quantile critic, risk-averse). Environment variables: SEEDS (default 1-5),
# JOBS (parallel runs, default: cores), OUT (default runs/risk-<task>), EXECUTOR (local or slurm;
# extra sweep flags such as --partition go in SWEEP_ARGS). Re-running resumes: finished runs are
# skipped. Prints the tables; writes the plots to docs/results/<task>/.
set -euo pipefail
cd "$(dirname "$0")/.."

task="${1:-pendulum}"
# fixed_start: a second evaluation of every run from one start state (100 episodes), where the
# returns spread only by the penalty draws: the risk the CVaR agent is asked to avoid.
case "$task" in
  pendulum) configs=(sac-risky-pendulum dsac-mean-risky-pendulum dsac-cvar-risky-pendulum); features=()
            fixed_start='{"state": [3.14159, 0.0]}'; episodes=50 ;;  # hanging down at rest
  halfcheetah) configs=(sac-risky-halfcheetah dsac-mean-risky-halfcheetah dsac-cvar-risky-halfcheetah)
               # Every episode starts at rest already: the sweep's evaluation is the fixed-start one.
               features=(--features agents/mujoco); fixed_start=''; episodes=500 ;;
  *) echo "usage: $0 pendulum|halfcheetah" >&2; exit 2 ;;
esac
out="${OUT:-runs/risk-$task}"
jobs="${JOBS:-$(nproc)}"

cargo build --release "${features[@]}"
config_args=()
for config in "${configs[@]}"; do config_args+=(--config "configs/$config.toml"); done
# shellcheck disable=SC2086
target/release/ordergrad sweep "${config_args[@]}" --seeds "${SEEDS:-1-5}" --episodes "$episodes" \
  --executor "${EXECUTOR:-local}" --jobs "$jobs" --out "$out" ${SWEEP_ARGS:-}
if [ -n "$fixed_start" ]; then
  for eval in "$out"/*/*/seed_*/eval.json; do
    run="$(dirname "$eval")"
    [ -f "$run/eval_fixed_start.json" ] && continue
    target/release/ordergrad eval --run "$run" --episodes 100 --init-state "$fixed_start" --json \
      > "$run/eval_fixed_start.json.tmp" && mv "$run/eval_fixed_start.json.tmp" "$run/eval_fixed_start.json"
  done
fi
target/release/ordergrad plot "$out" --out "docs/results/$task"
target/release/ordergrad report "$out"
if [ -n "$fixed_start" ]; then
  target/release/ordergrad report "$out" --no-plots --eval-file eval_fixed_start.json
fi
