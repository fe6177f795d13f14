#!/usr/bin/env bash
# Times leukotrack's segmentation against the pipelines a user would write in Python
# (scikit-image; trackpy.locate), on the same simulated volumes, and scores them all with
# `leukotrack eval`. Makes its own venv (benches/peers/.venv) with the peers from PyPI.
#
#   benches/peers/run_segment.sh [FRAMES] [X,Y,Z]      (default 6 frames of 512,512,32)
#
# Writes the tables to stdout (markdown) and its work files to a temporary folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
frames="${1:-6}"
size="${2:-512,512,32}"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet numpy scipy scikit-image tifffile trackpy pandas
fi
(cd "$root" && cargo build --release --quiet --bin leukotrack)
work="$(mktemp -d /tmp/leukotrack-peers.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$root/target/release/leukotrack" synth -o "$work/sim" --frames "$frames" --size "$size" --seed 21 --quiet
# OpenBLAS variables slow a current numpy; unset them for this comparison only.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" "$here/segment_peers.py" \
  --leukotrack "$root/target/release/leukotrack" --sim "$work/sim" --work "$work"
