#!/usr/bin/env bash
# Side-by-side timing of motility metrics: pandas, trackpy and the leukotrack CLI on one
# 1,000,000-point tracks CSV (made on first use). Peers in their own venv (env.sh).
# Usage: benches/peers/run.sh [extra metrics_peers.py flags, e.g. --repeats 5]
set -euo pipefail
source "$(dirname "$0")/env.sh"
data=${PEERS_DATA:-/tmp/leukotrack-peers}
mkdir -p "$data"
"$venv/bin/python" -c 'import pandas, numpy, trackpy; print("pandas", pandas.__version__, "numpy", numpy.__version__, "trackpy", trackpy.__version__)'
peers_python "$here/metrics_peers.py" --csv "$data/tracks_1M.csv" --leukotrack "$lt" "$@"
