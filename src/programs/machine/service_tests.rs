//! One test per row of the service extensions: restart delays and the crash-loop floor,
//! retry_forever, oneshot, notify readiness, start timeout and watchdog.

use super::Action::*;
use super::*;

fn params(kind: ServiceType) -> Params {
    Params {
        startretries: 2,
        autorestart: AutoRestart::Always,
        startsecs_zero: true,
        kind,
        start_timeout: false,
        watchdog: false,
        restart: Restart::default(),
    }
}

fn at(state: ProcessState) -> Machine {
    Machine {
        state,
        ..Machine::new()
    }
}

fn exited(expected: bool, ran_ms: u64) -> Event {
    Event::Exited { expected, ran_ms }
}

#[test]
fn short_run_waits_for_the_floor() {
    let p = params(ServiceType::Simple);
    let (n, a) = step(at(Running), &p, exited(false, 5));
    assert_eq!((n.state, n.restart_pending), (Exited, true));
    let want = vec![
        RecordExit(ExitKind::Normal { expected: false }),
        Enter(Exited),
        SetDeadline(Deadline::Restart { ms: 995 }),
    ];
    assert_eq!(a, want);
}

#[test]
fn long_run_restarts_at_once() {
    let p = params(ServiceType::Simple);
    let (n, a) = step(at(Running), &p, exited(true, 1000));
    assert_eq!((n.state, n.restart_pending), (Starting, false));
    assert_eq!(
        &a[2..],
        &[SetDeadline(Deadline::None), Enter(Starting), Spawn]
    );
}

#[test]
fn restart_deadline_spawns() {
    let m = Machine {
        restart_pending: true,
        ..at(Exited)
    };
    let (n, a) = step(m, &params(ServiceType::Simple), Event::RestartDeadline);
    assert_eq!((n.state, n.restart_pending), (Starting, false));
    assert_eq!(a, vec![Enter(Starting), Spawn]);
}

#[test]
fn stale_restart_deadline_is_ignored() {
    let p = params(ServiceType::Simple);
    assert_eq!(step(at(Exited), &p, Event::RestartDeadline).1, vec![]);
    let frozen = Machine {
        restart_pending: true,
        shutting_down: true,
        ..at(Exited)
    };
    assert_eq!(step(frozen, &p, Event::RestartDeadline).1, vec![]);
}

#[test]
fn stop_cancels_a_pending_restart() {
    let m = Machine {
        restart_pending: true,
        ..at(Exited)
    };
    let (n, a) = step(m, &params(ServiceType::Simple), Event::Stop);
    assert_eq!((n.state, n.restart_pending), (Exited, false));
    assert_eq!(a, vec![SetDeadline(Deadline::None)]);
}

#[test]
fn start_during_a_delay_spawns_now_and_resets_the_doubling() {
    let m = Machine {
        restart_pending: true,
        streak: 5,
        ..at(Exited)
    };
    let (n, a) = step(m, &params(ServiceType::Simple), Event::Start);
    assert_eq!((n.state, n.restart_pending, n.streak), (Starting, false, 0));
    assert_eq!(a, vec![Enter(Starting), Spawn]);
}

#[test]
fn shutdown_and_freeze_cancel_a_pending_restart() {
    for ev in [Event::Shutdown, Event::Freeze] {
        let m = Machine {
            restart_pending: true,
            ..at(Exited)
        };
        let (n, a) = step(m, &params(ServiceType::Simple), ev);
        assert_eq!((n.restart_pending, n.shutting_down), (false, true));
        assert_eq!(a, vec![SetDeadline(Deadline::None)]);
    }
}

#[test]
fn consecutive_short_runs_double_the_delay() {
    let mut p = params(ServiceType::Simple);
    p.restart.delay_ms = 1000;
    p.restart.max_ms = 4000;
    let mut m = at(Running);
    let mut waits = Vec::new();
    for _ in 0..4 {
        let (n, a) = step(m, &p, exited(false, 10));
        waits.push(a[2]);
        m = Machine {
            state: Running,
            ..n
        };
    }
    let ms = |ms| SetDeadline(Deadline::Restart { ms });
    assert_eq!(waits, vec![ms(1000), ms(2000), ms(4000), ms(4000)]);
}

#[test]
fn retry_forever_never_gives_up() {
    let mut p = params(ServiceType::Simple);
    p.startsecs_zero = false;
    p.restart.forever = true;
    let m = Machine {
        backoff: 10,
        ..at(Starting)
    };
    let (n, a) = step(m, &p, exited(false, 10));
    assert_eq!((n.state, n.backoff), (Backoff, 11));
    assert_eq!(a.last(), Some(&SetDeadline(Deadline::Backoff { ms: 2000 })));
}

#[test]
fn oneshot_spawned_waits_for_its_end() {
    let mut p = params(ServiceType::Oneshot);
    assert_eq!(
        step(at(Starting), &p, Event::Spawned),
        (at(Starting), vec![SetDeadline(Deadline::None)])
    );
    p.start_timeout = true;
    let (_, a) = step(at(Starting), &p, Event::Spawned);
    assert_eq!(a, vec![SetDeadline(Deadline::StartTimeout)]);
}

#[test]
fn oneshot_success_is_exited_and_never_restarted() {
    let p = params(ServiceType::Oneshot);
    let m = Machine {
        backoff: 1,
        ..at(Starting)
    };
    let (n, a) = step(m, &p, exited(true, 5));
    assert_eq!((n.state, n.backoff, n.restart_pending), (Exited, 0, false));
    let want = vec![
        RecordExit(ExitKind::Normal { expected: true }),
        LogFinished,
        Enter(Exited),
        SetDeadline(Deadline::None),
    ];
    assert_eq!(a, want);
}

#[test]
fn oneshot_failure_backs_off_then_gives_up() {
    let p = params(ServiceType::Oneshot);
    let (n, a) = step(at(Starting), &p, exited(false, 5));
    assert_eq!(n.state, Backoff);
    assert_eq!(a[0], RecordExit(ExitKind::Normal { expected: false }));
    let m = Machine {
        backoff: 2,
        ..at(Starting)
    };
    let (n, a) = step(m, &p, exited(false, 5));
    assert_eq!(n.state, Fatal);
    assert!(a.contains(&LogGaveUp));
}

#[test]
fn notify_spawned_waits_for_readiness() {
    let mut p = params(ServiceType::Notify);
    p.start_timeout = true;
    let (n, a) = step(at(Starting), &p, Event::Spawned);
    assert_eq!(n.state, Starting);
    assert_eq!(a, vec![SetDeadline(Deadline::StartTimeout)]);
}

#[test]
fn ready_enters_running_and_arms_the_watchdog() {
    let mut p = params(ServiceType::Notify);
    let (n, a) = step(at(Starting), &p, Event::Ready);
    assert_eq!(n.state, Running);
    assert_eq!(
        a,
        vec![Enter(Running), LogReady, SetDeadline(Deadline::None)]
    );
    p.watchdog = true;
    let (_, a) = step(at(Starting), &p, Event::Ready);
    assert_eq!(a[2], SetDeadline(Deadline::Watchdog));
}

#[test]
fn ready_elsewhere_is_ignored() {
    for s in [Stopped, Running, Backoff, Stopping, Exited, Fatal] {
        let p = params(ServiceType::Notify);
        assert_eq!(step(at(s), &p, Event::Ready).1, vec![], "{s:?}");
    }
    let simple = params(ServiceType::Simple);
    assert_eq!(step(at(Starting), &simple, Event::Ready).1, vec![]);
}

#[test]
fn notify_exit_before_ready_is_an_early_exit() {
    let p = params(ServiceType::Notify);
    let (n, a) = step(at(Starting), &p, exited(true, 5));
    assert_eq!(n.state, Backoff);
    assert_eq!(a[0], RecordExit(ExitKind::Early));
}

#[test]
fn start_timeout_stops_and_counts_as_failed_start() {
    let p = params(ServiceType::Notify);
    let (n, a) = step(at(Starting), &p, Event::StartTimeout);
    assert_eq!(
        (n.state, n.failing),
        (Stopping, Some(Failure::StartTimeout))
    );
    let want = vec![
        LogFailure(Failure::StartTimeout),
        Enter(Stopping),
        Signal(SignalKind::Stop),
        SetDeadline(Deadline::Stopwait),
    ];
    assert_eq!(a, want);
    let (n, a) = step(n, &p, exited(false, 90_000));
    assert_eq!((n.state, n.failing, n.backoff), (Backoff, None, 1));
    assert_eq!(a[0], RecordExit(ExitKind::Failed(Failure::StartTimeout)));
}

#[test]
fn stale_start_timeout_is_ignored() {
    for s in [Stopped, Running, Backoff, Stopping, Exited, Fatal] {
        let p = params(ServiceType::Notify);
        assert_eq!(step(at(s), &p, Event::StartTimeout).1, vec![], "{s:?}");
    }
}

#[test]
fn watchdog_ping_rearms() {
    let mut p = params(ServiceType::Notify);
    assert_eq!(step(at(Running), &p, Event::WatchdogPing).1, vec![]);
    p.watchdog = true;
    let (n, a) = step(at(Running), &p, Event::WatchdogPing);
    assert_eq!(
        (n.state, a),
        (Running, vec![SetDeadline(Deadline::Watchdog)])
    );
    assert_eq!(step(at(Starting), &p, Event::WatchdogPing).1, vec![]);
}

#[test]
fn watchdog_timeout_aborts_and_restarts_as_a_failure() {
    let mut p = params(ServiceType::Notify);
    p.watchdog = true;
    p.autorestart = AutoRestart::Unexpected;
    let (n, a) = step(at(Running), &p, Event::WatchdogTimeout);
    assert_eq!((n.state, n.failing), (Stopping, Some(Failure::Watchdog)));
    assert_eq!(a[0], LogFailure(Failure::Watchdog));
    assert_eq!(a[2], Signal(SignalKind::Abort));
    let (n, a) = step(n, &p, exited(true, 30_000));
    assert_eq!(n.state, Starting);
    let want = vec![
        RecordExit(ExitKind::Failed(Failure::Watchdog)),
        Enter(Exited),
        SetDeadline(Deadline::None),
        Enter(Starting),
        Spawn,
    ];
    assert_eq!(a, want);
}

#[test]
fn failure_stop_during_shutdown_is_a_plain_stop() {
    let p = params(ServiceType::Notify);
    let m = Machine {
        failing: Some(Failure::Watchdog),
        shutting_down: true,
        ..at(Stopping)
    };
    let (n, a) = step(m, &p, exited(false, 10));
    assert_eq!((n.state, n.failing), (Stopped, None));
    assert_eq!(a[0], RecordExit(ExitKind::Stopped));
}

#[test]
fn watchdog_timeout_elsewhere_is_ignored() {
    let p = params(ServiceType::Notify);
    for s in [Stopped, Starting, Backoff, Stopping, Exited, Fatal] {
        assert_eq!(step(at(s), &p, Event::WatchdogTimeout).1, vec![], "{s:?}");
    }
}
