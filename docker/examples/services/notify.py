# A notify service: reports progress with STATUS=, readiness with READY=1, then pings the
# watchdog every second (sd_notify protocol, Python's standard library only).
import os
import socket
import time

addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.sendto(b"STATUS=loading data", addr)
time.sleep(2)
sock.sendto(b"READY=1\nSTATUS=serving", addr)
while True:
    time.sleep(1)
    sock.sendto(b"WATCHDOG=1", addr)
