#!/usr/bin/env python3
"""Writes CHUNKS MiB to stdout in 1 MiB writes, then writes "START END" (time.time() when it
began and finished writing) to DONE_FILE.

Every 1 MiB chunk starts with a 64-byte header line holding its index, the rest is 64-byte
filler lines: the global offset of any retained log file can be recovered from the first
header it holds, so bytes lost under rotation can be counted exactly.

Usage: producer.py CHUNKS DONE_FILE
"""

import os
import sys
import time

CHUNK = 1 << 20
LINE = 64
HEADER = b"CHUNK "


def header(index):
    text = HEADER + b"%010d " % index
    return text + b"-" * (LINE - 1 - len(text)) + b"\n"


def main():
    chunks, done_path = int(sys.argv[1]), sys.argv[2]
    began = time.time()
    # One buffer reused for every chunk: a fresh 1 MiB allocation per write would cost more
    # page faults than the pipe itself.
    buf = bytearray(header(0) + (b"x" * (LINE - 1) + b"\n") * (CHUNK // LINE - 1))
    view = memoryview(buf)
    for index in range(chunks):
        buf[:LINE] = header(index)
        data = view
        while data:
            data = data[os.write(1, data):]
    with open(done_path, "w") as done:
        done.write("%.6f %.6f\n" % (began, time.time()))


if __name__ == "__main__":
    main()
