#!/usr/bin/env bash
# Side-by-side timing of motility metrics: pandas, trackpy and the leukotrack CLI on one
# 1,000,000-point tracks CSV (made on first use). Makes its own virtualenv.
# Usage: benches/peers/run.sh [extra metrics_peers.py flags, e.g. --repeats 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${PEERS_VENV:-/tmp/leukotrack-peers-venv}
data=${PEERS_DATA:-/tmp/leukotrack-peers}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet pandas numpy trackpy
fi
mkdir -p "$data"
cargo build --release --quiet --bin leukotrack
"$venv/bin/python" -c 'import pandas, numpy, trackpy; print("pandas", pandas.__version__, "numpy", numpy.__version__, "trackpy", trackpy.__version__)'
exec "$venv/bin/python" benches/peers/metrics_peers.py \
  --csv "$data/tracks_1M.csv" --leukotrack target/release/leukotrack "$@"
