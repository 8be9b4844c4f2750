"""How results read in the table: values, failures, unavailable and skipped runs, ratios."""

import unittest

from harness import report
from harness.impls import Impl
from harness.results import Metric, Results, Target


def impls(ours_unavailable=""):
    return {"python": Impl("python", "Python", "", ""),
            "ours": Impl("ours", "ours", "", "", ours_unavailable)}


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.results = Results()
        self.metric = Metric("rss", "idle RSS", "MiB", Target("<=", 2.5, "≤ 2.5"))
        self.results.declare([self.metric])

    def row(self, ours_unavailable=""):
        table = report.table(self.results, impls(ours_unavailable))
        return table.splitlines()[-1]

    def test_values_ratio_and_verdict(self):
        self.results.add("rss", "python", [25.0, 24.0, 26.0])
        self.results.add("rss", "ours", [2.0])
        self.assertEqual(self.row(),
                         "| idle RSS | MiB | 25.00 (24.00–26.00) | 2.00 | 12.5× | ≤ 2.5 | yes |")

    def test_missed_target_is_flagged(self):
        self.results.add("rss", "python", [25.0])
        self.results.add("rss", "ours", [5.0])
        self.assertTrue(self.row().endswith("| **no** |"))

    def test_failure_unavailable_and_skipped(self):
        self.results.add("rss", "python", [25.0])
        self.results.fail(["rss"], "ours", "supervisord exited with status 2")
        self.assertIn("| FAIL | — | ≤ 2.5 | no (failed) |", self.row())
        self.assertIn("| n/a | — | ≤ 2.5 | pending |", self.row("not built"))
        self.results.failures.clear()
        self.results.fail(["rss"], "ours", "skipped: needs pid namespaces")
        self.assertIn("| skipped |", self.row())

    def test_zero_for_us_is_an_infinite_ratio(self):
        self.results.add("rss", "python", [1.0])
        self.results.add("rss", "ours", [0.0])
        self.assertIn("| ∞ |", self.row())


if __name__ == "__main__":
    unittest.main()
