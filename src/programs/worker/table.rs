//! Feeding the state table and carrying out its actions; publishing each state change to the
//! handle, the event bus and the main loop.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::events;
use crate::reaper::ExitReport;
use crate::state::ProcessState;
use crate::util::lock;

use super::super::error::ErrorKind;
use super::super::machine::{step, Action, Deadline, Event, Failure};
use super::{StateChange, Worker};
use crate::config::ServiceType;

impl Worker {
    #[inline(never)]
    pub(super) fn exited(&mut self, exit: ExitReport) {
        if exit.pid != self.pid {
            self.health_exited(exit);
            return;
        }
        self.drain_output();
        log::debug!("received SIGCHLD indicating a child quit");
        self.last_exit = Some(exit.status);
        let expected = exit.status.is_expected(&self.cfg.exitcodes);
        let ran = self.started_at.elapsed();
        let ran_ms = u64::try_from(ran.as_millis()).unwrap_or(u64::MAX);
        self.feed(Event::Exited { expected, ran_ms });
    }

    /// Has the pump take in what the child wrote before it exited, so its output is logged
    /// before its exit (Supervisor drains the pipes when it reaps). Logged here, not by the
    /// signal thread, the SIGCHLD line always follows the child's `spawned:` and its output.
    fn drain_output(&self) {
        let mut sinks = vec![self.stdout_sink.clone()];
        sinks.extend(self.stderr_sink.clone());
        self.shared.pump.drain(sinks, Duration::from_secs(1));
    }

    /// Runs one event through the table and executes the actions; returns the refusal if the
    /// table refused the request.
    pub(super) fn feed(&mut self, ev: Event) -> Option<ErrorKind> {
        let (next, actions) = step(self.m, &self.params, ev);
        let before = self.m;
        self.m = next;
        let mut refused = None;
        let mut from = before.state;
        for a in actions {
            match a {
                Action::Enter(s) => {
                    self.publish(from, s);
                    from = s;
                }
                Action::Spawn => {
                    let ev = self.spawn();
                    self.feed(ev);
                    from = self.m.state;
                }
                Action::SetDeadline(d) => self.set_deadline(d),
                Action::Signal(kind) => self.signal_kind(kind),
                Action::RecordExit(kind) => self.record_exit(kind),
                Action::LogSuccess => log::info!(
                    "success: {} entered RUNNING state, process has stayed up for > than {} \
                     seconds (startsecs)",
                    self.cfg.name,
                    self.cfg.startsecs
                ),
                Action::LogReady => log::info!(
                    "success: {} entered RUNNING state, process reported ready",
                    self.cfg.name
                ),
                Action::LogFinished => log::info!(
                    "success: {} finished: {}",
                    self.cfg.name,
                    self.last_exit.map(|s| s.describe()).unwrap_or_default()
                ),
                Action::LogFailure(f) => self.log_failure(f),
                Action::LogGaveUp => log::info!(
                    "gave up: {} entered FATAL state, too many start retries too quickly",
                    self.cfg.name
                ),
                Action::LogKilling => {
                    log::warn!("killing '{}' ({}) with SIGKILL", self.cfg.name, self.pid)
                }
                Action::Refuse(kind) => refused = Some(kind),
            }
        }
        self.resolve_waiters();
        refused
    }

    pub(super) fn publish(&mut self, from: ProcessState, to: ProcessState) {
        self.health_on_state(from, to);
        self.memory_on_state(to);
        {
            let mut info = lock(&self.info);
            info.state = to;
            info.pid = self.pid;
            self.transitions.fetch_add(1, Ordering::SeqCst);
        }
        let expected = match (to, self.last_exit) {
            (ProcessState::Exited, Some(st)) => st.is_expected(&self.cfg.exitcodes),
            _ => true,
        };
        if let Some(bus) = &self.shared.events {
            let pid = match (from, to) {
                (_, ProcessState::Exited) | (ProcessState::Stopping, ProcessState::Stopped) => {
                    self.exited_pid
                }
                _ => self.pid,
            };
            bus.publish(events::Event::ProcessState(events::StateChange {
                process: self.cfg.name.clone(),
                group: self.cfg.group.clone(),
                from,
                to,
                tries: self.m.backoff,
                expected,
                pid,
            }));
        }
        let _ = self.shared.changes.send(StateChange {
            group: self.cfg.group.clone(),
            name: self.cfg.name.clone(),
            from,
            to,
            pid: self.pid,
            expected,
            tries: self.m.backoff,
        });
    }

    pub(super) fn set_deadline(&mut self, d: Deadline) {
        let secs = |s: u64| Duration::from_secs(s);
        let ms = Duration::from_millis;
        let now = Instant::now();
        let svc = &self.cfg.service;
        self.deadline = match d {
            Deadline::None => None,
            Deadline::Startsecs => Some((
                self.started_at + secs(self.cfg.startsecs),
                Event::StartDeadline,
            )),
            Deadline::Backoff { ms: n } => Some((now + ms(n), Event::BackoffDeadline)),
            Deadline::Restart { ms: n } => Some((now + ms(n), Event::RestartDeadline)),
            Deadline::Stopwait => Some((now + secs(self.cfg.stopwaitsecs), Event::StopDeadline)),
            Deadline::StartTimeout => svc
                .start_timeout_ms
                .map(|t| (self.started_at + ms(t), Event::StartTimeout)),
            Deadline::Watchdog => svc
                .watchdog_ms
                .map(|t| (now + ms(t), Event::WatchdogTimeout)),
        };
        let next_start = match d {
            Deadline::Backoff { ms: n } | Deadline::Restart { ms: n } => crate::util::unix_secs()
                .saturating_add(i64::try_from(n.div_ceil(1000)).unwrap_or(0)),
            _ => 0,
        };
        lock(&self.info).service.next_start = next_start;
    }

    /// Supervisord stops the process because it failed to start in time or its watchdog
    /// expired.
    fn log_failure(&self, f: Failure) {
        let name = &self.cfg.name;
        let secs = |ms: Option<u64>| ms.unwrap_or(0) as f64 / 1000.0;
        match f {
            Failure::StartTimeout => log::warn!(
                "start timeout: {name} did not {} within {} seconds (start_timeout), stopping it",
                if self.params.kind == ServiceType::Oneshot {
                    "finish"
                } else {
                    "report ready"
                },
                secs(self.cfg.service.start_timeout_ms)
            ),
            Failure::Watchdog => log::warn!(
                "watchdog timeout: {name} (pid {}) sent no WATCHDOG=1 for {} seconds \
                 (watchdog_secs), sending SIGABRT",
                self.pid,
                secs(self.cfg.service.watchdog_ms)
            ),
        }
    }
}
