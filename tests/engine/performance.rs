//! Performance that is part of correctness: no idle wakeups, fast respawn, fast mass spawn,
//! small memory. Numbers are printed; bounds are loose because the test machine is shared
//! (the stated targets hold on an idle machine with a release build).

use std::time::Duration;

use crate::support::daemon::*;
use crate::support::wait::wait_for;

/// Context switches of every thread of `pid` so far.
fn switches(pid: i32) -> u64 {
    let mut total = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        for line in status.lines().filter(|l| l.contains("ctxt_switches")) {
            total += line
                .split_whitespace()
                .last()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

/// A `/proc/<pid>/status` field in KiB (VmRSS, RssAnon...).
fn status_kib(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn programs(n: usize, extra: &str) -> String {
    (0..n)
        .map(|i| format!("[program:p{i}]\ncommand={{prog}} sleep=1000\nstartsecs=1\n{extra}\n"))
        .collect()
}

#[test]
fn idle_supervisord_never_wakes_up() {
    let sup = Sup::start("idle", &programs(10, ""));
    assert!(
        wait_for(15.0, || sup.count("success: p") == 10),
        "{}",
        sup.log()
    );
    // Start-up ends with one deferred clean-up 250 ms after everything settled.
    std::thread::sleep(Duration::from_millis(1000));
    let before = switches(sup.pid);
    std::thread::sleep(Duration::from_secs(3));
    let woke = switches(sup.pid) - before;
    println!("idle wakeups in 3 s with 10 programs: {woke}");
    assert_eq!(woke, 0);
    let rss = status_kib(sup.pid, "VmRSS:");
    let anon = status_kib(sup.pid, "RssAnon:");
    println!("RSS with 10 programs: {rss} KiB, of which anonymous {anon} KiB");
    // File pages (the binary, a dynamically linked libc) depend on the build; the memory
    // supervisord allocates itself is what must stay small.
    assert!(anon <= 2048, "anonymous RSS {anon} KiB");
}

#[test]
fn two_hundred_programs_spawn_quickly() {
    let sup = Sup::start(
        "mass",
        &programs(200, "stdout_logfile=NONE\nstderr_logfile=NONE\n"),
    );
    assert!(
        wait_for(30.0, || sup.count("spawned: 'p") == 200),
        "{}",
        sup.log()
    );
    let started = sup.times_of("supervisord started with pid")[0];
    let last = sup.times_of("spawned: 'p").into_iter().fold(0.0, f64::max);
    let took = last - started;
    println!("200 programs spawned in {:.0} ms", took * 1000.0);
    assert!(took < 2.0, "took {took:.3} s");
}

#[test]
fn respawn_after_exit_is_immediate() {
    // Runs over 1 s: shorter ones wait for the crash-loop floor (1 s after their spawn).
    let sup = Sup::start(
        "gap",
        "[program:flap]\ncommand={prog} sleep=1.05 exit=1\nstartsecs=0\nautorestart=true\n",
    );
    assert!(
        wait_for(20.0, || sup.count("spawned: 'flap'") >= 7),
        "{}",
        sup.log()
    );
    let exits = sup.times_of("exited: flap");
    let spawns = sup.times_of("spawned: 'flap'");
    let mut gaps: Vec<f64> = exits.iter().zip(&spawns[1..]).map(|(e, s)| s - e).collect();
    gaps.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = gaps[gaps.len() / 2] * 1000.0;
    println!(
        "restart gap after exit: median {median:.1} ms over {} restarts",
        gaps.len()
    );
    assert!(median <= 10.0, "median gap {median:.1} ms");
}
