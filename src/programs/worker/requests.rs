//! The commands a worker serves and their answers: start, stop, signal, stdin, and the
//! requests that wait for a state (`wait=True`).

use std::os::fd::OwnedFd;

use crate::config::ServiceType;
use crate::state::names::signal_name;
use crate::state::ProcessState;
use crate::util::lock;

use super::super::error::{ErrorKind, Outcome, ProcessError};
use super::super::machine::Event;
use super::{Command, Reply, Worker};

impl Worker {
    /// The error for `kind` with the detail Supervisor gives it.
    pub(super) fn error(&self, kind: ErrorKind) -> ProcessError {
        match kind {
            ErrorKind::Failed => {
                let msg = format!("{} is in an unknown process state", self.cfg.namespec());
                ProcessError::new(kind, msg)
            }
            ErrorKind::ShuttingDown => ProcessError::bare(kind),
            _ => ProcessError::new(kind, self.cfg.namespec()),
        }
    }

    pub(super) fn command(&mut self, cmd: Command) {
        if matches!(cmd, Command::Stop { .. } | Command::Shutdown) {
            crate::faults::inject_worker(&self.cfg.name);
        }
        match cmd {
            Command::Start { reply, wait } => self.start(reply, wait),
            Command::Stop { reply, wait } => {
                // A stop asked for by someone wins over a restart pending for the memory limit.
                self.memory_cancel_restart();
                self.stop(reply, wait)
            }
            Command::Signal { signal, reply } => {
                let r = self.signal_request(signal);
                let _ = reply.send(r);
            }
            Command::Forward(sig) => {
                if self.pid > 0 && self.m.state.is_signallable() {
                    let _ = self.kill(sig, self.cfg.stopasgroup);
                }
            }
            Command::Stdin { reply } => {
                let _ = reply.send(self.stdin_pipe());
            }
            Command::Shutdown => {
                self.feed(Event::Shutdown);
            }
            Command::ShutdownWith(sig) => {
                self.stop_signal = Some(sig);
                self.feed(Event::Shutdown);
            }
            Command::Kill => {
                self.feed(Event::Kill);
            }
            Command::Freeze => {
                self.feed(Event::Freeze);
            }
            Command::Quit => {}
        }
    }

    pub(super) fn start(&mut self, reply: Option<Reply>, wait: bool) {
        let Some(reply) = reply else {
            self.feed(Event::Start);
            return;
        };
        if let Err(e) = self.resolve_command() {
            let _ = reply.send(Err(ProcessError::new(e.kind, e.message)));
            return;
        }
        if let Some(kind) = self.feed(Event::Start) {
            let _ = reply.send(Err(self.error(kind)));
            return;
        }
        if !lock(&self.info).spawnerr.is_empty() {
            let _ = reply.send(Err(self.error(ErrorKind::SpawnError)));
        } else if !wait || self.started() {
            let _ = reply.send(Ok(()));
        } else {
            self.start_waiters.push(reply);
        }
    }

    pub(super) fn stop(&mut self, reply: Option<Reply>, wait: bool) {
        let refused = self.feed(Event::Stop);
        let Some(reply) = reply else { return };
        if let Some(kind) = refused {
            let _ = reply.send(Err(self.error(kind)));
        } else if !wait || self.m.state.is_stopped() {
            let _ = reply.send(Ok(()));
        } else {
            if self.stop_waiters.is_empty() {
                self.stop_report();
            }
            self.stop_waiters.push(reply);
        }
    }

    pub(super) fn signal_request(&mut self, sig: i32) -> Outcome {
        if self.pid == 0 || !self.m.state.is_signallable() {
            return Err(self.error(ErrorKind::NotRunning));
        }
        log::debug!(
            "sending {} (pid {}) sig {}",
            self.cfg.name,
            self.pid,
            signal_name(sig)
        );
        self.kill(sig, false)
            .map_err(|e| ProcessError::new(ErrorKind::Failed, e.to_string()))
    }

    pub(super) fn stdin_pipe(&mut self) -> Result<OwnedFd, ProcessError> {
        if self.pid == 0 || !self.m.state.is_running() {
            return Err(self.error(ErrorKind::NotRunning));
        }
        let Some(fd) = &self.stdin else {
            return Err(ProcessError::new(ErrorKind::NoFile, "None"));
        };
        fd.try_clone()
            .map_err(|e| ProcessError::new(ErrorKind::Failed, format!("stdin: {e}")))
    }

    pub(super) fn resolve_waiters(&mut self) {
        let state = self.m.state;
        if !self.start_waiters.is_empty() {
            let spawnerr = !lock(&self.info).spawnerr.is_empty();
            let outcome = if spawnerr {
                Some(Err(self.error(ErrorKind::SpawnError)))
            } else if self.started() {
                Some(Ok(()))
            } else if state != ProcessState::Starting {
                Some(Err(self.error(ErrorKind::AbnormalTermination)))
            } else {
                None
            };
            if let Some(o) = outcome {
                for w in self.start_waiters.drain(..) {
                    let _ = w.send(o.clone());
                }
            }
        }
        if state.is_stopped() {
            for w in self.stop_waiters.drain(..) {
                let _ = w.send(Ok(()));
            }
        }
    }

    /// Whether a start has succeeded: RUNNING, or (a oneshot job) finished with success.
    fn started(&self) -> bool {
        match self.m.state {
            ProcessState::Running => true,
            ProcessState::Exited => self.params.kind == ServiceType::Oneshot,
            _ => false,
        }
    }

    pub(super) fn fail_waiters(&mut self) {
        let f = self.error(ErrorKind::AbnormalTermination);
        for w in self
            .start_waiters
            .drain(..)
            .chain(self.stop_waiters.drain(..))
        {
            let _ = w.send(Err(f.clone()));
        }
    }
}
