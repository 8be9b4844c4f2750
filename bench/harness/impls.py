"""The two implementations under test and how to get their binaries."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
VENV = BENCH / ".venv"
SUPERVISOR_VERSION = "4.3.0"


@dataclass
class Impl:
    key: str
    title: str
    supervisord: str
    supervisorctl: str
    unavailable: str = ""
    # Ours: the dynamically linked build, measured beside the static one in a few rows.
    dynamic: "Impl | None" = None


def python_impl(log):
    """Python Supervisor from PyPI in bench/.venv (installed on first use)."""
    bindir = VENV / "bin"
    impl = Impl("python", f"Python {SUPERVISOR_VERSION}", str(bindir / "supervisord"),
                str(bindir / "supervisorctl"))
    if installed_version(impl.supervisord) == SUPERVISOR_VERSION:
        return impl
    log(f"installing supervisor=={SUPERVISOR_VERSION} into {VENV}")
    steps = [
        [sys.executable, "-m", "venv", str(VENV)],
        [str(bindir / "pip"), "install", "--quiet", "--disable-pip-version-check",
         f"supervisor=={SUPERVISOR_VERSION}"],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as err:
            impl.unavailable = f"install failed ({' '.join(step[:3])}): {err}"
            return impl
        if done.returncode != 0:
            reason = done.stderr.strip()[-300:]
            impl.unavailable = f"install failed ({' '.join(step[:3])}): {reason}"
            return impl
    if installed_version(impl.supervisord) != SUPERVISOR_VERSION:
        impl.unavailable = f"{impl.supervisord} --version is not {SUPERVISOR_VERSION} after install"
    return impl


def installed_version(supervisord):
    if not os.access(supervisord, os.X_OK):
        return None
    try:
        done = subprocess.run([supervisord, "--version"], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip()


def ours_impl(bindir=None, log=print):
    """supervisord-rs as the Docker image ships it: the static binaries that
    scripts/build-static.sh builds (built or brought up to date here), with the dynamically
    linked build of `cargo build --release --bins` beside them. A given `bindir` is used alone."""
    if bindir:
        return checked(Impl("ours", "supervisord-rs", str(Path(bindir) / "supervisord"),
                            str(Path(bindir) / "supervisorctl")))
    try:
        log("building the static and the dynamic binaries (no-op when up to date)")
        static = subprocess.run([str(REPO / "scripts" / "build-static.sh")], check=True,
                                capture_output=True, text=True, timeout=1800).stdout.strip()
        subprocess.run(["cargo", "build", "--release", "--bins"], cwd=REPO, check=True,
                       capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as err:
        impl = Impl("ours", "supervisord-rs", "", "")
        impl.unavailable = f"build failed: {getattr(err, 'stderr', '') or err}"[-300:]
        return impl
    impl = checked(Impl("ours", "supervisord-rs", f"{static}/supervisord",
                        f"{static}/supervisorctl"))
    dynamic = REPO / "target" / "release"
    impl.dynamic = checked(Impl("ours", "supervisord-rs (dynamic)", str(dynamic / "supervisord"),
                                str(dynamic / "supervisorctl")))
    return impl


def checked(impl):
    missing = [p for p in (impl.supervisord, impl.supervisorctl) if not os.access(p, os.X_OK)]
    if missing:
        impl.unavailable = f"not built ({', '.join(missing)})"
    return impl
