"""Drives the live dashboard in headless Chromium and checks what an operator sees.

usage: dashboard_check.py URL FEED_FILE [SCREENSHOT.png] -- SUPERVISORCTL ARGS...

URL serves the dashboard; FEED_FILE is followed (tail -F) by the program `feed`, whose stdout
log the viewer shows; the programs `victim` and `clicked` run at the start. Prints one line per
check and exits non-zero at the first failure."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402


def ctl(args, *words):
    out = subprocess.run([*args, *words], capture_output=True, text=True, timeout=30)
    return out.stdout


def states(args):
    """namespec -> state name, from `supervisorctl status`."""
    result = {}
    for line in ctl(args, "status").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            result[parts[0]] = parts[1]
    return result


def row_states(b):
    return b.eval("JSON.stringify(Array.from(document.querySelectorAll('tr.proc'))"
                  ".map(function(r){return [r.dataset.name, r.querySelector('.state').textContent]}))")


def row_state(name):
    return (f"(function(){{var r=document.querySelector('tr[data-name={json.dumps(name)}] .state');"
            f"return r?r.textContent:null;}})()")


T0 = time.time()


def say(text):
    print(f"{text} [{time.time() - T0:.1f}s]", flush=True)


def main():
    sep = sys.argv.index("--")
    url, feed = sys.argv[1], sys.argv[2]
    shot = sys.argv[3] if sep > 3 else None
    ctl_args = sys.argv[sep + 1:]
    b = Browser(os.environ.get("CHROMIUM", "chromium"))
    try:
        say("browser started")
        b.call("Page.enable")
        b.call("Page.navigate", url=url)
        expected = states(ctl_args)
        b.wait(f"document.querySelectorAll('tr.proc').length === {len(expected)}", 10)
        b.wait(" && ".join(f"{row_state(n)} === {json.dumps(s)}" for n, s in expected.items()), 5)
        say(f"ok: every process shown with its state: {json.loads(row_states(b))}")

        b.eval("window.__loaded_once = 1")
        ctl(ctl_args, "stop", "victim")
        took = b.wait(f"{row_state('victim')} === 'STOPPED'", 3, poll=0.02)
        assert took < 1.0, f"the stop showed after {took:.2f}s"
        assert b.eval("window.__loaded_once") == 1, "the page was reloaded"
        say(f"ok: a stop from supervisorctl showed without reload after {took:.2f}s")

        b.click("tr[data-name=\"clicked\"] button[data-action=\"stop\"]")
        deadline = time.time() + 10
        while states(ctl_args).get("clicked") != "STOPPED":
            assert time.time() < deadline, "the Stop button did not stop 'clicked'"
            time.sleep(0.05)
        b.wait(f"{row_state('clicked')} === 'STOPPED'", 3)
        say("ok: the Stop button stopped 'clicked'")

        b.click("tr[data-name=\"feed\"] button[data-action=\"log\"]")
        b.wait("!document.getElementById('log').hidden", 3)
        with open(feed, "a") as f:
            f.write("first line from the test\n")
        b.wait("document.getElementById('logtext').textContent.includes('first line from the test')", 5)
        b.click("#logpause")
        with open(feed, "a") as f:
            f.write("second line while paused\n")
        time.sleep(0.5)
        assert "second line" not in b.eval("document.getElementById('logtext').textContent")
        b.click("#logpause")
        b.wait("document.getElementById('logtext').textContent.includes('second line while paused')", 5)
        say("ok: the log viewer follows new lines, and pause holds them back")

        if shot:
            b.wait("document.querySelectorAll('svg.spark polyline').length > 2", 5)
            b.eval("window.scrollTo(0, 0)")
            b.screenshot(shot)
            say(f"ok: screenshot in {shot}")
    finally:
        b.close()


if __name__ == "__main__":
    main()
