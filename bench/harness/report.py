"""The Markdown table (and headline ratios) of a run."""

import statistics

IMPLS = ("python", "ours")
SKIPPED = "skipped"


def fmt(value, digits):
    if value is None:
        return "—"
    if digits == 0 or (value == int(value) and abs(value) >= 1000):
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def cell(results, metric, impl, unavailable):
    values = results.values(metric.key, impl)
    failure = results.failure(metric.key, impl)
    if not values:
        if unavailable:
            return "n/a"
        if failure and failure.startswith(SKIPPED):
            return "skipped"
        return "FAIL" if failure else "—"
    med = statistics.median(values)
    text = fmt(med, metric.digits)
    if len(values) > 1 and min(values) != max(values):
        text += f" ({fmt(min(values), metric.digits)}–{fmt(max(values), metric.digits)})"
    if failure:
        text += " (some runs failed)"
    return text


def ratio(results, metric):
    if not metric.compare:
        return "—"
    py, ours = results.median(metric.key, "python"), results.median(metric.key, "ours")
    if py is None or ours is None:
        return "—"
    if ours == 0:
        return "∞" if py > 0 else "1×" if py == 0 else "—"
    value = py / ours
    return f"{value:,.0f}×" if value >= 100 else f"{value:.3g}×"


def verdict(results, metric, unavailable):
    if metric.target is None:
        return ""
    if unavailable or not results.values(metric.key, "ours"):
        failure = results.failure(metric.key, "ours") or ""
        return "pending" if unavailable else "skipped" if failure.startswith(SKIPPED) \
            else "no (failed)"
    met = metric.target.met(results.median(metric.key, "ours"))
    return "—" if met is None else "yes" if met else "**no**"


def table(results, impls):
    unavailable = {key: impls[key].unavailable for key in IMPLS}
    lines = [
        f"| Scenario | unit | {impls['python'].title} | {impls['ours'].title} | "
        "Python / ours | target (ours) | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for metric in results.metrics:
        if metric.reference:
            continue
        target = metric.target.text if metric.target else ""
        lines.append(
            f"| {metric.label} | {metric.unit} | "
            f"{cell(results, metric, 'python', unavailable['python'])} | "
            f"{cell(results, metric, 'ours', unavailable['ours'])} | "
            f"{ratio(results, metric)} | {target} | "
            f"{verdict(results, metric, unavailable['ours'])} |")
    return "\n".join(lines)


def headlines(results):
    lines = []
    for metric in results.metrics:
        if not metric.headline:
            continue
        py, ours = results.median(metric.key, "python"), results.median(metric.key, "ours")
        unit = f" {metric.unit}" if metric.unit else ""
        lines.append(f"- {metric.label}: {fmt(py, metric.digits)}{unit} (Python) vs "
                     f"{fmt(ours, metric.digits)}{unit} (ours), ratio {ratio(results, metric)}")
    return "\n".join(lines)


def targets_summary(results, impls):
    unavailable = impls["ours"].unavailable
    verdicts = [verdict(results, m, unavailable) for m in results.metrics if m.target]
    met = sum(1 for v in verdicts if v == "yes")
    missed = [m.label for m in results.metrics
              if m.target and verdict(results, m, unavailable) not in ("yes", "")]
    text = f"Targets met by supervisord-rs: {met} of {len(verdicts)}."
    if missed:
        text += " Not met (or not measured): " + "; ".join(missed) + "."
    return text


def failures(results, impls):
    """One line per distinct failure, naming the metrics it left without a value."""
    grouped = {}
    for key, by_impl in results.failures.items():
        for impl, message in by_impl.items():
            grouped.setdefault((impl, message), []).append(key)
    return "\n".join(f"- {impls[impl].title} ({', '.join(f'`{k}`' for k in keys)}): "
                     f"{shorten(message)}" for (impl, message), keys in grouped.items())


def shorten(message, limit=300):
    """Failure messages carry log tails; the table keeps their start (the JSON has all)."""
    return message if len(message) <= limit else message[:limit] + " …"


def render(results, impls, machine, mode):
    parts = [
        f"# supervisord-rs vs Python Supervisor: {mode} run",
        "",
        "## Headline ratios",
        "",
        headlines(results),
        "",
        targets_summary(results, impls),
        "",
        "## Results",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()),
        "",
        "Cells: median (min–max) over all samples of all repetitions. Ratio = Python median / "
        "ours (above 1 means Python's number is larger: better for us on time, memory and "
        "wakeups, worse on throughput).",
        "",
        table(results, impls),
    ]
    cat = results.values("capture_cat_mbps", "ref")
    if cat:
        parts += ["", f"Reference, no supervisor: `producer | cat > file` "
                      f"{statistics.median(cat):.0f} MB/s (median of {len(cat)})."]
    for key in IMPLS:
        if impls[key].unavailable:
            parts += ["", f"{impls[key].title}: n/a — {impls[key].unavailable}"]
    if results.notes:
        parts += ["", "## Notes", ""] + [f"- {note}" for note in results.notes]
    failed = failures(results, impls)
    if failed:
        parts += ["", "## Failures", "", failed]
    return "\n".join(parts) + "\n"
