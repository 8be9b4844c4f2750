//! `depends_on`: dependents wait for RUNNING and healthy dependencies, independent programs
//! are not delayed, shutdown stops dependents first.

use crate::support::daemon::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

#[test]
fn dependent_waits_until_dependency_is_healthy() {
    let dir = TempDir::new("dep-health");
    let check = format!("/bin/sh -c 'test -f {}'", dir.join("db-ready").display());
    let conf = format!(
        "[program:db]\ncommand={{prog}} sleep=100\nstartsecs=0\nhealthcheck_command={check}\n\
         healthcheck_interval=1\nhealthcheck_retries=100\n\n\
         [program:web]\ncommand={{prog}} sleep=100\nstartsecs=0\ndepends_on=db\n"
    );
    let sup = Sup::launch(dir, &conf, &[]);
    assert!(
        sup.wait_log("success: db entered RUNNING", 10.0),
        "{}",
        sup.log()
    );
    // RUNNING but not yet healthy: web must still wait through a few failing checks.
    assert!(
        wait_for(10.0, || sup.count("health check of db (pid") >= 2),
        "{}",
        sup.log()
    );
    assert!(!sup.log().contains("spawned: 'web'"), "{}", sup.log());
    std::fs::write(sup.dir.join("db-ready"), "").unwrap();
    assert!(sup.wait_log("spawned: 'web'", 10.0), "{}", sup.log());
    let healthy = sup.times_of("health check passed: db is healthy")[0];
    let web = sup.times_of("spawned: 'web'")[0];
    assert!(web >= healthy, "{}", sup.log());
}

#[test]
fn independent_programs_are_not_delayed_by_startsecs() {
    let conf = "[program:a]\ncommand={prog} sleep=100\nstartsecs=2\npriority=1\n\n\
                [program:b]\ncommand={prog} sleep=100\nstartsecs=0\ndepends_on=a\npriority=2\n\n\
                [program:c]\ncommand={prog} sleep=100\nstartsecs=0\npriority=3\n";
    let sup = Sup::start("dep-indep", conf);
    assert!(sup.wait_log("spawned: 'b'", 15.0), "{}", sup.log());
    let a = sup.times_of("spawned: 'a'")[0];
    let b = sup.times_of("spawned: 'b'")[0];
    let c = sup.times_of("spawned: 'c'")[0];
    assert!(c - a < 1.0, "c waited for a: {}", sup.log());
    assert!(
        b - a >= 1.9,
        "b did not wait for a's startsecs: {}",
        sup.log()
    );
}

#[test]
fn chain_starts_in_order_and_stops_in_reverse() {
    let conf =
        "[program:c]\ncommand={prog} stop-delay=0.2 sleep=100\nstartsecs=0\ndepends_on=b\n\n\
                [program:b]\ncommand={prog} stop-delay=0.2 sleep=100\nstartsecs=0\ndepends_on=a\n\n\
                [program:a]\ncommand={prog} stop-delay=0.2 sleep=100\nstartsecs=0\n";
    let mut sup = Sup::start("dep-chain", conf);
    assert!(sup.wait_log("spawned: 'c'", 10.0), "{}", sup.log());
    let t = |s: &str| sup.times_of(s)[0];
    assert!(t("spawned: 'a'") <= t("spawned: 'b'"));
    assert!(t("spawned: 'b'") <= t("spawned: 'c'"));
    sup.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(15.0).and_then(|s| s.code()), Some(0));
    let t = |s: &str| sup.times_of(s)[0];
    assert!(t("stopped: c") <= t("stopped: b"), "{}", sup.log());
    assert!(t("stopped: b") <= t("stopped: a"), "{}", sup.log());
}
