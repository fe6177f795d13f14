#!/usr/bin/env bash
# Linking side by side with trackpy and laptrack (see link_peers.py). Peers live in this
# bench's own venv (benches/peers/.venv), never in the project's dependencies.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet
venv=benches/peers/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy pandas scipy trackpy laptrack
fi
exec "$venv/bin/python" benches/peers/link_peers.py "$@"
