#!/bin/sh
# Test helper for scripts/docker-e2e.sh: prints how many processes in the container are zombies
# (state Z in /proc/PID/stat).
zombies=0
for stat in /proc/[0-9]*/stat; do
    read -r line <"$stat" 2>/dev/null || continue
    # The state follows the command name, which is in parentheses and may hold spaces.
    # shellcheck disable=SC2086  # split into fields on purpose
    set -- ${line##*) }
    [ "$1" = Z ] && zombies=$((zombies + 1))
done
echo "$zombies"
