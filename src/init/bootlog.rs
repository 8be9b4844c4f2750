//! A minimal main logger in Supervisor's format (`2024-01-01 12:00:00,123 INFO text`), used
//! until the `logs` module provides the full one (rotation, syslog).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The `log` target that marks a CRIT line (the `log` crate has no critical level).
pub const CRIT: &str = "crit";

struct MainLog {
    file: Mutex<Option<File>>,
    to_stdout: bool,
    level: LevelFilter,
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r fills the zeroed struct we pass.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

fn level_name(record: &Record<'_>) -> &'static str {
    if record.target() == CRIT {
        return "CRIT";
    }
    match record.level() {
        Level::Error => "ERRO",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug => "DEBG",
        Level::Trace => "TRAC",
    }
}

impl Log for MainLog {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format!("{} {} {}\n", timestamp(), level_name(record), record.args());
        if let Some(f) = self.file.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            let _ = f.write_all(line.as_bytes());
        }
        if self.to_stdout {
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger; `path` None means no file. Only the first call takes effect.
pub fn init(path: Option<&Path>, to_stdout: bool, level: LevelFilter) -> std::io::Result<()> {
    let file = match path {
        Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
        None => None,
    };
    let logger = MainLog {
        file: Mutex::new(file),
        to_stdout,
        level,
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level);
    }
    Ok(())
}
