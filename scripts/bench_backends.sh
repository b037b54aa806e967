#!/usr/bin/env bash
# Training speed of SAC and PPO on each backend, at CleanRL's sizes and at larger batches / more
# envs, to find where a GPU starts to pay off. Prints a markdown table (and writes it to --out).
#
#   cargo build --release --features agents/cuda,agents/wgpu
#   scripts/bench_backends.sh --devices cpu,cuda            # all cases
#   scripts/bench_backends.sh --devices cpu,wgpu --cases sac-256,ppo-cleanrl --out bench.md
#
# Method: each case trains twice on Pendulum-v1 with the same seed, for T1 and T2 steps, and
# SPS = (T2 - T1) / (wall(T2) - wall(T1)): start-up, the first kernel compilations and (SAC)
# the random-action warm-up cancel out. For SAC every step in [T1, T2] does one gradient update
# (train_freq 1), so 1000 / SPS is the update's ms plus one env step. For PPO the steps cover
# whole rollouts and their updates. --repeats N keeps the fastest of N walls for each length.
#
# Options: --devices LIST (default cpu), --cases LIST (default all; see CASES below),
# --repeats N (default 1), --out FILE, ORDERGRAD=path of the binary (default
# target/release/ordergrad). Exit status 2 for bad arguments, 1 when a run fails.
set -euo pipefail
cd "$(dirname "$0")/.."

ORDERGRAD=${ORDERGRAD:-target/release/ordergrad}
devices=cpu
cases=all
repeats=1
out=

# name | config | T1 | T2 | --set overrides (space-separated)
CASES=(
    "sac-256|configs/sac-pendulum.toml|600|1600|sac.learning_starts=500 sac.batch_size=256 sac.hidden_size=256"
    "sac-1024|configs/sac-pendulum.toml|600|1600|sac.learning_starts=500 sac.batch_size=1024 sac.hidden_size=256"
    "sac-4096|configs/sac-pendulum.toml|600|1100|sac.learning_starts=500 sac.batch_size=4096 sac.hidden_size=256"
    "sac-4096-h1024|configs/sac-pendulum.toml|600|1100|sac.learning_starts=500 sac.batch_size=4096 sac.hidden_size=1024"
    "ppo-cleanrl|configs/ppo-pendulum.toml|4096|8192|ppo.num_envs=1 ppo.num_steps=2048 ppo.num_minibatches=32 ppo.update_epochs=10 ppo.hidden_size=64 ppo.use_sde=false ppo.shared_normalization=false ppo.anneal_lr=true ppo.clip_vloss=true ppo.normalize_observation=true ppo.normalize_reward=true"
    "ppo-64envs|configs/ppo-pendulum.toml|8192|16384|ppo.num_envs=64 ppo.num_steps=64 ppo.num_minibatches=4 ppo.update_epochs=10 ppo.hidden_size=64 ppo.use_sde=false ppo.shared_normalization=false ppo.anneal_lr=true ppo.clip_vloss=true ppo.normalize_observation=true ppo.normalize_reward=true"
    "ppo-256envs-h256|configs/ppo-pendulum.toml|32768|65536|ppo.num_envs=256 ppo.num_steps=64 ppo.num_minibatches=4 ppo.update_epochs=10 ppo.hidden_size=256 ppo.use_sde=false ppo.shared_normalization=false ppo.anneal_lr=true ppo.clip_vloss=true ppo.normalize_observation=true ppo.normalize_reward=true"
)

usage() {
    echo "usage: scripts/bench_backends.sh [--devices cpu,cuda,wgpu] [--cases NAME,...|all]" \
        "[--repeats N] [--out FILE]" >&2
    echo "cases: $(printf '%s\n' "${CASES[@]}" | cut -d'|' -f1 | paste -sd, -)" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --devices) devices=${2:?}; shift 2 ;;
        --cases) cases=${2:?}; shift 2 ;;
        --repeats) repeats=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        -h|--help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
case "$repeats" in ''|*[!0-9]*|0) echo "--repeats must be a positive integer, got '$repeats'" >&2; exit 2 ;; esac
if [ ! -x "$ORDERGRAD" ]; then
    echo "no ordergrad binary at $ORDERGRAD: run cargo build --release (with the GPU features" \
        "the devices need) or set ORDERGRAD" >&2
    exit 2
fi

selected=()
for case_line in "${CASES[@]}"; do
    name=${case_line%%|*}
    if [ "$cases" = all ] || [[ ",$cases," == *",$name,"* ]]; then
        selected+=("$case_line")
    fi
done
if [ ${#selected[@]} -eq 0 ]; then
    echo "--cases '$cases' matches no case" >&2
    usage
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bench_backends.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# Wall seconds of one training run.
time_run() {
    local device=$1 config=$2 total=$3 sets=$4
    local args=(train --config "$config" --device "$device" --seed 1 --total-steps "$total"
        --run-dir "$scratch/run")
    local item
    for item in $sets; do args+=(--set "$item"); done
    rm -rf "$scratch/run"
    local start end
    start=$(date +%s.%N)
    if ! "$ORDERGRAD" "${args[@]}" > "$scratch/train.log" 2>&1 < /dev/null; then
        echo "failed: $ORDERGRAD ${args[*]}" >&2
        tail -n 20 "$scratch/train.log" >&2
        return 1
    fi
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

# Fastest of --repeats walls.
best_wall() {
    local best= wall _
    for _ in $(seq "$repeats"); do
        wall=$(time_run "$@")
        best=$(awk -v a="${best:-$wall}" -v b="$wall" 'BEGIN { print (b < a) ? b : a }')
    done
    echo "$best"
}

for device in ${devices//,/ }; do
    # Fail early, with the CLI's own message, for a device this binary or machine lacks.
    if ! "$ORDERGRAD" train --device "$device" --total-steps 1 --run-dir "$scratch/probe" \
        > "$scratch/probe.log" 2>&1 < /dev/null; then
        cat "$scratch/probe.log" >&2
        exit 2
    fi
done
rm -rf "$scratch/probe"

table="| case | device | T1 / T2 steps | wall T1 (s) | wall T2 (s) | SPS | ms per step |
|---|---|---|---|---|---|---|"
for case_line in "${selected[@]}"; do
    IFS='|' read -r name config t1 t2 sets <<< "$case_line"
    for device in ${devices//,/ }; do
        echo "== $name on $device: $t1 and $t2 steps ($sets)" >&2
        wall1=$(best_wall "$device" "$config" "$t1" "$sets")
        wall2=$(best_wall "$device" "$config" "$t2" "$sets")
        row=$(awk -v n="$name" -v d="$device" -v t1="$t1" -v t2="$t2" -v w1="$wall1" -v w2="$wall2" \
            'BEGIN {
                if (w2 <= w1) { printf "| %s | %s | %d / %d | %.2f | %.2f | noisy | - |", n, d, t1, t2, w1, w2; exit }
                sps = (t2 - t1) / (w2 - w1)
                printf "| %s | %s | %d / %d | %.2f | %.2f | %.0f | %.2f |", n, d, t1, t2, w1, w2, sps, 1000 / sps
            }')
        echo "$row" >&2
        table+=$'\n'"$row"
    done
done

header="Backends benchmark, $(date -u +%Y-%m-%d), $(uname -m), $(nproc) CPU threads"
if command -v nvidia-smi > /dev/null; then
    header+=", $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n 1)"
fi
report="$header"$'\n\n'"$table"
echo "$report"
if [ -n "$out" ]; then
    echo "$report" > "$out"
fi
