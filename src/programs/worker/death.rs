//! A worker that panicked: what the rest of supervisord must see of it. Its child (and the
//! child's process group) is killed, the process shows UNKNOWN with the panic as its
//! description, the change is published like any other, and the handle answers requests with
//! a fault from then on (its command channel is closed, see `ProcessHandle::send`).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::ProcessConfig;
use crate::events;
use crate::state::{ProcessInfo, ProcessState};
use crate::util::lock;

use super::{Shared, StateChange};

thread_local! {
    /// In a worker thread: the flag that says its worker died.
    static DEAD: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Makes `dead` the flag [`note_panic`] raises in this (worker) thread.
pub(super) fn watch(dead: Arc<AtomicBool>) {
    DEAD.with(|d| *d.borrow_mut() = Some(dead));
}

/// Called by the panic hook, before the panicking thread unwinds: in a worker thread, marks
/// the worker dead, so that the requests its unwinding drops unanswered get "worker died"
/// rather than a plain abnormal termination.
pub fn note_panic() {
    let _ = DEAD.try_with(|d| {
        if let Ok(d) = d.try_borrow() {
            if let Some(flag) = d.as_ref() {
                flag.store(true, Ordering::SeqCst);
            }
        }
    });
}

/// What a worker's thread keeps outside the worker, to report the worker's death.
pub(super) struct Mourner {
    pub cfg: Arc<ProcessConfig>,
    pub shared: Arc<Shared>,
    pub info: Arc<Mutex<ProcessInfo>>,
    pub transitions: Arc<AtomicU64>,
    pub dead: Arc<AtomicBool>,
}

impl Mourner {
    /// The worker died of a panic with message `why`.
    pub fn worker_died(&self, why: &str) {
        self.dead.store(true, Ordering::SeqCst);
        let (from, pid) = {
            let mut info = lock(&self.info);
            let seen = (info.state, info.pid);
            info.state = ProcessState::Unknown;
            info.pid = 0;
            info.spawnerr = format!("worker died: {why}");
            self.transitions.fetch_add(1, Ordering::SeqCst);
            seen
        };
        if pid > 0 {
            // The child leads its own process group (spawn makes it so): end the group, then
            // the child in case it left the group. Nobody will stop it any more.
            let _ = crate::util::kill(-pid, libc::SIGKILL);
            let _ = crate::util::kill(pid, libc::SIGKILL);
        }
        let killed = if pid > 0 {
            format!("; its process group {pid} was killed")
        } else {
            String::new()
        };
        log::error!(
            target: "crit",
            "worker of {} died: {why}{killed}; {} is UNKNOWN from now on",
            self.cfg.namespec(),
            self.cfg.name
        );
        self.publish(from, pid);
    }

    fn publish(&self, from: ProcessState, pid: i32) {
        if let Some(bus) = &self.shared.events {
            bus.publish(events::Event::ProcessState(events::StateChange {
                process: self.cfg.name.clone(),
                group: self.cfg.group.clone(),
                from,
                to: ProcessState::Unknown,
                tries: 0,
                expected: false,
                pid,
            }));
        }
        let _ = self.shared.changes.send(StateChange {
            group: self.cfg.group.clone(),
            name: self.cfg.name.clone(),
            from,
            to: ProcessState::Unknown,
            pid,
            expected: false,
            tries: 0,
        });
    }
}
