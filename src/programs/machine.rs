//! The process state machine as a pure table: `(state, event) -> (state, actions)`.
//!
//! The worker thread feeds events (requests, spawn outcomes, exits, deadlines) and executes the
//! returned actions in order; nothing here touches a process, a clock or a log.

use super::error::ErrorKind;
use crate::config::AutoRestart;

use crate::state::ProcessState::{self, *};

/// What the table remembers between events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    pub state: ProcessState,
    /// Supervisor's backoff counter: +1 on every entry into BACKOFF, reset on RUNNING, EXITED
    /// and after FATAL (not on a stop from BACKOFF).
    pub backoff: u32,
    /// Set by `Shutdown`: no more spawns, BACKOFF turns FATAL.
    pub shutting_down: bool,
}

/// The program settings the table needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub startretries: u32,
    pub autorestart: AutoRestart,
    /// startsecs = 0: RUNNING right after the spawn.
    pub startsecs_zero: bool,
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
    /// The child was reaped; `expected` = its exit status is in `exitcodes`.
    Exited {
        expected: bool,
    },
    StartDeadline,
    BackoffDeadline,
    StopDeadline,
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
    /// This many seconds after entering BACKOFF.
    Backoff(u32),
    /// stopwaitsecs after the stop (or kill) signal.
    Stopwait,
}

/// Which signal to send: the stop signal (group when stopasgroup) or SIGKILL (group when
/// killasgroup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    Stop,
    Kill,
}

/// How a reaped exit is recorded (exitstatus, spawnerr, log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// Within startsecs: `exited: x (...; not expected)`, spawnerr "Exited too quickly".
    Early,
    /// After RUNNING: `exited: x (...; expected|not expected)`.
    Normal { expected: bool },
    /// After a stop request: `stopped: x (...)`.
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Change to this state (publish it).
    Enter(ProcessState),
    Spawn,
    SetDeadline(Deadline),
    Signal(SignalKind),
    RecordExit(ExitKind),
    /// `success: x entered RUNNING state, ...`
    LogSuccess,
    /// `gave up: x entered FATAL state, ...`
    LogGaveUp,
    /// `killing 'x' (pid) with SIGKILL`
    LogKilling,
    /// The request is refused with this fault code.
    Refuse(ErrorKind),
}

impl Machine {
    pub fn new() -> Machine {
        Machine {
            state: Stopped,
            backoff: 0,
            shutting_down: false,
        }
    }
}

impl Default for Machine {
    fn default() -> Self {
        Machine::new()
    }
}

/// The table. Events that make no sense in a state (a deadline that was replaced, an exit with
/// no child) leave the machine unchanged with no actions.
pub fn step(m: Machine, p: &Params, ev: Event) -> (Machine, Vec<Action>) {
    use Action::*;
    let mut n = m;
    let actions = match (m.state, ev) {
        (_, Event::Start) if m.shutting_down => vec![Refuse(ErrorKind::ShuttingDown)],
        (Fatal, Event::Start) => {
            n.backoff = 0;
            vec![Enter(Starting), Spawn]
        }
        (Stopped | Exited, Event::Start) => vec![Enter(Starting), Spawn],
        (Starting | Running | Backoff, Event::Start) => vec![Refuse(ErrorKind::AlreadyStarted)],
        (Stopping, Event::Start) => vec![Refuse(ErrorKind::AbnormalTermination)],
        (Unknown, Event::Start) => vec![Refuse(ErrorKind::Failed)],

        (Starting | Running, Event::Stop) => stop_actions(),
        (Backoff, Event::Stop) => vec![Enter(Stopped), SetDeadline(Deadline::None)],
        (_, Event::Stop) => vec![Refuse(ErrorKind::NotRunning)],

        (Starting, Event::Spawned) if p.startsecs_zero => {
            n.backoff = 0;
            vec![Enter(Running), LogSuccess, SetDeadline(Deadline::None)]
        }
        (Starting, Event::Spawned) => vec![SetDeadline(Deadline::Startsecs)],
        (Starting, Event::SpawnFailed) => enter_backoff(&mut n, p, vec![]),

        (Starting, Event::Exited { .. }) => {
            enter_backoff(&mut n, p, vec![RecordExit(ExitKind::Early)])
        }
        (Running, Event::Exited { expected }) => {
            n.backoff = 0;
            let mut a = vec![
                RecordExit(ExitKind::Normal { expected }),
                Enter(ProcessState::Exited),
                SetDeadline(Deadline::None),
            ];
            if !m.shutting_down && restarts(p.autorestart, expected) {
                a.extend([Enter(Starting), Spawn]);
            }
            a
        }
        (Stopping, Event::Exited { .. }) => {
            vec![
                RecordExit(ExitKind::Stopped),
                Enter(Stopped),
                SetDeadline(Deadline::None),
            ]
        }

        (Starting, Event::StartDeadline) => {
            n.backoff = 0;
            vec![Enter(Running), LogSuccess, SetDeadline(Deadline::None)]
        }
        (Backoff, Event::BackoffDeadline) if !m.shutting_down => vec![Enter(Starting), Spawn],
        (Stopping, Event::StopDeadline) => {
            vec![
                LogKilling,
                Signal(SignalKind::Kill),
                SetDeadline(Deadline::Stopwait),
            ]
        }

        (Starting | Running, Event::Shutdown) => {
            n.shutting_down = true;
            stop_actions()
        }
        (Backoff, Event::Shutdown) => {
            n.shutting_down = true;
            n.backoff = 0;
            vec![Enter(Fatal), SetDeadline(Deadline::None)]
        }
        (_, Event::Shutdown) => {
            n.shutting_down = true;
            vec![]
        }

        (_, Event::Freeze) => {
            n.shutting_down = true;
            vec![]
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
    };
    if let Some(s) = actions.iter().rev().find_map(|a| match a {
        Enter(s) => Some(*s),
        _ => None,
    }) {
        n.state = s;
    }
    (n, actions)
}

fn stop_actions() -> Vec<Action> {
    vec![
        Action::Enter(Stopping),
        Action::Signal(SignalKind::Stop),
        Action::SetDeadline(Deadline::Stopwait),
    ]
}

/// STARTING -> BACKOFF, and straight on to FATAL once the retries are used up.
fn enter_backoff(n: &mut Machine, p: &Params, mut a: Vec<Action>) -> Vec<Action> {
    use Action::*;
    n.backoff += 1;
    a.push(Enter(Backoff));
    if n.backoff > p.startretries {
        // The counter is reset on the next start (it is still reported with this BACKOFF).
        a.extend([LogGaveUp, Enter(Fatal), SetDeadline(Deadline::None)]);
    } else {
        a.push(SetDeadline(Deadline::Backoff(n.backoff)));
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
mod tests {
    use super::Action::*;
    use super::*;

    const P: Params = Params {
        startretries: 3,
        autorestart: AutoRestart::Unexpected,
        startsecs_zero: false,
    };

    fn at(state: ProcessState) -> Machine {
        Machine {
            state,
            backoff: 0,
            shutting_down: false,
        }
    }

    fn run(m: Machine, ev: Event) -> (ProcessState, Vec<Action>) {
        let (n, a) = step(m, &P, ev);
        (n.state, a)
    }

    #[test]
    fn start_from_stopped_exited_fatal_spawns() {
        for s in [Stopped, Exited, Fatal] {
            assert_eq!(
                run(at(s), Event::Start),
                (Starting, vec![Enter(Starting), Spawn])
            );
        }
    }

    #[test]
    fn start_from_fatal_resets_the_counter() {
        let m = Machine {
            backoff: 4,
            ..at(Fatal)
        };
        let (n, a) = step(m, &P, Event::Start);
        assert_eq!((n.state, n.backoff), (Starting, 0));
        assert_eq!(a, vec![Enter(Starting), Spawn]);
    }

    #[test]
    fn start_when_already_started_is_refused() {
        for s in [Starting, Running, Backoff] {
            assert_eq!(
                run(at(s), Event::Start),
                (s, vec![Refuse(ErrorKind::AlreadyStarted)])
            );
        }
    }

    #[test]
    fn start_while_stopping_is_abnormal_termination() {
        let r = run(at(Stopping), Event::Start);
        assert_eq!(r, (Stopping, vec![Refuse(ErrorKind::AbnormalTermination)]));
    }

    #[test]
    fn start_in_unknown_fails() {
        assert_eq!(
            run(at(Unknown), Event::Start),
            (Unknown, vec![Refuse(ErrorKind::Failed)])
        );
    }

    #[test]
    fn start_during_shutdown_is_refused() {
        let m = Machine {
            shutting_down: true,
            ..at(Stopped)
        };
        assert_eq!(
            run(m, Event::Start),
            (Stopped, vec![Refuse(ErrorKind::ShuttingDown)])
        );
    }

    #[test]
    fn stop_from_starting_or_running_signals() {
        for s in [Starting, Running] {
            let want = vec![
                Enter(Stopping),
                Signal(SignalKind::Stop),
                SetDeadline(Deadline::Stopwait),
            ];
            assert_eq!(run(at(s), Event::Stop), (Stopping, want));
        }
    }

    #[test]
    fn stop_from_backoff_stops_without_signal_and_keeps_counter() {
        let m = Machine {
            backoff: 2,
            ..at(Backoff)
        };
        let (n, a) = step(m, &P, Event::Stop);
        assert_eq!(n.state, Stopped);
        assert_eq!(n.backoff, 2);
        assert_eq!(a, vec![Enter(Stopped), SetDeadline(Deadline::None)]);
    }

    #[test]
    fn stop_when_not_running_is_refused() {
        for s in [Stopped, Exited, Fatal, Stopping, Unknown] {
            assert_eq!(
                run(at(s), Event::Stop),
                (s, vec![Refuse(ErrorKind::NotRunning)])
            );
        }
    }

    #[test]
    fn spawned_waits_for_startsecs() {
        let r = run(at(Starting), Event::Spawned);
        assert_eq!(r, (Starting, vec![SetDeadline(Deadline::Startsecs)]));
    }

    #[test]
    fn spawned_with_startsecs_zero_is_running() {
        let p = Params {
            startsecs_zero: true,
            ..P
        };
        let (n, a) = step(at(Starting), &p, Event::Spawned);
        assert_eq!(n.state, Running);
        assert_eq!(
            a,
            vec![Enter(Running), LogSuccess, SetDeadline(Deadline::None)]
        );
    }

    #[test]
    fn spawn_failure_backs_off_linearly() {
        let m = Machine {
            backoff: 1,
            ..at(Starting)
        };
        let (n, a) = step(m, &P, Event::SpawnFailed);
        assert_eq!((n.state, n.backoff), (Backoff, 2));
        assert_eq!(a, vec![Enter(Backoff), SetDeadline(Deadline::Backoff(2))]);
    }

    #[test]
    fn early_exit_backs_off() {
        let (n, a) = step(at(Starting), &P, Event::Exited { expected: true });
        assert_eq!((n.state, n.backoff), (Backoff, 1));
        let want = vec![
            RecordExit(ExitKind::Early),
            Enter(Backoff),
            SetDeadline(Deadline::Backoff(1)),
        ];
        assert_eq!(a, want);
    }

    #[test]
    fn too_many_early_exits_give_up() {
        let m = Machine {
            backoff: 3,
            ..at(Starting)
        };
        let (n, a) = step(m, &P, Event::Exited { expected: false });
        assert_eq!((n.state, n.backoff), (Fatal, 4));
        let want = vec![
            RecordExit(ExitKind::Early),
            Enter(Backoff),
            LogGaveUp,
            Enter(Fatal),
            SetDeadline(Deadline::None),
        ];
        assert_eq!(a, want);
    }

    #[test]
    fn running_exit_restarts_per_policy() {
        let cases = [
            (AutoRestart::Unexpected, true, false),
            (AutoRestart::Unexpected, false, true),
            (AutoRestart::Always, true, true),
            (AutoRestart::Never, false, false),
        ];
        for (policy, expected, restarts) in cases {
            let p = Params {
                autorestart: policy,
                ..P
            };
            let m = Machine {
                backoff: 2,
                ..at(Running)
            };
            let (n, a) = step(m, &p, Event::Exited { expected });
            let mut want = vec![
                RecordExit(ExitKind::Normal { expected }),
                Enter(Exited),
                SetDeadline(Deadline::None),
            ];
            if restarts {
                want.extend([Enter(Starting), Spawn]);
            }
            assert_eq!(a, want, "{policy:?} expected={expected}");
            assert_eq!(n.state, if restarts { Starting } else { Exited });
            assert_eq!(n.backoff, 0);
        }
    }

    #[test]
    fn running_exit_during_shutdown_never_restarts() {
        let p = Params {
            autorestart: AutoRestart::Always,
            ..P
        };
        let m = Machine {
            shutting_down: true,
            ..at(Running)
        };
        let (n, _) = step(m, &p, Event::Exited { expected: true });
        assert_eq!(n.state, Exited);
    }

    #[test]
    fn exit_while_stopping_is_stopped() {
        let r = run(at(Stopping), Event::Exited { expected: false });
        let want = vec![
            RecordExit(ExitKind::Stopped),
            Enter(Stopped),
            SetDeadline(Deadline::None),
        ];
        assert_eq!(r, (Stopped, want));
    }

    #[test]
    fn exit_without_child_is_ignored() {
        for s in [Stopped, Backoff, Exited, Fatal, Unknown] {
            assert_eq!(run(at(s), Event::Exited { expected: true }), (s, vec![]));
        }
    }

    #[test]
    fn startsecs_deadline_enters_running() {
        let m = Machine {
            backoff: 2,
            ..at(Starting)
        };
        let (n, a) = step(m, &P, Event::StartDeadline);
        assert_eq!((n.state, n.backoff), (Running, 0));
        assert_eq!(
            a,
            vec![Enter(Running), LogSuccess, SetDeadline(Deadline::None)]
        );
    }

    #[test]
    fn stale_deadlines_are_ignored() {
        for s in [Stopped, Running, Backoff, Stopping, Exited, Fatal] {
            assert_eq!(run(at(s), Event::StartDeadline), (s, vec![]));
        }
        for s in [Stopped, Starting, Running, Stopping] {
            assert_eq!(run(at(s), Event::BackoffDeadline), (s, vec![]));
        }
        for s in [Stopped, Starting, Running, Backoff] {
            assert_eq!(run(at(s), Event::StopDeadline), (s, vec![]));
        }
    }

    #[test]
    fn backoff_deadline_respawns() {
        let r = run(at(Backoff), Event::BackoffDeadline);
        assert_eq!(r, (Starting, vec![Enter(Starting), Spawn]));
    }

    #[test]
    fn backoff_deadline_during_shutdown_does_nothing() {
        let m = Machine {
            shutting_down: true,
            ..at(Backoff)
        };
        assert_eq!(run(m, Event::BackoffDeadline), (Backoff, vec![]));
    }

    #[test]
    fn stopwait_deadline_kills_and_rearms() {
        let want = vec![
            LogKilling,
            Signal(SignalKind::Kill),
            SetDeadline(Deadline::Stopwait),
        ];
        assert_eq!(run(at(Stopping), Event::StopDeadline), (Stopping, want));
    }

    #[test]
    fn shutdown_stops_running_processes() {
        for s in [Starting, Running] {
            let (n, a) = step(at(s), &P, Event::Shutdown);
            assert!(n.shutting_down);
            assert_eq!(n.state, Stopping);
            assert_eq!(a[1], Signal(SignalKind::Stop));
        }
    }

    #[test]
    fn shutdown_turns_backoff_fatal() {
        let (n, a) = step(at(Backoff), &P, Event::Shutdown);
        assert_eq!((n.state, n.shutting_down), (Fatal, true));
        assert_eq!(a, vec![Enter(Fatal), SetDeadline(Deadline::None)]);
    }

    #[test]
    fn shutdown_leaves_stopped_states_alone() {
        for s in [Stopped, Exited, Fatal, Stopping, Unknown] {
            let (n, a) = step(at(s), &P, Event::Shutdown);
            assert_eq!((n.state, n.shutting_down, a), (s, true, vec![]));
        }
    }

    #[test]
    fn freeze_prevents_restarts_without_stopping() {
        for s in [Stopped, Starting, Running, Backoff, Stopping, Exited, Fatal] {
            let (n, a) = step(at(s), &P, Event::Freeze);
            assert_eq!((n.state, n.shutting_down, a), (s, true, vec![]));
        }
        let frozen = Machine {
            shutting_down: true,
            ..at(Running)
        };
        let p = Params {
            autorestart: AutoRestart::Always,
            ..P
        };
        assert_eq!(
            step(frozen, &p, Event::Exited { expected: false }).0.state,
            Exited
        );
    }

    #[test]
    fn kill_escalates_to_sigkill() {
        for s in [Starting, Running, Stopping] {
            let (n, a) = step(at(s), &P, Event::Kill);
            assert_eq!(n.state, Stopping);
            assert!(a.contains(&Signal(SignalKind::Kill)));
        }
        assert_eq!(run(at(Stopped), Event::Kill), (Stopped, vec![]));
    }
}
