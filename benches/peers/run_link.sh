#!/usr/bin/env bash
# Linking side by side with trackpy and laptrack (see link_peers.py). Peers live in this
# bench's own venv (benches/peers/.venv), never in the project's dependencies.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$root"
peers_python "$here/link_peers.py" "$@"
