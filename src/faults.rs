//! Panics as supervisord sees them: the message of a caught panic, and the test-only switch
//! that makes a chosen thread panic on demand.
//!
//! The switch is the environment variable `SUPERVISORD_RS_TEST_PANIC`, read once, at the first
//! check. It exists only so the tests can show that every thread's death is contained; it is
//! not a feature and must never be set in production. Its values:
//! - `worker:NAME`: the worker of process NAME panics when it is asked to stop (a stop
//!   request, or shutdown);
//! - `hang:NAME`: the worker of process NAME stops answering when it is asked to stop;
//! - `signal`: the signal thread panics when SIGUSR1 arrives;
//! - `signal-dead`: the signal thread panics at every signal, SIGCHLD included, until it gives
//!   up (then init reaps by itself);
//! - `mainloop`: the main loop panics when SIGUSR1 arrives.
//!
//! Each point fires once, except `signal-dead` and `hang`. Built into every binary (a cargo feature would force the tests onto
//! a second build); the check is one load of a `OnceLock` on cold paths only.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// The environment variable tests set.
pub const TEST_PANIC_VAR: &str = "SUPERVISORD_RS_TEST_PANIC";

fn switch() -> Option<&'static str> {
    static SWITCH: OnceLock<Option<String>> = OnceLock::new();
    SWITCH
        .get_or_init(|| std::env::var(TEST_PANIC_VAR).ok().filter(|v| !v.is_empty()))
        .as_deref()
}

/// Panics if the test switch names `point` and has not fired yet.
pub fn inject(point: &str) {
    static FIRED: AtomicBool = AtomicBool::new(false);
    if switch() == Some(point) && !FIRED.swap(true, Ordering::SeqCst) {
        panic!("injected fault ({TEST_PANIC_VAR}={point})");
    }
}

/// Panics, every time, if the test switch is `point` (a thread that keeps failing).
pub fn inject_always(point: &str) {
    if switch() == Some(point) {
        panic!("injected fault ({TEST_PANIC_VAR}={point})");
    }
}

/// Panics if the test switch is `worker:NAME` for this `name` and has not fired yet; blocks
/// the calling thread for good if it is `hang:NAME` (a worker stuck in a bug).
pub fn inject_worker(name: &str) {
    let Some(switch) = switch() else { return };
    if switch.strip_prefix("worker:") == Some(name) {
        inject(switch);
    }
    if switch.strip_prefix("hang:") == Some(name) {
        loop {
            std::thread::park();
        }
    }
}

/// The text of a caught panic's payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}
