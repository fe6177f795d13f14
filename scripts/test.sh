#!/usr/bin/env bash
# Runs every check and test of the project: formatting, lints, the Rust tests (unit,
# integration, doc tests), and the pure-library build. Used as is by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d ../shared/data ]; then
  echo "scripts/test.sh: ../shared/data is missing beside the repository (the tests read it)" >&2
  exit 2
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets -- -D warnings
echo "== cargo build --no-default-features (pure library) and examples/embed.rs with it"
cargo build --no-default-features --lib
cargo run --quiet --no-default-features --example embed
echo "== cargo test (unit, integration, CLI and doc tests; benches are built by clippy above)"
cargo test
