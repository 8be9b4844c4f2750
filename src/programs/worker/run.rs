//! The worker's loop: wait for a command, an exit of its child or the one deadline, and hand
//! it on; report an `essential` program that ended for good.

use std::time::{Duration, Instant};

use crossbeam_channel::{after, never, select, Receiver};

use crate::programs::notify::Datagram;
use crate::reaper::ExitReport;
use crate::state::{ExitStatus, ProcessState};

use crate::util::lock;

use super::{Command, Failure, Role, Worker};

/// How often "waiting for x to stop" is logged while a stop request waits.
const STOP_REPORT_EVERY: Duration = Duration::from_secs(2);

/// What woke a worker up.
enum Input {
    Command(Command),
    Exit(ExitReport),
    Notice(Datagram),
    Timer,
    Quit,
    Nothing,
}

impl Worker {
    pub(super) fn run(mut self: Box<Self>, rx: Receiver<Command>) {
        crate::reaper::block_handled_signals();
        loop {
            match self.next_input(&rx) {
                Input::Quit => break,
                Input::Command(cmd) => self.command(cmd),
                Input::Exit(exit) => self.exited(exit),
                Input::Notice(d) => self.notified(d),
                Input::Timer => {
                    self.timer_fired();
                    self.health_timer();
                    self.memory_timer();
                }
                Input::Nothing => {}
            }
            self.check_essential();
            self.check_command_end();
            self.health_restart();
            self.memory_restart();
        }
        self.fail_waiters();
    }

    /// Waits for the next command, child exit or due deadline. Out of line so the select's
    /// state is off the stack while the input is handled (spawning is the deepest path, and
    /// every stack page it reaches stays resident).
    #[inline(never)]
    fn next_input(&self, rx: &Receiver<Command>) -> Input {
        // The state deadline, the next "waiting for x to stop" line or the next health
        // check step, whichever is sooner.
        let due = [
            self.deadline.map(|d| d.0),
            self.stop_report_at(),
            self.health_deadline(),
            self.memory_deadline(),
        ]
        .into_iter()
        .flatten()
        .min();
        let notices = match &self.notify {
            Some(n) => n.rx.clone(),
            None => never(),
        };
        let timer = match due {
            Some(at) => after(at.saturating_duration_since(Instant::now())),
            None => never(),
        };
        select! {
            recv(rx) -> cmd => match cmd {
                Ok(Command::Quit) | Err(_) => Input::Quit,
                Ok(cmd) => Input::Command(cmd),
            },
            recv(self.exit_rx) -> exit => match exit {
                Ok(exit) => Input::Exit(exit),
                Err(_) => Input::Nothing,
            },
            recv(notices) -> d => match d {
                Ok(d) => Input::Notice(d),
                Err(_) => Input::Nothing,
            },
            recv(timer) -> _ => Input::Timer,
        }
    }

    #[inline(never)]
    fn timer_fired(&mut self) {
        let now = Instant::now();
        if let Some((at, ev)) = self.deadline {
            if at <= now {
                self.deadline = None;
                self.feed(ev);
            }
        }
        if self.stop_report_at().is_some_and(|at| at <= now) {
            self.stop_report();
        }
    }

    /// When the next "waiting for x to stop" line is due: every 2 s while a stop request
    /// waits on a STOPPING process.
    pub(super) fn stop_report_at(&self) -> Option<Instant> {
        if self.stop_waiters.is_empty() || self.m.state != ProcessState::Stopping {
            return None;
        }
        Some(
            self.last_stop_report
                .map(|t| t + STOP_REPORT_EVERY)
                .unwrap_or_else(Instant::now),
        )
    }

    pub(super) fn stop_report(&mut self) {
        log::info!("waiting for {} to stop", self.cfg.name);
        self.last_stop_report = Some(Instant::now());
    }

    /// Reports once when an essential program has ended for good (not during shutdown).
    #[inline(never)]
    pub(super) fn check_essential(&mut self) {
        // EXITED with a restart waiting for its delay has not ended.
        let ended = match self.m.state {
            ProcessState::Fatal => true,
            ProcessState::Exited => !self.m.restart_pending,
            _ => false,
        };
        if !self.cfg.essential || !ended || self.m.shutting_down {
            self.essential_reported = false;
            return;
        }
        if self.essential_reported {
            return;
        }
        self.essential_reported = true;
        let status = if self.m.state == ProcessState::Fatal {
            self.exit_code().max(1)
        } else {
            self.exit_code()
        };
        let _ = self.shared.failures.send(Failure {
            namespec: self.cfg.namespec(),
            status,
        });
    }

    /// The last exit as a shell reports it: the exit code, 128+n for a death by signal n.
    fn exit_code(&self) -> i32 {
        match self.last_exit {
            Some(ExitStatus::Exited(c)) => c,
            Some(ExitStatus::Signaled { signal, .. }) => 128 + signal,
            None => 0,
        }
    }

    /// The container's command reports its end once: any stopped state after a start, also
    /// during shutdown (supervisord exits with its status). A command that could not be
    /// started at all (FATAL without an exit) reports 127, a shell's "command not found".
    #[inline(never)]
    pub(super) fn check_command_end(&mut self) {
        if self.role != Role::Command || !self.m.state.is_stopped() {
            return;
        }
        let started = lock(&self.info).spawns > 0 || self.m.state == ProcessState::Fatal;
        if !started || self.end_reported {
            return;
        }
        self.end_reported = true;
        let status = match (self.m.state, self.last_exit) {
            (ProcessState::Fatal, None) => 127,
            _ => self.exit_code(),
        };
        let _ = self.shared.failures.send(Failure {
            namespec: self.cfg.namespec(),
            status,
        });
    }
}
