#!/usr/bin/env bash
# Prepares a Docker engine for the end-to-end tests (scripts/docker-e2e.sh):
#   1. installs the engine and a static busybox when missing (Debian's docker.io, busybox-static);
#   2. starts dockerd when none answers, with networking features OFF so the host firewall is
#      never touched: --bridge=none --iptables=false --ip-forward=false --ip-masq=false;
#   3. imports a busybox rootfs as the local base image (no registry is needed or used).
#
# Exit status: 0 when the engine answers and the base image exists, 2 when no engine can be
# started here (the caller decides whether that is a skip or a failure), 1 on other errors.
#
# Run on its own, it leaves a dockerd it started running (pid in DOCKER_SETUP_STATE). Sourcing it
# defines the function `docker_setup` (same statuses) instead of running: a dockerd started that
# way is a child of the calling shell, which can then stop and reap it (scripts/docker-e2e.sh).
#
# Environment:
#   DOCKER_SETUP_STATE  file to write the pid (first line) and log path (second line) of a dockerd
#                       this script started, for the caller to stop it; default:
#                       $TMPDIR/supervisord-rs-dockerd.pid
#   E2E_BASE_IMAGE      tag of the imported busybox base (default supervisord-rs-e2e/busybox:latest)
#   DOCKERD_WAIT_SECS   how long to wait for a started dockerd to answer (default 60)

STATE_FILE=${DOCKER_SETUP_STATE:-${TMPDIR:-/tmp}/supervisord-rs-dockerd.pid}
BASE_IMAGE=${E2E_BASE_IMAGE:-supervisord-rs-e2e/busybox:latest}
WAIT_SECS=${DOCKERD_WAIT_SECS:-60}

say() { echo "docker-setup: $*" >&2; }

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

is_static() {
    local out
    out=$(ldd "$1" 2>&1 || true)
    case "$out" in *"not a dynamic executable"* | *"statically linked"*) return 0 ;; esac
    return 1
}

find_busybox() {
    local candidate
    for candidate in /bin/busybox /usr/bin/busybox; do
        # A dynamically linked busybox would not run inside an otherwise empty rootfs.
        if [ -x "$candidate" ] && is_static "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# Installs the missing packages with one `apt-get update`; services must not start during the
# install (a packaged dockerd would come up with default networking and rewrite the firewall).
install_packages() {
    local packages=()
    if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
        engine_answers || packages+=(docker.io)
    fi
    find_busybox >/dev/null || packages+=(busybox-static)
    [ ${#packages[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "cannot install ${packages[*]}: needs root and apt-get"
        return 2
    fi
    local policy=/usr/sbin/policy-rc.d created_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
    fi
    say "installing ${packages[*]}"
    local status=0
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || status=$?
    if [ $status -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${packages[@]}" >/dev/null || status=$?
    fi
    [ -n "$created_policy" ] && rm -f "$policy"
    if [ $status -ne 0 ]; then
        say "installing ${packages[*]} failed (status $status)"
        return 2
    fi
}

# Starts dockerd in the background with all host-network features disabled and waits (bounded)
# until it answers.
start_engine() {
    if ! command -v dockerd >/dev/null 2>&1; then
        say "dockerd is not installed"
        return 2
    fi
    local log
    log=$(mktemp "${TMPDIR:-/tmp}/supervisord-rs-dockerd.XXXXXX.log")
    say "starting dockerd (log: $log)"
    # setsid: dockerd must not get the caller's terminal signals; the caller stops it by pid.
    setsid dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
        >"$log" 2>&1 </dev/null &
    local pid=$!
    printf '%s\n%s\n' "$pid" "$log" >"$STATE_FILE"
    local deadline=$((SECONDS + WAIT_SECS))
    while [ $SECONDS -lt $deadline ]; do
        if engine_answers; then
            say "dockerd (pid $pid) is ready"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            say "dockerd exited during startup; last lines of $log:"
            tail -n 20 "$log" >&2 || true
            wait "$pid" 2>/dev/null
            rm -f "$STATE_FILE"
            return 2
        fi
        sleep 0.5
    done
    say "dockerd did not answer within ${WAIT_SECS}s; last lines of $log:"
    tail -n 20 "$log" >&2 || true
    return 2
}

# Builds a rootfs tarball holding a static busybox and its applet links, and imports it.
import_base_image() {
    if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        return 0
    fi
    local busybox rootfs status=0
    busybox=$(find_busybox) || { say "no static busybox found"; return 1; }
    rootfs=$(mktemp -d "${TMPDIR:-/tmp}/supervisord-rs-rootfs.XXXXXX") || return 1
    make_rootfs "$busybox" "$rootfs" || status=1
    if [ $status -eq 0 ]; then
        say "importing $BASE_IMAGE from $busybox"
        tar -C "$rootfs" -c . | docker import \
            --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$BASE_IMAGE" >/dev/null || status=1
    fi
    rm -rf "$rootfs"
    return $status
}

# make_rootfs BUSYBOX DIR: a minimal root filesystem: busybox with a link per applet, the usual
# directories, and root and nobody users.
make_rootfs() {
    local busybox=$1 rootfs=$2 applet
    mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,root,var/log,var/run} \
        && chmod 1777 "$rootfs/tmp" \
        && cp "$busybox" "$rootfs/bin/busybox" || return 1
    for applet in $("$busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet" || return 1
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
        >"$rootfs/etc/passwd" \
        && printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
}

docker_setup() {
    rm -f "$STATE_FILE"
    if engine_answers; then
        # An engine is already reachable (local or DOCKER_HOST): only the busybox may be missing.
        find_busybox >/dev/null || install_packages || return $?
    else
        install_packages || return $?
        start_engine || return $?
    fi
    import_base_image
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    docker_setup
fi
