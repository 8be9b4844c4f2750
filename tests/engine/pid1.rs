//! supervisord as PID 1 of a new pid namespace (`unshare --pid --fork --mount-proc`): orphan
//! reaping, signal forwarding, shutdown of leftovers, exit status.

use std::time::{Duration, Instant};

use crate::support::daemon::*;
use crate::support::supervisord::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

const UNSHARE: &[&str] = &["unshare", "--pid", "--fork", "--mount-proc"];

fn can_unshare() -> bool {
    std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The supervisord inside the namespace (the child of `unshare`), by its host pid.
fn inner_pid(sup: &Sup) -> i32 {
    let mut pid = 0;
    assert!(wait_for(10.0, || {
        pid = descendants(sup.pid).first().copied().unwrap_or(0);
        pid != 0
    }));
    pid
}

fn zombies_under(root: i32) -> usize {
    descendants(root)
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .map(|s| {
                    s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn thousand_orphans_leave_no_zombie() {
    if !can_unshare() {
        eprintln!("skipped: cannot create a pid namespace here");
        return;
    }
    let sup = Sup::start_with(
        "orphans",
        "[program:maker]\ncommand={prog} done={dir}/done orphans=1200 sleep=100\nstartsecs=0\n",
        UNSHARE,
    );
    assert!(
        wait_for(30.0, || sup.file("done").contains("done")),
        "{}",
        sup.log()
    );
    std::thread::sleep(Duration::from_millis(100));
    let z = zombies_under(sup.pid);
    assert_eq!(z, 0, "{z} zombies 100 ms after the orphans were made");
}

#[test]
fn usr1_reaches_programs_as_pid1() {
    if !can_unshare() {
        eprintln!("skipped: cannot create a pid namespace here");
        return;
    }
    let sup = Sup::start_with(
        "pid1usr1",
        "[program:a]\ncommand={prog} record={dir}/a.sig sleep=100\nstartsecs=0\n",
        UNSHARE,
    );
    assert!(
        wait_for(10.0, || sup.dir.join("a.sig").exists()),
        "{}",
        sup.log()
    );
    kill(inner_pid(&sup), libc::SIGUSR1);
    assert!(
        wait_for(5.0, || sup.file("a.sig") == "USR1\n"),
        "{}",
        sup.log()
    );
    assert!(
        sup.log().contains("supervisord started with pid 1"),
        "{}",
        sup.log()
    );
}

#[test]
fn sigterm_as_pid1_stops_everything_and_exits_zero() {
    if !can_unshare() {
        eprintln!("skipped: cannot create a pid namespace here");
        return;
    }
    let mut sup = Sup::start_with(
        "pid1term",
        "[program:a]\ncommand={prog} record={dir}/a.sig sleep=100\nstartsecs=0\n\n\
         [program:spawner]\ncommand={prog} daemon={dir}/daemon.txt sleep=100\nstartsecs=0\n",
        UNSHARE,
    );
    assert!(
        wait_for(10.0, || sup.file("daemon.txt").contains("started")),
        "{}",
        sup.log()
    );
    assert!(wait_for(10.0, || sup.dir.join("a.sig").exists()));
    let t0 = Instant::now();
    kill(inner_pid(&sup), libc::SIGTERM);
    let st = sup.wait_exit(10.0).expect("exits");
    assert_eq!(st.code(), Some(0), "{}", sup.log());
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert_eq!(sup.file("a.sig"), "TERM\n");
    assert!(
        sup.file("daemon.txt").contains("TERM\n"),
        "{}",
        sup.file("daemon.txt")
    );
}

#[test]
fn pid1_never_daemonizes() {
    if !can_unshare() {
        eprintln!("skipped: cannot create a pid namespace here");
        return;
    }
    // Without -n: as PID 1 supervisord must stay in the foreground.
    let dir = TempDir::new("pid1fg");
    let conf = header(&dir).replace("nodaemon=true", "nodaemon=false")
        + &format!(
            "[program:a]\ncommand={} sleep=100\nstartsecs=0\n",
            testprog().display()
        );
    std::fs::write(dir.join("sd.conf"), conf).unwrap();
    let mut child = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", SUPERVISORD, "-c"])
        .arg(dir.join("sd.conf"))
        .spawn()
        .unwrap();
    let log = dir.join("sd.log");
    assert!(
        wait_for(10.0, || read(&log).contains("spawned: 'a'")),
        "{}",
        read(&log)
    );
    assert!(read(&log).contains("not daemonizing"), "{}", read(&log));
    assert!(
        child.try_wait().unwrap().is_none(),
        "supervisord left the foreground"
    );
    let inner = descendants(child.id() as i32)[0];
    kill(inner, libc::SIGTERM);
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(0));
}

#[test]
fn pid1_without_own_proc_still_sweeps_only_its_namespace() {
    if !can_unshare() {
        eprintln!("skipped: cannot create a pid namespace here");
        return;
    }
    // No --mount-proc: /proc shows the outer namespace, which must never be signalled.
    let mut sup = Sup::start_with(
        "pid1noproc",
        "[program:spawner]\ncommand={prog} daemon={dir}/daemon.txt sleep=100\nstartsecs=0\n",
        &["unshare", "--pid", "--fork"],
    );
    assert!(
        wait_for(10.0, || sup.file("daemon.txt").contains("started")),
        "{}",
        sup.log()
    );
    kill(inner_pid(&sup), libc::SIGTERM);
    let st = sup.wait_exit(10.0).expect("exits");
    assert_eq!(st.code(), Some(0), "{}", sup.log());
    assert!(
        sup.file("daemon.txt").contains("TERM\n"),
        "{}",
        sup.file("daemon.txt")
    );
    assert!(
        sup.log()
            .contains("sending SIGTERM to every leftover process"),
        "{}",
        sup.log()
    );
}
