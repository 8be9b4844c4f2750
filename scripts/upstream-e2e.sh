#!/usr/bin/env bash
# Runs Supervisor 4.3.0's own end-to-end tests (supervisor/tests/test_end_to_end.py, unmodified,
# from the sdist fetched into target/upstream) against our binaries, in three pairings:
#   ours-d+py-ctl   our supervisord, Python supervisorctl
#   ours-d+ours-ctl our supervisord, our supervisorctl
#   py-d+ours-ctl   Python supervisord, our supervisorctl
# tests/upstream/swap_commands.py (a pytest plugin) swaps the spawned commands; our own
# tests/upstream/fixtures/ fill in fixtures the sdist lacks. Prints a summary per pairing and a
# final "N passed, N failed" line; exits non-zero when any test fails.
# Usage: scripts/upstream-e2e.sh [PAIRING...] [-- PYTEST-ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
version=4.3.0
work="$root/target/upstream"
sdist="$work/supervisor-$version"

venv="$(scripts/pyenv.sh)"
# Upstream's tox pins pexpect for its end-to-end tests; these versions are known to pass.
if ! "$venv/bin/python" -c 'import pexpect, pytest' 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check pexpect==4.9.0 pytest==8.3.4 >&2
fi
if [ ! -f "$sdist/supervisor/tests/test_end_to_end.py" ]; then
    mkdir -p "$work"
    (cd "$work" && "$venv/bin/pip" download --quiet --disable-pip-version-check \
        --no-binary :all: --no-deps "supervisor==$version" >&2)
    tar -xzf "$work/supervisor-$version.tar.gz" -C "$work"
fi
cp "$root"/tests/upstream/fixtures/* "$sdist/supervisor/tests/fixtures/"

for bin in supervisord supervisorctl; do
    if [ ! -x "$root/target/release/$bin" ]; then
        echo "upstream-e2e: target/release/$bin is missing (cargo build --release --bins)" >&2
        exit 2
    fi
done

pairings=()
pytest_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; pytest_args=("$@"); break ;;
        *) pairings+=("$1"); shift ;;
    esac
done
[ ${#pairings[@]} -gt 0 ] || pairings=(ours-d+py-ctl ours-d+ours-ctl py-d+ours-ctl)

swap_for() {
    case "$1" in
        ours-d+py-ctl) echo supervisord ;;
        ours-d+ours-ctl) echo "supervisord supervisorctl" ;;
        py-d+ours-ctl) echo supervisorctl ;;
        *) echo "upstream-e2e: unknown pairing $1" >&2; return 2 ;;
    esac
}

total_passed=0
total_failed=0
summary=()
status=0
for pairing in "${pairings[@]}"; do
    swap="$(swap_for "$pairing")"
    log="$work/$pairing.log"
    echo "== upstream end-to-end: $pairing"
    start=$(date +%s)
    set +e
    # The fixtures start `python` and write /tmp/issue-*; the venv's python comes first on PATH.
    (cd "$sdist" && PATH="$venv/bin:$PATH" END_TO_END=1 PYTHONPATH="$root/tests/upstream" \
        SUPERVISORD_RS_BIN="$root/target/release" SUPERVISORD_RS_SWAP="$swap" \
        "$venv/bin/python" -m pytest -p swap_commands -p no:cacheprovider -c /dev/null \
        --rootdir "$sdist" -q -rfE supervisor/tests/test_end_to_end.py \
        ${pytest_args[@]+"${pytest_args[@]}"}) 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    secs=$(( $(date +%s) - start ))
    # pytest's closing line, e.g. "1 failed, 26 passed in 80.1s": sum the counts per outcome.
    count() { awk -v re="^$1" '/ in [0-9.]+s/ {for (i = 2; i <= NF; i++) if ($i ~ re) n += $(i - 1)}
        END {print n + 0}' "$log"; }
    passed=$(count passed)
    failed=$(( $(count failed) + $(count error) ))
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
    [ "$rc" -eq 0 ] || status=1
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    summary+=("$(printf '%-16s %3d passed %3d failed  %4ds' "$pairing" "$passed" "$failed" "$secs")")
done

echo "== upstream end-to-end summary (Supervisor $version test_end_to_end.py)"
printf '%s\n' "${summary[@]}"
if [ "$status" -eq 0 ]; then echo "upstream-e2e PASSED"; else echo "upstream-e2e FAILED"; fi
echo "upstream-e2e: $total_passed passed, $total_failed failed"
exit "$status"
