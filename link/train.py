#!/usr/bin/env python3
"""Writes link/hot-functions.txt: the functions supervisord and supervisorctl execute in ordinary
service, found by running them under valgrind's callgrind (instruction addresses) and mapping the
addresses to the symbols of a static, non-PIE build with symbols.

The run: supervisord as PID 1 of a new pid namespace (as in a container) with a few kinds of
programs (sleepers with logs, a chatty one, one that exits, one started later), then each
supervisorctl command an operator uses (status, status --json, top -b, start, stop, restart,
signal, tail, maintail, pid, avail, version, reread, update), the dashboard page and its JSON, and
finally SIGTERM for the orderly shutdown. Error paths are left out on purpose: they stay in the
cold part of .text.

Usage: python3 link/train.py   (needs valgrind, unshare, curl, nm, c++filt; run as root)
The next build relinks with the new list (build.rs watches it).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRIPLE = "x86_64-unknown-linux-gnu"
BUILD = REPO / "target" / "link-train"
BIN = BUILD / TRIPLE / "release"
OUT = REPO / "link" / "hot-functions.txt"
PROGRAMS = 40
# glibc picks one variant of each string function for the CPU at hand (IFUNC); valgrind's
# emulated CPU is not the one supervisord will run on, so every variant of a function family
# that ran is listed (about 100 KiB for all of them).
IFUNC_VARIANT = re.compile(r"^(__[a-z0-9]+?)_(sse2|sse4_1|sse4_2|ssse3|avx2|avx512|avx|evex|erms)")


def build():
    env = dict(os.environ)
    env.update(CARGO_TARGET_DIR=str(BUILD), CARGO_PROFILE_RELEASE_STRIP="false")
    env.pop("RUSTFLAGS", None)
    # Static as shipped, but not position-independent: callgrind then reports link addresses.
    flags = '["-C", "target-feature=+crt-static", "-C", "relocation-model=static"]'
    subprocess.run(["cargo", "build", "--release", "--target", TRIPLE, "--bins", "--config",
                    f"target.{TRIPLE}.rustflags={flags}"], cwd=REPO, env=env, check=True)


def config(d):
    text = f"""[supervisord]
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
childlogdir={d}

[unix_http_server]
file={d}/supervisor.sock

[supervisorctl]
serverurl=unix://{d}/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:chatty]
command=sh -c 'while :; do echo tick; echo tock >&2; sleep 0.2; done'
stdout_logfile={d}/chatty.log
stderr_logfile={d}/chatty.err

[program:once]
command=sh -c 'echo done'
startsecs=0
autorestart=false

[program:later]
command=sleep 1000
autostart=false
redirect_stderr=true

[group:pair]
programs=chatty,later
"""
    for i in range(PROGRAMS):
        text += f"""
[program:sleeper{i}]
command=sleep 1000
startsecs=0
stdout_logfile={d}/sleeper{i}.log
"""
    path = Path(d) / "supervisord.conf"
    path.write_text(text)
    return path


def callgrind(out, argv):
    # A spawned child runs supervisord's code until execve (in supervisord's address space, so
    # its pages count there too): each child writes its own file (%p) just before the exec.
    return ["valgrind", "--tool=callgrind", "--dump-instr=yes", "--compress-strings=no",
            "--compress-pos=no", "--dump-before=execve", f"--callgrind-out-file={out}", *argv]


def wait_for(what, check, deadline=120):
    end = time.time() + deadline
    while time.time() < end:
        if check():
            return
        time.sleep(0.2)
    sys.exit(f"train: timed out waiting for {what}")


def run_daemon(d, conf):
    argv = ["unshare", "--pid", "--fork", "--mount-proc",
            *callgrind(f"{d}/daemon.%p.cg", [str(BIN / "supervisord"), "-n", "-c", str(conf)])]
    # As supervisord's second start sees it (init/malloc.rs): it then puts the environment
    # back instead of starting itself again, which would leave valgrind.
    env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.tcache_count=0",
               SUPERVISORD_RS_GLIBC_TUNABLES="-")
    daemon = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=env)
    ctl = [str(BIN / "supervisorctl"), "-c", str(conf)]

    def running():
        out = subprocess.run(ctl + ["status"], capture_output=True, text=True).stdout
        return out.count("RUNNING") >= PROGRAMS + 1
    wait_for("every program RUNNING", running)
    n = 0
    for args in (["status"], ["status", "--json"], ["top", "-b"], ["start", "later"],
                 ["status", "pair:*"], ["stop", "later"], ["restart", "sleeper0"],
                 ["signal", "HUP", "sleeper1"], ["tail", "chatty"], ["tail", "chatty", "stderr"],
                 ["maintail"], ["pid"], ["pid", "sleeper2"], ["avail"], ["version"],
                 ["reread"], ["update"], ["status"]):
        n += 1
        subprocess.run(callgrind(f"{d}/ctl{n}.%p.cg", ctl + args), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    sock = f"{d}/supervisor.sock"
    for path in ("/", "/api/status", "/logtail/chatty"):
        subprocess.run(["curl", "-s", "-m", "5", "--unix-socket", sock, f"http://localhost{path}",
                        "-o", "/dev/null"], check=False)
    # The namespace's PID 1 is unshare's child (valgrind running supervisord): signal it.
    os.kill(child_of(daemon.pid), signal.SIGTERM)
    daemon.wait(timeout=300)


def child_of(pid):
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                return int(entry)
    sys.exit(f"train: no child of {pid}")


def symbols(binary):
    """(start, end, name) of every function symbol, sorted."""
    out = subprocess.run(["nm", "-S", "-n", "--defined-only", str(binary)], capture_output=True,
                         text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW":
            start = int(parts[0], 16)
            found.append((start, start + max(int(parts[1], 16), 1), parts[3]))
    return found


def executed(files):
    addrs = set()
    for f in files:
        with open(f) as cg:
            for line in cg:
                m = re.match(r"^0x([0-9a-f]+) ", line)
                if m:
                    addrs.add(int(m.group(1), 16))
    return sorted(addrs)


def keys(names):
    """The demangled names without the parts that change from one build to the next: crate
    disambiguators and hashes (the same as link/cc)."""
    out = subprocess.run(["c++filt"], input="\n".join(names) + "\n", capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return [re.sub(r"::h[0-9a-f]{16}$", "", re.sub(r"\[[0-9a-f]*\]", "", k)) for k in out]


def hot(files, binary):
    syms = symbols(binary)
    ran, i = [], 0
    for addr in executed(files):
        while i < len(syms) and syms[i][1] <= addr:
            i += 1
        if i < len(syms) and syms[i][0] <= addr and (not ran or ran[-1] != syms[i][2]):
            # Every name of the address: functions with the same code share it.
            j = i
            while j < len(syms) and syms[j][0] == syms[i][0]:
                ran.append(syms[j][2])
                j += 1
    families = {m.group(1) for m in map(IFUNC_VARIANT.match, ran) if m}
    for _, _, name in syms:
        m = IFUNC_VARIANT.match(name)
        if m and m.group(1) in families:
            ran.append(name)
    order, seen = [], set()
    for k in keys(ran):
        if k not in seen:
            seen.add(k)
            order.append(k)
    return order


def main():
    for tool in ("valgrind", "unshare", "curl", "nm", "c++filt"):
        if not shutil.which(tool):
            sys.exit(f"train: {tool} is needed")
    build()
    d = tempfile.mkdtemp(prefix="link-train.")
    try:
        run_daemon(d, config(d))
        daemon = hot(sorted(str(p) for p in Path(d).glob("daemon.*.cg*")), BIN / "supervisord")
        ctl = hot(sorted(str(p) for p in Path(d).glob("ctl*.cg")), BIN / "supervisorctl")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    names = daemon + [k for k in ctl if k not in set(daemon)]
    header = ("# Functions supervisord and supervisorctl run in ordinary service, in address order\n"
              "# of a training build; written by link/train.py, read by link/cc. Demangled, without\n"
              "# crate disambiguators and hashes, so the list fits every build.\n")
    OUT.write_text(header + "\n".join(names) + "\n")
    print(f"train: {len(daemon)} functions of supervisord, {len(names) - len(daemon)} more of "
          f"supervisorctl -> {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
