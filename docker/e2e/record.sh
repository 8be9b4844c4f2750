#!/bin/sh
# Test program for scripts/docker-e2e.sh: records every signal it receives.
# Usage: record.sh NAME [STOP_DELAY]
# Each signal is appended to /tmp/signals as "NAME got SIG" (and printed). TERM, INT, QUIT and HUP
# end the program after STOP_DELAY seconds (default 1) with status 0; USR1, USR2 and WINCH are only
# recorded. /tmp/started-NAME appears once the signal handlers are in place.
name=$1
delay=${2:-1}
child=

record() {
    echo "$name got $1" >>/tmp/signals
    echo "$name got $1"
}

finish() {
    record "$1"
    sleep "$delay"
    kill "$child" 2>/dev/null
    exit 0
}

# shellcheck disable=SC2064  # the signal name is expanded now, on purpose
for sig in TERM INT QUIT HUP; do trap "finish $sig" "$sig"; done
# shellcheck disable=SC2064
for sig in USR1 USR2 WINCH; do trap "record $sig" "$sig"; done

echo "$name started"
: >"/tmp/started-$name"
# A background sleep and `wait` so that traps run as soon as a signal arrives.
while :; do
    sleep 1000 &
    child=$!
    wait "$child"
    kill "$child" 2>/dev/null
done
