//! What supervisord does with the signals that neither stop nor reload it: USR2 reopens the
//! logs, and the rest (USR1, WINCH, ALRM, PWR, ...) go on to the running programs. Used by
//! the main loop and, during shutdown, by the stop loop.

use crate::programs::Command;
use crate::state::names::signal_name;

use super::startup::Runtime;

/// SIGUSR2: reopen the main log and every process log.
pub fn reopen_logs(rt: &Runtime) {
    log::info!("received SIGUSR2 indicating log reopen request");
    crate::logs::reopen_main_log();
    for p in rt.engine.all() {
        p.stdout_sink.reopen();
        if let Some(s) = &p.stderr_sink {
            s.reopen();
        }
    }
    log::info!("supervisord logreopen");
}

/// Passes a signal supervisord received on to every running program (in command mode: to
/// the command only).
pub fn forward(rt: &Runtime, sig: i32) {
    if let Some(c) = &rt.command {
        c.forward(&rt.engine, sig);
        return;
    }
    log::debug!(
        "received {}, passing it on to the running programs",
        signal_name(sig)
    );
    for p in rt.engine.all() {
        p.send(Command::Forward(sig));
    }
}
