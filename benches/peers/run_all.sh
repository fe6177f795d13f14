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
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${PEERS_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
fi
"$venv/bin/python" -c 'import numpy, scipy, skimage, tifffile, trackpy, pandas, laptrack' 2>/dev/null ||
  "$venv/bin/pip" install --quiet numpy scipy scikit-image tifffile trackpy pandas laptrack
if [ -n "${WITH_BINDINGS:-}" ] && [ -f "$root/python/Cargo.toml" ]; then
  "$venv/bin/pip" install --quiet maturin
  (cd "$root" && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop --release --quiet)
fi
(cd "$root" && cargo build --release --quiet --bin leukotrack)
# OpenBLAS variables slow a current numpy; unset them for this comparison only.
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" "$here/peers.py" \
  --leukotrack "$root/target/release/leukotrack" --command "benches/peers/run_all.sh $*" "$@"
