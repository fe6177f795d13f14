#!/usr/bin/env bash
# The one peers benchmark: every stage (segmentation, linking, metrics, end to end) of
# leukotrack — command line and, when importable, the Python bindings — against
# scikit-image, trackpy (locate, link, imsd/emsd), laptrack and pandas, in one run on the
# same simulated data, each scored against ground truth; BENCHMARKS.md is updated in place
# (one marked block per stage; everything else is kept). See peers.py for the options.
#
#   benches/peers/run_all.sh                          (6 × 256×256×32, links of 10k and 100k)
#   benches/peers/run_all.sh --frames 6 --size 512,512,32 --link 10000,100000,1000000
#   benches/peers/run_all.sh --stages link --no-write (print only)
#
# Peers live in this bench's own venv (benches/peers/.venv, or $PEERS_VENV), never in the
# project's dependencies. The Python bindings are used when `import leukotrack` works in
# that venv: WITH_BINDINGS=1 installs them there first (maturin, from python/Cargo.toml).
set -euo pipefail
source "$(dirname "$0")/env.sh"
if [ -n "${WITH_BINDINGS:-}" ] && [ -f "$root/python/Cargo.toml" ]; then
  "$venv/bin/pip" install --quiet maturin
  (cd "$root" && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop --release --quiet)
fi
peers_python "$here/peers.py" --leukotrack "$lt" --command "benches/peers/run_all.sh $*" "$@"
