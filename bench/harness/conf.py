"""Supervisor-format configuration shared by both implementations.

Each scenario run gets a fresh temp dir holding the config, the control socket, the main log
and the child logs; the very same file is given to either supervisord.
"""

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Program:
    name: str
    command: str
    options: dict = field(default_factory=dict)


@dataclass
class Setup:
    """The files of one scenario run."""

    dir: Path
    conf: Path
    socket: Path
    mainlog: Path
    childlogs: Path
    programs: int = 0

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def escape(command):
    """Supervisor expands %(name)s in commands: literal percent signs are doubled."""
    return command.replace("%", "%%")


def sleepers(n, startsecs=0, prefix="sleep"):
    width = len(str(max(n - 1, 0)))
    return [
        Program(f"{prefix}{i:0{width}d}", "/bin/sleep infinity", {"startsecs": startsecs})
        for i in range(n)
    ]


def new_setup(programs, parent=None):
    """Writes a config for `programs` into a new temp dir (under `parent`, default the system
    temp dir) and returns its Setup. `programs` may be a function of the temp dir, for
    programs that write files into it."""
    base = Path(tempfile.mkdtemp(prefix="svbench-", dir=parent))
    setup = Setup(
        dir=base,
        conf=base / "supervisord.conf",
        socket=base / "sv.sock",
        mainlog=base / "supervisord.log",
        childlogs=base / "childlogs",
    )
    setup.childlogs.mkdir()
    if callable(programs):
        programs = programs(base)
    setup.programs = len(programs)
    setup.conf.write_text(render(setup, programs))
    return setup


def render(setup, programs):
    lines = [
        "[unix_http_server]",
        f"file={setup.socket}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={setup.mainlog}",
        "logfile_maxbytes=0",
        "loglevel=info",
        f"pidfile={setup.dir / 'supervisord.pid'}",
        f"childlogdir={setup.childlogs}",
        "nodaemon=true",
        "minfds=16384",
        "minprocs=4096",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{setup.socket}",
        "",
    ]
    for program in programs:
        lines.append(f"[program:{program.name}]")
        lines.append(f"command={program.command}")
        for key, value in program.options.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            lines.append(f"{key}={value}")
        lines.append("")
    return "\n".join(lines)
