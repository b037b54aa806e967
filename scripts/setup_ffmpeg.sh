#!/usr/bin/env bash
# Installs Debian/Ubuntu's ffmpeg (with libx264) for MP4 videos: `ordergrad eval --video
# --video-format mp4` and `[video] format = "mp4"` hand the frames to `ffmpeg` on PATH. GIF videos,
# the default, need nothing: ordergrad encodes them itself.
#
#   scripts/setup_ffmpeg.sh        # safe to run again: does nothing when ffmpeg is there
#
# Exit status 0 when an ffmpeg with libx264 is on PATH afterwards, 1 when not (no apt-get, not
# root, or the install failed; the message says which).
set -euo pipefail

have_ffmpeg() {
    # grep reads all of ffmpeg's output (no -q): an early exit would fail the pipe under pipefail.
    command -v ffmpeg > /dev/null && ffmpeg -hide_banner -encoders 2> /dev/null | grep ' libx264 ' > /dev/null
}

if have_ffmpeg; then
    echo "setup_ffmpeg.sh: ffmpeg with libx264 is installed"
    exit 0
fi
if ! command -v apt-get > /dev/null; then
    echo "setup_ffmpeg.sh: no apt-get here; install an ffmpeg built with libx264 by hand" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "setup_ffmpeg.sh: needs root to run apt-get install ffmpeg" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh image: update once if the install fails.
if ! apt-get install -y --no-install-recommends ffmpeg; then
    apt-get update
    apt-get install -y --no-install-recommends ffmpeg
fi
if have_ffmpeg; then
    echo "setup_ffmpeg.sh: installed ffmpeg"
else
    echo "setup_ffmpeg.sh: ffmpeg is installed, but has no libx264 encoder" >&2
    exit 1
fi
