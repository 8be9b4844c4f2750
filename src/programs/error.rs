//! Why the engine refused or failed a request, in its own terms. The control plane maps each
//! kind to one of Supervisor's fault codes; the engine itself knows nothing of XML-RPC.

use std::fmt;

/// The kinds of refusal and failure a process request can meet. Each names a condition
/// Supervisor reports with a fault of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No process or group of that name.
    BadName,
    /// supervisord is shutting down or reloading.
    ShuttingDown,
    /// The command's file does not exist, or stdin is closed.
    NoFile,
    /// The command's file cannot be executed.
    NotExecutable,
    /// The process is in a state that cannot serve the request (UNKNOWN), or a system call
    /// failed.
    Failed,
    /// The process stopped or failed while the request waited for it.
    AbnormalTermination,
    /// The process could not be spawned.
    SpawnError,
    AlreadyStarted,
    NotRunning,
}

/// A refused or failed request: its kind and the detail Supervisor puts after the fault name
/// (usually the namespec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessError {
    pub kind: ErrorKind,
    pub detail: Option<String>,
}

impl ProcessError {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> ProcessError {
        ProcessError {
            kind,
            detail: Some(detail.into()),
        }
    }

    /// The answer for a process whose worker thread died (`FAILED`): the request can never
    /// be served, and waiting would hang the caller.
    pub fn worker_died(namespec: &str) -> ProcessError {
        ProcessError::new(ErrorKind::Failed, format!("{namespec}: worker died"))
    }

    /// An error without detail (`SHUTDOWN_STATE` has none).
    pub fn bare(kind: ErrorKind) -> ProcessError {
        ProcessError { kind, detail: None }
    }
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(d) => write!(f, "{:?}: {d}", self.kind),
            None => write!(f, "{:?}", self.kind),
        }
    }
}

/// The outcome of one request to one process.
pub type Outcome = Result<(), ProcessError>;

/// One per-process outcome of a multi-process operation: the namespec and what happened.
pub type ProcessResult = (String, Outcome);
