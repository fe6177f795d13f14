#!/usr/bin/env bash
# Runs every check and test of the project: formatting, lints (the core and the Python
# bindings), the pure-library build, the docs (warnings are errors), the Rust tests (unit,
# integration, doc tests), then the Python package built into .venv, its stubs checked by
# stubtest, its tests and its docstrings' examples. Used as is by CI (.ci/run).
#
# Needs a Rust toolchain (with rustfmt and clippy) and CPython ≥ 3.10 with pip and venv;
# everything else (maturin, numpy, pandas, pytest, …) is installed into .venv by this script.
# PYTHON names the interpreter (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d ../shared/data ]; then
  echo "scripts/test.sh: ../shared/data is missing beside the repository (the tests read it)" >&2
  exit 2
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (the workspace: the core and the Python bindings)"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo build --no-default-features (pure library) and examples/embed.rs with it"
cargo build --no-default-features --lib
cargo run --quiet --no-default-features --example embed
echo "== cargo doc (warnings are errors: broken intra-doc links, missing docs)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --quiet
echo "== cargo test (unit, integration, CLI and doc tests; benches are built by clippy above)"
cargo test

echo "== Python: the package built into .venv (dev profile; dependencies optimised)"
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check "maturin>=1.9,<2"
# An editable install: the native module built in the dev profile (the core's dependencies at
# opt-level 3 as for the Rust tests), the Python sources used in place, the test extras.
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop --quiet --extras test,dask,plot \
  | { grep -v '^Requirement already satisfied' || true; }
echo "== stubtest: the hand-written leukotrack/_core.pyi against the native module"
.venv/bin/python -m mypy.stubtest leukotrack._core
echo "== pytest (python/tests and the docstrings' examples of python/leukotrack)"
# The command line `cargo test` just built, for the tests comparing Python with it.
LEUKOTRACK_CLI="${CARGO_TARGET_DIR:-$PWD/target}/debug/leukotrack" MPLBACKEND=Agg .venv/bin/python -m pytest
