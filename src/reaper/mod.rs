//! The only code that waits for children: `waitpid(-1)` on SIGCHLD, the pid → owner table and
//! spawn registration.
//!
//! Spawns run in parallel without holding the table lock: a spawn announces itself first, and
//! while any spawn is in flight the reaper keeps the exits of pids it does not know
//! ("unclaimed"); registering a new pid first looks there. So no exit is ever lost, whichever
//! of the reaper and the spawning thread gets to the pid first. Unclaimed exits are dropped
//! once no spawn is in flight (they were orphans), which bounds the map and rules out a
//! recycled pid matching a stale entry.

mod signals;

pub use signals::{block_handled_signals, start_signal_thread, Notice, FORWARDED_SIGNALS};

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crossbeam_channel::Sender;

use crate::state::ExitStatus;
use crate::util::lock;

/// One reaped child, sent to the worker that owns the pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitReport {
    pub pid: i32,
    pub status: ExitStatus,
}

#[derive(Default)]
struct Table {
    owners: HashMap<i32, Sender<ExitReport>>,
    /// Spawns between `begin` and `register`.
    spawning: usize,
    unclaimed: HashMap<i32, ExitStatus>,
}

impl Table {
    fn end_spawn(&mut self) {
        self.spawning = self.spawning.saturating_sub(1);
        if self.spawning == 0 {
            self.unclaimed.clear();
        }
    }
}

/// The pid → owner table and the waiter.
pub struct Reaper {
    table: Mutex<Table>,
    /// Where to say that unknown children were reaped (init's shutdown waits on this).
    notices: Mutex<Option<Sender<Notice>>>,
    watch_orphans: AtomicBool,
    /// The signal thread gave up (it kept panicking): nobody reaps on SIGCHLD any more, so
    /// init's shutdown reaps on a short timer itself.
    signal_thread_gone: AtomicBool,
}

impl Reaper {
    pub fn new() -> Reaper {
        Reaper {
            table: Mutex::new(Table::default()),
            notices: Mutex::new(None),
            watch_orphans: AtomicBool::new(false),
            signal_thread_gone: AtomicBool::new(false),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave the maps inconsistent.
        lock(&self.table)
    }

    /// Runs `spawn` (which returns the new pid) and registers `owner` for that pid; an exit
    /// reaped in between is delivered right after registration.
    pub fn spawn_registered<F, T>(
        &self,
        owner: Sender<ExitReport>,
        spawn: F,
    ) -> io::Result<(i32, T)>
    where
        F: FnOnce() -> io::Result<(i32, T)>,
    {
        self.table().spawning += 1;
        let result = spawn();
        let mut table = self.table();
        if let Ok((pid, _)) = &result {
            let pid = *pid;
            match table.unclaimed.remove(&pid) {
                Some(status) => {
                    let _ = owner.send(ExitReport { pid, status });
                }
                None => {
                    table.owners.insert(pid, owner);
                }
            }
        }
        table.end_spawn();
        result
    }

    /// Whether the signal thread is gone (then `reap` must be called by someone else).
    pub fn signal_thread_gone(&self) -> bool {
        self.signal_thread_gone.load(Ordering::SeqCst)
    }

    /// Sends a notice after each reap batch that collected unknown children, while set.
    pub fn watch_orphans(&self, notices: Sender<Notice>, on: bool) {
        *lock(&self.notices) = Some(notices);
        self.watch_orphans.store(on, Ordering::SeqCst);
    }

    /// Collects every child that has exited; returns how many were reaped.
    pub fn reap(&self) -> usize {
        let mut table = self.table();
        let mut count = 0;
        let mut orphans = 0;
        loop {
            let mut status = 0;
            // SAFETY: `status` is a live local the call writes one int to. (nix's safe waitpid
            // returns a decoded WaitStatus; ExitStatus is built from the raw status.)
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                // 0: children remain but none exited; -1: ECHILD (none at all) or EINTR.
                if pid < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                break;
            }
            count += 1;
            let status = ExitStatus::from_raw(status);
            match table.owners.remove(&pid) {
                Some(owner) => {
                    let _ = owner.send(ExitReport { pid, status });
                }
                None if table.spawning > 0 => {
                    table.unclaimed.insert(pid, status);
                    orphans += 1;
                }
                None => {
                    orphans += 1;
                    log::debug!("reaped unknown pid {pid} ({})", status.describe());
                }
            }
        }
        drop(table);
        if orphans > 0 && self.watch_orphans.load(Ordering::SeqCst) {
            if let Some(tx) = lock(&self.notices).as_ref() {
                let _ = tx.send(Notice::OrphansReaped);
            }
        }
        count
    }
}

impl Default for Reaper {
    fn default() -> Self {
        Reaper::new()
    }
}

/// Whether this process has any child left (exited or not). Only asks (WNOWAIT): the reaper
/// thread stays the only one that collects children.
pub fn has_children() -> bool {
    use nix::sys::wait::{waitid, Id, WaitPidFlag};
    // WNOWAIT leaves any exited child in place; ECHILD means there is none. (Other errors
    // come from decoding a child's status, e.g. death by a real-time signal: a child exists.)
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    !matches!(waitid(Id::All, flags), Err(nix::errno::Errno::ECHILD))
}

/// Makes this process the reaper of orphaned descendants when it is not PID 1.
pub fn become_subreaper() -> io::Result<()> {
    Ok(nix::sys::prctl::set_child_subreaper(true)?)
}
