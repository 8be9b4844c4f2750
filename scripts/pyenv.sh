#!/usr/bin/env bash
# Creates target/pyenv with Python Supervisor 4.3.0 (for interop tests) unless it already
# exists, then prints the venv path. Exits non-zero when it cannot be created.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/target/pyenv"
if [ -x "$venv/bin/supervisord" ] && [ -x "$venv/bin/supervisorctl" ]; then
    echo "$venv"
    exit 0
fi
mkdir -p target
# Several test binaries may ask at once: one creates, the others wait on the lock.
exec 9>"$PWD/target/pyenv.lock"
flock 9
if [ ! -x "$venv/bin/supervisorctl" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check supervisor==4.3.0 >&2
fi
echo "$venv"
