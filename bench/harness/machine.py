"""Facts about the machine and the build a run was made on."""

import os
import platform
import subprocess
import time

from .impls import REPO


def describe():
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": os.cpu_count(),
        "memory": f"{meminfo_kib('MemTotal') / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "cpu": cpu_model(),
        "load": "%.2f %.2f %.2f" % os.getloadavg(),
        "python": platform.python_version(),
        "commit": git_commit(),
    }


def meminfo_kib(field):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit():
    try:
        done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"
