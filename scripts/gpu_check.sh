#!/usr/bin/env bash
# The CUDA backend on a machine with an NVIDIA GPU that has no Rust toolchain and no network:
# build here, carry the binaries there, run the cross-backend tests, a short training run and the
# backend benchmark there.
#
#   scripts/gpu_check.sh bundle     # here: builds with --features agents/cuda,agents/wgpu (the
#                                   # feature set CI builds, so nothing extra compiles), strips the
#                                   # `ordergrad` CLI and the `backends` test binary, and packs
#                                   # them with xz into target/gpu-bundle/ (under 64 MiB)
#   scripts/gpu_check.sh run        # there, from the repository root with target/gpu-bundle/
#                                   # carried along: unpacks, runs the tests with CUDA required,
#                                   # trains SAC on Pendulum-v1 on cuda for 3000 steps, evaluates
#                                   # it on the CPU, and runs scripts/bench_backends.sh for
#                                   # cpu,cuda; everything it prints also goes to $OUT (or
#                                   # target/gpu-check/) as gpu_check.log and bench_backends.md
#
# With the session's `device` tool: run `bundle` here, then
#   run(command="bash scripts/gpu_check.sh run", carry=["target/gpu-bundle"])
# Exit status: 0 when every check passed; 1 otherwise (the log says which).
set -euo pipefail
cd "$(dirname "$0")/.."

BUNDLE=target/gpu-bundle
FEATURES=agents/cuda,agents/wgpu

bundle() {
    cargo build --release -p agents --features "$FEATURES" --locked
    # The test binary's path has a hash: ask cargo for it.
    local test_binary
    test_binary=$(cargo test --release -p agents --features "$FEATURES" --locked --test backends \
        --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "backends" and message.get("executable"):
        print(message["executable"])')
    rm -rf "$BUNDLE"
    mkdir -p "$BUNDLE"
    strip -o "$BUNDLE/ordergrad" target/release/ordergrad
    strip -o "$BUNDLE/backends" "$test_binary"
    xz -T0 -6 "$BUNDLE/ordergrad" "$BUNDLE/backends"
    ls -l "$BUNDLE"
    du -sh "$BUNDLE"
}

run_checks() {
    local out=${OUT:-target/gpu-check}
    mkdir -p "$out" "$BUNDLE/bin"
    exec > >(tee "$out/gpu_check.log") 2>&1
    for binary in ordergrad backends; do
        xz -dc "$BUNDLE/$binary.xz" > "$BUNDLE/bin/$binary"
        chmod +x "$BUNDLE/bin/$binary"
    done
    nvidia-smi || echo "nvidia-smi is not available"

    echo "== cross-backend tests, CUDA required"
    ORDERGRAD_REQUIRE_DEVICES=cuda "$BUNDLE/bin/backends" --test-threads 1 --nocapture

    echo "== SAC on Pendulum-v1 on cuda, 3000 steps, then eval on the CPU"
    local run_dir="$out/sac-cuda"
    rm -rf "$run_dir"
    "$BUNDLE/bin/ordergrad" train --config configs/sac-pendulum.toml --device cuda \
        --total-steps 3000 --run-dir "$run_dir"
    "$BUNDLE/bin/ordergrad" eval --run "$run_dir" --episodes 3 --device cpu --json

    echo "== benchmark: cpu and cuda"
    ORDERGRAD="$BUNDLE/bin/ordergrad" bash scripts/bench_backends.sh --devices cpu,cuda \
        --out "$out/bench_backends.md"
}

case "${1:-}" in
    bundle) bundle ;;
    run) run_checks ;;
    *)
        echo "usage: scripts/gpu_check.sh bundle|run" >&2
        exit 2
        ;;
esac
