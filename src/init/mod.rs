//! Process-wide duties: command line, signals, PID 1 / subreaper, daemonizing, main loop,
//! startup and shutdown ordering, reload, exit status.
//!
//! Where this differs from Supervisor 4.3 on purpose (everything else follows it):
//! - Exits are handled when they happen (SIGCHLD), not on a 1 s loop: no RUNNING-then-EXITED
//!   race for early exits, respawns within milliseconds, idle means no wakeups at all.
//! - Shutdown stops all programs of one priority level in parallel (Supervisor: one group at a
//!   time), `depends_on` dependents before their dependencies; then, as PID 1 or subreaper,
//!   leftover descendants get SIGTERM, `shutdown_grace_secs`, SIGKILL, and are reaped. A
//!   second exit request sends SIGKILL to what is left.
//! - A broken config on SIGHUP or `reload` keeps the running configuration (Supervisor exits
//!   with status 2); an exit request during a reload's stop phase ends in shutdown.
//! - As PID 1 supervisord never daemonizes, ignores SIGTTIN/SIGTTOU, and passes every other
//!   catchable signal (USR1, WINCH, ALRM, PWR, ...) on to the running programs (Supervisor
//!   dies from them).
//! - Reaped unknown pids are logged at DEBG (Supervisor: INFO, 2 lines a second for a program
//!   making orphans).
//! - An `essential` program that ends for good makes supervisord shut down and exit with its
//!   status.
//! - A panic in the signal thread or the main loop stops every program and exits 70; shutdown
//!   is bounded per level (slowest `stopwaitsecs` + `shutdown_grace`), and a second exit
//!   request ends supervisord within a second.
//! - `supervisord [options] [--] COMMAND [ARG...]` runs a container's command after the
//!   programs are up and exits with its status (Supervisor refuses positional arguments).

pub mod cli;
mod command;
pub mod command_opts;
mod faults;
mod mainloop;
pub mod malloc;
mod shutdown;
mod signals;
mod startup;
pub mod system;

use std::sync::Arc;

use crate::config::{Config, Loader};

/// The exit status after a thread of supervisord died (a panic, or a broken invariant):
/// `EX_SOFTWARE`, "internal software error", so a container runtime restarts the container.
pub const FAULT_STATUS: i32 = 70;

/// Runs supervisord with the given arguments (without argv[0]); returns the exit status.
pub fn supervisord_main(argv0: &str, argv: Vec<std::ffi::OsString>) -> i32 {
    let opts = match cli::main_prelude(argv0, argv) {
        Ok(opts) => opts,
        Err(status) => return status,
    };
    let config = match cli::load_config(&opts) {
        Ok(c) => c,
        Err(e) => {
            cli::print_usage_error(argv0, &e.to_string());
            return 2;
        }
    };
    let command = if opts.command.argv.is_empty() {
        None
    } else {
        let env = |k: &str| std::env::var(k).ok();
        match command_opts::Settings::resolve(&opts.command, &env) {
            Ok(s) => Some(s),
            Err(e) => {
                cli::print_usage_error(argv0, &e);
                return 2;
            }
        }
    };
    let loader: Loader = Box::new(move || cli::load_config(&opts).map_err(|e| e.to_string()));
    run_with(argv0, Arc::new(config), loader, command)
}

/// Runs supervisord with a loaded configuration until shutdown; returns the exit status.
/// Start-up failures are usage errors (status 2), reported like Supervisor's.
pub fn run(argv0: &str, config: Arc<Config>, loader: Loader) -> i32 {
    run_with(argv0, config, loader, None)
}

/// [`run`] with the container's command, if there is one.
pub fn run_with(
    argv0: &str,
    config: Arc<Config>,
    loader: Loader,
    command: Option<command_opts::Settings>,
) -> i32 {
    let mut rt = match startup::start(config, loader, command) {
        Ok(rt) => rt,
        Err(msg) => {
            cli::print_usage_error(argv0, &msg);
            return 2;
        }
    };
    mainloop::run(&mut rt)
}
