#!/usr/bin/env bash
# Runs every test: unit + integration (cargo test, including interop with Python Supervisor),
# Supervisor 4.3.0's own end-to-end tests against our binaries (scripts/upstream-e2e.sh), the
# Docker end-to-end tests (skipped with a note when no engine can be started, but never when
# CI=true) and the benchmark suite in --quick mode.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== build"
cargo build --release --bins

echo "== Python Supervisor 4.3.0 for interop tests"
if [ -x scripts/pyenv.sh ]; then scripts/pyenv.sh; fi

echo "== headless Chromium for the dashboard test"
if [ -x scripts/browser-setup.sh ]; then scripts/browser-setup.sh; fi

echo "== cargo test"
cargo test --release -- --test-threads=2

echo "== Supervisor's own end-to-end tests"
scripts/upstream-e2e.sh

echo "== Docker end-to-end"
if [ -x scripts/docker-e2e.sh ]; then scripts/docker-e2e.sh; fi

echo "== benchmarks (quick)"
if [ -x bench/run.py ]; then python3 bench/run.py --quick; fi
