//! Orderly shutdown: stop signals, SIGKILL after stopwaitsecs, process groups, parallel levels,
//! leftover descendants, exit status.

use std::time::Instant;

use crate::support::daemon::*;
use crate::support::supervisord::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

#[test]
fn sigterm_stops_programs_and_exits_zero() {
    let mut sup = Sup::start(
        "term",
        "[program:a]\ncommand={prog} record={dir}/a.sig sleep=100\nstartsecs=0\n",
    );
    assert!(sup.wait_log("spawned: 'a'", 10.0));
    assert!(wait_for(5.0, || sup.dir.join("a.sig").exists()));
    sup.signal(libc::SIGTERM);
    let st = sup.wait_exit(10.0).expect("supervisord exits");
    assert_eq!(st.code(), Some(0), "{}", sup.log());
    let log = sup.log();
    assert!(
        log.contains("received SIGTERM indicating exit request"),
        "{log}"
    );
    assert!(log.contains("stopped: a (terminated by SIGTERM)"), "{log}");
    assert_eq!(sup.file("a.sig"), "TERM\n");
    assert!(!sup.dir.join("sd.pid").exists(), "pidfile removed");
}

#[test]
fn stopwaitsecs_then_sigkill() {
    let mut sup = Sup::start(
        "kill",
        "[program:stubborn]\ncommand={prog} ignore-term sleep=100\nstartsecs=0\nstopwaitsecs=1\n",
    );
    assert!(sup.wait_log("spawned: 'stubborn'", 10.0));
    std::thread::sleep(std::time::Duration::from_millis(100));
    let t0 = Instant::now();
    sup.signal(libc::SIGTERM);
    let st = sup.wait_exit(10.0).expect("supervisord exits");
    let took = t0.elapsed().as_secs_f64();
    assert_eq!(st.code(), Some(0));
    let log = sup.log();
    assert!(log.contains("killing 'stubborn' ("), "{log}");
    assert!(log.contains(") with SIGKILL"), "{log}");
    assert!(
        log.contains("stopped: stubborn (terminated by SIGKILL)"),
        "{log}"
    );
    assert!((0.9..2.0).contains(&took), "took {took:.2}s");
}

#[test]
fn stopasgroup_reaches_grandchildren() {
    let mut sup = Sup::start(
        "group",
        "[program:tree]\ncommand={prog} grandchild={dir}/gc.pid sleep=100\nstartsecs=0\n\
         stopasgroup=true\n",
    );
    assert!(
        wait_for(10.0, || !sup.file("gc.pid").is_empty()),
        "{}",
        sup.log()
    );
    let gc: i32 = sup.file("gc.pid").trim().parse().unwrap();
    assert!(alive(gc));
    sup.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(0));
    assert!(!alive(gc));
    // The group signal took it: nothing was left over for the final sweep.
    assert!(!sup.log().contains("leftover"), "{}", sup.log());
}

#[test]
fn without_stopasgroup_grandchildren_are_swept_at_exit() {
    let mut sup = Sup::start(
        "nogroup",
        "[program:tree]\ncommand={prog} grandchild={dir}/gc.pid sleep=100\nstartsecs=0\n",
    );
    assert!(
        wait_for(10.0, || !sup.file("gc.pid").is_empty()),
        "{}",
        sup.log()
    );
    let gc: i32 = sup.file("gc.pid").trim().parse().unwrap();
    sup.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(0));
    assert!(
        sup.log()
            .contains("sending SIGTERM to 1 leftover process(es)"),
        "{}",
        sup.log()
    );
    assert!(!alive(gc));
}

#[test]
fn twelve_slow_programs_stop_in_parallel() {
    let mut conf = String::new();
    for i in 0..12 {
        conf.push_str(&format!(
            "[program:slow{i}]\ncommand={{prog}} stop-delay=1 sleep=100\nstartsecs=0\n\n"
        ));
    }
    let mut sup = Sup::start("twelve", &conf);
    assert!(
        wait_for(10.0, || sup.count("spawned: 'slow") == 12),
        "{}",
        sup.log()
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    let t0 = Instant::now();
    sup.signal(libc::SIGTERM);
    let st = sup.wait_exit(10.0).expect("exits");
    let took = t0.elapsed().as_secs_f64();
    println!("12 programs needing 1 s each stopped in {took:.3} s");
    assert_eq!(st.code(), Some(0));
    assert_eq!(sup.count("stopped: slow"), 12, "{}", sup.log());
    assert!(took < 1.5, "took {took:.2}s\n{}", sup.log());
}

#[test]
fn priority_levels_stop_highest_first() {
    let mut sup = Sup::start(
        "levels",
        "[program:first]\ncommand={prog} sleep=100\nstartsecs=0\npriority=1\n\n\
         [program:last]\ncommand={prog} stop-delay=0.3 sleep=100\nstartsecs=0\npriority=900\n",
    );
    assert!(
        wait_for(10.0, || sup.count("spawned:") == 2),
        "{}",
        sup.log()
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    sup.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(0));
    let last = sup.times_of("stopped: last")[0];
    let first = sup.times_of("stopped: first")[0];
    assert!(first >= last, "{}", sup.log());
    assert!(sup.log().contains("waiting for "), "{}", sup.log());
}

#[test]
fn second_sigterm_kills_what_is_left() {
    let mut sup = Sup::start(
        "hurry",
        "[program:stubborn]\ncommand={prog} ignore-term sleep=100\nstartsecs=0\nstopwaitsecs=30\n",
    );
    assert!(sup.wait_log("spawned: 'stubborn'", 10.0));
    std::thread::sleep(std::time::Duration::from_millis(100));
    sup.signal(libc::SIGTERM);
    assert!(sup.wait_log("waiting for stubborn to die", 5.0));
    let t0 = Instant::now();
    sup.signal(libc::SIGINT);
    assert_eq!(sup.wait_exit(5.0).and_then(|s| s.code()), Some(0));
    assert!(t0.elapsed().as_secs_f64() < 1.0);
    assert!(
        sup.log()
            .contains("stopped: stubborn (terminated by SIGKILL)"),
        "{}",
        sup.log()
    );
}

#[test]
fn daemon_left_behind_gets_sigterm_before_exit() {
    let mut sup = Sup::start(
        "daemon",
        "[program:spawner]\ncommand={prog} daemon={dir}/daemon.txt sleep=100\nstartsecs=0\n",
    );
    assert!(
        wait_for(10.0, || sup.file("daemon.txt").contains("started")),
        "{}",
        sup.log()
    );
    sup.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(0));
    assert!(
        sup.file("daemon.txt").contains("TERM\n"),
        "{}",
        sup.file("daemon.txt")
    );
}

#[test]
fn usr1_is_forwarded_to_programs() {
    let sup = Sup::start(
        "usr1",
        "[program:a]\ncommand={prog} record={dir}/a.sig sleep=100\nstartsecs=0\n\n\
         [program:b]\ncommand={prog} record={dir}/b.sig sleep=100\nstartsecs=0\n",
    );
    assert!(wait_for(10.0, || sup.dir.join("a.sig").exists()
        && sup.dir.join("b.sig").exists()));
    sup.signal(libc::SIGUSR1);
    assert!(wait_for(5.0, || sup.file("a.sig") == "USR1\n"
        && sup.file("b.sig") == "USR1\n"));
    sup.signal(libc::SIGWINCH);
    assert!(wait_for(5.0, || sup.file("a.sig").contains("WINCH")));
}

#[test]
fn essential_program_ending_shuts_down_with_its_status() {
    let mut sup = Sup::start(
        "essential",
        "[program:main]\ncommand={prog} sleep=0.3 exit=7\nessential=true\nautorestart=false\n\
         startsecs=0\n\n\
         [program:helper]\ncommand={prog} record={dir}/helper.sig sleep=100\nstartsecs=0\n",
    );
    let st = sup.wait_exit(10.0).expect("supervisord exits by itself");
    assert_eq!(st.code(), Some(7), "{}", sup.log());
    assert_eq!(sup.file("helper.sig"), "TERM\n");
    assert!(
        sup.log().contains("essential program main ended for good"),
        "{}",
        sup.log()
    );
}

#[test]
fn essential_program_giving_up_exits_nonzero() {
    let mut sup = Sup::start(
        "essfatal",
        "[program:main]\ncommand=no_such_command_xyz\nessential=true\nstartretries=0\n",
    );
    let st = sup.wait_exit(10.0).expect("supervisord exits by itself");
    assert_eq!(st.code(), Some(1), "{}", sup.log());
}

#[test]
fn restarting_essential_program_keeps_supervisord_running() {
    let mut sup = Sup::start(
        "essrestart",
        "[program:main]\ncommand={prog} sleep=0.1 exit=3\nessential=true\nautorestart=true\n\
         startsecs=0\n",
    );
    assert!(
        wait_for(10.0, || sup.count("spawned: 'main'") >= 3),
        "{}",
        sup.log()
    );
    assert!(sup.wait_exit(0.2).is_none());
}

#[test]
fn daemon_mode_detaches_writes_pidfile_and_stops_on_sigterm() {
    let dir = TempDir::new("daemonize");
    let conf = header(&dir).replace("nodaemon=true", "nodaemon=false")
        + &format!(
            "[program:a]\ncommand={} record={} sleep=100\nstartsecs=0\n",
            testprog().display(),
            dir.join("a.sig").display()
        );
    std::fs::write(dir.join("sd.conf"), conf).unwrap();
    let st = std::process::Command::new(SUPERVISORD)
        .arg("-c")
        .arg(dir.join("sd.conf"))
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0), "the foreground process exits at once");
    assert!(wait_for(10.0, || read(&dir.join("sd.pid"))
        .trim()
        .parse::<i32>()
        .is_ok()));
    let pid: i32 = read(&dir.join("sd.pid")).trim().parse().unwrap();
    let log = || read(&dir.join("sd.log"));
    assert!(wait_for(10.0, || dir.join("a.sig").exists()), "{}", log());
    assert!(
        log().contains("daemonizing the supervisord process"),
        "{}",
        log()
    );
    assert!(
        log().contains(&format!("supervisord started with pid {pid}")),
        "{}",
        log()
    );
    kill(pid, libc::SIGTERM);
    assert!(wait_for(10.0, || !alive(pid)), "{}", log());
    assert_eq!(read(&dir.join("a.sig")), "TERM\n");
    assert!(!dir.join("sd.pid").exists());
}
