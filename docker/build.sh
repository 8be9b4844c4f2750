#!/usr/bin/env bash
# Builds the supervisord-rs image: compiles supervisord and supervisorctl as static binaries on
# the host, stages them with the default config into a temporary build context and runs
# `docker build` with docker/Dockerfile.
#
# Usage: docker/build.sh [options] [-- extra `docker build` arguments]
#   --tag TAG          image tag (default supervisord-rs:latest)
#   --base IMAGE       base image, the BASE build argument (default scratch)
#   --config FILE      file installed as /etc/supervisord.conf (default docker/supervisord.conf)
#   --profile NAME     cargo profile: release (default) or dev
#   --bin-dir DIR      take already built static binaries from DIR instead of running cargo
#   -h, --help         this text
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
TAG=supervisord-rs:latest
BASE=scratch
CONFIG=$REPO/docker/supervisord.conf
PROFILE=release
BIN_DIR=
BINARIES=(supervisord supervisorctl)

die() { echo "docker/build.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --tag) TAG=${2:?--tag needs a value}; shift 2 ;;
        --base) BASE=${2:?--base needs a value}; shift 2 ;;
        --config) CONFIG=${2:?--config needs a value}; shift 2 ;;
        --profile) PROFILE=${2:?--profile needs a value}; shift 2 ;;
        --bin-dir) BIN_DIR=${2:?--bin-dir needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; break ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

is_static() {
    local out
    out=$(ldd "$1" 2>&1 || true)
    case "$out" in *"not a dynamic executable"* | *"statically linked"*) return 0 ;; esac
    return 1
}

# scripts/build-static.sh builds them as the image needs them (glibc's static libraries) and
# prints where they are.
build_binaries() {
    echo "docker/build.sh: building static binaries ($PROFILE)" >&2
    BIN_DIR=$("$REPO/scripts/build-static.sh" "$PROFILE")
}

# rootfs/ is copied onto / by the Dockerfile: it must hold every directory the default config
# uses, because a scratch base has none.
stage_context() {
    local context=$1 name
    mkdir -p "$context"/rootfs/{usr/local/bin,etc/supervisor/conf.d,run,tmp,var/log/supervisor}
    chmod 1777 "$context/rootfs/tmp"
    for name in "${BINARIES[@]}"; do
        [ -x "$BIN_DIR/$name" ] || die "missing binary $BIN_DIR/$name"
        is_static "$BIN_DIR/$name" || die "$BIN_DIR/$name is not statically linked"
        cp "$BIN_DIR/$name" "$context/rootfs/usr/local/bin/$name"
    done
    [ -f "$CONFIG" ] || die "config file $CONFIG not found"
    cp "$CONFIG" "$context/rootfs/etc/supervisord.conf"
    cp "$REPO/docker/Dockerfile" "$context/Dockerfile"
}

main() {
    command -v docker >/dev/null 2>&1 || die "docker is not installed"
    [ -n "$BIN_DIR" ] || build_binaries
    local context
    context=$(mktemp -d "${TMPDIR:-/tmp}/supervisord-rs-image.XXXXXX")
    # shellcheck disable=SC2064  # expand now: the path is fixed
    trap "rm -rf '$context'" EXIT
    stage_context "$context"
    echo "docker/build.sh: building image $TAG (BASE=$BASE)" >&2
    docker build --build-arg "BASE=$BASE" --tag "$TAG" "$@" "$context"
}

main "$@"
