#!/usr/bin/env bash
# Makes MuJoCo's offscreen renderer work without a GPU or display: Mesa's EGL and its software
# OpenGL (llvmpipe), from Debian/Ubuntu's packages libegl1 (the EGL loader), libegl-mesa0 (Mesa's
# EGL, with its software device) and libgl1-mesa-dri (the drivers, swrast/llvmpipe among them).
# `ordergrad eval --video` and `train --video` on a MuJoCo env (a build with
# `--features agents/mujoco`) need them at run time only: nothing links them at build time.
#
#   scripts/setup_egl.sh        # safe to run again: does nothing when they are there
#
# Exit status 0 when the libraries are present afterwards, 1 when they are not (no apt-get, not
# root, or the install failed; the message says which).
set -euo pipefail

PACKAGES=(libegl1 libegl-mesa0 libgl1-mesa-dri)

have_egl() {
    ldconfig -p | grep -q 'libEGL.so.1 ' \
        && ldconfig -p | grep -q 'libEGL_mesa.so.0 ' \
        && compgen -G "/usr/lib/*/dri/swrast_dri.so" > /dev/null
}

if have_egl; then
    echo "setup_egl.sh: Mesa's EGL and software OpenGL are installed"
    exit 0
fi
if ! command -v apt-get > /dev/null; then
    echo "setup_egl.sh: no apt-get here; install Mesa's EGL (libEGL.so.1, libEGL_mesa.so.0) and its DRI drivers by hand" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "setup_egl.sh: needs root to run apt-get install ${PACKAGES[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh image: update once if the install fails.
if ! apt-get install -y --no-install-recommends "${PACKAGES[@]}"; then
    apt-get update
    apt-get install -y --no-install-recommends "${PACKAGES[@]}"
fi
if have_egl; then
    echo "setup_egl.sh: installed ${PACKAGES[*]}"
else
    echo "setup_egl.sh: ${PACKAGES[*]} are installed, but libEGL.so.1, libEGL_mesa.so.0 or swrast_dri.so is missing" >&2
    exit 1
fi
