//! supervisord's own log as the `log` crate logger, in Supervisor's format
//! `YYYY-MM-DD HH:MM:SS,mmm LEVL message` (local time). Until [`init_main_log`] runs, messages
//! go to stderr. Levels beyond the `log` crate's: `crit!` (target "crit" at Error) and
//! `blather!` (target "blather" at Trace).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use super::rotate::RotatingFile;
use super::stream::{own_fd_number, StreamOut};
use super::syslog::{self, SyslogOut};
use super::timefmt::main_log_stamp;
use crate::config::{LogLevel, MainLogFile, SupervisordConfig};

/// Logs at Supervisor's CRIT level.
#[macro_export]
macro_rules! crit {
    ($($arg:tt)+) => { ::log::error!(target: "crit", $($arg)+) };
}

/// Logs at Supervisor's BLAT (blather) level.
#[macro_export]
macro_rules! blather {
    ($($arg:tt)+) => { ::log::trace!(target: "blather", $($arg)+) };
}

enum Target {
    File(RotatingFile),
    Stream(StreamOut),
    Syslog(SyslogOut),
}

struct MainLog {
    level: LogLevel,
    target: Target,
    /// The copy to stdout in nodaemon mode.
    echo: Option<StreamOut>,
    /// Readable path (regular files only).
    path: Option<PathBuf>,
}

/// `None` until configured: messages go to stderr.
static STATE: Mutex<Option<MainLog>> = Mutex::new(None);
/// The foreground copy of the main log goes to stderr instead of stdout (set when stdout
/// belongs to a container's command, whose output it must not mix with).
static ECHO_TO_STDERR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sends the foreground copy of the main log to stderr from the next [`init_main_log`] on.
pub fn echo_to_stderr() {
    ECHO_TO_STDERR.store(true, std::sync::atomic::Ordering::Relaxed);
}
static LOGGER: MainLogger = MainLogger;

fn state() -> MutexGuard<'static, Option<MainLog>> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Supervisor's level of a `log` record.
pub fn level_of(level: log::Level, target: &str) -> LogLevel {
    match level {
        log::Level::Error if target == "crit" => LogLevel::Critical,
        log::Level::Error => LogLevel::Error,
        log::Level::Warn => LogLevel::Warn,
        log::Level::Info => LogLevel::Info,
        log::Level::Debug => LogLevel::Debug,
        log::Level::Trace if target == "blather" => LogLevel::Blather,
        log::Level::Trace => LogLevel::Trace,
    }
}

pub fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Critical => "CRIT",
        LogLevel::Error => "ERRO",
        LogLevel::Warn => "WARN",
        LogLevel::Info => "INFO",
        LogLevel::Debug => "DEBG",
        LogLevel::Trace => "TRAC",
        LogLevel::Blather => "BLAT",
    }
}

fn syslog_severity(level: LogLevel) -> u8 {
    match level {
        LogLevel::Critical => 2,
        LogLevel::Error => 3,
        LogLevel::Warn => 4,
        LogLevel::Info => 6,
        _ => 7,
    }
}

fn max_level(level: LogLevel) -> log::LevelFilter {
    match level {
        LogLevel::Critical | LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Trace | LogLevel::Blather => log::LevelFilter::Trace,
    }
}

/// One line of the main log, newline included.
pub fn format_line(now: SystemTime, level: LogLevel, message: &str) -> String {
    format!("{} {} {message}\n", main_log_stamp(now), level_name(level))
}

struct MainLogger;

impl log::Log for MainLogger {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        let configured = state().as_ref().map(|s| s.level).unwrap_or(LogLevel::Info);
        level_of(meta.level(), meta.target()) <= configured
    }

    fn log(&self, record: &log::Record) {
        let level = level_of(record.level(), record.target());
        let mut guard = state();
        let _inside = Inside::enter();
        match guard.as_mut() {
            None if level <= LogLevel::Info => {
                let line = format_line(SystemTime::now(), level, &record.args().to_string());
                let _ = io::stderr().write_all(line.as_bytes());
            }
            None => {}
            Some(s) if level <= s.level => s.emit(level, &record.args().to_string()),
            Some(_) => {}
        }
    }

    fn flush(&self) {}
}

impl MainLog {
    fn emit(&mut self, level: LogLevel, message: &str) {
        let line = format_line(SystemTime::now(), level, message);
        match &mut self.target {
            Target::File(f) => {
                f.write(line.as_bytes());
                // Not through `log`: this runs inside the logger.
                if let Some(e) = f.take_rotate_error() {
                    let _ = writeln!(
                        io::stderr(),
                        "supervisord: rotating {}: {e}",
                        f.path().display()
                    );
                }
            }
            Target::Stream(s) => {
                s.write(line.as_bytes());
            }
            // Supervisor formats syslog records like file lines (stamp and level included).
            Target::Syslog(s) => {
                s.send_lines(syslog_severity(level), b"", line.as_bytes());
            }
        }
        if let Some(e) = &mut self.echo {
            e.write(line.as_bytes());
        }
    }
}

thread_local! {
    /// Whether this thread is inside the logger (holding the log's lock).
    static IN_LOGGER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as inside the logger while it lives.
struct Inside;

impl Inside {
    fn enter() -> Inside {
        IN_LOGGER.with(|c| c.set(true));
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        IN_LOGGER.with(|c| c.set(false));
    }
}

/// Writes a CRIT line for a panic. A panic inside the logger itself (its lock held by this
/// very thread) goes to stderr instead of deadlocking on the lock.
pub fn log_panic(message: &str) {
    if IN_LOGGER.with(|c| c.get()) {
        let line = format_line(SystemTime::now(), LogLevel::Critical, message);
        let _ = io::stderr().write_all(line.as_bytes());
        return;
    }
    log::error!(target: "crit", "{message}");
}

/// Installs the logger writing to stderr (before the configuration is loaded). Idempotent.
pub fn init_stderr_log() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

fn open_target(cfg: &SupervisordConfig) -> io::Result<(Target, Option<PathBuf>)> {
    let p = match &cfg.logfile {
        MainLogFile::Syslog => {
            let s = SyslogOut::new(Path::new(syslog::DEFAULT_SOCKET));
            return Ok((Target::Syslog(s), None));
        }
        MainLogFile::Path(p) => p,
    };
    let stream =
        own_fd_number(p).is_some() || matches!(std::fs::metadata(p), Ok(m) if !m.is_file());
    let err =
        |e: io::Error| io::Error::new(e.kind(), format!("opening logfile {}: {e}", p.display()));
    if stream {
        return Ok((Target::Stream(StreamOut::open(p).map_err(err)?), None));
    }
    let f = RotatingFile::open(p, cfg.logfile_maxbytes, cfg.logfile_backups, 0o666).map_err(err)?;
    Ok((Target::File(f), Some(p.clone())))
}

/// Configures the main log from `[supervisord]` (again on reload: the new settings replace the
/// old ones; on error the old ones stay).
pub fn init_main_log(cfg: &SupervisordConfig, nodaemon: bool) -> io::Result<()> {
    init_stderr_log();
    let (target, path) = open_target(cfg)?;
    let to_stderr = ECHO_TO_STDERR.load(std::sync::atomic::Ordering::Relaxed);
    let (echo_fd, echo_path) = if to_stderr {
        (2, "/dev/stderr")
    } else {
        (1, "/dev/stdout")
    };
    let logs_to_echo =
        matches!(&cfg.logfile, MainLogFile::Path(p) if own_fd_number(p) == Some(echo_fd));
    let echo = if nodaemon && !cfg.silent && !logs_to_echo {
        StreamOut::open(Path::new(echo_path)).ok()
    } else {
        None
    };
    *state() = Some(MainLog {
        level: cfg.loglevel,
        target,
        echo,
        path,
    });
    log::set_max_level(max_level(cfg.loglevel));
    Ok(())
}

/// Reopens the main log file at its path (SIGUSR2).
pub fn reopen_main_log() {
    if let Some(MainLog {
        target: Target::File(f),
        ..
    }) = state().as_mut()
    {
        if let Err(e) = f.reopen() {
            let _ = writeln!(
                io::stderr(),
                "supervisord: reopening {}: {e}",
                f.path().display()
            );
        }
    }
}

/// Path of the main log when it is a regular file (readLog, tail).
pub fn main_log_path() -> Option<PathBuf> {
    state().as_ref().and_then(|s| s.path.clone())
}

/// Removes the main log file and starts an empty one (clearLog).
pub fn clear_main_log() -> io::Result<()> {
    match state().as_mut() {
        Some(MainLog {
            target: Target::File(f),
            ..
        }) => f.clear().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("clearing logfile {}: {e}", f.path().display()),
            )
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_supervisor_names() {
        assert_eq!(level_name(level_of(log::Level::Error, "crit")), "CRIT");
        assert_eq!(level_name(level_of(log::Level::Error, "x")), "ERRO");
        assert_eq!(level_name(level_of(log::Level::Warn, "x")), "WARN");
        assert_eq!(level_name(level_of(log::Level::Info, "x")), "INFO");
        assert_eq!(level_name(level_of(log::Level::Debug, "x")), "DEBG");
        assert_eq!(level_name(level_of(log::Level::Trace, "x")), "TRAC");
        assert_eq!(level_name(level_of(log::Level::Trace, "blather")), "BLAT");
    }

    #[test]
    fn line_format() {
        let l = format_line(
            SystemTime::now(),
            LogLevel::Info,
            "supervisord started with pid 1",
        );
        assert_eq!(&l[23..], " INFO supervisord started with pid 1\n");
    }
}
