#!/usr/bin/env python3
"""Makes COUNT orphans as fast as it can, then writes "START END" (time.time() of its first
and after its last fork) to END_FILE.

Each round forks a child that forks a grandchild and exits at once: the grandchild, alive or
already dead, is re-parented to PID 1, which must reap it.

Usage: orphans.py COUNT END_FILE
"""

import os
import sys
import time


def main():
    count, end_path = int(sys.argv[1]), sys.argv[2]
    began = time.time()
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            if os.fork() == 0:
                os._exit(0)
            os._exit(0)
        os.waitpid(pid, 0)
    with open(end_path, "w") as end:
        end.write("%.6f %.6f\n" % (began, time.time()))


if __name__ == "__main__":
    main()
