//! Health checks (extension): while a process is RUNNING, its `healthcheck_command` runs every
//! interval; `retries` consecutive failures (non-zero exit or timeout) make it "unhealthy",
//! one success makes it "healthy" again. The checker is its own small thread, woken only by
//! the worker and by its interval timer; check commands are spawned and reaped like programs.

use std::ffi::OsString;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{after, at, never, select, unbounded, Receiver, Sender};

use crate::config::{HealthCheck, ProcessConfig};
use crate::ctl::backend::ProcessInfo;

use super::command::resolve;
use super::names::ExitStatus;
use super::spawn::{exec_result, spawn_child, PipeSet, Prepared, SignalsBlocked, SpawnSpec};
use super::worker::Shared;

pub enum HealthCmd {
    Running,
    NotRunning,
}

/// What a check needs from its process.
pub struct CheckContext {
    pub check: HealthCheck,
    pub cfg: ProcessConfig,
    pub env: Vec<(OsString, OsString)>,
    pub search_path: Option<String>,
    pub shared: Arc<Shared>,
    pub info: Arc<Mutex<ProcessInfo>>,
}

/// Starts the checker thread; it ends when the returned sender is dropped.
pub fn start(ctx: CheckContext) -> io::Result<Sender<HealthCmd>> {
    let (tx, rx) = unbounded();
    std::thread::Builder::new()
        .name(format!("health:{}", ctx.cfg.name))
        .stack_size(128 * 1024)
        .spawn(move || run(ctx, rx))?;
    Ok(tx)
}

fn set_health(ctx: &CheckContext, h: &str) {
    ctx.info.lock().unwrap_or_else(|e| e.into_inner()).health = Some(h.to_string());
}

fn run(ctx: CheckContext, rx: Receiver<HealthCmd>) {
    set_health(&ctx, "starting");
    let interval = Duration::from_secs(ctx.check.interval_secs);
    let mut next: Option<Instant> = None;
    let mut failures = 0u32;
    let mut healthy: Option<bool> = None;
    loop {
        let timer = next.map(at).unwrap_or_else(never);
        select! {
            recv(rx) -> cmd => match cmd {
                Ok(HealthCmd::Running) => {
                    failures = 0;
                    healthy = None;
                    set_health(&ctx, "starting");
                    next = Some(Instant::now() + interval);
                }
                Ok(HealthCmd::NotRunning) => {
                    next = None;
                    set_health(&ctx, "starting");
                }
                Err(_) => return,
            },
            recv(timer) -> _ => {
                let ok = run_check(&ctx);
                failures = if ok { 0 } else { failures + 1 };
                healthy = judge(&ctx, healthy, ok, failures);
                next = Some(Instant::now() + interval);
            }
        }
    }
}

/// The health after one check: healthy on success, unhealthy after `retries` failures in a
/// row, unchanged in between; transitions are logged.
fn judge(ctx: &CheckContext, before: Option<bool>, ok: bool, failures: u32) -> Option<bool> {
    let name = &ctx.cfg.name;
    if ok {
        if before == Some(false) {
            log::info!("health check passed: {name} is healthy again");
        }
        set_health(ctx, "healthy");
        return Some(true);
    }
    if failures < ctx.check.retries.max(1) {
        return before;
    }
    if before != Some(false) {
        log::warn!("health check failed: {name} is unhealthy ({failures} failures in a row)");
    }
    set_health(ctx, "unhealthy");
    Some(false)
}

/// Runs the check command once; true when it exited 0 within the timeout.
fn run_check(ctx: &CheckContext) -> bool {
    let argv0 = ctx.check.argv.first().map(String::as_str).unwrap_or("");
    let path = match resolve(argv0, ctx.search_path.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            log::debug!("health check of {}: {}", ctx.cfg.name, e.message);
            return false;
        }
    };
    let spec = SpawnSpec {
        path: &path,
        argv: &ctx.check.argv,
        env: &ctx.env,
        directory: ctx.cfg.directory.as_deref(),
        umask: ctx.cfg.umask,
        user: ctx.cfg.user.as_ref(),
        redirect_stderr: true,
        max_fd: ctx.shared.max_fd,
    };
    let (Ok(prepared), Ok(pipes)) = (Prepared::new(&spec), PipeSet::null()) else {
        return false;
    };
    let (tx, exits) = unbounded();
    let spawned = {
        let _blocked = SignalsBlocked::new();
        ctx.shared
            .reaper
            .spawn_registered(tx, || spawn_child(&prepared, pipes))
    };
    let Ok((pid, parent)) = spawned else {
        return false;
    };
    let _ = exec_result(parent.status);
    let timeout = Duration::from_secs(ctx.check.timeout_secs);
    select! {
        recv(exits) -> e => matches!(e, Ok(r) if r.status == ExitStatus::Exited(0)),
        recv(after(timeout)) -> _ => {
            log::debug!("health check of {} timed out; killing pid {pid}", ctx.cfg.name);
            // SAFETY: the pid is our child, not yet reaped (its exit has not been delivered).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = exits.recv_timeout(Duration::from_secs(5));
            false
        }
    }
}
