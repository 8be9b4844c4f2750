#!/bin/sh
# Test program for scripts/docker-e2e.sh: ignores SIGTERM, so only SIGKILL ends it.
# The ignored disposition survives exec, and exec leaves a single process (no orphan).
trap '' TERM
echo "stubborn started"
: >/tmp/started-stubborn
exec sleep 1000
