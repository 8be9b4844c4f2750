"""Scenario 5: autorestart gap, from a program's exit to its next spawn.

The program stamps the time when it starts and just before it exits after 1.2 s; gap i =
start i+1 - exit i. bash's $EPOCHREALTIME is a builtin, so the stamps cost no fork and the gap
holds little more than the daemon's own work (plus bash's start-up); `date +%s.%N` is the
fallback where bash is missing.
"""

import os
import time

from ..conf import Program, escape
from ..errors import ImplError
from ..results import Metric, Target
from .base import Scenario, daemon_with

RUN_TIME = 1.2


class Restart(Scenario):
    key = "restart"
    title = "Autorestart"

    def __init__(self, gaps, reps):
        super().__init__(reps)
        self.gaps = gaps

    def metrics(self):
        return [Metric("restart_gap", "autorestart gap (exit to next spawn)", "ms",
                       Target("<=", 5.0, "≤ 5"), headline=True)]

    def run(self, impl, ctx, rec):
        with daemon_with(impl, ctx, cycler) as daemon:
            starts = daemon.setup.dir / "starts"
            deadline = time.monotonic() + 10 + self.gaps * (RUN_TIME + 2)
            while len(stamps(starts)) < self.gaps + 1:
                daemon.check_alive()
                if time.monotonic() > deadline:
                    raise ImplError(f"only {len(stamps(starts))} starts of {self.gaps + 1} "
                                    f"in time: {daemon.tail()}")
                time.sleep(0.05)
            exits = stamps(daemon.setup.dir / "exits")
            begun = stamps(starts)
            rec("restart_gap", *[(begun[i + 1] - exits[i]) * 1000 for i in range(self.gaps)])


def cycler(tmp):
    if os.access("/bin/bash", os.X_OK):
        shell, stamp = "/bin/bash", "echo $EPOCHREALTIME"
    else:
        shell, stamp = "/bin/sh", "date +%s.%N"
    script = f"{stamp} >> {tmp}/starts; sleep {RUN_TIME}; {stamp} >> {tmp}/exits"
    return [Program("cycler", escape(f"{shell} -c '{script}'"),
                    {"autorestart": True, "startsecs": 0})]


def stamps(path):
    """Complete timestamp lines of `path` (a line being written is left out)."""
    try:
        lines = path.read_text().splitlines(keepends=True)
    except FileNotFoundError:
        return []
    return [float(line) for line in lines if line.endswith("\n")]
