//! Health checks (extension): failures in a row make a process unhealthy, a success heals it.

use crate::support::daemon::*;

#[test]
fn health_check_failures_and_recovery_are_reported() {
    let sup = Sup::start(
        "health",
        "[program:web]\ncommand={prog} sleep=100\nstartsecs=0\n\
         healthcheck_command={prog} exists={dir}/healthy\nhealthcheck_interval=1\n\
         healthcheck_retries=2\nhealthcheck_timeout=5\n",
    );
    let unhealthy = "health check failed: web is unhealthy (2 failures in a row)";
    assert!(sup.wait_log(unhealthy, 10.0), "{}", sup.log());
    std::fs::write(sup.dir.join("healthy"), "").unwrap();
    assert!(
        sup.wait_log("health check passed: web is healthy again", 10.0),
        "{}",
        sup.log()
    );
    assert_eq!(sup.count(unhealthy), 1);
}

#[test]
fn hanging_health_check_times_out() {
    let sup = Sup::start(
        "healthhang",
        "[program:web]\ncommand={prog} sleep=100\nstartsecs=0\n\
         healthcheck_command={prog} sleep=100\nhealthcheck_interval=1\n\
         healthcheck_retries=1\nhealthcheck_timeout=1\n",
    );
    assert!(
        sup.wait_log("health check failed: web is unhealthy", 10.0),
        "{}",
        sup.log()
    );
}
