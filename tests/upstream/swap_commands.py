"""pytest plugin: runs Supervisor's own end-to-end tests against our binaries.

Upstream's supervisor/tests/test_end_to_end.py starts the programs under test as
`pexpect.spawn(sys.executable, ['-m', 'supervisor.supervisord', ...])` (or
`supervisor.supervisorctl`), and once as `/bin/sh -c "'<python>' -m supervisor.supervisorctl ..."`.
This plugin replaces pexpect.spawn with a subclass that rewrites exactly those command lines to
run our binaries instead, leaving the test file untouched.

Environment:
  SUPERVISORD_RS_BIN   directory holding our supervisord and supervisorctl
  SUPERVISORD_RS_SWAP  which programs to swap: any of "supervisord", "supervisorctl"
"""
import os
import shlex
import sys

import pexpect
import pytest

_BIN = os.environ.get("SUPERVISORD_RS_BIN", "")
_SWAP = set(os.environ.get("SUPERVISORD_RS_SWAP", "").replace(",", " ").split())
_REAL_SPAWN = pexpect.spawn


def _ours(program):
    return os.path.join(_BIN, program)


def swap(command, args):
    """Returns (command, args) with swapped programs pointing at our binaries."""
    args = list(args)
    if command == sys.executable and len(args) >= 2 and args[0] == "-m":
        program = args[1].rpartition(".")[2]
        if args[1].startswith("supervisor.") and program in _SWAP:
            return _ours(program), args[2:]
    if command == "/bin/sh" and len(args) == 2 and args[0] == "-c":
        script = args[1]
        for program in _SWAP:
            python_form = "'%s' -m supervisor.%s" % (sys.executable, program)
            script = script.replace(python_form, shlex.quote(_ours(program)))
        return command, [args[0], script]
    return command, args


class SwappingSpawn(_REAL_SPAWN):
    def __init__(self, command, args=[], *rest, **kwargs):  # noqa: B006 (pexpect's signature)
        command, args = swap(command, args)
        super().__init__(command, args, *rest, **kwargs)


def pytest_configure(config):
    for program in _SWAP:
        path = _ours(program)
        if program not in ("supervisord", "supervisorctl") or not os.access(path, os.X_OK):
            raise pytest.UsageError("cannot swap %r: %s is not an executable" % (program, path))
    pexpect.spawn = SwappingSpawn
