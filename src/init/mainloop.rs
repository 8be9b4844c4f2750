//! The main loop: blocks on signals (from the reaper's signal thread), state changes and
//! requests from the control plane; no ticks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{at, never, select};

use crate::reaper::Notice;
use crate::state::names::signal_name;
use crate::state::{ProcessState, SupervisorState};

use super::shutdown::{end_descendants, stop_all};
use super::signals::{forward, reopen_logs};
use super::startup::{log_startup, start_groups, start_server, Runtime};
use super::system;
use super::FAULT_STATUS;
use crate::programs::Request;

/// Why the loop ended.
enum Outcome {
    /// Shut down and exit with this status.
    Exit(i32),
    Reload(Box<crate::config::Config>),
}

/// Serves, reloads and finally shuts down; returns the exit status. A panic while serving
/// still shuts down in order (status 70); a panic while shutting down ends every process with
/// SIGKILL (status 70). Either way supervisord exits: it never runs on blind.
pub fn run(rt: &mut Runtime) -> i32 {
    let status = match guarded(rt, serve_and_reload) {
        Some(status) => status,
        None => {
            crate::crit!("the main loop died: stopping every program and exiting");
            rt.fault.set(true);
            FAULT_STATUS
        }
    };
    let status = match guarded(rt, |rt| finish(rt, status)) {
        Some(status) => status,
        None => {
            crate::crit!("shutdown failed: killing every process and exiting");
            super::faults::kill_everything(rt);
            FAULT_STATUS
        }
    };
    if rt.fault.get() {
        FAULT_STATUS
    } else {
        status
    }
}

/// Runs `f`, catching a panic (logged by the panic hook): `None` when it panicked.
fn guarded<T>(rt: &mut Runtime, f: impl FnOnce(&mut Runtime) -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(rt))).ok()
}

/// Serves and reloads until an exit is asked for; returns the exit status asked for.
fn serve_and_reload(rt: &mut Runtime) -> i32 {
    if let Some(status) = rt.command.as_ref().and_then(|c| c.begin(&rt.engine)) {
        return status;
    }
    loop {
        match serve(rt) {
            Outcome::Exit(status) => return status,
            Outcome::Reload(config) => {
                if reload(rt, config) {
                    return 0;
                }
            }
        }
    }
}

/// A channel every sender of which is gone: cannot happen while the runtime holds a sender,
/// so it means a broken invariant. Stop everything rather than run blind.
fn channel_closed(rt: &Runtime, which: &str) -> Outcome {
    crate::crit!("the {which} channel closed: stopping every program and exiting");
    rt.fault.set(true);
    Outcome::Exit(FAULT_STATUS)
}

fn close_server(rt: &mut Runtime) {
    if let Some(server) = rt.server.take() {
        server.close();
    }
}

/// Serves until an exit or a reload with a valid new config is asked for.
fn serve(rt: &Runtime) -> Outcome {
    loop {
        // A one-shot deadline, only while a trim is pending: idle means no timer at all.
        let trim_timer = match rt.trim_at.get() {
            Some(t) => at(t),
            None => never(),
        };
        // The bound on the wait for the programs before the container's command starts.
        let command_timer = match rt.command.as_ref().and_then(|c| c.deadline()) {
            Some(t) => at(t),
            None => never(),
        };
        select! {
            recv(trim_timer) -> _ => trim_if_settled(rt),
            recv(command_timer) -> _ => {
                if let Some(status) = rt.command.as_ref().and_then(|c| c.timed_out(&rt.engine)) {
                    return Outcome::Exit(status);
                }
            }
            recv(rt.notices) -> n => match n {
                Ok(Notice::Signal(sig)) => {
                    if let Some(outcome) = on_signal(rt, sig) {
                        return outcome;
                    }
                }
                Ok(Notice::OrphansReaped) => {}
                Ok(Notice::ThreadDied(name)) => {
                    crate::crit!("the {name} thread died: stopping every program and exiting");
                    rt.fault.set(true);
                    return Outcome::Exit(FAULT_STATUS);
                }
                Err(_) => return channel_closed(rt, "signal"),
            },
            recv(rt.changes) -> c => {
                // RUNNING (or healthy, or ready), or EXITED: the end of a oneshot job.
                let to = c.as_ref().map(|c| c.to).ok();
                use crate::state::ProcessState::{Exited, Running};
                if matches!(to, Some(Running | Exited)) {
                    rt.engine.release_held();
                }
                rt.engine.waiting.release(&rt.engine.all());
                if let Some(status) = rt.command.as_ref().and_then(|c| c.check(&rt.engine)) {
                    return Outcome::Exit(status);
                }
                schedule_trim(rt);
            }
            recv(rt.failures) -> f => {
                if let Ok(f) = f {
                    if let Some(status) = rt.command.as_ref().and_then(|c| c.ended(&rt.engine, &f)) {
                        log::info!("the command ended (status {}): shutting down", f.status);
                        return Outcome::Exit(status);
                    }
                    log::warn!(
                        "essential program {} ended for good (status {}): shutting down",
                        f.namespec,
                        f.status
                    );
                    return Outcome::Exit(f.status);
                }
            }
            recv(rt.requests) -> r => match r {
                Ok(Request::Shutdown) => {
                    rt.rpc_shutdown.set(true);
                    return Outcome::Exit(0);
                }
                Err(_) => return channel_closed(rt, "request"),
                Ok(Request::Restart) => {
                    if let Some(c) = reread(rt) {
                        return Outcome::Reload(Box::new(c));
                    }
                }
            },
        }
    }
}

/// How often at most free heap is released.
const TRIM_EVERY: Duration = Duration::from_secs(30);
/// How long after every process settled the trim waits (log lines, events and output of the
/// last changes are handled by then, so their code is not faulted right back).
const TRIM_DELAY: Duration = Duration::from_millis(250);

fn settled(rt: &Runtime) -> bool {
    let busy = |s: ProcessState| {
        matches!(
            s,
            ProcessState::Starting | ProcessState::Backoff | ProcessState::Stopping
        )
    };
    !rt.engine.all().iter().any(|p| busy(p.state()))
}

/// After a state change that leaves every process settled (none starting, backing off or
/// stopping), plans one release of the free heap start-up and activity left behind; at most every
/// TRIM_EVERY, so a flapping program cannot keep it busy.
fn schedule_trim(rt: &Runtime) {
    let recent = rt.last_trim.get().is_some_and(|t| t.elapsed() < TRIM_EVERY);
    if recent || rt.trim_at.get().is_some() || !settled(rt) {
        return;
    }
    rt.trim_at.set(Some(Instant::now() + TRIM_DELAY));
}

fn trim_if_settled(rt: &Runtime) {
    rt.trim_at.set(None);
    if !settled(rt) {
        return;
    }
    rt.last_trim.set(Some(Instant::now()));
    system::release_free_heap();
    log::debug!("all processes settled: released free heap pages");
}

fn on_signal(rt: &Runtime, sig: i32) -> Option<Outcome> {
    match sig {
        libc::SIGTERM | libc::SIGINT | libc::SIGQUIT => {
            log::warn!("received {} indicating exit request", signal_name(sig));
            if let Some(c) = &rt.command {
                c.exit_requested(sig);
            }
            Some(Outcome::Exit(0))
        }
        // In command mode every other signal belongs to the command.
        _ if rt.command.is_some() => {
            forward(rt, sig);
            None
        }
        libc::SIGHUP => {
            log::warn!("received SIGHUP indicating restart request");
            reread(rt).map(|c| Outcome::Reload(Box::new(c)))
        }
        libc::SIGUSR2 => {
            reopen_logs(rt);
            None
        }
        _ => {
            if sig == libc::SIGUSR1 {
                crate::faults::inject("mainloop");
            }
            forward(rt, sig);
            None
        }
    }
}

/// Reads the config again; a broken one keeps the running configuration.
fn reread(rt: &Runtime) -> Option<crate::config::Config> {
    match (rt.loader)() {
        Ok(c) => Some(c),
        Err(e) => {
            log::error!("could not reload the configuration, keeping the current one: {e}");
            rt.engine.set_state(SupervisorState::Running);
            None
        }
    }
}

/// Stops everything and starts again with `config`; true when an exit was asked for while
/// stopping (then nothing is started again).
fn reload(rt: &mut Runtime, config: Box<crate::config::Config>) -> bool {
    rt.engine.set_state(SupervisorState::Restarting);
    if stop_all(rt, false) {
        return true;
    }
    // The container's command keeps running across a reload.
    rt.engine.clear_programs();
    close_server(rt);
    let config = Arc::new(*config);
    rt.engine.set_config(config.clone());
    if let Err(e) = crate::logs::init_main_log(&config.supervisord, config.supervisord.nodaemon) {
        log::error!("could not reopen the main log with the new settings: {e}");
    }
    log_startup(&config, &[]);
    // As Supervisor does on every start, a reload included: the AUTO logs of the processes
    // just stopped go, so reloads do not pile up files in childlogdir.
    if !config.supervisord.nocleanup {
        crate::logs::cleanup_auto_logs(
            &config.supervisord.childlogdir,
            &config.supervisord.identifier,
        );
    }
    match start_server(&rt.engine, &rt.loader, &config) {
        Ok(server) => rt.server = Some(server),
        // Keep supervising without a control socket rather than leave the programs alone.
        Err(e) => log::error!(target: "crit", "{e}"),
    }
    log::info!("supervisord started with pid {}", std::process::id());
    rt.engine.set_state(SupervisorState::Running);
    start_groups(&rt.engine, &config);
    false
}

fn finish(rt: &mut Runtime, status: i32) -> i32 {
    rt.engine.set_state(SupervisorState::Shutdown);
    stop_all(rt, true);
    let status = match &rt.command {
        Some(c) => {
            c.reclaim_terminal();
            c.final_status(&rt.failures, status, rt.rpc_shutdown.get())
        }
        None => status,
    };
    rt.engine.clear();
    close_server(rt);
    end_descendants(rt);
    if let Some(p) = &rt.pidfile {
        let _ = std::fs::remove_file(p);
    }
    if rt.rpc_shutdown.get() {
        // Supervisor answers a shutdown request before it exits; so do we (bounded).
        crate::ctl::server::wait_for_replies(Duration::from_secs(1));
    }
    status
}
