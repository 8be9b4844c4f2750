//! `essential=true`: when such a program fails for good, supervisord stops everything in the
//! normal order and exits with that program's status (also as PID 1 of a pid namespace).

use crate::support::daemon::*;
use crate::support::supervisord::*;
use crate::support::wait::wait_for;

const UNSHARE: &[&str] = &["unshare", "--pid", "--fork", "--mount-proc"];

fn can_unshare() -> bool {
    std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn pid_in(sup: &Sup, file: &str) -> i32 {
    let mut pid = 0;
    assert!(
        wait_for(10.0, || {
            pid = sup.file(file).trim().parse().unwrap_or(0);
            pid > 0
        }),
        "{}",
        sup.log()
    );
    pid
}

/// A long-running companion that records the signals it gets.
const COMPANION: &str =
    "[program:side]\ncommand={prog} record={dir}/side.sig sleep=100\nstartsecs=0\n";

#[test]
fn essential_exit_stops_everything_and_exits_with_its_code() {
    let conf = format!(
        "{COMPANION}[program:main]\ncommand={{prog}} sleep=0.5 exit=3\nstartsecs=0\n\
         autorestart=false\nessential=true\n"
    );
    let mut sup = Sup::start("ess-exit", &conf);
    let st = sup.wait_exit(20.0).expect("supervisord did not exit");
    assert_eq!(st.code(), Some(3), "{}", sup.log());
    let log = sup.log();
    assert!(
        log.contains("essential program main ended for good (status 3): shutting down"),
        "{log}"
    );
    assert!(sup.file("side.sig").contains("TERM"), "{log}");
    assert!(
        log.contains("stopped: side (terminated by SIGTERM)"),
        "{log}"
    );
}

#[test]
fn non_essential_exit_does_not_end_supervisord() {
    let conf = "[program:once]\ncommand={prog} exit=5\nstartsecs=0\nautorestart=false\n";
    let mut sup = Sup::start("ess-plain", conf);
    assert!(
        sup.wait_log("exited: once (exit status 5; not expected)", 10.0),
        "{}",
        sup.log()
    );
    assert!(sup.wait_exit(0.5).is_none(), "{}", sup.log());
}

#[test]
fn essential_killed_by_signal_as_pid1_exits_128_plus_n() {
    if !can_unshare() {
        eprintln!("skipped: cannot create a pid namespace here");
        return;
    }
    let conf = format!(
        "{COMPANION}[program:main]\ncommand={{prog}} pid={{dir}}/main.pid sleep=100\n\
         startsecs=0\nautorestart=false\nessential=true\n"
    );
    let mut sup = Sup::start_with("ess-pid1", &conf, UNSHARE);
    let inner = pid_in(&sup, "main.pid");
    // The pid file holds the namespace's pid; find the host pid by its parentage instead.
    let host = descendants(sup.pid)
        .into_iter()
        .find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/status"))
                .map(|s| {
                    s.lines()
                        .any(|l| l.starts_with("NSpid:") && l.ends_with(&format!("\t{inner}")))
                })
                .unwrap_or(false)
        })
        .expect("host pid of main");
    kill(host, libc::SIGKILL);
    let st = sup.wait_exit(20.0).expect("supervisord did not exit");
    assert_eq!(st.code(), Some(137), "{}", sup.log());
    let log = sup.log();
    assert!(
        log.contains("exited: main (terminated by SIGKILL; not expected)")
            && log.contains("essential program main ended for good (status 137)"),
        "{log}"
    );
    assert!(sup.file("side.sig").contains("TERM"), "{log}");
}
