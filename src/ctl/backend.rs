//! The contract between the control plane (RPC server) and the engine.
//!
//! The server resolves names, shapes XML-RPC answers and reads log files by path; everything
//! that touches a process goes through this trait, which the engine (`init`) implements on top
//! of its channels. Blocking calls block only the calling connection's thread.

use std::path::PathBuf;

use super::protocol::faults::{self, Fault};
use crate::config::{Config, GroupConfig};
use crate::programs::{ErrorKind, ProcessError};
use crate::state::{ProcessInfo, SupervisorState};

impl From<ProcessError> for Fault {
    /// Supervisor's fault for each way the engine refuses or fails a request.
    fn from(e: ProcessError) -> Fault {
        let code = match e.kind {
            ErrorKind::BadName => faults::BAD_NAME,
            ErrorKind::ShuttingDown => faults::SHUTDOWN_STATE,
            ErrorKind::NoFile => faults::NO_FILE,
            ErrorKind::NotExecutable => faults::NOT_EXECUTABLE,
            ErrorKind::Failed => faults::FAILED,
            ErrorKind::AbnormalTermination => faults::ABNORMAL_TERMINATION,
            ErrorKind::SpawnError => faults::SPAWN_ERROR,
            ErrorKind::AlreadyStarted => faults::ALREADY_STARTED,
            ErrorKind::NotRunning => faults::NOT_RUNNING,
        };
        Fault::new(code, e.detail.as_deref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Stdout,
    Stderr,
}

/// Groups that `reloadConfig` found added, changed and removed, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigDiff {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// One per-process outcome of a multi-process operation, in the order Supervisor reports them.
pub type ProcessResult = (String, Result<(), Fault>);

/// What the control plane may ask of the engine. Names are full namespecs of single processes
/// (`grp:proc` or `proc`); the server expands `all` and `g:*` itself from `all_process_info`.
pub trait Backend: Send + Sync + 'static {
    fn state(&self) -> SupervisorState;
    fn identification(&self) -> String;
    fn pid(&self) -> i32;
    /// The configuration currently in force (for getAllConfigInfo, avail, auth...).
    fn config(&self) -> std::sync::Arc<Config>;
    /// Names of the groups currently active (in use).
    fn active_groups(&self) -> Vec<String>;

    /// All processes in lexical (group, name) order.
    fn all_process_info(&self) -> Vec<ProcessInfo>;
    fn process_info(&self, namespec: &str) -> Result<ProcessInfo, Fault>;

    /// Starts each process; with `wait`, returns once each is RUNNING or has failed.
    fn start(&self, namespecs: &[String], wait: bool) -> Vec<ProcessResult>;
    /// Stops each process; with `wait`, returns once each is stopped.
    /// A process with a pending start (see `start_pending`) counts as running here: stopping
    /// it cancels that start.
    fn stop(&self, namespecs: &[String], wait: bool) -> Vec<ProcessResult>;
    fn signal(&self, namespecs: &[String], signal: i32) -> Vec<ProcessResult>;
    /// Whether a start of this (stopped) process is pending, held until its `depends_on`
    /// programs are up.
    fn start_pending(&self, _namespec: &str) -> bool {
        false
    }
    fn send_stdin(&self, namespec: &str, data: &[u8]) -> Result<(), Fault>;

    /// Begins an orderly shutdown after the reply is sent.
    fn shutdown(&self) -> Result<(), Fault>;
    /// Begins a reload (stop everything, re-read config, start again in the same process).
    fn restart(&self) -> Result<(), Fault>;
    /// Re-reads the config file (in memory only) and reports what changed.
    fn reload_config(&self) -> Result<ConfigDiff, Fault>;
    /// The config last read by `reload_config` (or the one in force), for avail/add.
    fn pending_groups(&self) -> Vec<GroupConfig>;
    fn add_group(&self, name: &str) -> Result<(), Fault>;
    /// Whether `getAllConfigInfo` reports the files AUTO logs of this (running) group were
    /// given. Supervisor reports `'auto'` instead for the configs a `reloadConfig` read, until
    /// the group is added again from them.
    fn auto_logs_resolved(&self, _group: &str) -> bool {
        true
    }
    fn remove_group(&self, name: &str) -> Result<(), Fault>;

    /// Path of a process log, `None` when it has none (NONE, syslog, redirected stderr).
    fn log_path(&self, namespec: &str, channel: Channel) -> Result<Option<PathBuf>, Fault>;
    fn clear_process_logs(&self, namespec: &str) -> Result<(), Fault>;
    fn main_log_path(&self) -> Option<PathBuf>;
    fn clear_main_log(&self) -> Result<(), Fault>;

    fn send_remote_comm_event(&self, kind: &str, data: &str) -> Result<(), Fault>;
}
