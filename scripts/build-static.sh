#!/usr/bin/env bash
# Builds supervisord and supervisorctl as static binaries, as the Docker image ships them, and
# prints the directory that holds them (target/<host triple>/<profile dir>).
#
# Usage: scripts/build-static.sh [release|dev]   (default release)
#
# Static linking uses glibc's static libraries (crt-static): no extra toolchain. --target keeps
# the flag away from build scripts and proc macros, which cannot be static. The flag is added
# with --config so that .cargo/config.toml's flags for the target still apply; a RUSTFLAGS
# variable, which would replace them, gets the flag appended instead.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PROFILE=${1:-release}
case "$PROFILE" in
    release) dir=release ;;
    dev | debug) PROFILE=dev; dir=debug ;;
    *) echo "scripts/build-static.sh: unknown profile '$PROFILE' (release or dev)" >&2; exit 2 ;;
esac
triple=$(rustc -vV | sed -n 's/^host: //p')
case "$triple" in
    *-linux-gnu) ;;
    *) echo "scripts/build-static.sh: host triple '$triple' is not *-linux-gnu" >&2; exit 2 ;;
esac
cd "$REPO"
if [ -n "${RUSTFLAGS:-}" ]; then
    RUSTFLAGS="$RUSTFLAGS -C target-feature=+crt-static" \
        cargo build --profile "$PROFILE" --target "$triple" --bins >&2
else
    cargo build --profile "$PROFILE" --target "$triple" --bins \
        --config "target.$triple.rustflags=[\"-C\", \"target-feature=+crt-static\"]" >&2
fi
echo "$REPO/target/$triple/$dir"
