//! Health checks (extension): while a process is RUNNING its worker runs `healthcheck_command`
//! from deadlines (no thread of its own), kills a check that outlives `healthcheck_timeout`,
//! and reports when `healthcheck_retries` checks in a row have failed.
//!
//! A check is a child like any other: spawned with the program's user, directory, umask and
//! environment, in its own process group, registered with the reaper (whose exit report comes
//! back on the worker's exit channel). Its standard streams are /dev/null.

use std::io;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::config::{HealthCheck, ProcessConfig};
use crate::reaper::ExitReport;

use super::command::resolve;
use super::spawn::{exec_result, spawn_child, Env, PipeSet, Prepared, SignalsBlocked, SpawnSpec};
use super::Shared;
use crate::state::names::ExitStatus;

/// The health a process reports (`getProcessInfo`'s `health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No check has passed since the process entered RUNNING.
    Starting,
    Healthy,
    /// `retries` checks in a row failed.
    Unhealthy,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Healthy => "healthy",
            Status::Unhealthy => "unhealthy",
        }
    }
}

/// What a finished check means for the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to report.
    Same,
    /// The status changed (publish it).
    Changed(Status),
    /// The last allowed check failed: restart the process (or end an essential one).
    GaveUp,
}

/// One check in flight.
#[derive(Debug, Clone, Copy)]
struct Probe {
    pid: i32,
    /// When to kill it; `None` once killed (its exit is still to come).
    kill_at: Option<Instant>,
}

/// The schedule and counters of one process's checks.
#[derive(Debug)]
pub struct Health {
    check: HealthCheck,
    status: Status,
    failures: u32,
    /// When the next check starts; `None` while not RUNNING or while a check runs.
    next: Option<Instant>,
    probe: Option<Probe>,
}

impl Health {
    pub fn new(check: HealthCheck) -> Health {
        Health {
            check,
            status: Status::Starting,
            failures: 0,
            next: None,
            probe: None,
        }
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn argv(&self) -> &[String] {
        &self.check.argv
    }

    /// How many checks in a row failed (for the log).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The earliest moment the worker must call [`Health::due`].
    pub fn deadline(&self) -> Option<Instant> {
        match self.probe {
            Some(p) => p.kill_at,
            None => self.next,
        }
    }

    /// The process entered RUNNING: the first check starts right away, so dependants and
    /// `status` learn the health without waiting a whole interval.
    pub fn arm(&mut self, now: Instant) {
        self.status = Status::Starting;
        self.failures = 0;
        self.next = Some(now);
    }

    /// The process left RUNNING: no more checks; a check in flight is killed (its exit is
    /// ignored). Returns whether the status changed.
    pub fn disarm(&mut self) -> bool {
        self.next = None;
        if let Some(p) = self.probe.take() {
            kill_group(p.pid);
        }
        self.failures = 0;
        let changed = self.status != Status::Starting;
        self.status = Status::Starting;
        changed
    }

    /// Whether `pid` is the check in flight.
    pub fn owns(&self, pid: i32) -> bool {
        self.probe.is_some_and(|p| p.pid == pid)
    }

    /// Whether a check should start now (the caller then spawns it and calls `started`).
    pub fn start_due(&self, now: Instant) -> bool {
        self.probe.is_none() && self.next.is_some_and(|t| t <= now)
    }

    /// A check was spawned as `pid` (or failed to spawn: `None`, which counts as a failure).
    pub fn started(&mut self, pid: Option<i32>, now: Instant) -> Verdict {
        self.next = None;
        match pid {
            Some(pid) => {
                let kill_at = now + Duration::from_secs(self.check.timeout_secs);
                self.probe = Some(Probe {
                    pid,
                    kill_at: Some(kill_at),
                });
                Verdict::Same
            }
            None => self.finished(false, now),
        }
    }

    /// Kills a check that outlived its timeout; returns its pid when one was killed.
    pub fn kill_overdue(&mut self, now: Instant) -> Option<i32> {
        let p = self.probe.as_mut()?;
        if p.kill_at.is_some_and(|t| t <= now) {
            p.kill_at = None;
            kill_group(p.pid);
            return Some(p.pid);
        }
        None
    }

    /// The check in flight exited with `status`.
    pub fn exited(&mut self, status: ExitStatus, now: Instant) -> Verdict {
        self.probe = None;
        self.finished(status == ExitStatus::Exited(0), now)
    }

    fn finished(&mut self, ok: bool, now: Instant) -> Verdict {
        self.next = Some(now + Duration::from_secs(self.check.interval_secs));
        let before = self.status;
        if ok {
            self.failures = 0;
            self.status = Status::Healthy;
        } else {
            self.failures += 1;
            if self.failures >= self.check.retries.max(1) {
                self.status = Status::Unhealthy;
                // The restart re-arms the schedule once the process is RUNNING again.
                self.next = None;
                return Verdict::GaveUp;
            }
        }
        if self.status != before {
            Verdict::Changed(self.status)
        } else {
            Verdict::Same
        }
    }
}

fn kill_group(pid: i32) {
    // The process group of a check we spawned (it leads its own group).
    let _ = nix::sys::signal::kill(Pid::from_raw(-pid), Signal::SIGKILL);
}

/// What a check spawn needs from its worker.
pub struct ProbeSpawn<'a> {
    pub shared: &'a Shared,
    pub cfg: &'a ProcessConfig,
    pub argv: &'a [String],
    /// What the check adds to supervisord's environment (the program's own variables).
    pub env: &'a [(String, String)],
    pub search_path: Option<&'a str>,
    pub exit_tx: &'a Sender<ExitReport>,
}

/// Spawns one check through the reaper; returns its pid.
pub fn spawn_probe(s: &ProbeSpawn<'_>) -> io::Result<i32> {
    let argv0 = s.argv.first().map(String::as_str).unwrap_or("");
    let path = resolve(argv0, s.search_path)
        .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e.message))?;
    let spec = SpawnSpec {
        path: &path,
        argv: s.argv,
        env: Env {
            base: &s.shared.base_envp,
            over: s.env,
            pid_var: None,
        },
        directory: s.cfg.directory.as_deref(),
        umask: s.cfg.umask,
        user: s.cfg.user.as_ref(),
        redirect_stderr: true,
        max_fd: s.shared.max_fd,
    };
    let prepared = Prepared::new(&spec)?;
    let pipes = PipeSet::null()?;
    let (pid, parent) = {
        let blocked = SignalsBlocked::new();
        s.shared.reaper.spawn_registered(s.exit_tx.clone(), || {
            spawn_child(&prepared, pipes, &blocked)
        })?
    };
    if let Some(errno) = exec_result(parent.status) {
        log::debug!(
            "health check of {} could not exec {}: {}",
            s.cfg.name,
            path.display(),
            crate::state::names::errno_name(errno)
        );
    }
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(retries: u32) -> Health {
        Health::new(HealthCheck {
            argv: vec!["true".into()],
            interval_secs: 2,
            timeout_secs: 1,
            retries,
        })
    }

    #[test]
    fn first_check_is_due_on_entering_running() {
        let mut h = health(3);
        let t = Instant::now();
        assert_eq!(h.deadline(), None);
        h.arm(t);
        assert!(h.start_due(t));
        assert_eq!(h.started(Some(42), t), Verdict::Same);
        assert!(h.owns(42));
        assert_eq!(h.deadline(), Some(t + Duration::from_secs(1)));
        let v = h.exited(ExitStatus::Exited(0), t);
        assert_eq!(v, Verdict::Changed(Status::Healthy));
        assert_eq!(h.deadline(), Some(t + Duration::from_secs(2)));
        assert!(!h.owns(42));
    }

    #[test]
    fn gives_up_after_retries_consecutive_failures() {
        let mut h = health(2);
        let t = Instant::now();
        h.arm(t);
        h.started(Some(1), t);
        assert_eq!(h.exited(ExitStatus::Exited(1), t), Verdict::Same);
        h.started(Some(2), t);
        assert_eq!(
            h.exited(ExitStatus::Exited(0), t),
            Verdict::Changed(Status::Healthy)
        );
        h.started(Some(3), t);
        assert_eq!(h.exited(ExitStatus::Exited(1), t), Verdict::Same);
        assert_eq!(h.started(None, t), Verdict::GaveUp);
        assert_eq!(h.status(), Status::Unhealthy);
        assert_eq!(h.deadline(), None);
    }

    #[test]
    fn timeout_kills_once_and_waits_for_the_exit() {
        let mut h = health(1);
        let t = Instant::now();
        h.arm(t);
        // A pid that cannot exist, so the kill reaches nobody.
        h.started(Some(i32::MAX), t);
        assert_eq!(h.kill_overdue(t), None);
        let late = t + Duration::from_secs(1);
        assert_eq!(h.kill_overdue(late), Some(i32::MAX));
        assert_eq!(h.deadline(), None);
        assert_eq!(h.kill_overdue(late), None);
        let killed = ExitStatus::Signaled {
            signal: libc::SIGKILL,
            core: false,
        };
        assert_eq!(h.exited(killed, late), Verdict::GaveUp);
    }

    #[test]
    fn leaving_running_stops_the_schedule() {
        let mut h = health(3);
        let t = Instant::now();
        h.arm(t);
        h.started(Some(i32::MAX), t);
        h.exited(ExitStatus::Exited(0), t);
        assert!(h.disarm());
        assert_eq!(h.status(), Status::Starting);
        assert_eq!(h.deadline(), None);
        assert!(!h.disarm());
    }
}
