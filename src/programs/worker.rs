//! One thread per process instance: it owns the child, feeds the state table and executes the
//! actions (spawn, signal, deadline, publish). It blocks on its command channel, its exit
//! channel and one deadline; nothing polls.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{after, bounded, never, select, unbounded, Receiver, Sender};

use crate::config::ProcessConfig;
use crate::ctl::backend::{faults, Fault, ProcessInfo};
use crate::events::{self, EventBus, Stream};
use crate::logs::{OutputPump, Sink};
use crate::reaper::{ExitReport, Reaper};

use super::command::resolve;
use super::machine::{step, Action, Deadline, Event, ExitKind, Machine, Params, SignalKind};
use super::names::{errno_name, signal_name, ExitStatus};
use super::spawn::{
    exec_result, spawn_child, ChildPipes, Env, PipeSet, Prepared, SignalsBlocked, SpawnSpec,
};
use super::ProcessState;

const STOP_REPORT_EVERY: Duration = Duration::from_secs(2);
/// Commands queued for one worker before senders wait.
const COMMAND_QUEUE: usize = 4;
mod health_hooks;

/// Where a request's answer goes.
pub type Reply = Sender<Result<(), Fault>>;

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
    Stdin {
        data: Vec<u8>,
        reply: Reply,
    },
    /// supervisord is stopping: stop, never restart, BACKOFF turns FATAL.
    Shutdown,
    /// Second exit request: SIGKILL now.
    Kill,
    /// Shutdown has begun elsewhere: never spawn again.
    Freeze,
    /// Leave the thread (the process is stopped).
    Quit,
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
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ProcessHandle {
    /// Starts the worker thread for `config` (the process starts STOPPED).
    /// `listener`: an event listener, whose stdin/stdout belong to the event bus.
    pub fn start(
        config: ProcessConfig,
        shared: Arc<Shared>,
        stdout_sink: Arc<Sink>,
        stderr_sink: Option<Arc<Sink>>,
        listener: bool,
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
        };
        let info = Arc::new(Mutex::new(info));
        let transitions = Arc::new(AtomicU64::new(0));
        let config = Arc::new(config);
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
            listener,
        ));
        let thread = std::thread::Builder::new()
            .name(format!("proc:{}", config.name))
            .stack_size(128 * 1024)
            .spawn(move || worker.run(rx))?;
        Ok(Arc::new(ProcessHandle {
            config,
            stdout_sink,
            stderr_sink,
            info,
            transitions,
            tx,
            thread: Mutex::new(Some(thread)),
        }))
    }

    pub fn send(&self, cmd: Command) {
        // The worker only leaves after Quit, so a failed send means nobody is left to care.
        let _ = self.tx.send(cmd);
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

    /// Asks the worker to leave and waits for it.
    pub fn quit(&self) {
        self.send(Command::Quit);
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }
}

/// What woke a worker up.
enum Input {
    Command(Command),
    Exit(ExitReport),
    Timer,
    Quit,
    Nothing,
}

struct Worker {
    cfg: Arc<ProcessConfig>,
    shared: Arc<Shared>,
    info: Arc<Mutex<ProcessInfo>>,
    transitions: Arc<AtomicU64>,
    stdout_sink: Arc<Sink>,
    stderr_sink: Option<Arc<Sink>>,
    listener: bool,
    params: Params,
    m: Machine,
    pid: i32,
    /// The pid of the process that exited last: EXITED and STOPPED events report it.
    exited_pid: i32,
    essential_reported: bool,
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
}

impl Worker {
    fn new(
        cfg: Arc<ProcessConfig>,
        shared: Arc<Shared>,
        (info, transitions): (Arc<Mutex<ProcessInfo>>, Arc<AtomicU64>),
        stdout_sink: Arc<Sink>,
        stderr_sink: Option<Arc<Sink>>,
        listener: bool,
    ) -> Worker {
        let params = Params {
            startretries: cfg.startretries,
            autorestart: cfg.autorestart,
            startsecs_zero: cfg.startsecs == 0,
        };
        let (exit_tx, exit_rx) = unbounded();
        let checks = health_hooks::Checks::for_config(&cfg);
        Worker {
            cfg,
            shared,
            info,
            transitions,
            stdout_sink,
            stderr_sink,
            listener,
            params,
            m: Machine::new(),
            pid: 0,
            exited_pid: 0,
            essential_reported: false,
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
        }
    }

    fn run(mut self: Box<Self>, rx: Receiver<Command>) {
        crate::reaper::block_handled_signals();
        loop {
            match self.next_input(&rx) {
                Input::Quit => break,
                Input::Command(cmd) => self.command(cmd),
                Input::Exit(exit) => self.exited(exit),
                Input::Timer => {
                    self.timer_fired();
                    self.health_timer();
                }
                Input::Nothing => {}
            }
            self.check_essential();
            self.health_restart();
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
        ]
        .into_iter()
        .flatten()
        .min();
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
    fn stop_report_at(&self) -> Option<Instant> {
        if self.stop_waiters.is_empty() || self.m.state != ProcessState::Stopping {
            return None;
        }
        Some(
            self.last_stop_report
                .map(|t| t + STOP_REPORT_EVERY)
                .unwrap_or_else(Instant::now),
        )
    }

    fn stop_report(&mut self) {
        log::info!("waiting for {} to stop", self.cfg.name);
        self.last_stop_report = Some(Instant::now());
    }

    /// Reports once when an essential program has ended for good (not during shutdown).
    #[inline(never)]
    fn check_essential(&mut self) {
        let ended = matches!(self.m.state, ProcessState::Exited | ProcessState::Fatal);
        if !self.cfg.essential || !ended || self.m.shutting_down {
            self.essential_reported = false;
            return;
        }
        if self.essential_reported {
            return;
        }
        self.essential_reported = true;
        let code = match self.last_exit {
            Some(ExitStatus::Exited(c)) => c,
            Some(ExitStatus::Signaled { signal, .. }) => 128 + signal,
            None => 0,
        };
        let status = if self.m.state == ProcessState::Fatal {
            code.max(1)
        } else {
            code
        };
        let _ = self.shared.failures.send(Failure {
            namespec: self.cfg.namespec(),
            status,
        });
    }

    fn fault(&self, code: i32) -> Fault {
        if code == faults::FAILED {
            let msg = format!("{} is in an unknown process state", self.cfg.namespec());
            return Fault::new(code, Some(&msg));
        }
        if code == faults::SHUTDOWN_STATE {
            return Fault::new(code, None);
        }
        Fault::new(code, Some(&self.cfg.namespec()))
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Start { reply, wait } => self.start(reply, wait),
            Command::Stop { reply, wait } => self.stop(reply, wait),
            Command::Signal { signal, reply } => {
                let r = self.signal_request(signal);
                let _ = reply.send(r);
            }
            Command::Forward(sig) => {
                if self.pid > 0 && self.m.state.is_signallable() {
                    let _ = self.kill(sig, self.cfg.stopasgroup);
                }
            }
            Command::Stdin { data, reply } => {
                let _ = reply.send(self.write_stdin(&data));
            }
            Command::Shutdown => {
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

    fn start(&mut self, reply: Option<Reply>, wait: bool) {
        let Some(reply) = reply else {
            self.feed(Event::Start);
            return;
        };
        if let Err(e) = self.resolve_command() {
            let _ = reply.send(Err(Fault::new(e.fault, Some(&e.message))));
            return;
        }
        if let Some(code) = self.feed(Event::Start) {
            let _ = reply.send(Err(self.fault(code)));
            return;
        }
        if !lock(&self.info).spawnerr.is_empty() {
            let _ = reply.send(Err(self.fault(faults::SPAWN_ERROR)));
        } else if !wait || self.m.state == ProcessState::Running {
            let _ = reply.send(Ok(()));
        } else {
            self.start_waiters.push(reply);
        }
    }

    fn stop(&mut self, reply: Option<Reply>, wait: bool) {
        let refused = self.feed(Event::Stop);
        let Some(reply) = reply else { return };
        if let Some(code) = refused {
            let _ = reply.send(Err(self.fault(code)));
        } else if !wait || self.m.state.is_stopped() {
            let _ = reply.send(Ok(()));
        } else {
            if self.stop_waiters.is_empty() {
                self.stop_report();
            }
            self.stop_waiters.push(reply);
        }
    }

    fn signal_request(&mut self, sig: i32) -> Result<(), Fault> {
        if self.pid == 0 || !self.m.state.is_signallable() {
            return Err(self.fault(faults::NOT_RUNNING));
        }
        log::debug!(
            "sending {} (pid {}) sig {}",
            self.cfg.name,
            self.pid,
            signal_name(sig)
        );
        self.kill(sig, false)
            .map_err(|e| Fault::new(faults::FAILED, Some(&e.to_string())))
    }

    fn write_stdin(&mut self, data: &[u8]) -> Result<(), Fault> {
        if self.pid == 0 || !self.m.state.is_running() {
            return Err(self.fault(faults::NOT_RUNNING));
        }
        let Some(fd) = &self.stdin else {
            return Err(Fault::new(faults::NO_FILE, Some("None")));
        };
        let mut off = 0;
        while off < data.len() {
            // SAFETY: writing from a live slice to an fd we own.
            let n = unsafe {
                libc::write(
                    fd.as_raw_fd(),
                    data[off..].as_ptr().cast(),
                    data.len() - off,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                if e.raw_os_error() == Some(libc::EPIPE) {
                    self.stdin = None;
                    return Err(Fault::new(faults::NO_FILE, Some("None")));
                }
                // A child that does not read its stdin must not stall us: drop the rest.
                log::debug!("stdin of {} not writable: {e}", self.cfg.name);
                break;
            }
            off += n as usize;
        }
        Ok(())
    }

    #[inline(never)]
    fn exited(&mut self, exit: ExitReport) {
        if exit.pid != self.pid {
            self.health_exited(exit);
            return;
        }
        self.last_exit = Some(exit.status);
        let expected = exit.status.is_expected(&self.cfg.exitcodes);
        self.feed(Event::Exited { expected });
    }

    /// Runs one event through the table and executes the actions; returns the refusal code if
    /// the table refused the request.
    fn feed(&mut self, ev: Event) -> Option<i32> {
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
                Action::Refuse(code) => refused = Some(code),
            }
        }
        self.resolve_waiters();
        refused
    }

    fn publish(&mut self, from: ProcessState, to: ProcessState) {
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

    fn set_deadline(&mut self, d: Deadline) {
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

    fn resolve_waiters(&mut self) {
        let state = self.m.state;
        if !self.start_waiters.is_empty() {
            let spawnerr = !lock(&self.info).spawnerr.is_empty();
            let outcome = if spawnerr {
                Some(Err(self.fault(faults::SPAWN_ERROR)))
            } else if state == ProcessState::Running {
                Some(Ok(()))
            } else if state != ProcessState::Starting {
                Some(Err(self.fault(faults::ABNORMAL_TERMINATION)))
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

    fn fail_waiters(&mut self) {
        let f = self.fault(faults::ABNORMAL_TERMINATION);
        for w in self
            .start_waiters
            .drain(..)
            .chain(self.stop_waiters.drain(..))
        {
            let _ = w.send(Err(f.clone()));
        }
    }

    fn search_path(&self) -> Option<String> {
        let from_program = self.cfg.environment.iter().rev().find(|(k, _)| k == "PATH");
        if let Some((_, v)) = from_program {
            return Some(v.clone());
        }
        let base = self.shared.base_env.iter().rev().find(|(k, _)| k == "PATH");
        base.map(|(_, v)| v.to_string_lossy().into_owned())
    }

    fn resolve_command(&self) -> Result<std::path::PathBuf, super::command::CommandError> {
        let argv0 = self.cfg.argv.first().map(String::as_str).unwrap_or("");
        resolve(argv0, self.search_path().as_deref())
    }

    /// What this process adds to supervisord's environment (later entries win).
    fn env_overrides(&self) -> Vec<(String, String)> {
        let mut over = Vec::with_capacity(3 + self.cfg.environment.len());
        if let Some(url) = self
            .cfg
            .serverurl
            .as_ref()
            .or(self.shared.server_url.as_ref())
        {
            over.push(("SUPERVISOR_SERVER_URL".to_string(), url.clone()));
        }
        over.push(("SUPERVISOR_PROCESS_NAME".to_string(), self.cfg.name.clone()));
        over.push(("SUPERVISOR_GROUP_NAME".to_string(), self.cfg.group.clone()));
        over.extend(self.cfg.environment.iter().cloned());
        over
    }

    fn child_env(&self) -> Vec<(OsString, OsString)> {
        let mut env = self.shared.base_env.clone();
        let mut set = |k: &str, v: &str| {
            let k = OsString::from(k);
            match env.iter_mut().find(|(ek, _)| *ek == k) {
                Some(e) => e.1 = OsString::from(v),
                None => env.push((k, OsString::from(v))),
            }
        };
        if let Some(url) = self
            .cfg
            .serverurl
            .as_ref()
            .or(self.shared.server_url.as_ref())
        {
            set("SUPERVISOR_SERVER_URL", url);
        }
        set("SUPERVISOR_PROCESS_NAME", &self.cfg.name);
        set("SUPERVISOR_GROUP_NAME", &self.cfg.group);
        for (k, v) in &self.cfg.environment {
            set(k, v);
        }
        env
    }

    #[cold]
    #[inline(never)]
    fn spawnerr(&mut self, msg: String) -> Event {
        log::info!("spawnerr: {msg}");
        lock(&self.info).spawnerr = msg;
        Event::SpawnFailed
    }

    /// Performs a spawn; returns `Spawned` or `SpawnFailed` for the table. The two halves
    /// stay separate calls so the logging after the fork does not stack on the fork's locals
    /// (this is the deepest path of a worker thread, and its depth is resident memory).
    fn spawn(&mut self) -> Event {
        {
            let mut info = lock(&self.info);
            info.spawnerr.clear();
            info.exitstatus = 0;
            info.start = now_secs();
        }
        self.started_at = Instant::now();
        // Looking the command up (stat, access) is the deepest call: keep it off the fork's
        // frame.
        let path = match self.resolve_command() {
            Ok(p) => p,
            Err(e) => return self.spawnerr(e.message),
        };
        match self.fork_child(&path) {
            Ok((pid, parent)) => self.spawned(pid, parent, &path),
            Err(ev) => ev,
        }
    }

    /// Prepares the exec of `path` and starts the child.
    #[inline(never)]
    fn fork_child(&mut self, path: &std::path::Path) -> Result<(i32, ChildPipes), Event> {
        let over = self.env_overrides();
        let spec = SpawnSpec {
            path,
            argv: &self.cfg.argv,
            env: Env::Layered {
                base: &self.shared.base_envp,
                over: &over,
            },
            directory: self.cfg.directory.as_deref(),
            umask: self.cfg.umask,
            user: self.cfg.user.as_ref(),
            redirect_stderr: self.cfg.redirect_stderr,
            max_fd: self.shared.max_fd,
        };
        let name = self.cfg.name.clone();
        let prepared = match Prepared::new(&spec) {
            Ok(p) => p,
            Err(e) => {
                return Err(self.spawnerr(format!(
                    "unknown error making dispatchers for '{name}': {e}"
                )))
            }
        };
        let pipes = match PipeSet::new(self.cfg.redirect_stderr) {
            Ok(p) => p,
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {
                return Err(self.spawnerr(format!("too many open files to spawn '{name}'")))
            }
            Err(e) => {
                let code = errno_name(e.raw_os_error().unwrap_or(0));
                return Err(self.spawnerr(format!(
                    "unknown error making dispatchers for '{name}': {code}"
                )));
            }
        };
        let forked = self.start_child(&prepared, pipes);
        let (pid, parent) = match forked {
            Ok(r) => r,
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                return Err(self.spawnerr(format!(
                    "Too many processes in process table to spawn '{name}'"
                )))
            }
            Err(e) => {
                let code = errno_name(e.raw_os_error().unwrap_or(0));
                return Err(
                    self.spawnerr(format!("unknown error during fork for '{name}': {code}"))
                );
            }
        };
        Ok((pid, parent))
    }

    /// Starts the child with every signal blocked, registered with the reaper before it can
    /// exit. Out of line: the signal masks need not sit under `Prepared::new`.
    #[inline(never)]
    fn start_child(&self, prepared: &Prepared, pipes: PipeSet) -> io::Result<(i32, ChildPipes)> {
        let _blocked = SignalsBlocked::new();
        self.shared
            .reaper
            .spawn_registered(self.exit_tx.clone(), || spawn_child(prepared, pipes))
    }

    /// Hands the new child's pipes over and records the spawn.
    #[inline(never)]
    fn spawned(&mut self, pid: i32, parent: ChildPipes, path: &std::path::Path) -> Event {
        self.pid = pid;
        self.attach_output(pid, parent.stdin, parent.stdout);
        if let Some(err) = parent.stderr {
            let sink = self
                .stderr_sink
                .clone()
                .unwrap_or_else(|| self.stdout_sink.clone());
            self.shared.pump.attach(err, sink);
        }
        if let Some(errno) = exec_result(parent.status) {
            log::debug!(
                "couldn't exec {}: {} (pid {pid})",
                path.display(),
                errno_name(errno)
            );
        }
        {
            let mut info = lock(&self.info);
            info.pid = pid;
            info.spawns += 1;
        }
        log::info!("spawned: '{}' with pid {pid}", self.cfg.name);
        Event::Spawned
    }

    /// Hands the child's stdin/stdout to the event bus (listeners) or to the log pump, and
    /// installs the output observers that turn output into events.
    /// Kept out of line: inlined, its locals would deepen every path through `spawn`.
    #[inline(never)]
    fn attach_output(&mut self, pid: i32, stdin: OwnedFd, stdout: OwnedFd) {
        let bus = self.shared.events.as_ref();
        if let (true, Some(bus)) = (self.listener, bus) {
            bus.attach_listener(&self.cfg.group, &self.cfg.name, pid, stdin, stdout);
            return;
        }
        if let Some(bus) = bus {
            let out = events::observe::output_observer(bus, &self.cfg, Stream::Stdout, pid);
            self.stdout_sink.set_observer(out);
            let filter = events::observe::capture_filter(&self.cfg, Stream::Stdout);
            self.stdout_sink.set_filter(filter);
            if let Some(sink) = &self.stderr_sink {
                let err = events::observe::output_observer(bus, &self.cfg, Stream::Stderr, pid);
                sink.set_observer(err);
                sink.set_filter(events::observe::capture_filter(&self.cfg, Stream::Stderr));
            }
        }
        self.stdin = Some(stdin);
        self.shared.pump.attach(stdout, self.stdout_sink.clone());
    }

    fn signal_kind(&mut self, kind: SignalKind) {
        let (sig, group) = match kind {
            SignalKind::Stop => (self.cfg.stopsignal, self.cfg.stopasgroup),
            SignalKind::Kill => (libc::SIGKILL, self.cfg.killasgroup),
        };
        let as_group = if group { "process group " } else { "" };
        log::debug!(
            "killing {} (pid {}) {as_group}with signal {}",
            self.cfg.name,
            self.pid,
            signal_name(sig)
        );
        if let Err(e) = self.kill(sig, group) {
            log::error!(
                "unknown problem killing {} ({}): {e}",
                self.cfg.name,
                self.pid
            );
        }
    }

    /// Sends `sig` to the child (or its process group); a child that just exited is fine.
    fn kill(&self, sig: i32, group: bool) -> io::Result<()> {
        if self.pid <= 0 {
            return Ok(());
        }
        let target = if group { -self.pid } else { self.pid };
        // SAFETY: kill with a positive pid or a negative pgid we created.
        if unsafe { libc::kill(target, sig) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            log::debug!(
                "unable to signal {} (pid {}), it probably just exited on its own: {e}",
                self.cfg.name,
                self.pid
            );
            return Ok(());
        }
        Err(e)
    }

    fn record_exit(&mut self, kind: ExitKind) {
        let status = self.last_exit.unwrap_or(ExitStatus::Exited(0));
        let name = &self.cfg.name;
        let desc = status.describe();
        {
            let mut info = lock(&self.info);
            info.stop = now_secs();
            info.pid = 0;
            match kind {
                ExitKind::Early => {
                    info.exitstatus = 0;
                    info.spawnerr = "Exited too quickly (process log may have details)".into();
                }
                ExitKind::Normal { expected } => {
                    info.exitstatus = status.code();
                    if !expected {
                        info.spawnerr = format!("Bad exit code {}", status.code());
                    }
                }
                ExitKind::Stopped => info.exitstatus = status.code(),
            }
        }
        self.exited_pid = self.pid;
        self.pid = 0;
        self.stdin = None;
        match kind {
            ExitKind::Early => log::warn!("exited: {name} ({desc}; not expected)"),
            ExitKind::Normal { expected: true } => log::info!("exited: {name} ({desc}; expected)"),
            ExitKind::Normal { expected: false } => {
                log::warn!("exited: {name} ({desc}; not expected)")
            }
            ExitKind::Stopped if status.is_expected(&self.cfg.exitcodes) => {
                log::info!("stopped: {name} ({desc})")
            }
            ExitKind::Stopped => log::warn!("stopped: {name} ({desc})"),
        }
    }
}
