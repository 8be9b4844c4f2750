//! The container's command at run time: it starts once the programs are up (bounded wait),
//! receives the signals supervisord gets, and its end shuts supervisord down with its status.
//!
//! Signals: TERM, INT and QUIT stop the command with that very signal (after `--rewrite`) and
//! then the programs; every other signal supervisord would pass on (HUP, USR1, USR2, WINCH,
//! ALRM, ...) goes to the command alone, so HUP and USR2 lose their reload / reopen meaning in
//! this mode. They go to the command's pid, as tini does by default: its process group is its
//! own (it is a group leader, like every program), and a shell that runs jobs moves them into
//! groups of their own anyway; `--forward-to-group` sends them to the group (tini `-g`).

use std::cell::Cell;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::programs::{container, Command, Engine, Failure, ProcessHandle, Role};
use crate::state::names::signal_name;
use crate::state::ProcessState;

use super::command_opts::Settings;

/// Exit status when the programs do not come up in time (or one gives up) and the command
/// never starts.
pub const SERVICES_FAILED: i32 = 1;

/// How long the end of a stopped command may take to be reported.
const REPORT_WAIT: Duration = Duration::from_secs(1);

/// Command mode's state, kept by the main loop.
pub struct CommandMode {
    pub settings: Settings,
    /// When the wait for the programs ends; `None` once the command was started (or when
    /// the wait has no bound, see `waiting`).
    deadline: Cell<Option<Instant>>,
    waiting: Cell<bool>,
    /// The exit signal supervisord received (TERM, INT, QUIT), not rewritten.
    exit_signal: Cell<Option<i32>>,
    /// The command's status once it ended (exit code, or 128+n).
    status: Cell<Option<i32>>,
    /// stdin is a terminal that the command takes over.
    tty: bool,
    /// The command was asked to start (so its end will be reported).
    started: Cell<bool>,
}

/// What the programs are up to, for the start of the command.
enum Services {
    Ready,
    Waiting(Vec<String>),
    /// This program gave up (FATAL): it cannot become RUNNING on its own.
    Failed(String),
}

fn services(engine: &Engine) -> Services {
    let mut waiting = Vec::new();
    for p in engine.all() {
        if p.role() == Role::Command || !p.config.autostart {
            continue;
        }
        match p.state() {
            ProcessState::Running if p.healthy() => {}
            // It ran and ended on its own (autorestart=false): up and done.
            ProcessState::Exited => {}
            ProcessState::Fatal => return Services::Failed(p.namespec()),
            _ => waiting.push(p.namespec()),
        }
    }
    if waiting.is_empty() {
        Services::Ready
    } else {
        Services::Waiting(waiting)
    }
}

impl CommandMode {
    pub fn new(settings: Settings) -> CommandMode {
        let tty = std::io::stdin().is_terminal();
        CommandMode {
            settings,
            deadline: Cell::new(None),
            waiting: Cell::new(false),
            exit_signal: Cell::new(None),
            status: Cell::new(None),
            tty,
            started: Cell::new(false),
        }
    }

    /// Whether stdin is a terminal (supervisord then ignores SIGTTOU/SIGTTIN: it writes to a
    /// terminal whose foreground belongs to the command).
    pub fn has_tty(&self) -> bool {
        self.tty
    }

    /// After the first autostart pass: starts the command now or waits for the programs.
    pub fn begin(&self, engine: &Engine) -> Option<i32> {
        self.waiting.set(true);
        if let Some(bound) = self.settings.wait_services {
            self.deadline.set(Some(Instant::now() + bound));
        }
        self.check(engine)
    }

    /// When the wait for the programs times out.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline.get().filter(|_| self.waiting.get())
    }

    /// On every state change while waiting: starts the command once the programs are up;
    /// `Some(status)` when supervisord must exit instead.
    pub fn check(&self, engine: &Engine) -> Option<i32> {
        if !self.waiting.get() {
            return None;
        }
        match services(engine) {
            Services::Ready => {
                self.waiting.set(false);
                self.start(engine);
                None
            }
            Services::Failed(name) => {
                self.waiting.set(false);
                log::error!(
                    target: "crit",
                    "not starting the command: {name} entered FATAL state before every \
                     autostart program was RUNNING; shutting down"
                );
                Some(SERVICES_FAILED)
            }
            Services::Waiting(names) => {
                log::debug!("the command waits for {}", names.join(", "));
                None
            }
        }
    }

    /// The wait's deadline passed: the container fails.
    pub fn timed_out(&self, engine: &Engine) -> Option<i32> {
        if let Some(status) = self.check(engine) {
            return Some(status);
        }
        if !self.waiting.get() {
            return None;
        }
        self.waiting.set(false);
        let names = match services(engine) {
            Services::Waiting(names) => names.join(", "),
            _ => String::new(),
        };
        let secs = self.settings.wait_services.map_or(0, |d| d.as_secs());
        log::error!(
            target: "crit",
            "not starting the command: {names} not RUNNING after {secs} s (--wait-services, \
             {}); shutting down",
            super::command_opts::ENV_WAIT_SERVICES
        );
        Some(SERVICES_FAILED)
    }

    fn start(&self, engine: &Engine) {
        let Some(p) = engine.command() else { return };
        log::info!("starting the command: {}", p.config.command);
        self.started.set(true);
        p.send(Command::Start {
            reply: None,
            wait: false,
        });
    }

    /// The command's end, as its worker reports it on the failures channel; `Some(status)`
    /// (remapped) when `f` is about the command.
    pub fn ended(&self, engine: &Engine, f: &Failure) -> Option<i32> {
        if f.namespec != container::NAME {
            return None;
        }
        if let Some(p) = engine.command() {
            let info = p.info();
            if p.state() == ProcessState::Fatal && !info.spawnerr.is_empty() {
                log::error!("could not start the command: {}", info.spawnerr);
            }
        }
        self.status.set(Some(f.status));
        self.waiting.set(false);
        Some(self.settings.exit_status(f.status))
    }

    /// An exit request by signal: the command is stopped with it.
    pub fn exit_requested(&self, sig: i32) {
        self.waiting.set(false);
        if self.exit_signal.get().is_none() {
            self.exit_signal.set(Some(sig));
        }
    }

    /// The shutdown request for the command: its stop signal, or the signal that asked
    /// supervisord to exit (rewritten).
    pub fn shutdown_command(&self) -> Command {
        match self.exit_signal.get() {
            Some(sig) => Command::ShutdownWith(self.settings.rewritten(sig)),
            None => Command::Shutdown,
        }
    }

    /// Passes a signal supervisord received on to the command (after `--rewrite`).
    pub fn forward(&self, engine: &Engine, sig: i32) {
        let to = self.settings.rewritten(sig);
        if to == 0 {
            log::debug!("received {}, not passed on (--rewrite)", signal_name(sig));
            return;
        }
        log::debug!(
            "received {}, passing {} on to the command",
            signal_name(sig),
            signal_name(to)
        );
        if let Some(p) = engine.command() {
            p.send(Command::Forward(to));
        }
    }

    /// The exit status once everything stopped: the command's (remapped) when the exit was
    /// asked for (by a signal, or over RPC: `rpc`) and the command ran; else `status` as it
    /// was (the command's own end, an essential program's failure, a failed start).
    pub fn final_status(
        &self,
        failures: &crossbeam_channel::Receiver<Failure>,
        status: i32,
        rpc: bool,
    ) -> i32 {
        if self.exit_signal.get().is_none() && !rpc {
            return status;
        }
        if let Some(s) = self.status.get() {
            return self.settings.exit_status(s);
        }
        if !self.started.get() {
            return status;
        }
        // The worker reports right after it publishes the stopped state that ended the
        // shutdown's wait, so the report may be a moment behind: wait for it, bounded.
        let until = Instant::now() + REPORT_WAIT;
        let ended = std::iter::from_fn(|| failures.recv_deadline(until).ok())
            .find(|f| f.namespec == container::NAME)
            .map(|f| f.status);
        match ended {
            Some(s) => {
                self.status.set(Some(s));
                self.settings.exit_status(s)
            }
            None => status,
        }
    }

    /// Takes the terminal back for supervisord's process group once the command is gone, so
    /// Ctrl-C during the programs' shutdown reaches supervisord.
    pub fn reclaim_terminal(&self) {
        if !self.tty {
            return;
        }
        // SIGTTOU is ignored in command mode with a terminal: the call cannot stop us. A
        // failure leaves the terminal to the (gone) command, which is harmless.
        let _ = nix::unistd::tcsetpgrp(std::io::stdin(), nix::unistd::getpgrp());
    }
}

/// Whether `p` is the container's command.
pub fn is_command(p: &Arc<ProcessHandle>) -> bool {
    p.role() == Role::Command
}
