"""What every scenario shares: its interface and a running daemon with N programs."""

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from ..conf import new_setup
from ..daemon import Daemon

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@dataclass
class Context:
    """Facts about this run that scenarios need."""

    python: str  # interpreter used for the helper scripts run as programs
    ns: bool  # pid namespaces available: daemons run as PID 1
    impls: dict = field(default_factory=dict)  # key -> Impl
    keep: bool = False  # keep temp dirs for inspection
    quick: bool = False  # CI run: shorter waits for an implementation that hangs

    def other(self, impl):
        """The other implementation, if it can run."""
        for key, candidate in self.impls.items():
            if key != impl.key and not candidate.unavailable:
                return candidate
        return None

    def script(self, name):
        return f"{self.python} {SCRIPTS / name}"


class Scenario:
    key = ""
    title = ""
    pid1 = False  # needs to run as PID 1 of a pid namespace

    def __init__(self, reps):
        self.reps = reps

    def metrics(self):
        raise NotImplementedError

    def run(self, impl, ctx, rec):
        raise NotImplementedError

    def reference(self, ctx, rec):
        """Measures what the scenario compares against, without any supervisor (optional)."""

    def finish(self, results):
        """Fills targets that depend on measured references (optional)."""


@contextlib.contextmanager
def daemon_with(impl, ctx, programs, running=None, rpc=False, parent=None):
    """A started daemon for `programs`; waits for its control socket to answer when `rpc`,
    and for `running` programs to be RUNNING when given. Killed and its files removed on the
    way out."""
    setup = new_setup(programs, parent)
    try:
        with Daemon(impl, setup, ns=ctx.ns) as daemon:
            if rpc:
                # Python Supervisor answers only once it has spawned every program.
                daemon.wait_ready(10.0 + 0.05 * setup.programs)
            if running:
                daemon.wait_running(running, (20 if ctx.quick else 60) + 0.1 * running)
            yield daemon
    finally:
        if not ctx.keep:
            setup.cleanup()


def read_stamps(path):
    """The timestamps a helper script wrote to `path` on one line; None until complete."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    if not text.endswith("\n"):
        return None
    return [float(word) for word in text.split()]
