"""Readings from /proc about the supervisord under test and its namespace."""

import os


def read_status(pid):
    """/proc/PID/status as a dict of field -> value text."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return fields


def rss_kib(pid):
    """Resident set size of the process in KiB (VmRSS)."""
    return int(read_status(pid)["VmRSS"].split()[0])


def thread_count(pid):
    return int(read_status(pid)["Threads"])


def context_switches(pid):
    """Voluntary + involuntary context switches summed over the process's live threads."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = read_status(f"{pid}/task/{tid}")
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])
    return total


def process_table():
    """{pid: (ppid, state)} for every process visible in /proc (entries may vanish mid-scan)."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # The command name is in parentheses and may hold spaces: split after the last ')'.
        rest = stat[stat.rfind(b")") + 2 :].split()
        if len(rest) >= 2:
            table[int(name)] = (int(rest[1]), rest[0].decode())
    return table


def descendants(table, root):
    """Pids of all processes below `root` in `table` (root excluded)."""
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def zombies_below(root):
    """Number of zombie processes below `root`."""
    table = process_table()
    return sum(1 for pid in descendants(table, root) if table[pid][1] == "Z")


def children_of(pid):
    table = process_table()
    return sorted(p for p, (ppid, _) in table.items() if ppid == pid)
