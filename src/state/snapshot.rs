//! A protocol-free snapshot of one process: what the engine publishes and every reader
//! (control plane, metrics, events) shares.

use super::ProcessState;

/// A snapshot of one process, as the engine publishes it (`now` and `description` are derived
/// by the server when it answers).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessInfo {
    pub name: String,
    pub group: String,
    pub state: ProcessState,
    /// 0 when not running.
    pub pid: i32,
    /// Last spawn time, seconds since the epoch (0 = never).
    pub start: i64,
    /// Last exit time (0 = never).
    pub stop: i64,
    /// Exit code of the last exit; -1 when it died from a signal; 0 when unknown.
    pub exitstatus: i32,
    pub spawnerr: String,
    /// Resolved log paths ("" when none).
    pub stdout_logfile: String,
    pub stderr_logfile: String,
    // Extensions (not part of Supervisor's struct; sent only where documented).
    /// `None` without a health check, else "healthy" / "unhealthy" / "starting".
    pub health: Option<String>,
    /// How many times the process was spawned.
    pub spawns: u64,
    pub log_bytes_written: u64,
    pub log_bytes_dropped: u64,
    /// The service extensions' view (all empty for a plain program).
    pub service: ServiceInfo,
}

/// What the service extensions add to a snapshot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceInfo {
    /// `None` for Supervisor's kind of program, else "oneshot" or "notify".
    pub kind: Option<&'static str>,
    /// The last `STATUS=` text a notify service sent.
    pub status_text: Option<String>,
    /// When the next automatic start is due, seconds since the epoch (0 = none is pending).
    pub next_start: i64,
    /// The program has restart-policy keys: its descriptions say when the next try comes.
    pub shows_next_start: bool,
}

impl ProcessInfo {
    pub fn namespec(&self) -> String {
        if self.group == self.name {
            self.name.clone()
        } else {
            format!("{}:{}", self.group, self.name)
        }
    }
}
