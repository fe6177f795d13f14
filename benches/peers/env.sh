# Sourced by the peers scripts: the paths, the peers' own venv (benches/peers/.venv, or
# $PEERS_VENV; never the project's dependencies), the release binary, and `peers_python`.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${PEERS_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
fi
"$venv/bin/python" -c 'import numpy, scipy, skimage, tifffile, trackpy, pandas, laptrack' 2>/dev/null ||
  "$venv/bin/pip" install --quiet numpy scipy scikit-image tifffile trackpy pandas laptrack
(cd "$root" && cargo build --release --quiet --bin leukotrack)
lt="$root/target/release/leukotrack"

# The venv's python; OpenBLAS variables slow a current numpy, so they are unset for the
# comparisons only.
peers_python() {
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" "$@"
}
