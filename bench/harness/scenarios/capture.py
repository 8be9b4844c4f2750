"""Scenario 6: capturing a child's output to a log file, end to end.

A producer writes N MiB in 1 MiB writes through supervisord into its stdout log, once without
rotation and once with 50MB x 10 rotation; `producer | cat > file` is the physical reference.
Throughput runs from the producer's first write (its own stamp, same for all three) to the
moment the files hold everything (for cat: to the pipeline's exit); bytes lost
compare what the files hold with what the producer wrote (under rotation: with what the
retained files should hold, computed from the chunk headers, see scripts/producer.py).
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from ..conf import Program
from ..daemon import wait_exit
from ..errors import ImplError, wait_until
from ..results import Metric, Target
from ..scripts.producer import CHUNK, HEADER, LINE
from .base import Scenario, daemon_with, read_stamps

MODES = {"plain": (0, 0), "rotated": ("50MB", 10)}
POLL = 0.01
STALL = 3.0  # producer done and no change for this long: the rest is lost


def memory_dir():
    """/dev/shm when usable: logs in memory measure the supervisor, not the disk's mood (the
    disk of a shared machine varies by a factor of three from one run to the next)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


class Capture(Scenario):
    key = "capture"
    title = "Log capture"

    def __init__(self, mib, reps):
        super().__init__(reps)
        self.mib = mib
        self.total = mib * CHUNK

    def metrics(self):
        size = f"{self.mib // 1024} GiB" if self.mib >= 1024 else f"{self.mib} MiB"
        found = []
        for mode, (maxbytes, backups) in MODES.items():
            what = "no rotation" if not backups else f"{maxbytes} x {backups} rotation"
            found.append(Metric(f"capture_{mode}_mbps", f"log capture {size}, {what}", "MB/s",
                                Target(">=", None, "≥ cat"), digits=0, headline=mode == "plain"))
            found.append(Metric(f"capture_{mode}_lost", f"bytes lost, {what}", "B",
                                Target("<=", 0, "0"), digits=0))
        found.append(Metric("capture_cat_mbps", f"reference: producer | cat > file, {size}",
                            "MB/s", digits=0, reference=True))
        return found

    def finish(self, results):
        cat = results.median("capture_cat_mbps", "ref")
        for mode in MODES:
            target = results.metric(f"capture_{mode}_mbps").target
            target.value = cat
            if cat is not None:
                target.text = f"≥ {cat:.0f} (cat)"

    def reference(self, ctx, rec):
        base = Path(tempfile.mkdtemp(prefix="svbench-cat-", dir=memory_dir()))
        try:
            rec("capture_cat_mbps", self.total / 1e6 / self.pipeline_seconds(ctx, base))
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def pipeline_seconds(self, ctx, base):
        """Seconds from the producer's first write until `producer | cat > file` exits."""
        out = base / "out"
        command = f"{ctx.script('producer.py')} {self.mib} {base}/done | cat > {out}"
        popen = subprocess.Popen(["/bin/sh", "-c", command], start_new_session=True)
        try:
            exited = wait_exit(popen, self.total / 10e6 + 60)
        finally:
            if popen.poll() is None:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait()
        stamps = read_stamps(base / "done")
        if exited is None or popen.returncode != 0 or stamps is None \
                or out.stat().st_size != self.total:
            raise RuntimeError(f"reference pipeline `{command}` failed (status {popen.returncode})")
        exited_wall = time.time() - (time.monotonic() - exited)
        return exited_wall - stamps[0]

    def run(self, impl, ctx, rec):
        for mode, (maxbytes, backups) in MODES.items():
            def producer(tmp, maxbytes=maxbytes, backups=backups):
                return [Program("producer", f"{ctx.script('producer.py')} {self.mib} {tmp}/done", {
                    "autorestart": False, "startsecs": 0,
                    "stdout_logfile": f"{tmp}/out.log",
                    "stdout_logfile_maxbytes": maxbytes, "stdout_logfile_backups": backups,
                    "stderr_logfile": f"{tmp}/err.log"})]

            with daemon_with(impl, ctx, producer, parent=memory_dir()) as daemon:
                seconds, lost = self.capture(daemon, backups)
                rec(f"capture_{mode}_mbps", self.total / 1e6 / seconds)
                rec(f"capture_{mode}_lost", lost)

    def capture(self, daemon, backups):
        """Waits for the producer's output in the logs; returns (seconds from its first write
        until the logs held everything, bytes lost)."""
        tmp = daemon.setup.dir
        logs = LogSet(tmp / "out.log", backups)
        launched = time.time()
        deadline = launched + self.total / 10e6 + 60
        last_state, last_change = None, launched
        while True:
            daemon.check_alive()
            now = time.time()
            state = logs.sizes()
            if state != last_state:
                last_state, last_change = state, now
            held = logs.held()
            if held is not None and held >= self.total:
                return now - self.began(tmp), self.total - held
            done = (tmp / "done").exists()
            if done and now - last_change > STALL:
                return last_change - self.began(tmp), self.total - (held or 0)
            if now > deadline or now - last_change > 30:
                raise ImplError(f"capture stalled at {sum(s for _, s in state)} bytes of "
                                f"{self.total} (producer {'done' if done else 'still writing'}): "
                                f"{daemon.tail()}")
            time.sleep(POLL)

    @staticmethod
    def began(tmp):
        """When the producer began writing (its done file may lag the last byte a little)."""
        stamps = wait_until(lambda: read_stamps(tmp / "done"), 10, "the producer's done file")
        return stamps[0]


class LogSet:
    """A log file and its rotated backups (NAME.1 is the newest backup)."""

    def __init__(self, path, backups):
        self.paths = [path] + [path.with_name(f"{path.name}.{i}") for i in range(1, backups + 1)]
        self.starts = {}  # inode of a rotated file -> global offset of its first byte

    def sizes(self):
        found = []
        for path in self.paths:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            found.append((st.st_ino, st.st_size))
        return tuple(found)

    def held(self):
        """Global offset of the end of the newest file, i.e. the bytes the files would hold
        without loss counted from the start of the oldest: start(oldest) + total size. None
        while the oldest file holds no complete header yet."""
        existing = [p for p in self.paths if p.exists()]
        if not existing:
            return None
        oldest = existing[-1]
        try:
            st = os.stat(oldest)
        except FileNotFoundError:
            return None
        start = self.starts.get(st.st_ino) if oldest != self.paths[0] else None
        if start is None:
            start = global_start(oldest)
            if start is None:
                return None
            if oldest != self.paths[0]:
                self.starts[st.st_ino] = start
        return start + sum(size for _, size in self.sizes())


def global_start(path):
    """Offset in the producer's stream of the first byte of `path`, from its first header."""
    with open(path, "rb") as f:
        head = f.read(LINE)
        if head.startswith(HEADER) and len(head) == LINE:
            offset = 0
        else:
            head += f.read(CHUNK + LINE)
            found = head.find(b"\n" + HEADER)
            if found < 0 or len(head) < found + 1 + LINE:
                return None
            offset = found + 1
    index = head[offset + len(HEADER): offset + len(HEADER) + 10]
    try:
        return int(index) * CHUNK - offset
    except ValueError:
        return None
