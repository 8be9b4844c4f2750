#!/usr/bin/env bash
# Makes what the fcgi-program tests need and prints the venv's python: flup (a FastCGI server
# for WSGI apps) in target/pyenv, and cgi-fcgi (a FastCGI client) from Debian's libfcgi-bin.
# Exits non-zero when either cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(scripts/pyenv.sh)"
exec 8>"$PWD/target/fcgi-env.lock"
flock 8
if ! "$venv/bin/python" -c 'import flup.server.fcgi' 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check flup==1.0.3 >&2
fi
if ! command -v cgi-fcgi >/dev/null; then
    if [ "$(id -u)" != 0 ]; then
        echo "cgi-fcgi is missing (apt-get install libfcgi-bin needs root)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q libfcgi-bin >&2 || { apt-get update -q >&2 && apt-get install -y -q libfcgi-bin >&2; }
fi
echo "$venv/bin/python"
