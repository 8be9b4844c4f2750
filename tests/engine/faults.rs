//! Fault containment, shown with the test-only switch SUPERVISORD_RS_TEST_PANIC: a worker, the
//! signal thread or the main loop panics on demand, and supervisord still stops every program
//! within its bound, with the documented exit status and log lines. Also: a second SIGTERM
//! ends supervisord within a second.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::daemon::*;
use crate::support::supervisord::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

const SUPERVISORCTL: &str = env!("CARGO_BIN_EXE_supervisorctl");

/// The control socket sections every test here adds.
const SERVER: &str = "[unix_http_server]\nfile={dir}/sock\n[supervisorctl]\nserverurl=unix://{dir}/sock\n\
[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n";

/// Starts supervisord with the fault switch set to `fault`.
fn start_faulty(tag: &str, fault: &str, programs: &str) -> Sup {
    let dir = TempDir::new(tag);
    let conf = format!("{}{SERVER}{programs}", header(&dir))
        .replace("[supervisord]\n", "[supervisord]\nshutdown_grace=1\n")
        .replace("{dir}", &dir.0.display().to_string())
        .replace("{prog}", &testprog().display().to_string());
    std::fs::write(dir.join("sd.conf"), conf).unwrap();
    let child = Command::new(SUPERVISORD)
        .arg("-n")
        .arg("-c")
        .arg(dir.join("sd.conf"))
        .env("SUPERVISORD_RS_TEST_PANIC", fault)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start supervisord");
    let pid = child.id() as i32;
    Sup {
        dir,
        child: Some(child),
        pid,
        status: None,
    }
}

/// Runs supervisorctl against `sup`; (output, exit code).
fn ctl(sup: &Sup, args: &[&str]) -> (String, i32) {
    let out = Command::new(SUPERVISORCTL)
        .arg("-c")
        .arg(sup.dir.join("sd.conf"))
        .args(args)
        .output()
        .expect("run supervisorctl");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (text, out.status.code().unwrap_or(-1))
}

fn pid_in(sup: &Sup, file: &str) -> i32 {
    assert!(wait_for(10.0, || sup
        .file(file)
        .trim()
        .parse::<i32>()
        .is_ok()));
    sup.file(file).trim().parse().unwrap()
}

/// Sends `sig` and returns the exit status and how long supervisord took to exit.
fn signal_and_wait(sup: &mut Sup, sig: i32, secs: f64) -> (Option<i32>, Duration) {
    let started = Instant::now();
    sup.signal(sig);
    let st = sup.wait_exit(secs).expect("supervisord exits");
    (st.code(), started.elapsed())
}

#[test]
fn a_panicking_worker_leaves_its_process_unknown_and_is_answered_with_faults() {
    let mut sup = start_faulty(
        "wpanic",
        "worker:a",
        "[program:a]\ncommand={prog} pid={dir}/a.pid grandchild={dir}/a.gc sleep=100\nstartsecs=0\n\
         [program:b]\ncommand={prog} record={dir}/b.sig sleep=100\nstartsecs=0\n",
    );
    let a = pid_in(&sup, "a.pid");
    let grandchild = pid_in(&sup, "a.gc");
    assert!(wait_for(10.0, || ctl(&sup, &["status"]).1 == 0));

    let (out, code) = ctl(&sup, &["stop", "a"]);
    assert!(out.contains("FAILED: a: worker died"), "{out}");
    assert_ne!(code, 0);
    assert!(
        wait_for(5.0, || !alive(a) && !alive(grandchild)),
        "group killed"
    );
    let (out, _) = ctl(&sup, &["status", "a"]);
    assert!(out.contains("UNKNOWN"), "{out}");
    assert!(out.contains("worker died: injected fault"), "{out}");
    // Later requests are answered at once, never left hanging.
    let (out, code) = ctl(&sup, &["start", "a"]);
    assert!(out.contains("a: ERROR (spawn error)"), "{out}");
    assert_ne!(code, 0);
    let (out, _) = ctl(&sup, &["signal", "HUP", "a"]);
    assert!(out.contains("a: ERROR"), "{out}");
    let log = sup.log();
    assert!(
        log.contains("CRIT panic in thread 'proc:a': injected fault"),
        "{log}"
    );
    assert!(log.contains("CRIT worker of a died"), "{log}");

    // Shutdown does not wait for the dead worker; b still gets its stop signal.
    let (code, took) = signal_and_wait(&mut sup, libc::SIGTERM, 10.0);
    assert_eq!(code, Some(0), "{}", sup.log());
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    assert_eq!(sup.file("b.sig"), "TERM\n");
    eprintln!("worker panic: shutdown took {took:?}");
}

#[test]
fn a_worker_that_panics_at_shutdown_does_not_hold_it_up() {
    let mut sup = start_faulty(
        "wpanic-stop",
        "worker:a",
        "[program:a]\ncommand={prog} pid={dir}/a.pid ignore-term sleep=100\nstartsecs=0\nstopwaitsecs=60\n",
    );
    let a = pid_in(&sup, "a.pid");
    let (code, took) = signal_and_wait(&mut sup, libc::SIGTERM, 10.0);
    assert_eq!(code, Some(0), "{}", sup.log());
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    assert!(!alive(a));
    assert!(sup.log().contains("CRIT worker of a died"), "{}", sup.log());
    eprintln!("worker panic at shutdown: exit after {took:?}");
}

/// The signal thread or the main loop dies (on SIGUSR1): every program is stopped in order
/// and supervisord exits 70.
fn thread_death_stops_everything(fault: &str, thread: &str, crit: &str) {
    let mut sup = start_faulty(
        fault,
        fault,
        "[program:a]\ncommand={prog} record={dir}/a.sig sleep=100\nstartsecs=0\n\
         [program:b]\ncommand={prog} record={dir}/b.sig sleep=100\nstartsecs=0\n",
    );
    assert!(wait_for(10.0, || sup.dir.join("a.sig").exists()
        && sup.dir.join("b.sig").exists()));
    let (code, took) = signal_and_wait(&mut sup, libc::SIGUSR1, 10.0);
    let log = sup.log();
    assert_eq!(code, Some(70), "{log}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(
        log.contains(&format!("CRIT panic in thread '{thread}': injected fault")),
        "{log}"
    );
    assert!(log.contains(crit), "{log}");
    assert_eq!(sup.file("a.sig"), "TERM\n");
    assert_eq!(sup.file("b.sig"), "TERM\n");
    assert!(!sup.dir.join("sd.pid").exists(), "pidfile removed");
    eprintln!("{fault} panic: exit 70 after {took:?}");
}

#[test]
fn a_panicking_signal_thread_stops_everything_and_exits_70() {
    thread_death_stops_everything(
        "signal",
        "signals",
        "CRIT the signals thread died: stopping every program and exiting",
    );
}

#[test]
fn a_panicking_main_loop_stops_everything_and_exits_70() {
    thread_death_stops_everything(
        "mainloop",
        "main",
        "CRIT the main loop died: stopping every program and exiting",
    );
}

#[test]
fn a_signal_thread_that_keeps_panicking_is_replaced_by_reaping_in_the_shutdown() {
    let mut sup = start_faulty(
        "signal-dead",
        "signal-dead",
        "[program:a]\ncommand={prog} record={dir}/a.sig sleep=100\nstartsecs=0\n\
         [program:b]\ncommand={prog} record={dir}/b.sig sleep=100\nstartsecs=0\n",
    );
    assert!(wait_for(10.0, || sup.dir.join("a.sig").exists()
        && sup.dir.join("b.sig").exists()));
    // Three different signals (equal ones may merge): three panics, and the thread gives up.
    // The first panic starts the shutdown, which from then on reaps by itself.
    let started = Instant::now();
    for sig in [libc::SIGUSR1, libc::SIGWINCH, libc::SIGALRM] {
        sup.signal(sig);
    }
    let st = sup.wait_exit(10.0).expect("supervisord exits");
    let took = started.elapsed();
    let log = sup.log();
    assert_eq!(st.code(), Some(70), "{log}");
    assert!(took < Duration::from_secs(3), "took {took:?}: {log}");
    assert!(log.contains("stopped: a (terminated by SIGTERM)"), "{log}");
    assert!(log.contains("stopped: b (terminated by SIGTERM)"), "{log}");
    assert!(
        log.matches("CRIT panic in thread 'signals'").count() >= 3,
        "{log}"
    );
    eprintln!("signal thread gone: exit 70 after {took:?}");
}

#[test]
fn a_second_sigterm_ends_supervisord_within_a_second() {
    let mut sup = Sup::start(
        "hurry",
        "[program:a]\ncommand={prog} pid={dir}/a.pid ignore-term sleep=100\nstartsecs=0\nstopwaitsecs=60\n",
    );
    let a = pid_in(&sup, "a.pid");
    sup.signal(libc::SIGTERM);
    assert!(sup.wait_log("waiting for a to die", 10.0), "{}", sup.log());
    let (code, took) = signal_and_wait(&mut sup, libc::SIGTERM, 10.0);
    assert_eq!(code, Some(0), "{}", sup.log());
    // 1 s promised; the rest is this noisy machine.
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert!(!alive(a));
    eprintln!("second SIGTERM: exit after {took:?}");
}

#[test]
fn shutdown_gives_up_on_a_stuck_worker_after_its_bound() {
    let mut sup = start_faulty(
        "hang",
        "hang:a",
        "[program:a]\ncommand={prog} pid={dir}/a.pid sleep=100\nstartsecs=0\nstopwaitsecs=1\n\
         [program:b]\ncommand={prog} record={dir}/b.sig sleep=100\nstartsecs=0\nstopwaitsecs=1\n",
    );
    let a = pid_in(&sup, "a.pid");
    assert!(wait_for(10.0, || sup.dir.join("b.sig").exists()));
    let (code, took) = signal_and_wait(&mut sup, libc::SIGTERM, 15.0);
    let log = sup.log();
    assert_eq!(code, Some(0), "{log}");
    // stopwaitsecs 1 + shutdown_grace 1, then the stuck worker's child is killed by us.
    assert!(log.contains("gave up waiting for a to stop"), "{log}");
    assert!(took >= Duration::from_millis(1900), "took {took:?}");
    assert!(took < Duration::from_secs(6), "took {took:?}: {log}");
    assert!(!alive(a));
    assert_eq!(sup.file("b.sig"), "TERM\n");
    eprintln!("stuck worker: exit after {took:?}");
}
