"""Scenario 4: time from launching supervisord to all N programs RUNNING.

Progress is read from the main log every 5 ms (see Daemon.wait_running), which costs the
daemon nothing, so a slow daemon is not slowed further by the measurement.
"""

from ..conf import sleepers
from ..results import Metric, Target
from .base import Scenario, daemon_with

STARTSECS = (0, 1)


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
                    timeout = (20 if ctx.quick else 60) + 0.1 * n + startsecs
                    seen = daemon.wait_running(n, timeout, log_poll=0.005)
                    rec(f"spawn_{n}_s{startsecs}", seen - daemon.started)
