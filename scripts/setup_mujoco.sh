#!/usr/bin/env bash
# Puts MuJoCo 3.17.0's shared library where `cargo ... --features mujoco` finds it.
#
#   scripts/setup_mujoco.sh          # once per clone; safe to run again (it then does nothing)
#
# The library comes from PyPI's `mujoco==3.17.0` wheel (the one Gymnasium 1.4.0's fixtures were
# recorded with): the script downloads the wheel with pip, checks its sha256, and copies
# `mujoco/libmujoco.so.3.17.0` and the wheel's licence files into `.mujoco/lib/` at the root of
# the workspace (git-ignored). There `libmujoco.so` is a committed linker script that points the
# linker at `libmujoco.so.3.17.0` (it stands in for the usual symlink; see the file).
# `.cargo/config.toml` points mujoco-rs's build at that folder (MUJOCO_DYNAMIC_LINK_DIR), and the
# envs build script makes `cargo run`, `cargo test` and the binaries find the library at run time,
# so nothing needs to be exported. Needs python3 with pip and network access to PyPI; Linux
# x86-64 only.
set -euo pipefail

MUJOCO_VERSION="3.17.0"
WHEEL="mujoco-${MUJOCO_VERSION}-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
# sha256 of the wheel above, as downloaded from PyPI on 2026-11-23, and of the library inside it.
WHEEL_SHA256="d66928d86a2d1b601bbaa4dc11db50214d17d5301bb8afd84721313b67ff0874"
LIBRARY_SHA256="23496b023ee80fb61ab71167e94bc649f9941710fde96b18bb8204fb332523ad"
LIBRARY="libmujoco.so.${MUJOCO_VERSION}"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB_DIR="$REPO_ROOT/.mujoco/lib"

fail() {
  echo "setup_mujoco.sh: error: $*" >&2
  exit 1
}

sha256_of() {
  sha256sum "$1" | cut -d' ' -f1
}

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
  fail "only Linux x86-64 is supported (this is $(uname -s)-$(uname -m)); point MUJOCO_DYNAMIC_LINK_DIR in .cargo/config.toml at a folder with MuJoCo ${MUJOCO_VERSION}'s libmujoco.so instead"
fi

[[ -f "$LIB_DIR/libmujoco.so" ]] \
  || fail "$LIB_DIR/libmujoco.so (a committed linker script) is missing; restore it with: git checkout -- .mujoco/lib/libmujoco.so"

if [[ -f "$LIB_DIR/$LIBRARY" && "$(sha256_of "$LIB_DIR/$LIBRARY")" == "$LIBRARY_SHA256" ]]; then
  echo "MuJoCo ${MUJOCO_VERSION} already set up in $LIB_DIR (sha256 checked); nothing to do"
  exit 0
fi

PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || fail "$PYTHON not found; install Python 3 with pip (or set PYTHON=/path/to/python3)"
"$PYTHON" -m pip --version >/dev/null 2>&1 || fail "$PYTHON has no pip; install it (e.g. apt-get install python3-pip)"

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

echo "downloading $WHEEL from PyPI (pip download, about 26 MB)"
# --require-hashes makes pip refuse any other file; the sha256sum below checks it once more.
echo "mujoco==${MUJOCO_VERSION} --hash=sha256:${WHEEL_SHA256}" >"$WORK_DIR/requirements.txt"
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version 3.11 --platform manylinux_2_28_x86_64 --require-hashes \
  -r "$WORK_DIR/requirements.txt" -d "$WORK_DIR" \
  || fail "pip could not download mujoco==${MUJOCO_VERSION} with the expected hash (network? PyPI?)"

[[ -f "$WORK_DIR/$WHEEL" ]] || fail "pip did not save $WHEEL (found: $(ls "$WORK_DIR"))"
actual="$(sha256_of "$WORK_DIR/$WHEEL")"
[[ "$actual" == "$WHEEL_SHA256" ]] || fail "sha256 of $WHEEL is $actual, expected $WHEEL_SHA256"
echo "checked sha256 of the wheel: $actual"

"$PYTHON" - "$WORK_DIR/$WHEEL" "$WORK_DIR/unpacked" "$MUJOCO_VERSION" <<'EOF'
import sys
import zipfile

wheel, destination, version = sys.argv[1:]
members = [
    f"mujoco/libmujoco.so.{version}",
    f"mujoco-{version}.dist-info/licenses/LICENSE",
    f"mujoco-{version}.dist-info/licenses/LICENSES_THIRD_PARTY.md",
]
with zipfile.ZipFile(wheel) as archive:
    for member in members:
        archive.extract(member, destination)
EOF

library="$WORK_DIR/unpacked/mujoco/$LIBRARY"
actual="$(sha256_of "$library")"
[[ "$actual" == "$LIBRARY_SHA256" ]] || fail "sha256 of $LIBRARY is $actual, expected $LIBRARY_SHA256"

install -m 0755 "$library" "$LIB_DIR/$LIBRARY"
licenses="$WORK_DIR/unpacked/mujoco-${MUJOCO_VERSION}.dist-info/licenses"
install -m 0644 "$licenses/LICENSE" "$LIB_DIR/LICENSE"
install -m 0644 "$licenses/LICENSES_THIRD_PARTY.md" "$LIB_DIR/LICENSES_THIRD_PARTY.md"

echo "installed into $LIB_DIR:"
echo "  $LIBRARY (sha256 $LIBRARY_SHA256)"
echo "  (beside the committed libmujoco.so, which points the linker at it)"
echo "  LICENSE, LICENSES_THIRD_PARTY.md (MuJoCo's Apache-2.0 licence and its third-party notices)"
echo "next: cargo test --release -p envs --features mujoco"
