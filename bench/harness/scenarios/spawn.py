"""Scenario 4: time from launching supervisord to all N programs RUNNING.

Progress is read from the main log ("entered RUNNING state" lines, the message both
implementations log) every few ms, which costs the daemon nothing; a slow getAllProcessInfo
poll is the fallback and the final check.
"""

import time

from ..conf import sleepers
from ..errors import ImplError
from ..rpc import try_call
from ..results import Metric, Target
from .base import Scenario, daemon_with

STARTSECS = (0, 1)
LOG_POLL = 0.005
RPC_POLL = 0.25
RUNNING_LINE = b"entered RUNNING state"


class Spawn(Scenario):
    key = "spawn"
    title = "Start-up"

    def __init__(self, sizes, reps):
        super().__init__(reps)
        self.sizes = sizes

    def metrics(self):
        return [
            Metric(f"spawn_{n}_s{s}", f"start to {n} programs RUNNING, startsecs={s}", "s",
                   Target("<=", s + 0.15, f"≤ {s + 0.15:g}") if n <= 200 else None, digits=3,
                   headline=s == 0 and n == min(self.sizes))
            for n in self.sizes
            for s in STARTSECS
        ]

    def run(self, impl, ctx, rec):
        for n in self.sizes:
            for startsecs in STARTSECS:
                with daemon_with(impl, ctx, sleepers(n, startsecs)) as daemon:
                    rec(f"spawn_{n}_s{startsecs}", self.time_to_running(daemon, n, startsecs))

    def time_to_running(self, daemon, n, startsecs):
        timeout = 60 + 0.1 * n + startsecs
        deadline = daemon.started + timeout
        log = LogCounter(daemon.setup.mainlog)
        next_rpc = 0.0
        while time.monotonic() < deadline:
            daemon.check_alive()
            now = time.monotonic()
            if log.count() >= n:
                confirm_running(daemon, n)
                return now - daemon.started
            if now >= next_rpc:
                next_rpc = now + RPC_POLL
                if count_running(daemon) >= n:
                    return now - daemon.started
            time.sleep(LOG_POLL)
        raise ImplError(f"{n} programs not RUNNING {timeout:g} s after start: {daemon.tail()}")


class LogCounter:
    """Counts RUNNING lines appended to a log, reading only what is new."""

    def __init__(self, path):
        self.path = path
        self.file = None
        self.partial = b""
        self.total = 0

    def count(self):
        if self.file is None:
            try:
                self.file = open(self.path, "rb")
            except FileNotFoundError:
                return 0
        data = self.partial + self.file.read()
        complete, _, self.partial = data.rpartition(b"\n")
        self.total += complete.count(RUNNING_LINE)
        return self.total

    def __del__(self):
        if self.file is not None:
            self.file.close()


def count_running(daemon):
    infos = try_call(daemon.setup.socket, "supervisor.getAllProcessInfo") or []
    return sum(1 for info in infos if info.get("statename") == "RUNNING")


def confirm_running(daemon, n):
    running = count_running(daemon)
    if running < n:
        raise ImplError(f"log says {n} programs RUNNING but getAllProcessInfo counts {running}")
