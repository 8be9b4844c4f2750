//! SIGHUP: reload in the same process with the new config; a broken config keeps the old one.

use crate::support::daemon::*;
use crate::support::supervisord::*;

fn rewrite(sup: &Sup, programs: &str) {
    let prog = testprog().display().to_string();
    let text = header(&sup.dir) + &programs.replace("{prog}", &prog);
    std::fs::write(sup.dir.join("sd.conf"), text).unwrap();
}

#[test]
fn sighup_restarts_with_the_new_config_in_the_same_process() {
    let sup = Sup::start(
        "reload",
        "[program:a]\ncommand={prog} sleep=100\nstartsecs=0\n",
    );
    assert!(sup.wait_log("spawned: 'a'", 10.0), "{}", sup.log());
    rewrite(&sup, "[program:b]\ncommand={prog} sleep=100\nstartsecs=0\n");
    sup.signal(libc::SIGHUP);
    assert!(sup.wait_log("spawned: 'b'", 10.0), "{}", sup.log());
    let log = sup.log();
    assert!(
        log.contains("received SIGHUP indicating restart request"),
        "{log}"
    );
    assert!(log.contains("stopped: a (terminated by SIGTERM)"), "{log}");
    let started = format!("supervisord started with pid {}", sup.pid);
    assert_eq!(log.matches(&started).count(), 2, "{log}");
}

#[test]
fn broken_config_on_sighup_keeps_running() {
    let sup = Sup::start(
        "badreload",
        "[program:a]\ncommand={prog} sleep=100\nstartsecs=0\n",
    );
    assert!(sup.wait_log("spawned: 'a'", 10.0), "{}", sup.log());
    rewrite(&sup, "[program:b]\nstartsecs=0\n");
    sup.signal(libc::SIGHUP);
    assert!(
        sup.wait_log("could not reload the configuration", 10.0),
        "{}",
        sup.log()
    );
    assert!(!sup.log().contains("stopped: a"), "{}", sup.log());
    // Still serving signals with the old configuration.
    rewrite(&sup, "[program:c]\ncommand={prog} sleep=100\nstartsecs=0\n");
    sup.signal(libc::SIGHUP);
    assert!(sup.wait_log("spawned: 'c'", 10.0), "{}", sup.log());
}

#[test]
fn sigterm_during_reload_ends_in_shutdown() {
    let mut sup = Sup::start(
        "reloadterm",
        "[program:slow]\ncommand={prog} stop-delay=0.5 sleep=100\nstartsecs=0\n",
    );
    assert!(sup.wait_log("spawned: 'slow'", 10.0), "{}", sup.log());
    std::thread::sleep(std::time::Duration::from_millis(100));
    sup.signal(libc::SIGHUP);
    assert!(
        sup.wait_log("waiting for slow to die", 5.0),
        "{}",
        sup.log()
    );
    sup.signal(libc::SIGTERM);
    assert_eq!(
        sup.wait_exit(10.0).and_then(|s| s.code()),
        Some(0),
        "{}",
        sup.log()
    );
    let log = sup.log();
    assert!(
        log.contains("stopped: slow (terminated by SIGTERM)"),
        "{log}"
    );
    assert_eq!(log.matches("spawned: 'slow'").count(), 1, "{log}");
}
