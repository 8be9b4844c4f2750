//! Where output goes: child output capture (pipes → sinks) and supervisord's own log.
//!
//! Contract used by the engine:
//! - [`SinkSpec`] + [`Sink::open`]: one sink per (process, channel), created with the process
//!   (AUTO files are named and created then), living across restarts of the process.
//! - [`OutputPump::attach`]: hand over the parent end of a child's stdout/stderr pipe; it is
//!   drained until EOF into the sink without ever blocking the child.
//! - [`Sink::reopen`] (SIGUSR2), [`Sink::clear`] (clearProcessLogs), [`Sink::path`],
//!   [`Sink::bytes_written`] / [`Sink::bytes_dropped`], [`Sink::set_observer`] (capture/events).
//! - [`cleanup_auto_logs`]: start-up removal of old AUTO logs.
//! - [`init_main_log`] and friends: the `log` crate logger in Supervisor's format.

mod ansi;
mod auto;
mod fdio;
mod main_log;
mod prefix;
mod pump;
mod rotate;
mod sink;
mod stream;
mod syslog;
mod timefmt;
mod transform;

pub use auto::{cleanup_auto_logs, is_auto_log_name};
pub use main_log::{
    clear_main_log, format_line as format_main_log_line, init_main_log, init_stderr_log,
    level_name, main_log_path, reopen_main_log,
};
pub use pump::OutputPump;
pub use sink::{Observer, Sink, SinkSpec};
