"""The benchmark scenarios, in the order they run."""

from .capture import Capture
from .control import Control
from .idle import Idle
from .orphans import Orphans
from .restart import Restart
from .shutdown import Shutdown
from .spawn import Spawn


def build(quick):
    """All scenarios with the sizes of a quick (CI) or a full run."""
    if quick:
        return [
            Idle(sizes=[10, 20], window=3.0, reps=1),
            Control(sizes=[10, 20], status_runs=3, rpc_calls=20, reps=1),
            Spawn(sizes=[20], reps=1),
            Restart(gaps=3, reps=1),
            Capture(mib=64, reps=1),
            Orphans(count=500, reps=1),
            Shutdown(levels=2, per_level=2, reps=1),
        ]
    return [
        Idle(sizes=[10, 200, 1000], window=10.0, reps=3),
        Control(sizes=[10, 200], status_runs=10, rpc_calls=200, reps=5),
        Spawn(sizes=[200, 1000], reps=3),
        Restart(gaps=8, reps=3),
        Capture(mib=1024, reps=3),
        Orphans(count=10000, reps=3),
        Shutdown(levels=5, per_level=10, reps=3),
    ]
