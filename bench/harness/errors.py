"""Failure kinds and bounded waiting.

`ImplError` means the implementation under test misbehaved (timed out, exited, answered
garbage): the scenario is reported as failed for that implementation and the run goes on.
Any other exception is a bug in the harness and ends the run with a non-zero status.
"""

import time


class ImplError(Exception):
    """The implementation under test failed a scenario step."""


def wait_until(predicate, timeout, what, interval=0.01):
    """Calls `predicate` every `interval` seconds until it returns a truthy value, which is
    returned; raises ImplError naming `what` once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise ImplError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
