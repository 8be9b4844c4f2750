#!/usr/bin/env bash
# Runs the generated-input targets of tests/fuzz/main.rs (HTTP head parser, XML-RPC
# decoder, supervisorctl's answer parser, config reader with expansions): each one for
# FUZZ_EXECS executions (default 1 000 000) or FUZZ_SECONDS (default 900), whichever comes
# first, and prints executions, rate, outcomes and crashes per target. FUZZ_SEED changes the
# inputs. `cargo test` runs the same targets briefly (3000 executions each).
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_EXECS="${FUZZ_EXECS:-1000000}"
export FUZZ_SECONDS="${FUZZ_SECONDS:-900}"
cargo test --release --test fuzz -- --test-threads=1 --nocapture
