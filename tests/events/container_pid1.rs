//! The container recipe: as PID 1, an event listener shuts supervisord down when a program
//! enters FATAL, and the whole container (PID namespace) ends.

use std::process::Command;
use std::time::Duration;

use crate::support::listener::*;

fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn listener_stops_supervisord_as_pid1_when_a_program_is_fatal() {
    if !can_unshare() {
        eprintln!("skipped: cannot create a PID namespace here");
        return;
    }
    let dir = TestDir::new("pid1");
    let sections = format!(
        "{}\n[program:crash]\ncommand=/bin/false\nstartsecs=1\nstartretries=1\n\
         \n[program:steady]\ncommand=/bin/sleep 1000\n",
        recording_listener(
            &dir,
            "fatal",
            "PROCESS_STATE_FATAL",
            ",ON_EVENT=\"kill -TERM $LISTENER_PPID\",ON_EVENT_NAMES=\"PROCESS_STATE_FATAL\"",
            ""
        )
    );
    let config = dir.config(&sections);
    let mut daemon = Daemon::spawn(
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(supervisord_bin())
            .args(["-n", "-c"])
            .arg(&config),
    );
    let status = daemon.wait_exit(Duration::from_secs(40));
    let log = dir.main_log();
    assert!(status.is_some(), "supervisord still running; log:\n{log}");
    assert!(
        log.contains("supervisord started with pid 1"),
        "not PID 1; log:\n{log}"
    );
    assert!(
        log.contains("gave up: crash entered FATAL state"),
        "log:\n{log}"
    );
    assert!(
        log.contains("received SIGTERM indicating exit request"),
        "log:\n{log}"
    );
    let records = dir.records("fatal.rec");
    assert!(
        records
            .iter()
            .any(|r| r.ends_with("|processname:crash groupname:crash from_state:BACKOFF")),
        "records: {records:#?}"
    );
}

#[test]
fn listener_shuts_supervisord_down_through_supervisorctl_as_pid1() {
    if !can_unshare() {
        eprintln!("skipped: cannot create a PID namespace here");
        return;
    }
    let dir = TestDir::new("pid1ctl");
    let ctl = env!("CARGO_BIN_EXE_supervisorctl");
    let conf = dir.file("supervisord.conf");
    let on_event = format!(",ON_EVENT=\"{ctl} -c {} shutdown\"", conf.display());
    let sections = format!(
        "{}\n[program:crash]\ncommand=/bin/false\nstartsecs=1\nstartretries=0\n",
        recording_listener(
            &dir,
            "fatal",
            "PROCESS_STATE_FATAL",
            &format!("{on_event},ON_EVENT_NAMES=\"PROCESS_STATE_FATAL\""),
            ""
        )
    );
    let config = dir.config(&sections);
    let mut daemon = Daemon::spawn(
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(supervisord_bin())
            .args(["-n", "-c"])
            .arg(&config),
    );
    let status = daemon.wait_exit(Duration::from_secs(40));
    let log = dir.main_log();
    assert!(status.is_some(), "supervisord still running; log:\n{log}");
    assert!(
        log.contains("supervisord started with pid 1"),
        "not PID 1; log:\n{log}"
    );
    assert!(
        log.contains("gave up: crash entered FATAL state"),
        "log:\n{log}"
    );
    assert!(
        log.contains("stopped: fatal"),
        "listener not stopped; log:\n{log}"
    );
}
