//! When a thread of supervisord panics: the hook that writes the panic to the main log, and
//! the last resort when even the orderly shutdown fails.

use crate::util;
use std::time::{Duration, Instant};

use super::startup::Runtime;
use super::system;

/// Writes every panic, with its thread, to the main log at CRIT (and nothing to stderr:
/// the main log reaches the terminal in nodaemon mode anyway). Who catches the panic decides
/// what happens next (see `programs::worker::death`, `reaper::start_signal_thread`,
/// `mainloop::run`).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        crate::programs::worker::note_panic();
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        let message = crate::faults::panic_message(info.payload());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        crate::logs::log_panic(&format!("panic in thread '{name}': {message}{at}"));
    }));
}

/// The shutdown itself failed: SIGKILL every program's process group and every other
/// descendant, and reap for at most a second. Nothing here may wait on a worker.
pub fn kill_everything(rt: &Runtime) {
    for p in rt.engine.all() {
        let pid = p.info().pid;
        if pid > 0 {
            // The group first (the program's children), then the leader itself.
            let _ = util::kill(-pid, libc::SIGKILL);
            let _ = util::kill(pid, libc::SIGKILL);
        }
    }
    let me = std::process::id() as i32;
    if rt.pid1 {
        // kill(-1) as PID 1 signals every other process of our pid namespace.
        let _ = util::kill(-1, libc::SIGKILL);
    } else if rt.subreaper {
        for pid in system::descendants(me) {
            let _ = util::kill(pid, libc::SIGKILL);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    while crate::reaper::has_children() && Instant::now() < deadline {
        rt.engine.reaper().reap();
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Some(p) = &rt.pidfile {
        let _ = std::fs::remove_file(p);
    }
}
