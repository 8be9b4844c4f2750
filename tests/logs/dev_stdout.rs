//! `/dev/stdout` as a child log: bytes pass through to supervisord's own stdout (a pipe here),
//! never sought or rotated, and a stalled or closed reader never blocks the child.
//!
//! Each case re-runs this test binary as a helper process whose stdout is a pipe we control.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::support::logs::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;
use supervisor_rs::config::LogFile;
use supervisor_rs::logs::{self, OutputPump, Sink};

const HELPER_ENV: &str = "SVRS_LOGS_STDOUT_HELPER";

/// The helper side: `SVRS_LOGS_STDOUT_HELPER=<script>|<maxbytes>|<report file>|<gate>`; with a
/// gate path it writes `<gate>.ready`, then waits for `<gate>` to exist before starting.
/// Several scripts separated by `&&&` each get their own sink, prefixed `[<index>] `.
#[test]
fn helper_entry() {
    let Ok(arg) = std::env::var(HELPER_ENV) else {
        return;
    };
    let mut parts = arg.splitn(4, '|');
    let (script, maxbytes, report, gate) = (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().parse::<u64>().unwrap(),
        PathBuf::from(parts.next().unwrap()),
        parts.next().unwrap_or("").to_owned(),
    );
    if !gate.is_empty() {
        std::fs::write(format!("{gate}.ready"), b"").unwrap();
        assert!(wait_for(LONG.as_secs_f64(), || std::path::Path::new(&gate).exists()));
    }
    logs::init_stderr_log();
    let dir = TempDir::new("stdout-helper");
    let pump = OutputPump::new().unwrap();
    let scripts: Vec<&str> = script.split("&&&").collect();
    let mut runs = Vec::new();
    for (i, script) in scripts.iter().enumerate() {
        let mut cfg = log_config(LogFile::Path("/dev/stdout".into()), maxbytes, 10);
        if scripts.len() > 1 {
            cfg.prefix = Some(format!("[{i}] "));
        }
        let sink = Sink::open(&spec(cfg, &dir)).unwrap();
        let (child, pipe) = sh_with_stdout_pipe(script);
        let (on_eof, eof) = eof_signal();
        pump.attach_with_eof(pipe, sink.clone(), on_eof);
        runs.push((child, eof, sink));
    }
    let (mut exited, mut drained, mut written, mut dropped) = (true, true, 0, 0);
    for (mut child, eof, sink) in runs {
        exited &= child.exits_within(LONG);
        drained &= eof.recv_timeout(LONG).is_ok();
        written += sink.bytes_written();
        dropped += sink.bytes_dropped();
    }
    std::fs::write(&report, format!("{exited} {drained} {written} {dropped}")).unwrap();
}

struct Report {
    exited: bool,
    drained: bool,
    written: u64,
    dropped: u64,
}

fn read_report(p: &std::path::Path) -> Option<Report> {
    let s = std::fs::read_to_string(p).ok()?;
    let f: Vec<&str> = s.split(' ').collect();
    if f.len() != 4 {
        return None;
    }
    Some(Report {
        exited: f[0] == "true",
        drained: f[1] == "true",
        written: f[2].parse().ok()?,
        dropped: f[3].parse().ok()?,
    })
}

fn helper(script: &str, maxbytes: u64, report: &std::path::Path, gate: &str) -> KillOnDrop {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "dev_stdout::helper_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            HELPER_ENV,
            format!("{script}|{maxbytes}|{}|{gate}", report.display()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    KillOnDrop(child)
}

#[test]
fn child_output_appears_on_supervisord_stdout_without_rotation_or_seek_errors() {
    let dir = TempDir::new("stdout-pass");
    let report = dir.join("report");
    // Default 50MB maxbytes on a pipe: Supervisor logs "Illegal seek" per chunk; we warn once.
    let mut h = helper("seq 1 50000", 50 * 1024 * 1024, &report, "");
    let mut out = Vec::new();
    h.0.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let mut err = String::new();
    h.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(h.0.wait().unwrap().success(), "{err}");
    let expected: String = (1..=50000).map(|i| format!("{i}\n")).collect();
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains(&expected), "child output missing from stdout");
    assert_eq!(err.matches("not seekable").count(), 1, "{err}");
    assert!(!err.contains("Illegal seek"), "{err}");
    let r = read_report(&report).unwrap();
    assert!(r.exited && r.drained);
    assert_eq!((r.written, r.dropped), (expected.len() as u64, 0));
}

#[test]
fn a_stalled_stdout_reader_costs_dropped_output_not_a_blocked_child() {
    let dir = TempDir::new("stdout-stall");
    let report = dir.join("report");
    let mut h = helper("head -c 5000000 /dev/zero", 0, &report, "");
    // Do not read the helper's stdout until it has reported.
    assert!(
        wait_for(LONG.as_secs_f64(), || read_report(&report).is_some()),
        "helper never reported"
    );
    let r = read_report(&report).unwrap();
    let mut sink_out = Vec::new();
    h.0.stdout
        .take()
        .unwrap()
        .read_to_end(&mut sink_out)
        .unwrap();
    let _ = h.0.wait();
    assert!(r.exited, "child blocked on a stalled stdout");
    assert!(r.drained);
    assert!(r.dropped > 0);
    // What is neither written nor dropped is the small backlog still waiting at the end.
    let unaccounted = 5_000_000 - (r.written + r.dropped);
    assert!(unaccounted <= 1 << 20, "{unaccounted}");
}

#[test]
fn a_closed_stdout_reader_costs_dropped_output_not_a_blocked_child() {
    let dir = TempDir::new("stdout-closed");
    let report = dir.join("report");
    let gate = dir.join("gate");
    let mut h = helper(
        "head -c 3000000 /dev/zero",
        0,
        &report,
        gate.to_str().unwrap(),
    );
    // Close the reader once the test harness in the helper has printed its header.
    assert!(wait_for(LONG.as_secs_f64(), || dir
        .join("gate.ready")
        .exists()));
    drop(h.0.stdout.take());
    std::fs::write(&gate, b"").unwrap();
    assert!(
        wait_for(LONG.as_secs_f64(), || read_report(&report).is_some()),
        "helper never reported"
    );
    let r = read_report(&report).unwrap();
    let _ = h.0.wait();
    assert!(r.exited && r.drained);
    assert_eq!(r.written + r.dropped, 3_000_000);
}

#[test]
fn prefixed_programs_sharing_a_slow_stdout_never_mix_within_a_line() {
    let dir = TempDir::new("stdout-lines");
    let report = dir.join("report");
    let script = "seq -f 'line %g of a program writing quickly to a shared stdout' 1 40000";
    let mut h = helper(&format!("{script}&&&{script}&&&{script}"), 0, &report, "");
    // A slow reader: small reads with pauses, so the pipe is often full.
    let mut stdout = h.0.stdout.take().unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
        if out.len() < 2_000_000 {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }
    let _ = h.0.wait();
    let r = read_report(&report).unwrap();
    assert!(r.exited && r.drained);
    let text = String::from_utf8_lossy(&out);
    let mut seen = 0;
    for line in text.lines().filter(|l| l.starts_with('[')) {
        let rest = line
            .strip_prefix("[0] ")
            .or_else(|| line.strip_prefix("[1] "))
            .or_else(|| line.strip_prefix("[2] "))
            .unwrap_or_else(|| panic!("line without a prefix: {line:?}"));
        assert!(
            rest.starts_with("line ")
                && rest.ends_with(" of a program writing quickly to a shared stdout"),
            "mixed line: {line:?}"
        );
        assert_eq!(rest.matches("line ").count(), 1, "mixed line: {line:?}");
        seen += 1;
    }
    assert!(seen > 1000, "{seen} lines");
}
