#!/bin/sh
# Test program for scripts/docker-e2e.sh: makes orphans. Every 0.05 s a subshell starts a short
# sleep in the background and exits at once, so the sleep is re-parented to PID 1, which must reap
# it when it ends. The number of orphans made so far is kept in /tmp/orphans.
n=0
while :; do
    (sleep 0.2 &)
    n=$((n + 1))
    # Replaced, never truncated: a reader always sees a whole number.
    echo "$n" >/tmp/orphans.new
    mv /tmp/orphans.new /tmp/orphans
    sleep 0.05
done
