"""Scenarios 1 and 2: idle memory, threads and wakeups of supervisord.

Only the supervisord process is measured (VmRSS, Threads from /proc/PID/status), once every
program is RUNNING and the daemon has settled. Wakeups are context switches summed over its
threads during a window in which nothing talks to it.
"""

import time

from .. import procfs
from ..conf import sleepers
from ..results import Metric, Target
from .base import Scenario, daemon_with

RSS_TARGETS = {10: 2.5, 200: 6.0, 1000: 12.0}
SETTLE = 1.0
WAKEUP_PROGRAMS = 10


class Idle(Scenario):
    key = "idle"
    title = "Idle footprint"

    def __init__(self, sizes, window, reps):
        super().__init__(reps)
        self.sizes = sizes
        self.window = window

    def metrics(self):
        found = []
        headline = 200 if 200 in self.sizes else max(self.sizes)
        for n in self.sizes:
            limit = RSS_TARGETS.get(n)
            target = Target("<=", limit, f"≤ {limit:g}") if limit else None
            found.append(Metric(f"rss_{n}", f"idle RSS, {n} programs", "MiB", target,
                                headline=n == headline))
        for n in self.sizes:
            found.append(Metric(f"rss_dyn_{n}", f"idle RSS, {n} programs, dynamically linked "
                                "build (ours only)", "MiB", compare=False))
        for n in self.sizes:
            found.append(Metric(f"threads_{n}", f"threads, {n} programs", "", digits=0))
        found.append(Metric(f"wakeups_{WAKEUP_PROGRAMS}",
                            f"idle wakeups, {WAKEUP_PROGRAMS} programs ({self.window:g} s window)",
                            "/s", Target("<=", 0.1, "0"), headline=True))
        return found

    def run(self, impl, ctx, rec):
        self.measure(impl, ctx, rec, "rss")
        if impl.dynamic is not None and not impl.dynamic.unavailable:
            self.measure(impl.dynamic, ctx, rec, "rss_dyn", wakeups=False)

    def measure(self, impl, ctx, rec, rss_key, wakeups=True):
        for n in self.sizes:
            with daemon_with(impl, ctx, sleepers(n), running=n) as daemon:
                # Let connection threads and start-up work finish before reading.
                time.sleep(SETTLE)
                daemon.check_alive()
                rec(f"{rss_key}_{n}", procfs.rss_kib(daemon.pid) / 1024)
                if not wakeups:
                    continue
                rec(f"threads_{n}", procfs.thread_count(daemon.pid))
                if n == WAKEUP_PROGRAMS:
                    before = procfs.context_switches(daemon.pid)
                    time.sleep(self.window)
                    daemon.check_alive()
                    after = procfs.context_switches(daemon.pid)
                    rec(f"wakeups_{n}", (after - before) / self.window)
