//! Stopping everything: programs by descending priority level (each level in parallel), then
//! every leftover descendant (TERM, grace, KILL), reaping all before supervisord exits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{at, select};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::programs::{Command, ProcessHandle};
use crate::reaper::Notice;
use crate::state::names::signal_name;

use super::command::is_command;
use super::signals::{forward, reopen_logs};
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
    if rt.command.is_some() {
        // Command mode: HUP and USR2 are the command's too.
        forward(rt, sig);
        return Interrupt::None;
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

/// How long a second exit request leaves supervisord to end.
const HURRY: Duration = Duration::from_millis(900);

/// A second exit request: SIGKILL every program now and end within [`HURRY`].
fn hurry(rt: &Runtime, all: &[Arc<ProcessHandle>]) {
    if rt.hurry.get().is_some() {
        return;
    }
    rt.hurry.set(Some(Instant::now() + HURRY));
    all.iter().for_each(|p| p.send(Command::Kill));
}

/// How long one level may take: its slowest `stopwaitsecs` plus `shutdown_grace` for the
/// SIGKILL and the reaping. Config values are range-checked, so this cannot overflow.
fn level_bound(rt: &Runtime, level: &[Arc<ProcessHandle>]) -> Duration {
    let slowest = level
        .iter()
        .map(|p| p.config.stopwaitsecs)
        .max()
        .unwrap_or(0);
    let grace = rt.engine.config().supervisord.shutdown_grace_secs;
    Duration::from_secs(slowest.saturating_add(grace))
}

/// The level's bound passed and some of its workers did not report their process stopped
/// (a worker stuck in a bug): supervisord kills those processes' groups itself.
fn give_up(level: &[Arc<ProcessHandle>]) {
    let stuck: Vec<_> = level.iter().filter(|p| !p.state().is_stopped()).collect();
    let names: Vec<_> = stuck.iter().map(|p| p.config.name.clone()).collect();
    log::error!(
        "gave up waiting for {} to stop (shutdown bound passed): killing them",
        names.join(", ")
    );
    for p in stuck {
        let pid = p.info().pid;
        if pid > 0 {
            // The group first (the program's children), then the leader itself.
            let _ = crate::util::kill(-pid, libc::SIGKILL);
            let _ = crate::util::kill(pid, libc::SIGKILL);
        }
    }
}

/// A timer that reaps while the signal thread is gone (nobody else would).
fn reap_tick(rt: &Runtime) -> crossbeam_channel::Receiver<Instant> {
    if rt.engine.reaper().signal_thread_gone() {
        rt.engine.reaper().reap();
        crossbeam_channel::after(Duration::from_millis(50))
    } else {
        crossbeam_channel::never()
    }
}

/// Stops every program, level by level; returns once all are in a stopped state (UNKNOWN, a
/// dead worker, counts as stopped) or the level's bound has passed.
/// `exiting`: an exit was already asked for, so the next exit request means SIGKILL now.
/// Returns whether an exit has been asked for (a reload that gets one ends in shutdown).
pub fn stop_all(rt: &Runtime, mut exiting: bool) -> bool {
    let engine = &rt.engine;
    // A reload (not exiting) leaves the container's command running.
    let reloading = !exiting;
    let stops = move |p: &Arc<ProcessHandle>| !(reloading && is_command(p));
    let all: Vec<_> = engine.all().into_iter().filter(stops).collect();
    if let Some(bus) = engine.events() {
        bus.publish(crate::events::Event::SupervisorStopping);
    }
    for p in &all {
        p.send(Command::Freeze);
    }
    let mut next_report = Instant::now();
    let levels = engine.levels_descending().into_iter();
    for level in levels.map(|l| l.into_iter().filter(stops).collect::<Vec<_>>()) {
        for p in &level {
            p.send(shutdown_command(rt, p));
            if rt.hurry.get().is_some() {
                p.send(Command::Kill);
            }
        }
        let bound = Instant::now() + level_bound(rt, &level);
        while level.iter().any(|p| !p.state().is_stopped()) {
            let deadline = rt.hurry.get().map_or(bound, |h| h.min(bound));
            if Instant::now() >= deadline {
                give_up(&level);
                break;
            }
            if Instant::now() >= next_report {
                let names = unstopped_names(&all);
                if !names.is_empty() {
                    log::info!("waiting for {} to die", names.join(", "));
                }
                next_report = Instant::now() + REPORT_EVERY;
            }
            select! {
                recv(rt.changes) -> _ => {}
                recv(rt.notices) -> n => match n {
                    Ok(Notice::Signal(sig)) => {
                        if let Interrupt::Hurry = on_signal(rt, sig) {
                            if exiting {
                                hurry(rt, &all);
                            }
                            exiting = true;
                        }
                    }
                    Ok(Notice::ThreadDied(name)) => {
                        crate::crit!("the {name} thread died during shutdown");
                        rt.fault.set(true);
                        exiting = true;
                    }
                    _ => {}
                },
                recv(rt.requests) -> _ => {}
                recv(at(next_report.min(deadline))) -> _ => {}
                recv(reap_tick(rt)) -> _ => {}
            }
        }
    }
    exiting
}

/// The stop request for `p`: the container's command gets the signal that asked for the exit.
fn shutdown_command(rt: &Runtime, p: &Arc<ProcessHandle>) -> Command {
    match &rt.command {
        Some(c) if is_command(p) => c.shutdown_command(),
        _ => Command::Shutdown,
    }
}

/// How the leftovers are found and signalled. As PID 1 every process of the namespace is a
/// leftover and `kill(-1)` reaches them all (never supervisord itself); as a subreaper only
/// the processes descending from supervisord are, found through /proc.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sweep {
    Pid1,
    Subreaper,
}

/// How many leftovers remain: `None` when some do but /proc (not ours) cannot count them.
fn leftovers(sweep: Sweep, me: i32) -> Option<usize> {
    if system::proc_is_ours() {
        return Some(system::descendants(me).len());
    }
    match sweep {
        Sweep::Pid1 if crate::reaper::has_children() => None,
        // Without our own /proc a subreaper cannot tell its descendants from anyone else's.
        _ => Some(0),
    }
}

fn signal_leftovers(sweep: Sweep, me: i32, sig: Signal) {
    match sweep {
        // kill(-1) as PID 1 signals every other process of our pid namespace.
        Sweep::Pid1 => {
            let _ = kill(Pid::from_raw(-1), sig);
        }
        Sweep::Subreaper => {
            for pid in system::descendants(me) {
                let _ = kill(Pid::from_raw(pid), sig);
            }
        }
    }
}

fn describe(n: Option<usize>) -> String {
    match n {
        Some(n) => format!("{n} leftover process(es)"),
        None => "every leftover process".into(),
    }
}

/// Waits until no leftover remains or `deadline` passes; `false` when an exit signal asks to
/// stop waiting (then supervisord is in a hurry).
fn wait_leftovers_gone(rt: &Runtime, sweep: Sweep, me: i32, deadline: Instant) -> bool {
    while leftovers(sweep, me) != Some(0) {
        select! {
            recv(rt.notices) -> n => {
                if let Ok(Notice::Signal(sig)) = n {
                    if let Interrupt::Hurry = on_signal(rt, sig) {
                        rt.hurry.set(Some(rt.hurry.get().unwrap_or_else(|| Instant::now() + HURRY)));
                        return false;
                    }
                }
            }
            recv(rt.changes) -> _ => {}
            recv(at(deadline)) -> _ => return true,
            recv(reap_tick(rt)) -> _ => {}
        }
    }
    true
}

/// As PID 1 or subreaper: SIGTERM every remaining descendant, wait up to the grace while
/// reaping, SIGKILL the rest and wait for them to be reaped. In a hurry (a second exit
/// request), SIGKILL at once and wait only until the hurry's end.
pub fn end_descendants(rt: &Runtime) {
    let sweep = match (rt.pid1, rt.subreaper) {
        (true, _) => Sweep::Pid1,
        (false, true) => Sweep::Subreaper,
        (false, false) => return,
    };
    let me = std::process::id() as i32;
    rt.engine.reaper().watch_orphans(rt.notice_tx.clone(), true);
    let left = leftovers(sweep, me);
    if left == Some(0) {
        return;
    }
    if rt.hurry.get().is_none() {
        log::info!("sending SIGTERM to {}", describe(left));
        signal_leftovers(sweep, me, Signal::SIGTERM);
        let grace = Duration::from_secs(rt.engine.config().supervisord.shutdown_grace_secs);
        wait_leftovers_gone(rt, sweep, me, Instant::now() + grace);
        let left = leftovers(sweep, me);
        if left == Some(0) {
            return;
        }
    }
    log::warn!("sending SIGKILL to {}", describe(leftovers(sweep, me)));
    signal_leftovers(sweep, me, Signal::SIGKILL);
    let until = rt
        .hurry
        .get()
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(5));
    wait_leftovers_gone(rt, sweep, me, until);
    rt.engine.reaper().reap();
}
