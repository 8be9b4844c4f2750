"""Scenario 3: the control plane.

`supervisorctl status` wall time (each implementation's own client, and the other one's as a
compatibility cross-check), and getAllProcessInfo request -> response time over one kept-open
HTTP/1.1 connection on the unix socket.
"""

import subprocess
import time

from ..conf import sleepers
from ..errors import ImplError
from ..results import Metric, Target
from .base import Scenario, daemon_with

WARMUP_CALLS = 3
STATUS_TARGETS = {10: 2.0, 200: 3.0}


class Control(Scenario):
    key = "ctl"
    title = "Control plane"

    def __init__(self, sizes, status_runs, rpc_calls, reps):
        super().__init__(reps)
        self.sizes = sizes
        self.status_runs = status_runs
        self.rpc_calls = rpc_calls

    def metrics(self):
        found = []
        for n in self.sizes:
            limit = STATUS_TARGETS.get(n)
            found.append(Metric(f"status_{n}", f"`supervisorctl status` wall time, {n} programs",
                                "ms", Target("<=", limit, f"≤ {limit:g}") if limit else None,
                                headline=n == max(self.sizes)))
        for n in self.sizes:
            found.append(Metric(f"status_json_{n}", f"`supervisorctl status --json` wall time, "
                                f"{n} programs (ours only)", "ms", compare=False))
            found.append(Metric(f"top_{n}", f"`supervisorctl top -b` wall time, {n} programs "
                                "(ours only)", "ms", compare=False))
            found.append(Metric(f"status_dyn_{n}", f"`supervisorctl status` wall time, {n} "
                                "programs, dynamically linked client (ours only)", "ms",
                                compare=False))
        for n in self.sizes:
            found.append(Metric(f"status_cross_{n}",
                                f"`supervisorctl status`, {n} programs, the other "
                                "implementation's client against this column's daemon", "ms",
                                compare=False))
        for n in self.sizes:
            found.append(Metric(f"gapi_{n}", f"getAllProcessInfo over keep-alive, {n} programs",
                                "ms", Target("<=", 1.0, "≤ 1") if n <= 200 else None, digits=3,
                                headline=n == max(self.sizes)))
        return found

    def run(self, impl, ctx, rec):
        for n in self.sizes:
            with daemon_with(impl, ctx, sleepers(n), running=n, rpc=True) as daemon:
                for _ in range(self.status_runs):
                    rec(f"status_{n}", status_time(impl.supervisorctl, daemon, n))
                if impl.key == "ours":
                    self.extensions(impl, daemon, n, rec)
                other = ctx.other(impl)
                if other is not None:
                    self.cross(other, daemon, n, rec)
                rec(f"gapi_{n}", *self.rpc_times(daemon, n, rec))

    def extensions(self, impl, daemon, n, rec):
        """Our client's other views (Python's has neither) and our dynamically linked client."""
        for _ in range(self.status_runs):
            rec(f"status_json_{n}", status_time(impl.supervisorctl, daemon, n, ["--json"]))
            rec(f"top_{n}", command_time(impl.supervisorctl, daemon, ["top", "-b"]))
            if impl.dynamic is not None and not impl.dynamic.unavailable:
                rec(f"status_dyn_{n}", status_time(impl.dynamic.supervisorctl, daemon, n))

    def cross(self, other, daemon, n, rec):
        """The other implementation's client against this daemon: a failure here belongs to
        either side, so it is recorded without ending the scenario."""
        try:
            for _ in range(self.status_runs):
                rec(f"status_cross_{n}", status_time(other.supervisorctl, daemon, n))
        except ImplError as err:
            rec.fail(f"status_cross_{n}", f"{other.title} client: {err}")

    def rpc_times(self, daemon, n, rec):
        times = []
        with daemon.rpc() as rpc:
            infos = rpc.call("supervisor.getAllProcessInfo")
            if len(infos) != n:
                raise ImplError(f"getAllProcessInfo returned {len(infos)} entries, expected {n}")
            for _ in range(WARMUP_CALLS):
                rpc.call_raw("supervisor.getAllProcessInfo")
            connects = rpc.connects
            for _ in range(self.rpc_calls):
                start = time.perf_counter()
                rpc.call_raw("supervisor.getAllProcessInfo")
                times.append((time.perf_counter() - start) * 1000)
            if rpc.connects != connects:
                rec.note(f"{daemon.impl.title} closed the keep-alive connection during "
                         "getAllProcessInfo calls: those times include reconnecting.")
        return times


def status_time(ctl, daemon, n, extra=()):
    """Milliseconds for one `supervisorctl -c CONF status`, checked for exit 0 and n lines
    (`--json`: n objects)."""
    elapsed, done = timed(ctl, daemon, ["status", *extra])
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if extra:
        lines = [None] * done.stdout.count('"name"')
    if done.returncode != 0 or len(lines) != n:
        raise ImplError(f"{ctl} status exited {done.returncode} with {len(lines)} lines "
                        f"(expected 0 and {n}): {(done.stdout + done.stderr)[-300:]!r}")
    return elapsed


def command_time(ctl, daemon, args):
    """Milliseconds for one `supervisorctl -c CONF ARGS...`, checked for exit 0."""
    elapsed, done = timed(ctl, daemon, args)
    if done.returncode != 0:
        raise ImplError(f"{ctl} {' '.join(args)} exited {done.returncode}: "
                        f"{(done.stdout + done.stderr)[-300:]!r}")
    return elapsed


def timed(ctl, daemon, args):
    argv = [ctl, "-c", str(daemon.setup.conf), *args]
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise ImplError(f"{' '.join(argv[:1] + args)} did not finish within 60 s") from None
    return (time.perf_counter() - start) * 1000, done
