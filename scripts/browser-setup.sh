#!/usr/bin/env bash
# Installs headless Chromium (Debian's `chromium` package) for the dashboard browser test
# (tests/ext/dashboard_browser.rs) unless it is already there. CI starts from a clean image.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null
