//! The process state machine as a pure table: `(state, event) -> (state, actions)`.
//!
//! The worker thread feeds events (requests, spawn outcomes, exits, readiness messages,
//! deadlines) and executes the returned actions in order; nothing here touches a process, a
//! clock or a log. Supervisor's rows come first; the service types (oneshot, notify), the
//! watchdog and the restart delays are rows of their own, and `restart` computes how long an
//! automatic restart waits.

use super::error::ErrorKind;
use crate::config::{AutoRestart, ServiceType};

use crate::state::ProcessState::{self, *};

mod restart;

pub use restart::Restart;

/// What the table remembers between events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    pub state: ProcessState,
    /// Supervisor's backoff counter: +1 on every entry into BACKOFF, reset on RUNNING, EXITED
    /// and after FATAL (not on a stop from BACKOFF).
    pub backoff: u32,
    /// Set by `Shutdown`: no more spawns, BACKOFF turns FATAL.
    pub shutting_down: bool,
    /// Consecutive short runs, for the doubling restart delay.
    pub streak: u32,
    /// EXITED with an automatic restart waiting for its delay.
    pub restart_pending: bool,
    /// The process is being stopped because it failed (start timeout, watchdog): its exit is
    /// a failure, not a requested stop.
    pub failing: Option<Failure>,
}

/// Why supervisord itself stopped a process that then counts as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    StartTimeout,
    Watchdog,
}

/// The program settings the table needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub startretries: u32,
    pub autorestart: AutoRestart,
    /// startsecs = 0: RUNNING right after the spawn.
    pub startsecs_zero: bool,
    pub kind: ServiceType,
    /// `start_timeout` is set (oneshot, notify).
    pub start_timeout: bool,
    /// `watchdog_secs` is set (notify).
    pub watchdog: bool,
    pub restart: Restart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Start request (autostart or RPC).
    Start,
    /// Stop request (RPC).
    Stop,
    /// The fork succeeded.
    Spawned,
    /// The spawn failed before or at fork (command not found, pipe or fork error).
    SpawnFailed,
    /// The child was reaped; `expected` = its exit status is in `exitcodes`; `ran_ms` = how
    /// long it ran.
    Exited {
        expected: bool,
        ran_ms: u64,
    },
    StartDeadline,
    BackoffDeadline,
    StopDeadline,
    /// The delay before an automatic restart from EXITED is over.
    RestartDeadline,
    /// `start_timeout` passed while STARTING.
    StartTimeout,
    /// The process reported readiness (`READY=1`, or a newline on its notify fd).
    Ready,
    /// `WATCHDOG=1`.
    WatchdogPing,
    /// No `WATCHDOG=1` for `watchdog_secs` (or `WATCHDOG=trigger`).
    WatchdogTimeout,
    /// supervisord is shutting down (or reloading): stop, never restart.
    Shutdown,
    /// A second exit request during shutdown: SIGKILL now.
    Kill,
    /// supervisord is stopping other programs first: never spawn again, stop later.
    Freeze,
}

/// The one deadline a worker waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    None,
    /// startsecs after the spawn.
    Startsecs,
    /// This many milliseconds after entering BACKOFF.
    Backoff {
        ms: u64,
    },
    /// This many milliseconds after an exit that restarts.
    Restart {
        ms: u64,
    },
    /// stopwaitsecs after the stop (or kill) signal.
    Stopwait,
    /// start_timeout after the spawn.
    StartTimeout,
    /// watchdog_secs from now.
    Watchdog,
}

/// Which signal to send: the stop signal (group when stopasgroup), SIGKILL (group when
/// killasgroup), or SIGABRT for a watchdog timeout (group when stopasgroup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    Stop,
    Kill,
    Abort,
}

/// How a reaped exit is recorded (exitstatus, spawnerr, log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// Within startsecs: `exited: x (...; not expected)`, spawnerr "Exited too quickly".
    Early,
    /// After RUNNING (or a oneshot's end): `exited: x (...; expected|not expected)`.
    Normal { expected: bool },
    /// After a stop request: `stopped: x (...)`.
    Stopped,
    /// Stopped by supervisord for this failure.
    Failed(Failure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Change to this state (publish it).
    Enter(ProcessState),
    Spawn,
    SetDeadline(Deadline),
    Signal(SignalKind),
    RecordExit(ExitKind),
    /// `success: x entered RUNNING state, ...`. It comes before `Enter(RUNNING)`: the change
    /// may start dependents at once, and their lines must follow this one.
    LogSuccess,
    /// `success: x entered RUNNING state, process reported ready`
    LogReady,
    /// `success: x finished ...` (a oneshot exited with success).
    LogFinished,
    /// `gave up: x entered FATAL state, ...`
    LogGaveUp,
    /// `killing 'x' (pid) with SIGKILL`
    LogKilling,
    /// Supervisord is stopping the process for this failure.
    LogFailure(Failure),
    /// The request is refused with this fault code.
    Refuse(ErrorKind),
}

impl Machine {
    pub fn new() -> Machine {
        Machine {
            state: Stopped,
            backoff: 0,
            shutting_down: false,
            streak: 0,
            restart_pending: false,
            failing: None,
        }
    }
}

impl Default for Machine {
    fn default() -> Self {
        Machine::new()
    }
}

/// The table. Events that make no sense in a state (a deadline that was replaced, an exit with
/// no child, readiness from a simple program) leave the machine unchanged with no actions.
pub fn step(m: Machine, p: &Params, ev: Event) -> (Machine, Vec<Action>) {
    let mut n = m;
    let actions = match ev {
        Event::Start | Event::Stop => request(&mut n, ev),
        Event::Spawned | Event::SpawnFailed | Event::Exited { .. } => child(&mut n, p, ev),
        Event::Ready | Event::WatchdogPing | Event::WatchdogTimeout => service(&mut n, p, ev),
        Event::Shutdown | Event::Kill | Event::Freeze => ending(&mut n, ev),
        _ => timer(&mut n, ev),
    };
    if let Some(s) = actions.iter().rev().find_map(|a| match a {
        Action::Enter(s) => Some(*s),
        _ => None,
    }) {
        n.state = s;
    }
    (n, actions)
}

/// Start and stop requests.
fn request(n: &mut Machine, ev: Event) -> Vec<Action> {
    use Action::*;
    match (n.state, ev) {
        (_, Event::Start) if n.shutting_down => vec![Refuse(ErrorKind::ShuttingDown)],
        (Fatal | Stopped | Exited, Event::Start) => {
            // A requested start is a fresh start: no backoff, no doubled delay, no pending
            // automatic restart.
            if n.state == Fatal {
                n.backoff = 0;
            }
            n.streak = 0;
            n.restart_pending = false;
            vec![Enter(Starting), Spawn]
        }
        (Starting | Running | Backoff, Event::Start) => vec![Refuse(ErrorKind::AlreadyStarted)],
        (Stopping, Event::Start) => vec![Refuse(ErrorKind::AbnormalTermination)],
        (Unknown, Event::Start) => vec![Refuse(ErrorKind::Failed)],

        (Starting | Running, Event::Stop) => stop_actions(),
        (Backoff, Event::Stop) => vec![Enter(Stopped), SetDeadline(Deadline::None)],
        // A stop while a restart waits for its delay cancels the restart.
        (Exited, Event::Stop) if n.restart_pending => {
            n.restart_pending = false;
            vec![SetDeadline(Deadline::None)]
        }
        _ => vec![Refuse(ErrorKind::NotRunning)],
    }
}

/// Spawn outcomes and exits.
fn child(n: &mut Machine, p: &Params, ev: Event) -> Vec<Action> {
    use Action::*;
    match (n.state, ev) {
        (Starting, Event::Spawned) => match p.kind {
            ServiceType::Simple if p.startsecs_zero => {
                n.backoff = 0;
                vec![LogSuccess, Enter(Running), SetDeadline(Deadline::None)]
            }
            ServiceType::Simple => vec![SetDeadline(Deadline::Startsecs)],
            // Oneshot and notify wait for the end or for readiness, bounded by start_timeout.
            _ if p.start_timeout => vec![SetDeadline(Deadline::StartTimeout)],
            _ => vec![SetDeadline(Deadline::None)],
        },
        (Starting, Event::SpawnFailed) => enter_backoff(n, p, 0, vec![]),

        (Starting, Event::Exited { expected, ran_ms }) if p.kind == ServiceType::Oneshot => {
            let record = RecordExit(ExitKind::Normal { expected });
            if !expected {
                return enter_backoff(n, p, ran_ms, vec![record]);
            }
            n.backoff = 0;
            n.streak = 0;
            vec![
                record,
                LogFinished,
                Enter(Exited),
                SetDeadline(Deadline::None),
            ]
        }
        (Starting, Event::Exited { ran_ms, .. }) => {
            enter_backoff(n, p, ran_ms, vec![RecordExit(ExitKind::Early)])
        }
        (Running, Event::Exited { expected, ran_ms }) => {
            exited_from_running(n, p, expected, ran_ms, ExitKind::Normal { expected })
        }
        (Stopping, Event::Exited { ran_ms, .. }) => match n.failing.take() {
            Some(f @ Failure::StartTimeout) if !n.shutting_down => {
                enter_backoff(n, p, ran_ms, vec![RecordExit(ExitKind::Failed(f))])
            }
            Some(f @ Failure::Watchdog) if !n.shutting_down => {
                exited_from_running(n, p, false, ran_ms, ExitKind::Failed(f))
            }
            _ => vec![
                RecordExit(ExitKind::Stopped),
                Enter(Stopped),
                SetDeadline(Deadline::None),
            ],
        },
        _ => vec![],
    }
}

/// RUNNING -> EXITED, then a restart per `autorestart`: at once, or after a delay.
fn exited_from_running(
    n: &mut Machine,
    p: &Params,
    expected: bool,
    ran_ms: u64,
    kind: ExitKind,
) -> Vec<Action> {
    use Action::*;
    n.backoff = 0;
    let mut a = vec![RecordExit(kind), Enter(Exited)];
    if n.shutting_down || !restarts(p.autorestart, expected) {
        a.push(SetDeadline(Deadline::None));
        return a;
    }
    match p.restart.wait_ms(&mut n.streak, ran_ms) {
        0 => a.extend([SetDeadline(Deadline::None), Enter(Starting), Spawn]),
        ms => {
            n.restart_pending = true;
            a.push(SetDeadline(Deadline::Restart { ms }));
        }
    }
    a
}

/// Readiness and watchdog messages.
fn service(n: &mut Machine, p: &Params, ev: Event) -> Vec<Action> {
    use Action::*;
    let after_ready = if p.watchdog {
        Deadline::Watchdog
    } else {
        Deadline::None
    };
    match (n.state, ev) {
        (Starting, Event::Ready) if p.kind == ServiceType::Notify => {
            n.backoff = 0;
            vec![Enter(Running), LogReady, SetDeadline(after_ready)]
        }
        (Running, Event::WatchdogPing) if p.watchdog => vec![SetDeadline(Deadline::Watchdog)],
        (Running, Event::WatchdogTimeout) if p.kind == ServiceType::Notify => {
            n.failing = Some(Failure::Watchdog);
            vec![
                LogFailure(Failure::Watchdog),
                Enter(Stopping),
                Signal(SignalKind::Abort),
                SetDeadline(Deadline::Stopwait),
            ]
        }
        _ => vec![],
    }
}

/// The worker's deadline fired.
fn timer(n: &mut Machine, ev: Event) -> Vec<Action> {
    use Action::*;
    match (n.state, ev) {
        (Starting, Event::StartDeadline) => {
            n.backoff = 0;
            vec![LogSuccess, Enter(Running), SetDeadline(Deadline::None)]
        }
        (Backoff, Event::BackoffDeadline) if !n.shutting_down => vec![Enter(Starting), Spawn],
        (Exited, Event::RestartDeadline) if n.restart_pending && !n.shutting_down => {
            n.restart_pending = false;
            vec![Enter(Starting), Spawn]
        }
        (Starting, Event::StartTimeout) => {
            n.failing = Some(Failure::StartTimeout);
            let mut a = vec![LogFailure(Failure::StartTimeout)];
            a.extend(stop_actions());
            a
        }
        (Stopping, Event::StopDeadline) => {
            vec![
                LogKilling,
                Signal(SignalKind::Kill),
                SetDeadline(Deadline::Stopwait),
            ]
        }
        _ => vec![],
    }
}

/// Shutdown, its second signal, and freezing before it.
fn ending(n: &mut Machine, ev: Event) -> Vec<Action> {
    use Action::*;
    match (n.state, ev) {
        (Starting | Running, Event::Shutdown) => {
            n.shutting_down = true;
            stop_actions()
        }
        (Backoff, Event::Shutdown) => {
            n.shutting_down = true;
            n.backoff = 0;
            vec![Enter(Fatal), SetDeadline(Deadline::None)]
        }
        (_, Event::Shutdown | Event::Freeze) => {
            n.shutting_down = true;
            if std::mem::take(&mut n.restart_pending) {
                vec![SetDeadline(Deadline::None)]
            } else {
                vec![]
            }
        }
        (Starting | Running, Event::Kill) => {
            vec![
                Enter(Stopping),
                Signal(SignalKind::Kill),
                SetDeadline(Deadline::Stopwait),
            ]
        }
        (Stopping, Event::Kill) => vec![Signal(SignalKind::Kill), SetDeadline(Deadline::Stopwait)],
        _ => vec![],
    }
}

fn stop_actions() -> Vec<Action> {
    vec![
        Action::Enter(Stopping),
        Action::Signal(SignalKind::Stop),
        Action::SetDeadline(Deadline::Stopwait),
    ]
}

/// STARTING -> BACKOFF, and straight on to FATAL once the retries are used up (never with
/// `retry_forever`).
fn enter_backoff(n: &mut Machine, p: &Params, ran_ms: u64, mut a: Vec<Action>) -> Vec<Action> {
    use Action::*;
    n.backoff = n.backoff.saturating_add(1);
    a.push(Enter(Backoff));
    if n.backoff > p.startretries && !p.restart.forever {
        // The counter is reset on the next start (it is still reported with this BACKOFF).
        a.extend([LogGaveUp, Enter(Fatal), SetDeadline(Deadline::None)]);
    } else {
        let ms = p
            .restart
            .backoff_ms(n.backoff, p.startretries, &mut n.streak, ran_ms);
        a.push(SetDeadline(Deadline::Backoff { ms }));
    }
    a
}

fn restarts(policy: AutoRestart, expected: bool) -> bool {
    match policy {
        AutoRestart::Always => true,
        AutoRestart::Unexpected => !expected,
        AutoRestart::Never => false,
    }
}

#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod tests;
