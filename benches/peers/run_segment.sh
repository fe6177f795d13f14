#!/usr/bin/env bash
# Times leukotrack's segmentation against the pipelines a user would write in Python
# (scikit-image; trackpy.locate), on the same simulated volumes, and scores them all with
# `leukotrack eval`. Makes its own venv (benches/peers/.venv) with the peers from PyPI.
#
#   benches/peers/run_segment.sh [FRAMES] [X,Y,Z]      (default 6 frames of 512,512,32)
#
# Writes the tables to stdout (markdown) and its work files to a temporary folder.
set -euo pipefail
source "$(dirname "$0")/env.sh"
frames="${1:-6}"
size="${2:-512,512,32}"
work="$(mktemp -d /tmp/leukotrack-peers.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$lt" synth -o "$work/sim" --frames "$frames" --size "$size" --seed 21 --quiet
peers_python "$here/segment_peers.py" --leukotrack "$lt" --sim "$work/sim" --work "$work"
