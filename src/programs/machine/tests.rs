//! One test per row of the table (Supervisor's rows).

use super::Action::*;
use super::*;

const P: Params = Params {
    startretries: 3,
    autorestart: AutoRestart::Unexpected,
    startsecs_zero: false,
    kind: ServiceType::Simple,
    start_timeout: false,
    watchdog: false,
    restart: Restart {
        floor_ms: 1000,
        delay_ms: 0,
        max_ms: 0,
        forever: false,
    },
};

/// A run long enough for no restart delay.
const LONG: u64 = 60_000;

fn at(state: ProcessState) -> Machine {
    Machine {
        state,
        ..Machine::new()
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
        vec![LogSuccess, Enter(Running), SetDeadline(Deadline::None)]
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
    assert_eq!(
        a,
        vec![Enter(Backoff), SetDeadline(Deadline::Backoff { ms: 2000 })]
    );
}

#[test]
fn early_exit_backs_off() {
    let (n, a) = step(
        at(Starting),
        &P,
        Event::Exited {
            expected: true,
            ran_ms: LONG,
        },
    );
    assert_eq!((n.state, n.backoff), (Backoff, 1));
    let want = vec![
        RecordExit(ExitKind::Early),
        Enter(Backoff),
        SetDeadline(Deadline::Backoff { ms: 1000 }),
    ];
    assert_eq!(a, want);
}

#[test]
fn too_many_early_exits_give_up() {
    let m = Machine {
        backoff: 3,
        ..at(Starting)
    };
    let (n, a) = step(
        m,
        &P,
        Event::Exited {
            expected: false,
            ran_ms: LONG,
        },
    );
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
        let (n, a) = step(
            m,
            &p,
            Event::Exited {
                expected,
                ran_ms: LONG,
            },
        );
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
    let (n, _) = step(
        m,
        &p,
        Event::Exited {
            expected: true,
            ran_ms: LONG,
        },
    );
    assert_eq!(n.state, Exited);
}

#[test]
fn exit_while_stopping_is_stopped() {
    let r = run(
        at(Stopping),
        Event::Exited {
            expected: false,
            ran_ms: LONG,
        },
    );
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
        assert_eq!(
            run(
                at(s),
                Event::Exited {
                    expected: true,
                    ran_ms: LONG
                }
            ),
            (s, vec![])
        );
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
        vec![LogSuccess, Enter(Running), SetDeadline(Deadline::None)]
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
        step(
            frozen,
            &p,
            Event::Exited {
                expected: false,
                ran_ms: LONG
            }
        )
        .0
        .state,
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
