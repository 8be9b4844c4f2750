#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2015  # functions run via check/trap/wait_until; `a && b || fail` is meant
# End-to-end tests of the supervisord-rs image against a real Docker engine.
#
# Runs scripts/docker-setup.sh (installs and starts an engine when needed, imports a local busybox
# base image), builds docker/Dockerfile on that base with docker/build.sh, then runs the checks,
# each in its own container (`--network none`). Prints PASS/FAIL per check and a closing line
# `N passed, M failed`; exits non-zero when any check fails.
#
# When no engine can be started the tests are skipped (exit 0), except with CI=true, where that
# is a failure. A dockerd started by the setup is stopped at the end; every container and image
# made here is removed.
#
# Environment:
#   E2E_PROFILE   cargo profile for the image's binaries: release (default) or dev
#   E2E_BIN_DIR   use static binaries from this directory instead of building them
#   E2E_KEEP      set to 1 to keep failed containers for inspection
#   E2E_ONLY      run only the checks whose function name matches this regex (e.g. check_cmd_)
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
RUN_ID=$$
LABEL=supervisord-rs-e2e=$RUN_ID
BASE_IMAGE=supervisord-rs-e2e/busybox:latest
IMAGE=supervisord-rs-e2e/image:$RUN_ID
SCRATCH_IMAGE=supervisord-rs-e2e/scratch:$RUN_ID
WORK=$(mktemp -d "${TMPDIR:-/tmp}/supervisord-rs-e2e.XXXXXX")
STATE_FILE=$WORK/dockerd.pid
PASSED=0
FAILED=0

# ---------------------------------------------------------------------------------------------
# Reporting and cleanup

pass() { echo "PASS: $1"; PASSED=$((PASSED + 1)); }

fail() {
    echo "FAIL: $1"
    FAILED=$((FAILED + 1))
}

# check NAME FUNCTION [ARGS...]: runs one check; its output is shown only when it fails, except
# for lines starting with "measured: ".
check() {
    local name=$1 out=$WORK/check.out
    shift
    if [ -n "${E2E_ONLY:-}" ] && ! grep -Eq "$E2E_ONLY" <<<"$1"; then
        return 0
    fi
    if "$@" >"$out" 2>&1; then
        pass "$name"
        sed -n 's/^measured: /    /p' "$out"
    else
        fail "$name"
        sed 's/^/    /' "$out" | tail -n 40
    fi
}

summary_and_exit() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

stop_started_dockerd() {
    [ -s "$STATE_FILE" ] || return 0
    local pid log deadline
    pid=$(sed -n 1p "$STATE_FILE")
    log=$(sed -n 2p "$STATE_FILE")
    echo "docker-e2e: stopping dockerd (pid $pid)" >&2
    kill -TERM "$pid" 2>/dev/null || return 0
    deadline=$((SECONDS + 30))
    while process_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if process_alive "$pid"; then
        echo "docker-e2e: dockerd did not stop within 30 s, killing it" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    [ -n "$log" ] && rm -f "$log"
    rm -f "$STATE_FILE"
}

# A zombie counts as gone: it is reaped right after.
process_alive() {
    local state
    state=$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

cleanup() {
    if command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; then
        local ids
        ids=$(docker ps -aq --filter "label=$LABEL" 2>/dev/null)
        if [ -n "$ids" ] && [ "${E2E_KEEP:-0}" != 1 ]; then
            # shellcheck disable=SC2086  # one id per word
            timeout 60 docker rm -f $ids >/dev/null 2>&1
        fi
        if [ "${E2E_KEEP:-0}" != 1 ]; then
            # Derived images first: they are children of the scratch image.
            timeout 60 docker image prune -f --filter "label=$LABEL" >/dev/null 2>&1
            timeout 60 docker rmi -f "$PLAIN_IMAGE" "$SERVICES_IMAGE" >/dev/null 2>&1
            timeout 60 docker rmi -f "$IMAGE" "$SCRATCH_IMAGE" >/dev/null 2>&1
        fi
        # The base image is ours too; only remove it along with an engine we started.
        [ -s "$STATE_FILE" ] && timeout 60 docker rmi -f "$BASE_IMAGE" >/dev/null 2>&1
    fi
    stop_started_dockerd
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Helpers

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or time runs out.
wait_until() {
    local deadline
    deadline=$(($(date +%s%N) + $1 * 1000000000))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# wait_alive CONTAINER SECONDS COMMAND...: wait_until, giving up as soon as the container exits.
wait_alive() {
    local c=$1 deadline
    deadline=$(($(date +%s%N) + $2 * 1000000000))
    shift 2
    until "$@" >/dev/null 2>&1; do
        if ! running "$c"; then
            echo "container $c exited (exit code $(exit_code "$c"))"
            return 1
        fi
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

now() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# less_than A B: true when the decimal A < B.
less_than() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

cname() { echo "sv-e2e-$RUN_ID-$1"; }

# start_container NAME IMAGE CONF [DOCKER_CREATE_ARGS...]: creates a container running IMAGE with
# CONF as its only program file (in /etc/supervisor/conf.d/, included by the image's default
# config) and the test programs in /e2e, then starts it.
start_container() {
    local name=$1 image=$2 conf=$3 c
    shift 3
    c=$(cname "$name")
    timeout 30 docker create --name "$c" --label "$LABEL" --network none "$@" "$image" >/dev/null \
        || { echo "docker create $c failed"; return 1; }
    if [ -n "$conf" ]; then
        timeout 30 docker cp "$conf" "$c:/etc/supervisor/conf.d/test.conf" \
            || { echo "docker cp $conf failed"; return 1; }
        timeout 30 docker cp "$REPO/docker/e2e" "$c:/e2e" || { echo "docker cp e2e failed"; return 1; }
    fi
    timeout 30 docker start "$c" >/dev/null || { echo "docker start $c failed"; return 1; }
}

remove_container() {
    [ "${E2E_KEEP:-0}" = 1 ] && [ "$FAILED" -gt 0 ] && return 0
    timeout 60 docker rm -f "$(cname "$1")" >/dev/null 2>&1
}

ctl() {
    local c=$1
    shift
    timeout 20 docker exec "$c" supervisorctl "$@"
}

running() { [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
exit_code() { docker inspect -f '{{.State.ExitCode}}' "$1" 2>/dev/null; }

# Captured first: with pipefail, `docker logs | grep -q` fails when grep stops reading early.
logs_have() { grep -Eq "$2" <<<"$(timeout 20 docker logs "$1" 2>&1)"; }

# file_in CONTAINER PATH: prints a file of a (running or stopped) container.
file_in() { timeout 20 docker cp "$1:$2" - 2>/dev/null | tar -xO 2>/dev/null; }

show_logs() {
    echo "--- docker logs $1 (last 15 lines)"
    timeout 20 docker logs --tail 15 "$1" 2>&1
}

# A program section for the test config: output to the container's stdout, prefixed.
program() {
    local name=$1 command=$2
    shift 2
    printf '[program:%s]\ncommand=%s\n' "$name" "$command"
    printf 'stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nredirect_stderr=true\n'
    printf 'stdout_prefix="[%%(program_name)s] "\n'
    local line
    for line in "$@"; do printf '%s\n' "$line"; done
    printf '\n'
}

status_has() {
    local c=$1 pattern=$2 out
    out=$(ctl "$c" status 2>&1)
    grep -Eq "$pattern" <<<"$out"
}

# started CONTAINER NAME...: the test programs NAME... have set up their signal handlers.
started() {
    local c=$1 name
    shift
    for name in "$@"; do timeout 20 docker exec "$c" test -e "/tmp/started-$name" || return 1; done
}

all_running() {
    local c=$1 name
    shift
    for name in "$@"; do status_has "$c" "^$name +RUNNING " || return 1; done
}

# ---------------------------------------------------------------------------------------------
# Checks

check_scratch_image() {
    local c
    c=$(cname scratch)
    start_container scratch "$SCRATCH_IMAGE" "" || return 1
    if ! wait_alive "$c" 15 ctl "$c" pid; then
        echo "supervisorctl pid never answered in the scratch image"
        show_logs "$c"
        return 1
    fi
    local pid
    pid=$(ctl "$c" pid)
    [ "$pid" = 1 ] || { echo "supervisord pid is '$pid', expected 1"; return 1; }
    remove_container scratch
}

# One container serves the basic checks; it is created by check_programs_start.
BASIC=$(cname basic)

check_programs_start() {
    {
        program alpha "/bin/sh /e2e/record.sh alpha"
        program beta "/bin/sh /e2e/record.sh beta"
    } >"$WORK/basic.conf"
    start_container basic "$IMAGE" "$WORK/basic.conf" || return 1
    if ! wait_alive "$BASIC" 20 started "$BASIC" alpha beta; then
        echo "alpha and beta did not start within 20 s"
        show_logs "$BASIC"
        return 1
    fi
    local init
    init=$(timeout 20 docker exec "$BASIC" cat /proc/1/comm)
    [ "$init" = supervisord ] || { echo "PID 1 is '$init', not supervisord"; return 1; }
}

check_status_table() {
    local out rc=0
    if ! wait_alive "$BASIC" 20 all_running "$BASIC" alpha beta; then
        echo "alpha and beta not RUNNING within 20 s; status:"
        ctl "$BASIC" status
        return 1
    fi
    out=$(ctl "$BASIC" status) || rc=$?
    echo "$out"
    [ "$rc" -eq 0 ] || { echo "exit status $rc, expected 0"; return 1; }
    [ "$(wc -l <<<"$out")" -eq 2 ] || { echo "expected 2 lines"; return 1; }
    grep -Eq '^alpha +RUNNING +pid [0-9]+, uptime [0-9]+:[0-9]{2}:[0-9]{2}$' <<<"$out" \
        && grep -Eq '^beta +RUNNING +pid [0-9]+, uptime [0-9]+:[0-9]{2}:[0-9]{2}$' <<<"$out" \
        || { echo "lines do not match 'NAME RUNNING pid N, uptime H:MM:SS'"; return 1; }
}

logs_have_prefixed() { logs_have "$BASIC" "^\[$1\] $1 started$"; }

check_logs_prefixed() {
    if ! wait_until 10 logs_have_prefixed alpha || ! wait_until 10 logs_have_prefixed beta; then
        echo "docker logs lacks '[alpha] alpha started' / '[beta] beta started'"
        show_logs "$BASIC"
        return 1
    fi
}

check_status_after_stop() {
    local out rc=0
    out=$(ctl "$BASIC" stop alpha) || rc=$?
    echo "$out"
    [ "$rc" -eq 0 ] && [ "$out" = "alpha: stopped" ] \
        || { echo "stop alpha: exit $rc, expected 'alpha: stopped' and 0"; return 1; }
    rc=0
    out=$(ctl "$BASIC" status) || rc=$?
    echo "$out"
    [ "$rc" -eq 3 ] || { echo "status exit $rc, expected 3"; return 1; }
    grep -Eq '^alpha +STOPPED ' <<<"$out" && grep -Eq '^beta +RUNNING ' <<<"$out" \
        || { echo "expected alpha STOPPED and beta RUNNING"; return 1; }
    signal_recorded "$BASIC" "alpha got TERM" \
        || { echo "alpha did not record SIGTERM"; return 1; }
    remove_container basic
}

check_docker_stop() {
    local c elapsed code signals
    c=$(cname stop)
    {
        program term "/bin/sh /e2e/record.sh term 1" stopsignal=TERM
        program int "/bin/sh /e2e/record.sh int 1" stopsignal=INT
        program quit "/bin/sh /e2e/record.sh quit 1" stopsignal=QUIT
    } >"$WORK/stop.conf"
    start_container stop "$IMAGE" "$WORK/stop.conf" || return 1
    wait_alive "$c" 20 started "$c" term int quit || { echo "programs did not start"; show_logs "$c"; return 1; }
    local start
    start=$(now)
    timeout 30 docker stop -t 10 "$c" >/dev/null || { echo "docker stop failed"; return 1; }
    elapsed=$(elapsed_since "$start")
    code=$(exit_code "$c")
    signals=$(file_in "$c" /tmp/signals)
    echo "measured: docker stop took ${elapsed}s (programs take 1 s), exit code $code"
    echo "signals recorded:"
    echo "$signals"
    local want ok=0
    for want in "term got TERM" "int got INT" "quit got QUIT"; do
        grep -qx "$want" <<<"$signals" || { echo "missing: $want"; ok=1; }
    done
    [ "$code" = 0 ] || { echo "exit code $code, expected 0"; ok=1; }
    # Programs take 1 s to stop, all in parallel: well under 2 s, far from docker's 10 s.
    less_than "$elapsed" 2 || { echo "took ${elapsed}s, expected < 2 s"; ok=1; }
    [ "$ok" -eq 0 ] || { show_logs "$c"; return 1; }
    remove_container stop
}

check_stopwaitsecs_kill() {
    local c elapsed code
    c=$(cname stubborn)
    program stubborn "/bin/sh /e2e/stubborn.sh" stopwaitsecs=2 >"$WORK/stubborn.conf"
    start_container stubborn "$IMAGE" "$WORK/stubborn.conf" || return 1
    wait_alive "$c" 20 started "$c" stubborn || { echo "stubborn did not start"; show_logs "$c"; return 1; }
    local start
    start=$(now)
    timeout 30 docker stop -t 10 "$c" >/dev/null || { echo "docker stop failed"; return 1; }
    elapsed=$(elapsed_since "$start")
    code=$(exit_code "$c")
    echo "measured: docker stop took ${elapsed}s (stopwaitsecs=2, docker grace 10 s), exit code $code"
    # It ignores SIGTERM: it can only have died from supervisord's SIGKILL after stopwaitsecs,
    # long before docker's own SIGKILL at 10 s.
    if less_than "$elapsed" 1.9 || ! less_than "$elapsed" 8; then
        echo "expected about 2 s"
        show_logs "$c"
        return 1
    fi
    remove_container stubborn
}

signal_recorded() { grep -qx "$2" <<<"$(file_in "$1" /tmp/signals)"; }

check_kill_usr1() {
    local c
    c=$(cname usr1)
    {
        program one "/bin/sh /e2e/record.sh one"
        program two "/bin/sh /e2e/record.sh two"
    } >"$WORK/usr1.conf"
    start_container usr1 "$IMAGE" "$WORK/usr1.conf" || return 1
    wait_alive "$c" 20 started "$c" one two || { echo "programs did not start"; show_logs "$c"; return 1; }
    timeout 20 docker kill -s USR1 "$c" >/dev/null || { echo "docker kill -s USR1 failed"; return 1; }
    if ! wait_until 10 signal_recorded "$c" "one got USR1" \
        || ! wait_until 10 signal_recorded "$c" "two got USR1"; then
        echo "USR1 not recorded by both programs; /tmp/signals:"
        file_in "$c" /tmp/signals
        show_logs "$c"
        return 1
    fi
    running "$c" || { echo "the container exited after USR1"; return 1; }
    ctl "$c" status >/dev/null || { echo "status is not 0 after USR1"; ctl "$c" status; return 1; }
    remove_container usr1
}

orphans_made() {
    local n
    n=$(timeout 20 docker exec "$1" cat /tmp/orphans 2>/dev/null) || return 1
    [ "${n:-0}" -ge "$2" ]
}

check_no_zombies() {
    local c
    c=$(cname zombies)
    program orphans "/bin/sh /e2e/orphans.sh" >"$WORK/zombies.conf"
    start_container zombies "$IMAGE" "$WORK/zombies.conf" || return 1
    # About 3 s of orphans, each lives 0.2 s: an init that does not reap would hold ~60 zombies.
    if ! wait_alive "$c" 30 orphans_made "$c" 60; then
        echo "the orphan maker did not make 60 orphans"
        show_logs "$c"
        return 1
    fi
    local z max=0 samples=()
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        z=$(timeout 20 docker exec "$c" /bin/sh /e2e/zombies.sh) || { echo "counting failed"; return 1; }
        samples+=("$z")
        [ "$z" -gt "$max" ] && max=$z
        sleep 0.1
    done
    echo "measured: orphans made: $(timeout 20 docker exec "$c" cat /tmp/orphans); zombies sampled: ${samples[*]}"
    # A zombie exists between an orphan's exit and its reaping: a sample may catch one or two,
    # never a growing number.
    [ "$max" -le 3 ] || { echo "up to $max zombies"; return 1; }
    remove_container zombies
}

# start_with_config NAME CONF [DIR]: a container whose /etc/supervisord.conf is CONF (and, when
# given, DIR is copied to /etc/conf.d for the config's includes).
start_with_config() {
    local name=$1 conf=$2 dir=${3:-} c
    c=$(cname "$name")
    timeout 30 docker create --name "$c" --label "$LABEL" --network none "$IMAGE" >/dev/null \
        && timeout 30 docker cp "$conf" "$c:/etc/supervisord.conf" \
        && { [ -z "$dir" ] || timeout 30 docker cp "$dir" "$c:/etc/conf.d"; } \
        && timeout 30 docker start "$c" >/dev/null \
        || { echo "could not start $c with $conf"; return 1; }
}

# The server answers (an empty site: 404 is an answer).
http_answers() {
    local out
    out=$(timeout 20 docker exec "$1" wget -qO- http://127.0.0.1:8080/ 2>&1)
    grep -q 'HTTP/1.[01] [0-9]' <<<"$out"
}


check_example_web_worker() {
    local c out
    c=$(cname web-worker)
    start_with_config web-worker "$REPO/docker/examples/web-worker.conf" || return 1
    wait_alive "$c" 20 http_answers "$c" || { echo "web does not answer on :8080"; show_logs "$c"; return 1; }
    if ! wait_alive "$c" 20 logs_have "$c" '^\[worker\] processed job 1$'; then
        echo "no '[worker] processed job 1' in docker logs"
        show_logs "$c"
        return 1
    fi
    out=$(timeout 20 docker exec "$c" ps -o user,args)
    grep -Eq '^nobody +/bin/sh -c n=0' <<<"$out" || { echo "worker is not running as nobody:"; echo "$out"; return 1; }
    wait_alive "$c" 20 all_running "$c" web worker || { echo "status:"; ctl "$c" status; return 1; }
    remove_container web-worker
}

check_example_includes() {
    local c dir=$REPO/docker/examples/with-includes
    c=$(cname includes)
    start_with_config includes "$dir/supervisord.conf" "$dir/conf.d" || return 1
    wait_alive "$c" 20 http_answers "$c" || { echo "web does not answer on :8080"; show_logs "$c"; return 1; }
    if ! wait_alive "$c" 20 logs_have "$c" '^\[worker_1\] worker 1 alive$'; then
        echo "no '[worker_1] worker 1 alive' in docker logs"
        show_logs "$c"
        return 1
    fi
    if ! wait_alive "$c" 20 all_running "$c" web worker:worker_0 worker:worker_1; then
        echo "status:"
        ctl "$c" status
        return 1
    fi
    remove_container includes
}

# build_derived TAG CONF: builds an image FROM the scratch image with CONF in conf.d and a
# `RUN ["supervisord", "--check-config"]` step, as docker/README.md recommends.
build_derived() {
    local dir=$WORK/derived
    rm -rf "$dir" && mkdir -p "$dir" && cp "$2" "$dir/app.conf" || return 1
    # The label marks the intermediate images too, for cleanup.
    printf 'FROM %s\nLABEL %s\nCOPY app.conf /etc/supervisor/conf.d/\nRUN ["supervisord", "--check-config"]\n' \
        "$SCRATCH_IMAGE" "$LABEL" >"$dir/Dockerfile"
    timeout 120 docker build --force-rm -q -t "$1" "$dir" 2>&1
}

check_config_check_in_build() {
    local tag=supervisord-rs-e2e/derived:$RUN_ID out
    printf '[program:app]\ncommand=/usr/local/bin/supervisorctl pid\n' >"$WORK/good.conf"
    printf '[program:app]\ncommand=/usr/local/bin/supervisorctl pid\nstartsecs=soon\n' \
        >"$WORK/bad.conf"
    out=$(build_derived "$tag" "$WORK/good.conf") || { echo "valid config: build failed"; echo "$out"; return 1; }
    timeout 60 docker rmi -f "$tag" >/dev/null 2>&1
    if out=$(build_derived "$tag" "$WORK/bad.conf"); then
        timeout 60 docker rmi -f "$tag" >/dev/null 2>&1
        echo "invalid config: the build succeeded"
        return 1
    fi
    grep -q "app.conf:3: \[program:app\] startsecs" <<<"$out" \
        || { echo "the build error does not name the file, line and option:"; echo "$out"; return 1; }
}

health() { docker inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null; }
healthy() { [ "$(health "$1")" = healthy ]; }
unhealthy() { [ "$(health "$1")" = unhealthy ]; }

check_healthcheck() {
    local c
    c=$(cname health)
    program web "/bin/sh /e2e/record.sh web" >"$WORK/health.conf"
    start_container health "$IMAGE" "$WORK/health.conf" --health-cmd "supervisorctl status" \
        --health-interval 1s --health-timeout 5s --health-retries 1 || return 1
    wait_alive "$c" 20 healthy "$c" || { echo "never healthy (health: $(health "$c"))"; return 1; }
    ctl "$c" stop web >/dev/null || { echo "supervisorctl stop web failed"; return 1; }
    wait_alive "$c" 20 unhealthy "$c" || { echo "not unhealthy after stop (health: $(health "$c"))"; return 1; }
    remove_container health
}

exited() { ! running "$1"; }

# Extension: when an essential program fails for good, supervisord stops the others and exits
# with that program's status.
check_essential_exit_status() {
    local c code signals
    c=$(cname essential)
    {
        program main "/bin/sh -c 'sleep 1; exit 7'" essential=true autorestart=false startsecs=0
        program helper "/bin/sh /e2e/record.sh helper"
    } >"$WORK/essential.conf"
    start_container essential "$IMAGE" "$WORK/essential.conf" || return 1
    if ! wait_until 20 exited "$c"; then
        echo "the container still runs 20 s after its essential program exited"
        show_logs "$c"
        return 1
    fi
    code=$(exit_code "$c")
    signals=$(file_in "$c" /tmp/signals)
    echo "measured: container exit code $code (essential program exited with 7)"
    [ "$code" = 7 ] || { echo "exit code $code, expected 7"; show_logs "$c"; return 1; }
    grep -qx "helper got TERM" <<<"$signals" || { echo "helper was not stopped with SIGTERM"; return 1; }
    remove_container essential
}

# Extensions: a oneshot job and a notify service (s6-style readiness on fd 3: busybox has no
# sd_notify sender) gate a dependent; the finished job does not make `status` exit 3.
check_service_types() {
    local c out code
    c=$(cname services)
    {
        program migrate "/bin/sh -c 'sleep 1; echo migrated > /tmp/migrated'" type=oneshot
        program ready "/bin/sh -c 'sleep 1; echo >&3; exec sleep 1000'" type=notify notify_fd=3
        program web "/bin/sh -c 'test -e /tmp/migrated && exec sleep 1000'" startsecs=0 \
            depends_on=migrate,ready
    } >"$WORK/services.conf"
    start_container services "$IMAGE" "$WORK/services.conf" || return 1
    if ! wait_alive "$c" 20 all_running "$c" ready web; then
        echo "status:"
        ctl "$c" status
        show_logs "$c"
        return 1
    fi
    out=$(ctl "$c" status)
    code=$?
    grep -Eq '^migrate +EXITED +finished .*\(exit status 0\)' <<<"$out" \
        || { echo "migrate is not shown as finished:"; echo "$out"; return 1; }
    [ "$code" = 0 ] || { echo "status exited $code with a finished oneshot:"; echo "$out"; return 1; }
    logs_have "$c" 'success: ready entered RUNNING state, process reported ready' \
        || { echo "no readiness line in docker logs"; show_logs "$c"; return 1; }
    remove_container services
}

# ---------------------------------------------------------------------------------------------
# The container's command: supervisord [options] [--] COMMAND

PLAIN_IMAGE=supervisord-rs-e2e/cmd-plain:$RUN_ID
SERVICES_IMAGE=supervisord-rs-e2e/cmd-services:$RUN_ID

# build_cmd_image TAG DOCKERFILE_BODY: an image FROM the busybox image with the e2e programs in
# /e2e and the given Dockerfile lines.
build_cmd_image() {
    local dir=$WORK/cmd-image
    rm -rf "$dir" && mkdir -p "$dir" && cp -r "$REPO/docker/e2e" "$dir/e2e" || return 1
    printf '[program:svc]\ncommand=/bin/sh /e2e/record.sh svc\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n' \
        >"$dir/svc.conf"
    printf 'FROM %s\nLABEL %s\nCOPY e2e /e2e\n%s\n' "$IMAGE" "$LABEL" "$2" >"$dir/Dockerfile"
    timeout 120 docker build --force-rm -q -t "$1" "$dir" 2>&1
}

# run_status IMAGE [ARGS...]: `docker run` (attached) and its exit status.
run_status() {
    local image=$1 rc=0
    shift
    timeout 60 docker run --rm --label "$LABEL" --network none "$image" "$@" >/dev/null 2>&1 || rc=$?
    echo "$rc"
}

# expect_status WANT IMAGE [ARGS...]
expect_status() {
    local want=$1 got
    shift
    got=$(run_status "$@")
    echo "measured: docker run $* -> exit $got"
    [ "$got" = "$want" ] || { echo "docker run $*: exit $got, expected $want"; return 1; }
}

# tini-style: ENTRYPOINT ["supervisord"] + CMD, no config in the image.
check_cmd_plain_init() {
    local out
    out=$(build_cmd_image "$PLAIN_IMAGE" 'RUN ["rm", "/etc/supervisord.conf"]
ENTRYPOINT ["supervisord"]
CMD ["sh", "-c", "exit 3"]') || { echo "build failed: $out"; return 1; }
    expect_status 3 "$PLAIN_IMAGE" || return 1
    expect_status 0 "$PLAIN_IMAGE" sh -c 'exit 0' || return 1
    expect_status 137 "$PLAIN_IMAGE" sh -c 'kill -KILL $$' || return 1
    out=$(timeout 60 docker run --rm --label "$LABEL" --network none "$PLAIN_IMAGE" \
        cat /proc/1/comm 2>&1)
    echo "$out"
    [ "$out" = supervisord ] || { echo "expected PID 1 supervisord and nothing else on the output"; return 1; }
}

# s6-overlay-style: ENTRYPOINT ["supervisord", "--"] + CMD with a service from the config.
check_cmd_services_first() {
    local c out code signals
    out=$(build_cmd_image "$SERVICES_IMAGE" 'COPY svc.conf /etc/supervisor/conf.d/
ENTRYPOINT ["supervisord", "--"]
CMD ["sh", "-c", "test -e /tmp/started-svc && exit 3"]') || { echo "build failed: $out"; return 1; }
    c=$(cname cmd-services)
    timeout 60 docker run --name "$c" --label "$LABEL" --network none "$SERVICES_IMAGE" >/dev/null 2>&1
    code=$(exit_code "$c")
    signals=$(file_in "$c" /tmp/signals)
    echo "measured: exit code $code (the command exits 3 only if the service started first)"
    [ "$code" = 3 ] || { echo "exit code $code, expected 3"; show_logs "$c"; return 1; }
    [ "$signals" = "svc got TERM" ] || { echo "service not stopped with SIGTERM: '$signals'"; show_logs "$c"; return 1; }
    logs_have "$c" 'stopped: svc \(exit status 0\)' || { echo "no graceful stop of svc in the log"; show_logs "$c"; return 1; }
    remove_container cmd-services
    expect_status 0 "$SERVICES_IMAGE" sh -c 'exit 0' || return 1
    expect_status 137 "$SERVICES_IMAGE" sh -c 'kill -KILL $$'
}

# The stock image (ENTRYPOINT supervisord -n) with a CMD: docker stop's SIGTERM goes to the
# command first, then the programs stop; the container exits with the command's status.
check_cmd_docker_stop() {
    local c elapsed code signals start
    c=$(cname cmd-stop)
    program svc "/bin/sh /e2e/record.sh svc" >"$WORK/cmd-stop.conf"
    timeout 30 docker create --name "$c" --label "$LABEL" --network none "$IMAGE" \
        /bin/sh /e2e/record.sh main >/dev/null \
        && timeout 30 docker cp "$WORK/cmd-stop.conf" "$c:/etc/supervisor/conf.d/test.conf" \
        && timeout 30 docker cp "$REPO/docker/e2e" "$c:/e2e" \
        && timeout 30 docker start "$c" >/dev/null || { echo "could not start $c"; return 1; }
    wait_alive "$c" 20 started "$c" svc main || { echo "svc and main did not start"; show_logs "$c"; return 1; }
    wait_alive "$c" 20 all_running "$c" main svc || { echo "status:"; ctl "$c" status; return 1; }
    start=$(now)
    timeout 30 docker stop -t 10 "$c" >/dev/null || { echo "docker stop failed"; return 1; }
    elapsed=$(elapsed_since "$start")
    code=$(exit_code "$c")
    signals=$(file_in "$c" /tmp/signals)
    echo "measured: docker stop took ${elapsed}s (each side takes 1 s to stop), exit code $code"
    echo "$signals"
    [ "$signals" = "main got TERM
svc got TERM" ] || { echo "expected main, then svc, to get SIGTERM"; show_logs "$c"; return 1; }
    [ "$code" = 0 ] || { echo "exit code $code, expected the command's 0"; return 1; }
    less_than "$elapsed" 5 || { echo "took ${elapsed}s, expected about 2 s"; return 1; }
    remove_container cmd-stop
}

# docker run -it IMAGE sh: job control on the container's terminal.
check_cmd_interactive() {
    local out f
    command -v python3 >/dev/null 2>&1 || { echo "python3 is needed to drive a pty"; return 1; }
    out=$(timeout 60 python3 "$REPO/docker/e2e/pty_shell.py" docker run -it --rm --label "$LABEL" \
        --network none "$IMAGE" sh 2>&1 | tail -n 1)
    echo "measured: $out (alive, seconds from Ctrl-C to the next prompt's output, exit, slept)"
    read -r -a f <<<"$out"
    [ "${f[0]:-}" = alive ] || { echo "the shell did not survive Ctrl-C"; return 1; }
    less_than "${f[1]:-99}" 5 || { echo "Ctrl-C did not interrupt sleep 30"; return 1; }
    [ "${f[2]:-}" = 5 ] || { echo "docker run exited ${f[2]:-?}, expected the shell's 5"; return 1; }
    [ "${f[3]:-}" = False ] || { echo "the interrupted list went on"; return 1; }
}

# ---------------------------------------------------------------------------------------------
# Main

setup() {
    local rc=0
    # Sourced, so that a dockerd it starts is our child: stopped and reaped by cleanup.
    export DOCKER_SETUP_STATE=$STATE_FILE E2E_BASE_IMAGE=$BASE_IMAGE
    # shellcheck source=docker-setup.sh source-path=SCRIPTDIR
    source "$REPO/scripts/docker-setup.sh" && docker_setup || rc=$?
    if [ $rc -eq 2 ]; then
        if [ "${CI:-}" = true ]; then
            fail "Docker engine available (CI=true: the Docker tests must run)"
            summary_and_exit
        fi
        echo "Docker end-to-end tests skipped: no Docker engine could be started on this machine."
        exit 0
    elif [ $rc -ne 0 ]; then
        fail "Docker setup (scripts/docker-setup.sh exit $rc)"
        summary_and_exit
    fi
}

build_images() {
    local args=(--base "$BASE_IMAGE" --tag "$IMAGE")
    if [ -n "${E2E_BIN_DIR:-}" ]; then
        args+=(--bin-dir "$E2E_BIN_DIR")
    else
        args+=(--profile "${E2E_PROFILE:-release}")
    fi
    "$REPO/docker/build.sh" "${args[@]}" -- -q >"$WORK/build.log" 2>&1 || return 1
    # The binaries are built by now: the scratch variant reuses them.
    local triple dir
    triple=$(rustc -vV | sed -n 's/^host: //p')
    case "${E2E_PROFILE:-release}" in dev | debug) dir=debug ;; *) dir=release ;; esac
    "$REPO/docker/build.sh" --tag "$SCRATCH_IMAGE" \
        --bin-dir "${E2E_BIN_DIR:-$REPO/target/$triple/$dir}" -- -q >>"$WORK/build.log" 2>&1
}

main() {
    setup
    local start
    start=$(now)
    if ! build_images; then
        fail "image builds (docker/build.sh)"
        tail -n 30 "$WORK/build.log" | sed 's/^/    /'
        summary_and_exit
    fi
    pass "image builds on the busybox base and on scratch ($(elapsed_since "$start")s)"

    check "scratch image: supervisord is PID 1 and supervisorctl answers" check_scratch_image
    check "the container starts its programs (supervisord is PID 1)" check_programs_start
    check "docker exec supervisorctl status: table, exit 0" check_status_table
    check "docker logs shows program output with prefixes" check_logs_prefixed
    check "supervisorctl stop, then status exits 3" check_status_after_stop
    check "docker stop -t 10: every program gets its stopsignal, exit 0 in < 2 s" check_docker_stop
    check "a program ignoring SIGTERM is killed after stopwaitsecs" check_stopwaitsecs_kill
    check "docker kill -s USR1 reaches the programs" check_kill_usr1
    check "no zombies accumulate from orphaned grandchildren" check_no_zombies
    check "example web-worker.conf: web answers, worker runs as nobody, prefixed logs" \
        check_example_web_worker
    check "example with-includes/: conf.d programs run" check_example_includes
    check "docker health check with supervisorctl status: healthy, unhealthy after a stop" \
        check_healthcheck
    check "RUN supervisord --check-config in a derived image fails the build on a bad config" \
        check_config_check_in_build
    check "essential program exits: the container exits with its status" \
        check_essential_exit_status
    check "oneshot job and notify service gate a dependent; status exits 0" check_service_types
    check "ENTRYPOINT [supervisord] + CMD without config: a plain init, exit 3/0/137 passed through" \
        check_cmd_plain_init
    check "ENTRYPOINT [supervisord, --] + CMD: services first, stopped gracefully after, exit 3/0/137" \
        check_cmd_services_first
    check "docker stop with a CMD: SIGTERM to the command first, then the programs" \
        check_cmd_docker_stop
    check "docker run -it IMAGE sh: Ctrl-C interrupts sleep, not the shell; exit 5 passed through" \
        check_cmd_interactive

    summary_and_exit
}

main "$@"
