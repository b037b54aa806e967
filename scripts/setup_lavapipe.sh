#!/usr/bin/env bash
# Makes a Vulkan device available without a GPU: Mesa's lavapipe (Debian/Ubuntu package
# `mesa-vulkan-drivers`), a software Vulkan driver on the CPU. With it, `--device wgpu` and the
# cross-backend tests run Burn's WGPU backend here (slowly: it is for correctness, not speed).
#
#   scripts/setup_lavapipe.sh        # safe to run again: does nothing when lavapipe is there
#
# Exit status 0 when lavapipe's ICD file is present afterwards, 1 when it is not (no apt-get,
# not root, or the install failed; the message says which).
set -euo pipefail

have_lavapipe() {
    compgen -G "/usr/share/vulkan/icd.d/lvp_icd.*.json" > /dev/null
}

if have_lavapipe; then
    echo "setup_lavapipe.sh: lavapipe is installed: $(ls /usr/share/vulkan/icd.d/lvp_icd.*.json)"
    exit 0
fi
if ! command -v apt-get > /dev/null; then
    echo "setup_lavapipe.sh: no apt-get here; install Mesa's lavapipe Vulkan driver by hand" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "setup_lavapipe.sh: needs root to run apt-get install mesa-vulkan-drivers" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh image: update once if the install fails.
if ! apt-get install -y --no-install-recommends mesa-vulkan-drivers; then
    apt-get update
    apt-get install -y --no-install-recommends mesa-vulkan-drivers
fi
if have_lavapipe; then
    echo "setup_lavapipe.sh: installed lavapipe: $(ls /usr/share/vulkan/icd.d/lvp_icd.*.json)"
else
    echo "setup_lavapipe.sh: mesa-vulkan-drivers is installed but has no lavapipe ICD file" >&2
    exit 1
fi
