#!/usr/bin/env bash
# A sweep on a real Slurm: `ordergrad sweep --executor slurm` submits a job array to a one-node
# cluster started here on loopback, and `ordergrad report` must then show every run finished.
#
# What it does:
#   1. installs Debian's slurm-wlm and munge if they are missing (needs root; apt-get);
#   2. writes, under a fresh temp dir, a munge key and a one-node slurm.conf for this machine
#      (NodeName=localhost with the CPUs and memory `slurmd -C` reports, no cgroups:
#      proctrack/linuxproc, task/none, no accounting), on free ports of 127.0.0.1;
#   3. starts munged, slurmctld and slurmd with pid files in that dir;
#   4. submits a tiny sweep: SAC with 16-unit networks, 400 steps (two episodes), 2 seeds x 2 values of sac.tau;
#   5. waits for the array (at most SLURM_TEST_WAIT seconds, default 600), checks that every
#      array task COMPLETED, runs `ordergrad report` and checks it lists 4 finished runs;
#   6. always stops the daemons it started, by their pid files, and removes the temp dir
#      (kept with KEEP_SLURM_TEST=1).
#
# Exit status: 0 when the test passed, or when Slurm cannot run here (then it prints
# "SKIPPED: <why>"); 1 when Slurm ran and the sweep or its report was wrong; 2 when the
# ordergrad binary is missing. Usage, from the repository root after `cargo build --release`:
#     bash scripts/slurm_test.sh            # ORDERGRAD=path/to/ordergrad to test another binary
set -euo pipefail
cd "$(dirname "$0")/.."

BINARY=$(realpath -m "${ORDERGRAD:-target/release/ordergrad}")
WAIT_SECONDS=${SLURM_TEST_WAIT:-600}

say() { printf 'slurm test: %s\n' "$*"; }
skip() {
    printf 'SKIPPED: %s\n' "$*"
    exit 0
}
fail() {
    printf 'FAILED: %s\n' "$*"
    exit 1
}

[ -x "$BINARY" ] || { printf 'error: %s is not built; run `cargo build --release` first\n' "$BINARY"; exit 2; }

# --- 1. Slurm and munge --------------------------------------------------------------------------
need_install=0
for program in munged slurmctld slurmd sbatch squeue scontrol; do
    command -v "$program" >/dev/null 2>&1 || need_install=1
done
if [ "$need_install" = 1 ]; then
    [ "$(id -u)" = 0 ] || skip "slurm-wlm and munge are not installed, and installing them needs root"
    command -v apt-get >/dev/null 2>&1 || skip "slurm-wlm and munge are not installed and there is no apt-get"
    say "installing slurm-wlm and munge (apt-get)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends slurm-wlm munge >/dev/null; }; then
        skip "apt-get could not install slurm-wlm and munge"
    fi
fi
[ "$(id -u)" = 0 ] || skip "slurmd must run as root to start jobs; run this script as root"
say "$(slurmd -V 2>&1 | head -1), $(munged --version 2>&1 | head -1)"

# --- 2. A one-node cluster in a temp dir ---------------------------------------------------------
WORK=$(mktemp -d /tmp/ordergrad-slurm.XXXXXX)
chmod 700 "$WORK"
mkdir -p "$WORK/munge" "$WORK/state" "$WORK/spool" "$WORK/log"
chmod 700 "$WORK/munge"
JOB=""

stop_daemon() { # name pidfile
    local pid_file=$2 pid
    [ -s "$pid_file" ] || return 0
    pid=$(cat "$pid_file")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    say "$1 (pid $pid) did not stop on SIGTERM; sending SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    set +e
    if [ -n "$JOB" ] && [ -s "$WORK/slurmctld.pid" ]; then
        scancel "$JOB" 2>/dev/null
        sleep 1
    fi
    stop_daemon slurmd "$WORK/slurmd.pid"
    stop_daemon slurmctld "$WORK/slurmctld.pid"
    stop_daemon munged "$WORK/munge/munged.pid"
    if [ "${KEEP_SLURM_TEST:-0}" = 1 ]; then
        say "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
CTLD_PORT=""
for base in $(seq 16817 10 17817); do
    if ! port_in_use "$base" && ! port_in_use $((base + 1)); then
        CTLD_PORT=$base
        break
    fi
done
[ -n "$CTLD_PORT" ] || skip "no free pair of ports between 16817 and 17818 on 127.0.0.1"
SLURMD_PORT=$((CTLD_PORT + 1))

HARDWARE=$(slurmd -C 2>/dev/null | head -1) || skip "slurmd -C could not read this machine's hardware"
CPUS=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$HARDWARE")
MEMORY=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$HARDWARE")
[ -n "$CPUS" ] && [ -n "$MEMORY" ] || skip "cannot read CPUs and RealMemory from: $HARDWARE"
MEMORY=$((MEMORY * 9 / 10)) # headroom: slurmd drains a node that reports less than configured
HOST=$(hostname -s)

dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
cat >"$WORK/slurm.conf" <<EOF
# One-node test cluster written by scripts/slurm_test.sh
ClusterName=ordergradtest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$WORK/munge/munge.socket
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
# No cgroups and no systemd in a container: track processes by their parents, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SlurmdTimeout=300
InactiveLimit=0
KillWait=10
# Finished jobs stay in slurmctld's memory long enough for scontrol to show their states.
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=$HOST CPUs=$CPUS RealMemory=$MEMORY State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$WORK/slurm.conf"

show_logs() {
    for log in "$WORK/munge/munged.log" "$WORK/log/slurmctld.log" "$WORK/log/slurmd.log"; do
        [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 15 "$log"; }
    done
    return 0
}

# --- 3. Daemons ----------------------------------------------------------------------------------
say "starting munged, slurmctld and slurmd (ports $CTLD_PORT, $SLURMD_PORT) in $WORK"
munged --force --key-file="$WORK/munge/munge.key" --socket="$WORK/munge/munge.socket" \
    --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/munge/munged.log" \
    --seed-file="$WORK/munge/munged.seed" ||
    { show_logs; skip "munged would not start here"; }
munge -S "$WORK/munge/munge.socket" -n | unmunge -S "$WORK/munge/munge.socket" >/dev/null ||
    { show_logs; skip "munge cannot encode and decode a credential here"; }
slurmctld -c || { show_logs; skip "slurmctld would not start here"; }
slurmd -N localhost || { show_logs; skip "slurmd would not start here"; }
ready=0
for _ in $(seq 60); do
    if sinfo -h -n localhost -o '%t' 2>/dev/null | grep -qx 'idle'; then
        ready=1
        break
    fi
    sleep 0.5
done
[ "$ready" = 1 ] || { sinfo 2>&1 || true; show_logs; skip "the node never became idle in slurmctld"; }
say "cluster up: $(sinfo -h -o '%P %a %D %t %N' | tr '\n' ' ')"

# --- 4. The sweep --------------------------------------------------------------------------------
CONFIG="$WORK/sac-tiny.toml"
cat >"$CONFIG" <<'EOF'
agent = "sac"
env = "Pendulum-v1"
total_steps = 400
seed = 1

[sac]
learning_starts = 100
batch_size = 16
hidden_size = 16
buffer_size = 10000

[checkpoint]
every = 200

[logging]
progress = false
log_every = 50
EOF
OUT="$WORK/sweep"
say "submitting: ordergrad sweep --executor slurm, 2 seeds x sac.tau=0.005,0.02, 400 steps each"
JOB=$("$BINARY" sweep --config "$CONFIG" --seeds 1-2 --grid sac.tau=0.005,0.02 --episodes 3 \
    --out "$OUT" --executor slurm --time 00:10:00 --mem 1G --cpus-per-task 1) ||
    fail "ordergrad sweep --executor slurm did not submit"
[[ "$JOB" =~ ^[0-9]+$ ]] || fail "sbatch returned '$JOB', not a job id"
say "job array $JOB submitted"

# --- 5. Wait, then check -------------------------------------------------------------------------
start=$SECONDS
while [ -n "$(squeue -h -j "$JOB" 2>/dev/null)" ]; do
    if [ $((SECONDS - start)) -ge "$WAIT_SECONDS" ]; then
        squeue -j "$JOB" || true
        show_logs
        fail "job array $JOB still queued or running after $WAIT_SECONDS s"
    fi
    sleep 2
done
say "job array $JOB left the queue after $((SECONDS - start)) s"

STATES=$(scontrol -o show job "$JOB" 2>/dev/null | sed -n 's/.*ArrayTaskId=\([0-9]*\).*JobState=\([A-Z_]*\).*/task \1: \2/p' | sort)
echo "$STATES"
if [ "$(grep -c ': COMPLETED$' <<<"$STATES")" != 4 ]; then
    for err in "$OUT"/slurm/*.err; do
        [ -f "$err" ] && { echo "--- $err"; tail -n 20 "$err"; }
    done
    show_logs
    fail "not every one of the 4 array tasks COMPLETED"
fi
[ "$(find "$OUT/slurm" -name "${JOB}_*.out" | wc -l)" = 4 ] || fail "expected 4 task logs in $OUT/slurm"

REPORT=$("$BINARY" report "$OUT") || fail "ordergrad report failed"
echo "$REPORT"
grep -q '^4 of 4 runs finished' <<<"$REPORT" || fail "the report does not show 4 of 4 runs finished"
for point in 'sac.tau=0.005' 'sac.tau=0.02'; do
    grep -q "^| $point | 2/2 | " <<<"$REPORT" || fail "the report has no row '$point' with 2/2 seeds"
done
[ "$(grep -c '| done |' <<<"$REPORT")" = 4 ] || fail "the report does not list 4 runs as done"
[ -f "$OUT/report.md" ] && [ -f "$OUT/plots/sac-tiny.png" ] || fail "report.md or the overlay plot is missing"

# Submitting again finds every run done and submits nothing.
AGAIN=$("$BINARY" sweep --config "$CONFIG" --seeds 1-2 --grid sac.tau=0.005,0.02 --episodes 3 \
    --out "$OUT" --executor slurm --time 00:10:00 --mem 1G --cpus-per-task 1 2>&1) ||
    fail "re-running the sweep failed: $AGAIN"
grep -q 'nothing to submit' <<<"$AGAIN" || fail "re-running the sweep submitted again: $AGAIN"

say "PASSED: 4 array tasks completed on Slurm $(slurmd -V | awk '{print $2}') in $((SECONDS - start)) s; the report lists all 4 runs"
