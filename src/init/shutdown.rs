//! Stopping everything: programs by descending priority level (each level in parallel), then
//! every leftover descendant (TERM, grace, KILL), reaping all before supervisord exits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{at, select};

use crate::programs::names::signal_name;
use crate::programs::{Command, ProcessHandle};
use crate::reaper::Notice;

use super::mainloop::{forward, reopen_logs};
use super::startup::Runtime;
use super::system;

const REPORT_EVERY: Duration = Duration::from_secs(3);

fn is_exit_signal(sig: i32) -> bool {
    matches!(sig, libc::SIGTERM | libc::SIGINT | libc::SIGQUIT)
}

/// What a signal during shutdown means.
enum Interrupt {
    None,
    /// A second exit request: SIGKILL what is left.
    Hurry,
}

fn on_signal(rt: &Runtime, sig: i32) -> Interrupt {
    if is_exit_signal(sig) {
        log::warn!("received {} indicating exit request", signal_name(sig));
        return Interrupt::Hurry;
    }
    match sig {
        libc::SIGHUP => {
            log::warn!("ignored SIGHUP indicating restart request (shutdown in progress)")
        }
        libc::SIGUSR2 => reopen_logs(rt),
        _ => forward(rt, sig),
    }
    Interrupt::None
}

fn unstopped_names(all: &[Arc<ProcessHandle>]) -> Vec<String> {
    all.iter()
        .filter(|p| !p.state().is_stopped())
        .map(|p| p.config.name.clone())
        .collect()
}

/// Stops every program, level by level; returns once all are in a stopped state.
pub fn stop_all(rt: &Runtime) {
    let engine = &rt.engine;
    let all = engine.all();
    if let Some(bus) = engine.events() {
        bus.publish(crate::events::Event::SupervisorStopping);
    }
    for p in &all {
        p.send(Command::Freeze);
    }
    let mut hurry = false;
    let mut next_report = Instant::now();
    for level in engine.levels_descending() {
        for p in &level {
            p.send(Command::Shutdown);
            if hurry {
                p.send(Command::Kill);
            }
        }
        while level.iter().any(|p| !p.state().is_stopped()) {
            if Instant::now() >= next_report {
                let names = unstopped_names(&all);
                if !names.is_empty() {
                    log::info!("waiting for {} to die", names.join(", "));
                }
                next_report = Instant::now() + REPORT_EVERY;
            }
            select! {
                recv(rt.changes) -> _ => {}
                recv(rt.notices) -> n => {
                    if let Ok(Notice::Signal(sig)) = n {
                        if let Interrupt::Hurry = on_signal(rt, sig) {
                            if !hurry {
                                hurry = true;
                                all.iter().for_each(|p| p.send(Command::Kill));
                            }
                        }
                    }
                }
                recv(rt.requests) -> _ => {}
                recv(at(next_report)) -> _ => {}
            }
        }
    }
}

fn signal_all(pids: &[i32], sig: i32) {
    for &pid in pids {
        // SAFETY: kill on pids of our own descendants.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Waits until no descendant is left or `deadline` passes; `false` when an exit signal asks
/// to stop waiting.
fn wait_descendants_gone(rt: &Runtime, me: i32, deadline: Instant) -> bool {
    while !system::descendants(me).is_empty() {
        select! {
            recv(rt.notices) -> n => {
                if let Ok(Notice::Signal(sig)) = n {
                    if let Interrupt::Hurry = on_signal(rt, sig) {
                        return false;
                    }
                }
            }
            recv(rt.changes) -> _ => {}
            recv(at(deadline)) -> _ => return true,
        }
    }
    true
}

/// As PID 1 or subreaper: SIGTERM every remaining descendant, wait up to the grace while
/// reaping, SIGKILL the rest and wait for them to be reaped.
pub fn end_descendants(rt: &Runtime) {
    if !rt.pid1 && !rt.subreaper {
        return;
    }
    let me = std::process::id() as i32;
    rt.engine.reaper().watch_orphans(rt.notice_tx.clone(), true);
    let left = system::descendants(me);
    if left.is_empty() {
        return;
    }
    log::info!("sending SIGTERM to {} leftover process(es)", left.len());
    signal_all(&left, libc::SIGTERM);
    let grace = Duration::from_secs(rt.engine.config().supervisord.shutdown_grace_secs);
    wait_descendants_gone(rt, me, Instant::now() + grace);
    let left = system::descendants(me);
    if left.is_empty() {
        return;
    }
    log::warn!("sending SIGKILL to {} leftover process(es)", left.len());
    signal_all(&left, libc::SIGKILL);
    wait_descendants_gone(rt, me, Instant::now() + Duration::from_secs(5));
    rt.engine.reaper().reap();
}
