//! `depends_on` (extension): start after the dependencies are RUNNING, stop before them.

use crate::support::daemon::*;

#[test]
fn dependent_starts_after_dependency_is_running_and_stops_first() {
    let mut sup = Sup::start(
        "deps",
        "[program:db]\ncommand={prog} stop-delay=0.2 sleep=100\nstartsecs=1\npriority=999\n\n\
         [program:web]\ncommand={prog} stop-delay=0.2 sleep=100\nstartsecs=0\npriority=1\n\
         depends_on=db\n",
    );
    assert!(sup.wait_log("spawned: 'web'", 10.0), "{}", sup.log());
    let db_running = sup.times_of("success: db entered RUNNING")[0];
    let web_spawned = sup.times_of("spawned: 'web'")[0];
    assert!(web_spawned >= db_running, "{}", sup.log());
    assert!(
        sup.log().contains("web waits for db to be RUNNING"),
        "{}",
        sup.log()
    );
    sup.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(0));
    let web_stopped = sup.times_of("stopped: web")[0];
    let db_stopped = sup.times_of("stopped: db")[0];
    assert!(web_stopped <= db_stopped, "{}", sup.log());
    // db got its stop signal only after web was gone.
    assert!(db_stopped - web_stopped >= 0.15, "{}", sup.log());
}

#[test]
fn dependent_of_a_failed_program_is_not_started() {
    let sup = Sup::start(
        "depsfail",
        "[program:db]\ncommand={prog} exit=1\nstartsecs=1\nstartretries=0\n\n\
         [program:web]\ncommand={prog} sleep=100\ndepends_on=db\n",
    );
    assert!(
        sup.wait_log("gave up: db entered FATAL state", 10.0),
        "{}",
        sup.log()
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!sup.log().contains("spawned: 'web'"), "{}", sup.log());
}
