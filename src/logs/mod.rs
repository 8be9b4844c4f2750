//! Where output goes: child output capture (pipes → sinks) and supervisord's own log.
//!
//! Contract used by the engine:
//! - [`SinkSpec`] + [`Sink::open`]: one sink per (process, channel), created with the process
//!   (AUTO files are named and created then), living across restarts of the process.
//! - [`OutputPump::attach`]: hand over the parent end of a child's stdout/stderr pipe; it is
//!   drained until EOF into the sink without ever blocking the child.
//! - [`Sink::reopen`] (SIGUSR2), [`Sink::clear`] (clearProcessLogs), [`Sink::path`],
//!   [`Sink::bytes_written`] / [`Sink::bytes_dropped`], [`Sink::set_observer`] (log events) and
//!   [`Sink::set_filter`] (capture mode: what reaches the log).
//! - [`cleanup_auto_logs`]: start-up removal of old AUTO logs.
//! - [`init_main_log`] and friends: the `log` crate logger in Supervisor's format.
//!
//! Design: one pump thread with one epoll set drains every pipe (a thread per pipe moves bytes
//! no faster and costs ~75 KiB resident each) through one shared 256 KiB buffer; a busy pipe
//! is grown to 1 MiB. (splice(2) into the file was measured and dropped: 4-5x slower on ext4,
//! see `pump_worker`.) Nothing the pump does can block: files are written directly (a full
//! disk drops and counts), non-seekable targets are non-blocking with a bounded backlog.
//!
//! Where this deliberately differs from Supervisor 4.3:
//! - A non-seekable log file (`/dev/stdout`, a FIFO) with `maxbytes` set gets one warning and is
//!   never rotated (Supervisor logs "Illegal seek" for every chunk read).
//! - Output to a pipe is written in whole lines, so programs sharing supervisord's stdout never
//!   interleave within a line; a stalled reader costs dropped output, never a blocked program.
//! - `logfile=/dev/stdout` with `nodaemon` prints each main log line once, not twice.
//! - `stdout_prefix`/`stderr_prefix` (extensions) are followed by a space unless they end with
//!   whitespace: INI parsing drops a trailing space, `[web]` and `[web] ` both give `[web] line`.
//! - The AUTO cleanup pattern is anchored at the end (`….log` or `….log.N`), so a file that
//!   only starts like an AUTO log is kept.

mod ansi;
mod auto;
mod epoll;
mod fdio;
mod main_log;
mod prefix;
mod pump;
mod pump_worker;
mod rotate;
mod sink;
mod stream;
mod syslog;
mod timefmt;
mod transform;

pub use auto::{cleanup_auto_logs, is_auto_log_name};
pub use main_log::{
    clear_main_log, echo_to_stderr, format_line as format_main_log_line, init_main_log,
    init_stderr_log, level_name, log_panic, main_log_path, reopen_main_log,
};
pub use pump::OutputPump;
pub use sink::{Filter, Observer, Sink, SinkSpec};
