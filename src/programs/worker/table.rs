//! Feeding the state table and carrying out its actions; publishing each state change to the
//! handle, the event bus and the main loop.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::events;
use crate::reaper::ExitReport;
use crate::state::ProcessState;
use crate::util::lock;

use super::super::error::ErrorKind;
use super::super::machine::{step, Action, Deadline, Event};
use super::{StateChange, Worker};

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
        self.feed(Event::Exited { expected });
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
        self.deadline = match d {
            Deadline::None => None,
            Deadline::Startsecs => Some((
                self.started_at + secs(self.cfg.startsecs),
                Event::StartDeadline,
            )),
            Deadline::Backoff(n) => Some((Instant::now() + secs(n as u64), Event::BackoffDeadline)),
            Deadline::Stopwait => Some((
                Instant::now() + secs(self.cfg.stopwaitsecs),
                Event::StopDeadline,
            )),
        };
    }
}
