#!/usr/bin/env python3
"""Drives an interactive shell on a pseudo-terminal, as `docker run -it` gives one.

Usage: pty_shell.py COMMAND [ARG...]   (COMMAND must end up running an interactive sh)

Runs COMMAND on a new pty, types `sleep 30; echo slept`, presses Ctrl-C, then `echo alive` and
`exit 5`. Prints one line: `alive|dead SECONDS STATUS SLEPT`: whether the shell survived Ctrl-C,
how long `alive` took to appear after Ctrl-C, COMMAND's exit status, and whether the interrupted
list went on to `echo slept` (it must not). Used by tests/engine/container_command.rs and
scripts/docker-e2e.sh.
"""
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
def read_until(needle, secs):
    global out
    end = time.time() + secs
    while needle not in out and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            out += d
    return needle in out
os.write(fd, b"echo rea''dy\n")
assert read_until(b"ready", 10), out
os.write(fd, b"sleep 30; echo sle''pt\n")
time.sleep(0.5)
t0 = time.time()
os.write(fd, b"\x03")
os.write(fd, b"echo ali''ve\n")
alive = read_until(b"alive", 10)
took = time.time() - t0
os.write(fd, b"exit 5\n")
while True:
    try:
        if not os.read(fd, 4096):
            break
    except OSError:
        break
_, st = os.waitpid(pid, 0)
print("alive" if alive else "dead", round(took, 3), os.waitstatus_to_exitcode(st), b"slept" in out)
