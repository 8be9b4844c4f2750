//! One destination for one channel (stdout/stderr) of one process: a rotating file, a
//! non-seekable stream (supervisord's own stdout/stderr, a FIFO, /dev/null), nothing (`NONE`),
//! plus optionally syslog. Lives across restarts of the process; shared by the pump (writes)
//! and the control plane (reopen, clear, counters).

use std::io;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use super::auto::create_auto_log;
use super::rotate::RotatingFile;
use super::stream::{own_fd_number, Outcome, StreamOut};
use super::syslog::{self, SyslogOut};
use crate::config::{LogConfig, LogFile};

/// Sees every chunk of a channel's output (after ANSI stripping, before prefixes): the hook for
/// capture mode and PROCESS_LOG events. Runs on the pump thread: it must not block (hand the
/// bytes to a channel or a bounded buffer).
pub type Observer = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// Decides what of a chunk reaches the log (appends it to the `Vec`): the hook for capture mode,
/// where the bytes between PROCESS_COMMUNICATION tokens (and the tokens) stay out of the normal
/// log. Sees the chunk after the observer; keeps its own state across chunks. Runs on the pump
/// thread: it must not block.
pub type Filter = Arc<dyn Fn(&[u8], &mut Vec<u8>) + Send + Sync>;

/// Everything needed to open one child log sink.
#[derive(Debug, Clone)]
pub struct SinkSpec {
    pub config: LogConfig,
    pub process_name: String,
    pub group_name: String,
    /// "stdout" or "stderr".
    pub channel: &'static str,
    pub childlogdir: PathBuf,
    pub identifier: String,
    pub strip_ansi: bool,
}

pub(crate) enum Target {
    Discard,
    File(RotatingFile),
    Stream(StreamOut),
}

/// One destination for one channel of one process.
pub struct Sink {
    pub(crate) process_name: String,
    pub(crate) channel: &'static str,
    path: Option<PathBuf>,
    regular_file: bool,
    pub(crate) prefix: Option<Vec<u8>>,
    pub(crate) strip_ansi: bool,
    target: Mutex<Target>,
    pub(crate) syslog: Option<SyslogOut>,
    observer: RwLock<Option<Observer>>,
    filter: RwLock<Option<Filter>>,
    written: AtomicU64,
    dropped: AtomicU64,
    /// A write failed and no write has succeeded since (one warning per episode).
    failing: AtomicBool,
}

/// A path naming a non-seekable target: never sought, never rotated.
fn is_stream_path(path: &Path) -> bool {
    if own_fd_number(path).is_some() {
        return true;
    }
    // Only an existing non-regular file (FIFO, tty, /dev/null); opening a FIFO for writing in
    // blocking mode could hang, so this is decided before opening.
    matches!(std::fs::metadata(path), Ok(m) if !m.is_file())
}

/// The bytes put before each line: the configured text, followed by a space unless it already
/// ends with whitespace (INI values lose trailing spaces, so `stdout_prefix=[web] ` arrives as
/// `[web]`; the space keeps `[web] hello` readable).
fn line_prefix(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() {
        return None;
    }
    let mut p = text.as_bytes().to_vec();
    if !text.ends_with(char::is_whitespace) {
        p.push(b' ');
    }
    Some(p)
}

fn context(e: io::Error, what: String) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// The target for `spec`, its path, and whether that is a regular (rotatable, readable) file.
fn open_target(spec: &SinkSpec) -> io::Result<(Target, Option<PathBuf>, bool)> {
    let cfg = &spec.config;
    let what = |p: &Path| format!("opening {}_logfile {}", spec.channel, p.display());
    match &cfg.file {
        LogFile::None | LogFile::Syslog => Ok((Target::Discard, None, false)),
        LogFile::Auto => {
            let p = create_auto_log(
                &spec.childlogdir,
                &spec.process_name,
                spec.channel,
                &spec.identifier,
            )?;
            let f = RotatingFile::open(&p, cfg.maxbytes, cfg.backups, 0o600)
                .map_err(|e| context(e, what(&p)))?;
            Ok((Target::File(f), Some(p), true))
        }
        LogFile::Path(p) if is_stream_path(p) => {
            let s = StreamOut::open(p).map_err(|e| context(e, what(p)))?;
            if cfg.maxbytes > 0 {
                log::warn!(
                    "{}_logfile {} for '{}' is not seekable: {}_logfile_maxbytes is ignored \
                     (it is never rotated; set it to 0 to silence this warning)",
                    spec.channel,
                    p.display(),
                    spec.process_name,
                    spec.channel
                );
            }
            Ok((Target::Stream(s), Some(p.clone()), false))
        }
        LogFile::Path(p) => {
            let f = RotatingFile::open(p, cfg.maxbytes, cfg.backups, 0o666)
                .map_err(|e| context(e, what(p)))?;
            Ok((Target::File(f), Some(p.clone()), true))
        }
    }
}

impl Sink {
    /// Opens the sink described by `spec` (creates the AUTO file now, as Supervisor does when
    /// the process group is created).
    pub fn open(spec: &SinkSpec) -> io::Result<Arc<Sink>> {
        let cfg = &spec.config;
        let (target, path, regular_file) = open_target(spec)?;
        let wants_syslog = cfg.syslog || cfg.file == LogFile::Syslog;
        Ok(Arc::new(Sink {
            process_name: spec.process_name.clone(),
            channel: spec.channel,
            path,
            regular_file,
            prefix: cfg.prefix.as_deref().and_then(line_prefix),
            strip_ansi: spec.strip_ansi,
            target: Mutex::new(target),
            syslog: wants_syslog.then(|| SyslogOut::new(Path::new(syslog::DEFAULT_SOCKET))),
            observer: RwLock::new(None),
            filter: RwLock::new(None),
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        }))
    }

    /// The configured path (AUTO resolved); `None` for NONE and syslog.
    pub fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    /// The path when it is a regular file that can be read back (tail, readLog).
    pub fn readable_path(&self) -> Option<PathBuf> {
        self.path.clone().filter(|_| self.regular_file)
    }

    /// Bytes that reached the target.
    pub fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Bytes drained from the child but lost because the target failed or was full.
    pub fn bytes_dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Installs (or removes) the observer that sees every chunk of output.
    pub fn set_observer(&self, observer: Option<Observer>) {
        *self.observer.write().unwrap_or_else(|p| p.into_inner()) = observer;
    }

    pub(crate) fn observer(&self) -> Option<Observer> {
        self.observer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Installs (or removes) the filter deciding what of each chunk is written.
    pub fn set_filter(&self, filter: Option<Filter>) {
        *self.filter.write().unwrap_or_else(|p| p.into_inner()) = filter;
    }

    pub(crate) fn filter(&self) -> Option<Filter> {
        self.filter
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn lock(&self) -> MutexGuard<'_, Target> {
        self.target.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `data` as is (no prefix, no stripping) to the target.
    pub fn write(&self, data: &[u8]) {
        self.write_outcome(data);
    }

    /// Writes `data` and says whether bytes wait for the target to become writable.
    pub(crate) fn write_outcome(&self, data: &[u8]) -> bool {
        let outcome = match &mut *self.lock() {
            Target::Discard => Outcome::default(),
            Target::File(f) => {
                let w = f.write(data);
                self.report_rotation(f);
                Outcome {
                    written: w.bytes as u64,
                    dropped: (data.len() - w.bytes) as u64,
                    error: w.error,
                    pending: false,
                }
            }
            Target::Stream(s) => s.write(data),
        };
        let pending = outcome.pending;
        self.account(outcome);
        pending
    }

    /// Sends `data` to syslog when enabled (each line tagged with the process name).
    pub(crate) fn send_syslog(&self, data: &[u8]) {
        if let Some(s) = &self.syslog {
            let mut tag = self.process_name.as_bytes().to_vec();
            tag.push(b' ');
            let lost = s.send_lines(syslog::INFO, &tag, data);
            self.dropped.fetch_add(lost, Ordering::Relaxed);
        }
    }

    /// The descriptor to watch for writability while a stream backlog waits.
    pub(crate) fn stream_fd(&self) -> Option<RawFd> {
        match &*self.lock() {
            Target::Stream(s) => Some(s.fd()),
            _ => None,
        }
    }

    /// Writes a waiting backlog; returns whether some is still waiting.
    pub(crate) fn flush_backlog(&self) -> bool {
        let outcome = match &mut *self.lock() {
            Target::Stream(s) => s.flush(),
            _ => Outcome::default(),
        };
        let pending = outcome.pending;
        self.account(outcome);
        pending
    }

    fn account(&self, o: Outcome) {
        self.written.fetch_add(o.written, Ordering::Relaxed);
        self.dropped.fetch_add(o.dropped, Ordering::Relaxed);
        match o.error {
            Some(e) if !self.failing.swap(true, Ordering::Relaxed) => {
                log::warn!(
                    "writing {} output of '{}' to {} failed: {e}; dropping output until it works again",
                    self.channel,
                    self.process_name,
                    self.describe()
                );
            }
            Some(_) => {}
            None if o.written > 0 && self.failing.swap(false, Ordering::Relaxed) => {
                log::info!(
                    "writing {} output of '{}' to {} works again ({} bytes dropped in total)",
                    self.channel,
                    self.process_name,
                    self.describe(),
                    self.bytes_dropped()
                );
            }
            None => {}
        }
    }

    fn report_rotation(&self, f: &mut RotatingFile) {
        if let Some(e) = f.take_rotate_error() {
            log::warn!(
                "rotating {} log of '{}' at {} failed: {e}",
                self.channel,
                self.process_name,
                f.path().display()
            );
        }
    }

    fn describe(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "its log".into())
    }

    /// Reopens the file at its path (SIGUSR2, after an external logrotate renamed it).
    pub fn reopen(&self) {
        if let Target::File(f) = &mut *self.lock() {
            if let Err(e) = f.reopen() {
                log::warn!(
                    "reopening {} log of '{}' at {} failed: {e}",
                    self.channel,
                    self.process_name,
                    f.path().display()
                );
            }
        }
    }

    /// Removes the file and starts an empty one (clearProcessLogs).
    pub fn clear(&self) -> io::Result<()> {
        match &mut *self.lock() {
            Target::File(f) => f
                .clear()
                .map_err(|e| context(e, format!("clearing log file {}", f.path().display()))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::line_prefix;

    #[test]
    fn prefixes_are_separated_from_the_line_by_one_space() {
        assert_eq!(line_prefix("[web]").unwrap(), b"[web] ");
        assert_eq!(line_prefix("[web] ").unwrap(), b"[web] ");
        assert_eq!(line_prefix("web |\t").unwrap(), b"web |\t");
        assert_eq!(line_prefix(""), None);
    }
}
