//! The worker's side of health checks: scheduling them on the worker's one deadline,
//! spawning, timing out, and acting on the verdict (restart, or report an essential failure).

use std::time::Instant;

use crate::programs::health::{self, Health, ProbeSpawn, Status, Verdict};
use crate::programs::machine::Event;
use crate::reaper::ExitReport;
use crate::state::ProcessState;

use crate::util::lock;

use super::{Failure, StateChange, Worker};

/// Health-check state a worker keeps (only for programs with `healthcheck_command`).
pub(super) struct Checks {
    health: Health,
    /// The checks gave up: start the process again once it has stopped.
    restart_pending: bool,
    /// The checks gave up and have not passed since (for "healthy again").
    was_unhealthy: bool,
}

impl Checks {
    pub(super) fn for_config(cfg: &crate::config::ProcessConfig) -> Option<Checks> {
        let check = cfg.healthcheck.clone()?;
        Some(Checks {
            health: Health::new(check),
            restart_pending: false,
            was_unhealthy: false,
        })
    }
}

impl Worker {
    /// When the health checks next need the worker (folded into its one deadline).
    pub(super) fn health_deadline(&self) -> Option<Instant> {
        self.checks.as_ref().and_then(|c| c.health.deadline())
    }

    /// The worker's deadline fired: start or time out a check if one is due.
    #[inline(never)]
    pub(super) fn health_timer(&mut self) {
        self.health_due(Instant::now());
    }

    fn health_due(&mut self, now: Instant) {
        let Some(c) = self.checks.as_mut() else {
            return;
        };
        if let Some(pid) = c.health.kill_overdue(now) {
            log::debug!("health check of {} (pid {pid}) timed out", self.cfg.name);
        }
        if !c.health.start_due(now) || self.m.state != ProcessState::Running {
            return;
        }
        let pid = self.spawn_check();
        let verdict = match self.checks.as_mut() {
            Some(c) => c.health.started(pid, Instant::now()),
            None => return,
        };
        self.health_verdict(verdict);
    }

    fn spawn_check(&mut self) -> Option<i32> {
        let c = self.checks.as_ref()?;
        let env = self.env_overrides();
        let search = self.search_path();
        let spawn = ProbeSpawn {
            shared: &self.shared,
            cfg: &self.cfg,
            argv: c.health.argv(),
            env: &env,
            search_path: search.as_deref(),
            exit_tx: &self.exit_tx,
        };
        match health::spawn_probe(&spawn) {
            Ok(pid) => {
                log::debug!("health check of {} started (pid {pid})", self.cfg.name);
                Some(pid)
            }
            Err(e) => {
                log::warn!("health check of {} could not start: {e}", self.cfg.name);
                None
            }
        }
    }

    /// An exit that is not the program's own: a health check's (or a stale one's).
    pub(super) fn health_exited(&mut self, exit: ExitReport) {
        let Some(c) = self.checks.as_mut() else {
            return;
        };
        if !c.health.owns(exit.pid) {
            return;
        }
        log::debug!(
            "health check of {} (pid {}) ended: {}",
            self.cfg.name,
            exit.pid,
            exit.status.describe()
        );
        let verdict = c.health.exited(exit.status, Instant::now());
        self.health_verdict(verdict);
    }

    fn health_verdict(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Same => {}
            Verdict::Changed(status) => self.publish_health(status),
            Verdict::GaveUp => self.health_gave_up(),
        }
    }

    fn health_gave_up(&mut self) {
        let failures = self
            .checks
            .as_ref()
            .map(|c| c.health.failures())
            .unwrap_or(0);
        log::warn!(
            "health check failed: {} is unhealthy ({failures} failures in a row)",
            self.cfg.name
        );
        self.publish_health(Status::Unhealthy);
        if let Some(c) = self.checks.as_mut() {
            c.was_unhealthy = true;
        }
        if self.cfg.essential {
            log::warn!(
                "essential program {} is unhealthy: shutting down",
                self.cfg.name
            );
            let _ = self.shared.failures.send(Failure {
                namespec: self.cfg.namespec(),
                status: 1,
            });
            return;
        }
        log::warn!("restarting unhealthy program {}", self.cfg.name);
        if let Some(c) = self.checks.as_mut() {
            c.restart_pending = true;
        }
        self.feed(Event::Stop);
    }

    /// After each event: a restart asked for by the checks starts once the process stopped.
    #[inline(never)]
    pub(super) fn health_restart(&mut self) {
        let Some(c) = self.checks.as_mut() else {
            return;
        };
        if !c.restart_pending || !self.m.state.is_stopped() {
            return;
        }
        c.restart_pending = false;
        if self.m.state == ProcessState::Stopped && !self.m.shutting_down {
            self.feed(Event::Start);
        }
    }

    /// Every state change: checks run only while RUNNING.
    pub(super) fn health_on_state(&mut self, from: ProcessState, to: ProcessState) {
        let Some(c) = self.checks.as_mut() else {
            return;
        };
        if to == ProcessState::Running && from != ProcessState::Running {
            c.health.arm(Instant::now());
            lock(&self.info).health = Some(Status::Starting.label().into());
        } else if from == ProcessState::Running && to != ProcessState::Running {
            let unhealthy = c.health.status() == Status::Unhealthy;
            c.health.disarm();
            // An unhealthy process keeps saying so until it runs again.
            if !unhealthy {
                lock(&self.info).health = Some(Status::Starting.label().into());
            }
        }
    }

    /// Records a new health status and wakes init (a change with `from == to`), which
    /// re-checks the programs waiting for this one.
    fn publish_health(&mut self, status: Status) {
        if status == Status::Healthy {
            let again = self
                .checks
                .as_mut()
                .map(|c| std::mem::take(&mut c.was_unhealthy))
                .unwrap_or(false);
            let again = if again { " again" } else { "" };
            log::info!("health check passed: {} is healthy{again}", self.cfg.name);
        }
        lock(&self.info).health = Some(status.label().into());
        let _ = self.shared.changes.send(StateChange {
            group: self.cfg.group.clone(),
            name: self.cfg.name.clone(),
            from: self.m.state,
            to: self.m.state,
            pid: self.pid,
            expected: true,
            tries: self.m.backoff,
        });
    }
}
