"""Scenario 7: an orphan storm with supervisord as PID 1.

A program started with supervisord makes COUNT orphans (scripts/orphans.py); every 50 ms
the harness counts zombie processes below supervisord. Reported: the peak, and the count
100 ms and 1 s after the storm's last fork (first sample at or after those instants; a scan
takes longer than 50 ms while thousands of zombies exist).
"""

import time

from .. import procfs
from ..conf import Program
from ..errors import ImplError
from ..results import Metric, Target
from .base import Scenario, daemon_with, read_stamps

INTERVAL = 0.05
AFTER = 1.2  # keep sampling this long after the storm


class Orphans(Scenario):
    key = "orphans"
    title = "Orphan storm (PID 1)"
    pid1 = True

    def __init__(self, count, reps):
        super().__init__(reps)
        self.count = count

    def metrics(self):
        return [
            Metric("zombies_peak", f"zombies, peak during {self.count} orphans", "", digits=0),
            Metric("zombies_100ms", "zombies 100 ms after the storm", "", Target("<=", 0, "0"),
                   digits=0, headline=True),
            Metric("zombies_1s", "zombies 1 s after the storm", "", Target("<=", 0, "0"), digits=0),
            Metric("storm_s", f"storm duration ({self.count} orphans)", "s"),
        ]

    def run(self, impl, ctx, rec):
        def storm(tmp):
            return [Program("storm", f"{ctx.script('orphans.py')} {self.count} {tmp}/end", {
                "autorestart": False, "startsecs": 0})]

        with daemon_with(impl, ctx, storm) as daemon:
            samples, (begun, end) = self.sample(daemon, daemon.setup.dir / "end")
        rec("zombies_peak", max(count for _, count in samples))
        rec("zombies_100ms", first_after(samples, end + 0.1))
        rec("zombies_1s", first_after(samples, end + 1.0))
        rec("storm_s", end - begun)

    def sample(self, daemon, end_file):
        """[(time, zombies)] every INTERVAL until AFTER seconds past the storm's end, and the
        storm's (start, end)."""
        samples, stamps = [], None
        deadline = time.monotonic() + 30 + self.count * 0.01
        tick = time.monotonic()
        while stamps is None or samples[-1][0] < stamps[1] + AFTER:
            daemon.check_alive()
            samples.append((time.time(), procfs.zombies_below(daemon.pid)))
            stamps = stamps or read_stamps(end_file)
            if time.monotonic() > deadline:
                raise ImplError(f"orphan storm not over after {deadline - tick:.0f} s")
            tick += INTERVAL
            time.sleep(max(0.0, tick - time.monotonic()))
        return samples, stamps


def first_after(samples, when):
    return next(count for at, count in samples if at >= when)
