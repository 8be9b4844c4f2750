//! Health checks: run while RUNNING, a failing streak restarts the program, a hung check is
//! killed at its timeout, an unhealthy essential program brings supervisord down.

use crate::support::daemon::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

fn program(check: &str, extra: &str) -> String {
    format!(
        "[program:web]\ncommand={{prog}} pid={{dir}}/web.pid sleep=100\nstartsecs=0\n\
         healthcheck_command={check}\nhealthcheck_interval=1\nhealthcheck_timeout=1\n{extra}"
    )
}

#[test]
fn passing_check_reports_healthy() {
    let sup = Sup::start("hc-ok", &program("/bin/sh -c 'exit 0'", ""));
    assert!(
        sup.wait_log("health check passed: web is healthy", 10.0),
        "{}",
        sup.log()
    );
    // The first check runs as soon as the program is RUNNING, not an interval later.
    let running = sup.times_of("success: web entered RUNNING")[0];
    let healthy = sup.times_of("health check passed: web is healthy")[0];
    assert!(healthy - running < 0.9, "{}", sup.log());
}

#[test]
fn failing_streak_restarts_and_recovery_is_reported() {
    let dir = TempDir::new("hc-restart");
    std::fs::write(dir.join("ok"), "").unwrap();
    let check = format!("/bin/sh -c 'test -f {}'", dir.join("ok").display());
    let sup = Sup::launch(dir, &program(&check, "healthcheck_retries=2\n"), &[]);
    assert!(
        sup.wait_log("health check passed: web is healthy", 10.0),
        "{}",
        sup.log()
    );
    std::fs::remove_file(sup.dir.join("ok")).unwrap();
    assert!(
        sup.wait_log("restarting unhealthy program web", 15.0),
        "{}",
        sup.log()
    );
    assert!(
        wait_for(10.0, || sup.count("spawned: 'web'") >= 2),
        "{}",
        sup.log()
    );
    assert!(
        sup.log()
            .contains("health check failed: web is unhealthy (2 failures in a row)"),
        "{}",
        sup.log()
    );
    assert!(sup.log().contains("stopped: web (terminated by SIGTERM)"));
    std::fs::write(sup.dir.join("ok"), "").unwrap();
    assert!(
        sup.wait_log("health check passed: web is healthy again", 10.0),
        "{}",
        sup.log()
    );
}

#[test]
fn hung_check_is_killed_at_its_timeout() {
    let dir = TempDir::new("hc-timeout");
    let check = format!(
        "/bin/sh -c 'echo $$ >> {}; exec sleep 100'",
        dir.join("checks").display()
    );
    let sup = Sup::launch(dir, &program(&check, "healthcheck_retries=2\n"), &[]);
    assert!(
        sup.wait_log("web is unhealthy (2 failures in a row)", 15.0),
        "{}",
        sup.log()
    );
    let pids: Vec<i32> = sup
        .file("checks")
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(pids.len() >= 2, "{pids:?}");
    assert!(
        wait_for(5.0, || !alive(pids[0]) && !alive(pids[1])),
        "checks still alive: {pids:?}"
    );
    let log = sup.log();
    assert!(log.contains("timed out"), "{log}");
}

#[test]
fn unhealthy_essential_program_shuts_down_with_status_one() {
    let mut sup = Sup::start(
        "hc-essential",
        &program("/bin/false", "healthcheck_retries=1\nessential=true\n"),
    );
    let st = sup.wait_exit(20.0).expect("supervisord did not exit");
    assert_eq!(st.code(), Some(1), "{}", sup.log());
    let log = sup.log();
    assert!(
        log.contains("essential program web is unhealthy: shutting down"),
        "{log}"
    );
    assert!(
        log.contains("stopped: web (terminated by SIGTERM)"),
        "{log}"
    );
}

#[test]
fn missing_check_command_counts_as_failure() {
    let sup = Sup::start(
        "hc-missing",
        &program("/nonexistent/check", "healthcheck_retries=1\n"),
    );
    assert!(
        sup.wait_log("health check of web could not start", 10.0),
        "{}",
        sup.log()
    );
    assert!(
        wait_for(10.0, || sup.count("spawned: 'web'") >= 2),
        "{}",
        sup.log()
    );
}
