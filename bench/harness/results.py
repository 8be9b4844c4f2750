"""What a run measures: metric definitions, targets, samples and failures."""

import statistics
from dataclasses import dataclass, field


@dataclass
class Target:
    """A goal for supervisord-rs: `op` is "<=" or ">="; `value` None until known (e.g. cat's
    throughput, measured during the run)."""

    op: str
    value: float | None
    text: str = ""

    def met(self, measured):
        if self.value is None or measured is None:
            return None
        return measured <= self.value if self.op == "<=" else measured >= self.value


@dataclass
class Metric:
    key: str
    label: str
    unit: str
    target: Target | None = None
    digits: int = 2
    headline: bool = False
    reference: bool = False  # measured without any supervisor (impl key "ref")
    compare: bool = True  # False when a Python / ours ratio means nothing


@dataclass
class Results:
    metrics: list = field(default_factory=list)
    samples: dict = field(default_factory=dict)  # metric key -> impl key -> [values]
    failures: dict = field(default_factory=dict)  # metric key -> impl key -> message
    notes: list = field(default_factory=list)

    def declare(self, metrics):
        known = {m.key for m in self.metrics}
        self.metrics.extend(m for m in metrics if m.key not in known)

    def add(self, key, impl, values):
        self.samples.setdefault(key, {}).setdefault(impl, []).extend(values)

    def fail(self, keys, impl, message):
        """Marks `keys` failed for `impl` unless they already have samples from this run."""
        for key in keys:
            self.failures.setdefault(key, {}).setdefault(impl, message)

    def values(self, key, impl):
        return self.samples.get(key, {}).get(impl, [])

    def median(self, key, impl):
        values = self.values(key, impl)
        return statistics.median(values) if values else None

    def failure(self, key, impl):
        return self.failures.get(key, {}).get(impl)

    def metric(self, key):
        return next(m for m in self.metrics if m.key == key)

    def to_json(self):
        return {
            "metrics": [
                {
                    "key": m.key,
                    "label": m.label,
                    "unit": m.unit,
                    "target": None if m.target is None else
                    {"op": m.target.op, "value": m.target.value, "text": m.target.text},
                    "digits": m.digits,
                    "headline": m.headline,
                    "reference": m.reference,
                    "samples": self.samples.get(m.key, {}),
                    "failures": self.failures.get(m.key, {}),
                }
                for m in self.metrics
            ],
            "notes": self.notes,
        }


    def merge_older(self, data, measured):
        """Takes the samples and failures of the declared metrics not in `measured` from an
        earlier run's JSON (for re-running a few scenarios on top of a full run)."""
        declared = {m.key for m in self.metrics}
        for item in data["metrics"]:
            key = item["key"]
            if key in declared and key not in measured:
                self.samples[key] = item["samples"]
                self.failures[key] = item["failures"]
        self.notes.extend(n for n in data.get("notes", []) if n not in self.notes)


class Recorder:
    """What a scenario run sees: records values for one implementation and remembers which
    metrics got a value, so a failure marks only the rest."""

    def __init__(self, results, impl):
        self.results = results
        self.impl = impl
        self.recorded = set()

    def __call__(self, key, *values):
        self.results.add(key, self.impl, values)
        self.recorded.add(key)

    def fail(self, key, message):
        """Marks one metric failed while the scenario goes on with the others."""
        self.results.fail([key], self.impl, message)
        self.recorded.add(key)

    def note(self, text):
        if text not in self.results.notes:
            self.results.notes.append(text)
