//! One thread per process instance: it owns the child, feeds the state table and executes the
//! actions (spawn, signal, deadline, publish). It blocks on its command channel, its exit
//! channel and one deadline; nothing polls.
//!
//! This file is the handle the rest of supervisord holds ([`ProcessHandle`]) and the worker's
//! state; the worker's duties each have a file: `run` (the loop and its timers), `requests`
//! (commands and their answers), `table` (feeding the state table, publishing changes),
//! `spawning` (environment, fork, pipes), `exit` (signals and exit recording),
//! `health_hooks` (health checks on the worker's deadline), `memory_limit` (memory checks on
//! the same deadline), `notify_hooks` (readiness reports of notify programs).

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender};

use crate::config::{ProcessConfig, ServiceType};
use crate::events::EventBus;
use crate::logs::{OutputPump, Sink};
use crate::reaper::{ExitReport, Reaper};
use crate::state::{ExitStatus, ProcessInfo, ProcessState, ServiceInfo};
use crate::util::lock;

use super::error::{Outcome, ProcessError};
use super::fcgi_socket::FcgiSocket;
use super::machine::{Event, Machine, Params, Restart};

mod death;

pub use death::note_panic;
mod exit;
mod health_hooks;
mod memory_limit;
mod notify_hooks;
mod requests;
mod run;
mod spawning;
mod table;

/// Commands queued for one worker before senders wait.
const COMMAND_QUEUE: usize = 4;

/// How long `quit` waits for a worker to leave.
const QUIT_WAIT: Duration = Duration::from_secs(1);

/// What a process is to supervisord: where its standard streams go, what its end means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A program: its output is captured by the log pump.
    Program,
    /// An event listener: stdin/stdout belong to the event bus.
    Listener,
    /// The container's command: supervisord's own stdin, stdout and stderr; its end (any
    /// stopped state, even during shutdown) is reported on the failures channel.
    Command,
}

/// Where a request's answer goes.
pub type Reply = Sender<Outcome>;

/// Requests a worker serves.
pub enum Command {
    /// Start (RPC when `reply` is set, autostart otherwise); `wait` = answer once RUNNING.
    Start {
        reply: Option<Reply>,
        wait: bool,
    },
    Stop {
        reply: Option<Reply>,
        wait: bool,
    },
    /// signalProcess: the signal to the pid.
    Signal {
        signal: i32,
        reply: Reply,
    },
    /// A signal supervisord received and passes on (to the group with stopasgroup).
    Forward(i32),
    /// A duplicate of the write end of the program's stdin, for the caller to write to
    /// (`programs::stdin::write_all`): the worker never waits on a slow reader.
    Stdin {
        reply: Sender<Result<OwnedFd, ProcessError>>,
    },
    /// supervisord is stopping: stop, never restart, BACKOFF turns FATAL.
    Shutdown,
    /// [`Command::Shutdown`] with this signal in place of the stopsignal (the container's
    /// command gets the signal that asked supervisord to exit).
    ShutdownWith(i32),
    /// Second exit request: SIGKILL now.
    Kill,
    /// Shutdown has begun elsewhere: never spawn again.
    Freeze,
    /// Leave the thread (the process is stopped).
    Quit,
}

impl Command {
    /// The answer channel of a request that waits for one.
    fn into_reply(self) -> Option<Reply> {
        match self {
            Command::Start { reply, .. } | Command::Stop { reply, .. } => reply,
            Command::Signal { reply, .. } => Some(reply),
            _ => None,
        }
    }
}

/// A state change, as the rest of supervisord (shutdown, events) sees it.
#[derive(Debug, Clone)]
pub struct StateChange {
    pub group: String,
    pub name: String,
    pub from: ProcessState,
    pub to: ProcessState,
    pub pid: i32,
    /// For EXITED: whether the exit was expected.
    pub expected: bool,
    /// The backoff counter at the time of the change.
    pub tries: u32,
}

/// What every worker shares.
pub struct Shared {
    pub reaper: Arc<Reaper>,
    pub pump: Arc<OutputPump>,
    /// supervisord's environment + SUPERVISOR_ENABLED/SERVER_URL + `[supervisord] environment`.
    pub base_env: Vec<(OsString, OsString)>,
    /// `base_env` as the `KEY=value` entries every spawn shares.
    pub base_envp: Arc<Vec<std::ffi::CString>>,
    /// Default SUPERVISOR_SERVER_URL (programs with `serverurl` override it).
    pub server_url: Option<String>,
    pub max_fd: i32,
    pub changes: Sender<StateChange>,
    pub events: Option<EventBus>,
    /// Where an `essential` program reports that it failed for good.
    pub failures: Sender<Failure>,
}

/// An `essential` program ended for good (EXITED without restart, or FATAL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub namespec: String,
    /// The status supervisord exits with: the exit code, 128+n for a signal death, at least 1
    /// for FATAL.
    pub status: i32,
}

/// The handle init and the RPC backend hold for one process instance.
pub struct ProcessHandle {
    /// Shared with the worker thread: one copy of the configuration per process.
    pub config: Arc<ProcessConfig>,
    pub stdout_sink: Arc<Sink>,
    pub stderr_sink: Option<Arc<Sink>>,
    info: Arc<Mutex<ProcessInfo>>,
    /// How many state changes the process went through; updated under the `info` lock.
    transitions: Arc<AtomicU64>,
    tx: Sender<Command>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Closed when the worker's thread ends (its sender lives in the thread).
    gone: Receiver<()>,
    role: Role,
    /// Set when the worker died of a panic (before its unwinding drops any request).
    dead: Arc<AtomicBool>,
}

impl ProcessHandle {
    /// Starts the worker thread for `config` (the process starts STOPPED).
    /// `role`: where the process's standard streams go.
    pub fn start(
        config: Arc<ProcessConfig>,
        shared: Arc<Shared>,
        stdout_sink: Arc<Sink>,
        stderr_sink: Option<Arc<Sink>>,
        role: Role,
        fcgi: Option<Arc<FcgiSocket>>,
    ) -> io::Result<Arc<ProcessHandle>> {
        let path_of = |s: &Option<Arc<Sink>>| {
            s.as_ref()
                .and_then(|s| s.path())
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        let info = ProcessInfo {
            name: config.name.clone(),
            group: config.group.clone(),
            state: ProcessState::Stopped,
            pid: 0,
            start: 0,
            stop: 0,
            exitstatus: 0,
            spawnerr: String::new(),
            stdout_logfile: path_of(&Some(stdout_sink.clone())),
            stderr_logfile: path_of(&stderr_sink),
            health: config.healthcheck.as_ref().map(|_| "starting".into()),
            spawns: 0,
            log_bytes_written: 0,
            log_bytes_dropped: 0,
            service: ServiceInfo {
                kind: match config.service.kind {
                    ServiceType::Simple => None,
                    k => Some(k.name()),
                },
                shows_next_start: config.service.restart_delay_ms > 0
                    || config.service.restart_delay_max_ms > 0
                    || config.service.retry_forever,
                ..ServiceInfo::default()
            },
        };
        let info = Arc::new(Mutex::new(info));
        let transitions = Arc::new(AtomicU64::new(0));
        // Bounded: an unbounded channel allocates a 31-slot block on its first message and
        // keeps it for the worker's life. Senders are never the worker itself and the worker
        // only blocks on its own channels, so a full queue just makes a sender wait.
        let (tx, rx) = bounded(COMMAND_QUEUE);
        // Boxed: the worker state then sits on the heap once instead of being copied into the
        // thread's first frames, which keeps the deepest path (a spawn) within fewer stack pages.
        let worker = Box::new(Worker::new(
            config.clone(),
            shared,
            (info.clone(), transitions.clone()),
            stdout_sink.clone(),
            stderr_sink.clone(),
            role,
            fcgi,
        ));
        let dead = Arc::new(AtomicBool::new(false));
        let mourner = death::Mourner {
            cfg: config.clone(),
            shared: worker.shared.clone(),
            info: info.clone(),
            transitions: transitions.clone(),
            dead: dead.clone(),
        };
        let (alive, gone) = bounded::<()>(0);
        let thread = std::thread::Builder::new()
            .name(format!("proc:{}", config.name))
            .stack_size(128 * 1024)
            .spawn(move || {
                let _alive = alive;
                death::watch(mourner.dead.clone());
                // A panic unwinds the worker (its channels close, so waiting requests get
                // their fault); what remains is to end its child and show the process UNKNOWN.
                let run = std::panic::AssertUnwindSafe(move || worker.run(rx));
                if let Err(payload) = std::panic::catch_unwind(run) {
                    mourner.worker_died(&crate::faults::panic_message(&*payload));
                }
            })?;
        Ok(Arc::new(ProcessHandle {
            config,
            stdout_sink,
            stderr_sink,
            info,
            transitions,
            tx,
            thread: Mutex::new(Some(thread)),
            gone,
            role,
            dead,
        }))
    }

    /// The answer for a request whose reply channel closed unanswered: the worker died with
    /// it, or (a held start dropped at shutdown) the request was abandoned.
    pub fn lost_answer(&self) -> ProcessError {
        if self.dead.load(Ordering::SeqCst) {
            ProcessError::worker_died(&self.namespec())
        } else {
            ProcessError::new(
                super::error::ErrorKind::AbnormalTermination,
                self.namespec(),
            )
        }
    }

    /// Passes `cmd` to the worker. A worker that is gone (it died of a panic, or left after
    /// Quit) cannot serve it: a request that waits for an answer gets a fault at once.
    pub fn send(&self, cmd: Command) {
        if let Err(e) = self.tx.send(cmd) {
            let cmd = e.into_inner();
            // A start gets Supervisor's "cannot start" answer, which every client prints.
            let is_start = matches!(cmd, Command::Start { .. });
            if let Command::Stdin { reply } = cmd {
                let _ = reply.send(Err(ProcessError::worker_died(&self.namespec())));
                return;
            }
            if let Some(reply) = cmd.into_reply() {
                let mut err = self.lost_answer();
                if is_start && self.dead.load(Ordering::SeqCst) {
                    err.kind = super::error::ErrorKind::SpawnError;
                }
                let _ = reply.send(Err(err));
            }
        }
    }

    pub fn info(&self) -> ProcessInfo {
        let mut info = lock(&self.info).clone();
        let sinks = std::iter::once(&self.stdout_sink).chain(self.stderr_sink.as_ref());
        for s in sinks {
            info.log_bytes_written += s.bytes_written();
            info.log_bytes_dropped += s.bytes_dropped();
        }
        info
    }

    pub fn state(&self) -> ProcessState {
        lock(&self.info).state
    }

    /// The state and how many state changes led to it, read together: a caller that saw
    /// count n earlier knows, from a higher count, that the state was entered since.
    pub fn state_and_transitions(&self) -> (ProcessState, u64) {
        let info = lock(&self.info);
        (info.state, self.transitions.load(Ordering::SeqCst))
    }

    /// Whether an automatic restart is waiting for its delay (the process has not ended).
    pub fn restart_pending(&self) -> bool {
        lock(&self.info).service.next_start > 0
    }

    /// Whether the health check passes (always true without one).
    pub fn healthy(&self) -> bool {
        lock(&self.info)
            .health
            .as_deref()
            .is_none_or(|h| h == "healthy")
    }

    pub fn namespec(&self) -> String {
        self.config.namespec()
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Asks the worker to leave and waits for it, at most [`QUIT_WAIT`]: a worker stuck in a
    /// bug is left behind (with an error) rather than hang a reload or the shutdown.
    pub fn quit(&self) {
        self.send(Command::Quit);
        let Some(t) = lock(&self.thread).take() else {
            return;
        };
        match self.gone.recv_timeout(QUIT_WAIT) {
            Err(RecvTimeoutError::Timeout) => log::error!(
                "the worker of {} does not answer; leaving it behind",
                self.namespec()
            ),
            _ => {
                let _ = t.join();
            }
        }
    }
}

struct Worker {
    cfg: Arc<ProcessConfig>,
    shared: Arc<Shared>,
    info: Arc<Mutex<ProcessInfo>>,
    transitions: Arc<AtomicU64>,
    stdout_sink: Arc<Sink>,
    stderr_sink: Option<Arc<Sink>>,
    role: Role,
    /// An fcgi-program's listening socket, the child's fd 0 (shared by the group).
    fcgi: Option<Arc<FcgiSocket>>,
    params: Params,
    m: Machine,
    pid: i32,
    /// The pid of the process that exited last: EXITED and STOPPED events report it.
    exited_pid: i32,
    essential_reported: bool,
    /// The container's command has reported its end.
    end_reported: bool,
    /// The signal a `ShutdownWith` put in place of the stopsignal.
    stop_signal: Option<i32>,
    last_stop_report: Option<Instant>,
    stdin: Option<OwnedFd>,
    started_at: Instant,
    deadline: Option<(Instant, Event)>,
    last_exit: Option<ExitStatus>,
    exit_tx: Sender<ExitReport>,
    exit_rx: Receiver<ExitReport>,
    start_waiters: Vec<Reply>,
    stop_waiters: Vec<Reply>,
    /// Health checks (extension), for programs that have them.
    checks: Option<health_hooks::Checks>,
    /// Memory limit checks (extension), for programs that set `memory_limit`.
    memory: Option<memory_limit::MemoryLimit>,
    /// Readiness reports (extension), for `type=notify` programs.
    notify: Option<notify_hooks::Notify>,
}

impl Worker {
    fn new(
        cfg: Arc<ProcessConfig>,
        shared: Arc<Shared>,
        (info, transitions): (Arc<Mutex<ProcessInfo>>, Arc<AtomicU64>),
        stdout_sink: Arc<Sink>,
        stderr_sink: Option<Arc<Sink>>,
        role: Role,
        fcgi: Option<Arc<FcgiSocket>>,
    ) -> Worker {
        let params = params_of(&cfg);
        let (exit_tx, exit_rx) = unbounded();
        let checks = health_hooks::Checks::for_config(&cfg);
        let memory = memory_limit::MemoryLimit::for_config(&cfg);
        let notify = notify_hooks::Notify::for_config(&cfg);
        Worker {
            cfg,
            shared,
            info,
            transitions,
            stdout_sink,
            stderr_sink,
            role,
            fcgi,
            params,
            m: Machine::new(),
            pid: 0,
            exited_pid: 0,
            essential_reported: false,
            stop_signal: None,
            end_reported: false,
            last_stop_report: None,
            stdin: None,
            started_at: Instant::now(),
            deadline: None,
            last_exit: None,
            exit_tx,
            exit_rx,
            start_waiters: Vec::new(),
            stop_waiters: Vec::new(),
            checks,
            memory,
            notify,
        }
    }
}

/// The table's view of a program's settings.
fn params_of(cfg: &ProcessConfig) -> Params {
    let svc = &cfg.service;
    Params {
        startretries: cfg.startretries,
        autorestart: cfg.autorestart,
        startsecs_zero: cfg.startsecs == 0,
        kind: svc.kind,
        start_timeout: svc.start_timeout_ms.is_some(),
        watchdog: svc.watchdog_ms.is_some(),
        restart: Restart {
            delay_ms: svc.restart_delay_ms,
            max_ms: svc.restart_delay_max_ms,
            forever: svc.retry_forever,
            ..Restart::default()
        },
    }
}
