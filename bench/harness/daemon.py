"""Starting, watching and always cleaning up one supervisord under test.

With `ns` the daemon is PID 1 of a fresh pid namespace (`unshare --pid --fork --mount-proc`),
as in a container: killing it from outside takes the whole namespace down, so nothing it
spawned can outlive the run. Without `ns` (no privileges) it is a plain child and cleanup
kills the process tree it had.
"""

import atexit
import ctypes
import os
import select
import signal
import subprocess
import time

from . import procfs
from .errors import ImplError
from .logwatch import LogCounter
from .rpc import UnixRpc, try_call

UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--"]
PR_SET_PDEATHSIG = 1
_LIVE = set()


def _die_with_harness(sig):
    """A preexec_fn: the launched process gets `sig` if the harness dies without cleaning up
    (even by SIGKILL). unshare's --kill-child then takes the whole namespace down."""
    libc = ctypes.CDLL(None, use_errno=True)

    def arm():
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return arm


def namespaces_available():
    """True when this user may create pid namespaces (root, unshare installed)."""
    try:
        done = subprocess.run(UNSHARE + ["true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def wait_exit(popen, timeout):
    """Waits for `popen` to exit; returns time.monotonic() at its exit, or None on timeout.

    A pidfd gives the exit instant without the coarse sleeps of Popen.wait(timeout)."""
    if popen.poll() is not None:
        return time.monotonic()
    try:
        fd = os.pidfd_open(popen.pid)
    except (AttributeError, OSError):
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic()
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            return None
        exited = time.monotonic()
    finally:
        os.close(fd)
    popen.wait()
    return exited


class Daemon:
    def __init__(self, impl, setup, ns=True):
        self.impl = impl
        self.setup = setup
        self.ns = ns
        self.popen = None
        self.pid = None
        self.out = None
        self.started = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.kill()

    def start(self):
        argv = [self.impl.supervisord, "-n", "-c", str(self.setup.conf)]
        if self.ns:
            argv = UNSHARE + argv
        self.out = open(self.setup.dir / "daemon.out", "wb")
        self.started = time.monotonic()
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.out,
                                      stderr=subprocess.STDOUT, cwd=self.setup.dir,
                                      start_new_session=True,
                                      preexec_fn=_die_with_harness(
                                          signal.SIGKILL if self.ns else signal.SIGTERM))
        _LIVE.add(self)
        self.pid = self._find_pid()

    def _find_pid(self):
        """Pid (in our namespace) of the supervisord process itself."""
        if not self.ns:
            return self.popen.pid
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = procfs.children_of(self.popen.pid)
            if children:
                return children[0]
            self.check_alive()
            time.sleep(0.001)
        raise ImplError("unshare did not fork supervisord within 10 s")

    def check_alive(self):
        code = self.popen.poll()
        if code is not None:
            raise ImplError(f"supervisord exited with status {code}: {self.tail()}")

    def tail(self, lines=6):
        """The last lines of the daemon's own output and main log, for error messages."""
        parts = []
        for path in (self.setup.dir / "daemon.out", self.setup.mainlog):
            try:
                text = path.read_text(errors="replace").strip().splitlines()[-lines:]
            except FileNotFoundError:
                continue
            if text:
                parts.append(f"[{path.name}] " + " | ".join(text))
        return " ".join(parts)[-800:] or "(no output)"

    def rpc(self, timeout=30.0):
        return UnixRpc(self.setup.socket, timeout)

    def wait_ready(self, timeout=30.0):
        """Waits until the control socket answers supervisor.getState."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if try_call(self.setup.socket, "supervisor.getState") is not None:
                return
            time.sleep(0.005)
        raise ImplError(f"control socket not answering after {timeout:g} s: {self.tail()}")

    def wait_running(self, n, timeout, log_poll=0.01, rpc_poll=0.25):
        """Waits until `n` programs are RUNNING; returns time.monotonic() when first seen.

        Progress comes from the "entered RUNNING state" lines of the main log, read every
        `log_poll` s at no cost to the daemon; getAllProcessInfo every `rpc_poll` s is the
        fallback for a daemon whose log says otherwise."""
        deadline = time.monotonic() + timeout
        log = LogCounter(self.setup.mainlog)
        next_rpc, running = 0.0, 0
        try:
            while time.monotonic() < deadline:
                self.check_alive()
                now = time.monotonic()
                if log.count() >= n:
                    return now
                if now >= next_rpc:
                    next_rpc = now + rpc_poll
                    infos = try_call(self.setup.socket, "supervisor.getAllProcessInfo") or []
                    running = sum(1 for i in infos if i.get("statename") == "RUNNING")
                    if running >= n:
                        return now
                time.sleep(log_poll)
        finally:
            log.close()
        raise ImplError(f"{n} programs not RUNNING after {timeout:g} s (log: {log.total}, "
                        f"getAllProcessInfo: {running}): {self.tail()}")

    def terminate(self, timeout):
        """SIGTERM to supervisord; returns seconds until the launched process exited."""
        sent = time.monotonic()
        os.kill(self.pid, signal.SIGTERM)
        exited = wait_exit(self.popen, timeout)
        if exited is None:
            raise ImplError(f"still running {timeout:g} s after SIGTERM: {self.tail()}")
        return exited - sent

    def kill(self):
        """Kills the daemon and everything it spawned; safe to call more than once."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            victims = [self.pid] if self.ns else self._tree()
            for pid in victims:
                _signal(pid, signal.SIGKILL)
            _signal(-self.popen.pid, signal.SIGKILL)
            if wait_exit(self.popen, 10) is None:
                raise RuntimeError(f"could not kill supervisord (pid {self.popen.pid})")
        self.out.close()
        _LIVE.discard(self)
        self.popen = None

    def _tree(self):
        table = procfs.process_table()
        return [self.popen.pid] + procfs.descendants(table, self.popen.pid)


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@atexit.register
def kill_all():
    """Last-resort cleanup when the harness exits in the middle of a run."""
    for daemon in list(_LIVE):
        try:
            daemon.kill()
        except Exception:  # noqa: BLE001 - exiting anyway; keep killing the others
            pass
