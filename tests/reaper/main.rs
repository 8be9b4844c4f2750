//! The reaper's spawn registration: no exit is lost whether it is reaped before or after the
//! spawning thread registers the pid. (Own test binary: `waitpid(-1)` would steal the children
//! of other tests.)

use std::io;
use std::time::Duration;

use supervisor_rs::reaper::{ExitReport, Reaper};
use supervisor_rs::state::names::ExitStatus;

fn spawn_exit3() -> io::Result<(i32, ())> {
    // SAFETY: the child only calls _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: in the forked child: _exit runs nothing of the parent's state.
        unsafe { libc::_exit(3) };
    }
    Ok((pid, ()))
}

#[test]
fn exits_reach_their_owner_before_or_after_registration() {
    let reaper = Reaper::new();

    // Reaped while the spawn is still in flight.
    let (tx, rx) = crossbeam_channel::unbounded();
    let (pid, ()) = reaper
        .spawn_registered(tx, || {
            let r = spawn_exit3();
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(reaper.reap(), 1);
            r
        })
        .unwrap();
    let report = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        report,
        ExitReport {
            pid,
            status: ExitStatus::Exited(3)
        }
    );

    // Reaped after registration.
    let (tx, rx) = crossbeam_channel::unbounded();
    let (pid, ()) = reaper.spawn_registered(tx, spawn_exit3).unwrap();
    let report = loop {
        reaper.reap();
        if let Ok(r) = rx.recv_timeout(Duration::from_millis(10)) {
            break r;
        }
    };
    assert_eq!(report.pid, pid);

    // An unknown child reaped with no spawn in flight is dropped, not kept.
    let (_, ()) = spawn_exit3().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(reaper.reap(), 1);
}
