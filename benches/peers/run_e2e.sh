#!/usr/bin/env bash
# End to end (issue: pipeline): `leukotrack track` against scikit-image + trackpy on the same
# simulated 512×512×32 uint16 recordings of 25 and 100 timepoints (peak memory must be flat
# in the number of timepoints). Makes its own venv with the peers (benches/peers/.venv).
#
#   benches/peers/run_e2e.sh [FRAMES...]      (default: 25 100)
#   SKIP_PEERS=1 benches/peers/run_e2e.sh     (leukotrack only)
#   SIZE=256,256,16 benches/peers/run_e2e.sh 5 (a quick check at another size)
#
# Prints a markdown table; work files go to a temporary folder (about 1.7 GB per 100 frames).
set -euo pipefail
frames=("${@:-25 100}")
[ $# -eq 0 ] && frames=(25 100)
source "$(dirname "$0")/env.sh"
work="$(mktemp -d /tmp/leukotrack-e2e.XXXXXX)"
trap 'rm -rf "$work"' EXIT
sims=()
for n in "${frames[@]}"; do
  "$lt" synth -o "$work/sim$n" --frames "$n" --size "${SIZE:-512,512,32}" --seed 31 --quiet
  sims+=(--sim "$work/sim$n")
done
extra=()
[ -n "${SKIP_PEERS:-}" ] && extra+=(--skip-peers)
peers_python "$here/e2e_peers.py" --leukotrack "$lt" "${sims[@]}" --work "$work" "${extra[@]}"
