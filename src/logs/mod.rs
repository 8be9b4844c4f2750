//! Where output goes: child output capture (pipes → sinks) and supervisord's own log.
//!
//! Contract used by the engine (kept stable; the implementation behind it may change):
//! - [`SinkSpec`] + [`Sink::open`]: one sink per (process, channel), created with the process
//!   (AUTO files are named and created then), living across restarts of the process.
//! - [`OutputPump::attach`]: hand over the parent end of a child's stdout/stderr pipe; it is
//!   drained until EOF into the sink without ever blocking the child.
//! - [`Sink::reopen`] (SIGUSR2), [`Sink::clear`] (clearProcessLogs), [`Sink::path`].
//! - [`init_main_log`]: installs the `log` crate logger in Supervisor's format.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::config::{LogConfig, LogFile};

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

/// One destination for one channel of one process.
pub struct Sink {
    path: Option<PathBuf>,
    file: Mutex<Option<File>>,
}

impl Sink {
    pub fn open(spec: &SinkSpec) -> io::Result<Arc<Sink>> {
        let path = match &spec.config.file {
            LogFile::Path(p) => Some(p.clone()),
            LogFile::Auto => Some(spec.childlogdir.join(format!(
                "{}-{}---{}-auto.log",
                spec.process_name, spec.channel, spec.identifier
            ))),
            LogFile::None | LogFile::Syslog => None,
        };
        let file = match &path {
            Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
            None => None,
        };
        Ok(Arc::new(Sink { path, file: Mutex::new(file) }))
    }

    pub fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    pub fn write(&self, data: &[u8]) {
        if let Some(f) = self.file.lock().unwrap().as_mut() {
            let _ = f.write_all(data);
        }
    }

    pub fn reopen(&self) {}

    pub fn clear(&self) -> io::Result<()> {
        Ok(())
    }
}

/// Drains child pipes into sinks.
pub struct OutputPump;

impl OutputPump {
    pub fn new() -> io::Result<Arc<OutputPump>> {
        Ok(Arc::new(OutputPump))
    }

    /// Drains `pipe` into `sink` until EOF.
    pub fn attach(&self, pipe: OwnedFd, sink: Arc<Sink>) {
        std::thread::spawn(move || {
            let mut f = File::from(pipe);
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.write(&buf[..n]);
            }
        });
    }
}

/// Installs the main logger (stub: stderr only).
pub fn init_main_log() {}
