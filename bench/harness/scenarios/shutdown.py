"""Scenario 8: shutdown of supervisord as PID 1 on SIGTERM.

LEVELS priority levels of PER_LEVEL programs that each take 1 s to stop (trap TERM, sleep 1,
exit; they leave a `sleep infinity` orphan behind), plus one program that ignores SIGTERM
(stopwaitsecs=2) in the first level stopped. Measured from outside: SIGTERM to supervisord
until the unshare process running it exits, so orphan clean-up is included.
"""

import time

from ..conf import Program
from ..results import Metric, Target
from .base import Scenario, daemon_with

STOP_TIME = 1.0
STUBBORN_WAIT = 2
SETTLE = 0.5  # lets every shell install its trap after RUNNING
TRAPPER = "/bin/sh -c 'trap \"sleep 1; exit 0\" TERM; sleep infinity & wait'"
STUBBORN = "/bin/sh -c 'trap \"\" TERM; exec sleep infinity'"


class Shutdown(Scenario):
    key = "shutdown"
    title = "Shutdown (PID 1)"
    pid1 = True

    def __init__(self, levels, per_level, reps):
        super().__init__(reps)
        self.levels = levels
        self.per_level = per_level

    def ideal(self):
        """Sum over levels of each level's slowest stop."""
        return (self.levels - 1) * STOP_TIME + max(STOP_TIME, STUBBORN_WAIT)

    def metrics(self):
        limit = 1.1 * self.ideal()
        label = (f"shutdown, {self.levels} levels x {self.per_level} programs + 1 ignoring "
                 f"SIGTERM (ideal {self.ideal():g} s)")
        return [Metric("shutdown_s", label, "s", Target("<=", limit, f"≤ {limit:.2f}"),
                       headline=True)]

    def programs(self):
        found = []
        for level in range(self.levels):
            priority = (level + 1) * 100
            for i in range(self.per_level):
                found.append(Program(f"level{level}_{i}", TRAPPER,
                                     {"priority": priority, "startsecs": 0}))
        found.append(Program("stubborn", STUBBORN, {
            "priority": self.levels * 100, "startsecs": 0, "stopwaitsecs": STUBBORN_WAIT}))
        return found

    def run(self, impl, ctx, rec):
        programs = self.programs()
        with daemon_with(impl, ctx, programs, running=len(programs)) as daemon:
            time.sleep(SETTLE)
            daemon.check_alive()
            budget = 30 + len(programs) * (STOP_TIME + 1) + STUBBORN_WAIT
            rec("shutdown_s", daemon.terminate(budget))
