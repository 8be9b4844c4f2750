#!/usr/bin/env python3
"""Benchmarks supervisord-rs against Python Supervisor 4.3 (Python 3 stdlib only).

Every scenario runs against both implementations, alternating which goes first, with the same
generated config. Results: a Markdown table on stdout and in bench/results/latest.md, all
samples in bench/results/latest.json.

    bench/run.py            full run (several repetitions, large N; tens of minutes)
    bench/run.py --quick    small N, one repetition (CI; about two minutes)

Exit status 0 even when an implementation fails a scenario (the table says so); non-zero only
when the harness itself breaks.
"""

import argparse
import json
import signal
from dataclasses import asdict
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import machine, report  # noqa: E402
from harness.daemon import namespaces_available  # noqa: E402
from harness.errors import ImplError  # noqa: E402
from harness.impls import BENCH, ours_impl, python_impl  # noqa: E402
from harness.results import Recorder, Results  # noqa: E402
from harness.scenarios import build  # noqa: E402
from harness.scenarios.base import Context  # noqa: E402

BENCHMARKS_BEGIN = "<!-- bench:begin -->"
BENCHMARKS_END = "<!-- bench:end -->"


def log(text):
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition (CI)")
    parser.add_argument("--reps", type=int, help="repetitions of every scenario")
    parser.add_argument("--only", help="comma-separated scenario keys "
                        "(idle, ctl, spawn, restart, capture, orphans, shutdown)")
    parser.add_argument("--ours-bin", help="directory holding our supervisord and supervisorctl "
                        "(default: the static build of scripts/build-static.sh, with the "
                        "dynamic one of target/release beside it)")
    parser.add_argument("--impl", help="run only these implementations (python, ours)")
    parser.add_argument("--no-ns", action="store_true",
                        help="run daemons as plain children even where pid namespaces work")
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs of every run")
    parser.add_argument("--merge", metavar="JSON",
                        help="take the metrics this run does not measure from an earlier "
                        "run's JSON (e.g. bench/results/full.json)")
    parser.add_argument("--render-only", action="store_true",
                        help="run nothing: render the report of the --merge JSON again")
    parser.add_argument("--update-benchmarks", action="store_true",
                        help="also write the report into BENCHMARKS.md between its markers")
    return parser.parse_args(argv)


def run_scenario(scenario, ctx, results):
    impls = [ctx.impls["python"], ctx.impls["ours"]]
    keys = [metric.key for metric in scenario.metrics() if not metric.reference]
    for rep in range(scenario.reps):
        scenario.reference(ctx, Recorder(results, "ref"))
        for impl in impls if rep % 2 == 0 else impls[::-1]:
            if impl.unavailable:
                continue
            if scenario.pid1 and not ctx.ns:
                results.fail(keys, impl.key, "skipped: needs pid namespaces (root, unshare)")
                continue
            rec = Recorder(results, impl.key)
            started = time.monotonic()
            try:
                scenario.run(impl, ctx, rec)
                outcome = "ok"
            except ImplError as err:
                results.fail([k for k in keys if k not in rec.recorded], impl.key, str(err))
                outcome = f"FAILED: {err}"
            log(f"{scenario.key} {rep + 1}/{scenario.reps} {impl.key}: "
                f"{time.monotonic() - started:.1f} s, {outcome[:300]}")


def update_benchmarks(text):
    path = BENCH.parent / "BENCHMARKS.md"
    current = path.read_text()
    begin, end = current.find(BENCHMARKS_BEGIN), current.find(BENCHMARKS_END)
    if begin < 0 or end < begin:
        raise SystemExit(f"{path}: markers {BENCHMARKS_BEGIN} / {BENCHMARKS_END} not found")
    body = text.split("\n", 1)[1].replace("\n## ", "\n### ")
    path.write_text(current[: begin + len(BENCHMARKS_BEGIN)] + "\n" + body
                    + current[end:])
    log(f"updated {path}")


def implementations(args):
    impls = {"python": python_impl(log), "ours": ours_impl(args.ours_bin, log)}
    if args.impl:
        for key in set(impls) - set(args.impl.split(",")):
            impls[key].unavailable = "not selected (--impl)"
    for impl in impls.values():
        log(f"{impl.title}: {impl.unavailable or impl.supervisord}")
    return impls


def select(args, every):
    """The scenarios to run this time."""
    if args.render_only:
        if not args.merge:
            raise SystemExit("--render-only needs --merge JSON")
        return []
    if not args.only:
        return every
    wanted = set(args.only.split(","))
    unknown = wanted - {s.key for s in every}
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return [s for s in every if s.key in wanted]


def merge(results, older, scenarios):
    measured = {m.key for s in scenarios for m in s.metrics()}
    results.merge_older(older, measured)
    if scenarios:
        results.notes.append(
            f"Scenarios other than {', '.join(s.key for s in scenarios)} come from the run of "
            f"{older['machine']['date']} (load {older['machine']['load']}).")


def write(text, data, update):
    print(text)
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(text)
    (out / "latest.json").write_text(json.dumps(data, indent=1) + "\n")
    if update:
        update_benchmarks(text)


def main(argv):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    older = json.loads(Path(args.merge).read_text()) if args.merge else None
    if args.render_only and older:
        args.quick = older["mode"] == "quick"
    impls = implementations(args)
    every = build(args.quick)
    scenarios = select(args, every)
    ctx = Context(python=sys.executable, ns=not args.no_ns and namespaces_available(),
                  impls=impls, keep=args.keep, quick=args.quick)
    if not ctx.ns:
        log("pid namespaces unavailable: daemons run as plain children, PID-1 scenarios skipped")
    shown = every if older else scenarios
    results = Results()
    for scenario in shown:
        results.declare(scenario.metrics())
    facts = machine.describe() if scenarios or not older else older["machine"]
    for scenario in scenarios:
        scenario.reps = args.reps or scenario.reps
        run_scenario(scenario, ctx, results)
    if older:
        merge(results, older, scenarios)
    for scenario in shown:
        scenario.finish(results)
    if not ctx.ns:
        results.notes.append("pid namespaces unavailable: daemons ran as plain children.")
    mode = "quick" if args.quick else "full"
    data = {"mode": mode, "machine": facts, "impls": {k: asdict(v) for k, v in impls.items()},
            **results.to_json()}
    write(report.render(results, impls, facts, mode), data, args.update_benchmarks)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
