//! Helpers shared by the `logs_*` integration tests.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use supervisor_rs::config::{LogConfig, LogFile};
use supervisor_rs::logs::SinkSpec;

use super::wait::wait_for;

/// A child process killed (and waited for) on drop.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl KillOnDrop {
    /// Waits up to `limit` for the child to exit; returns whether it did.
    pub fn exits_within(&mut self, limit: Duration) -> bool {
        wait_for(limit.as_secs_f64(), || {
            matches!(self.0.try_wait(), Ok(Some(_)))
        })
    }
}

pub fn log_config(file: LogFile, maxbytes: u64, backups: u32) -> LogConfig {
    LogConfig {
        file,
        maxbytes,
        backups,
        capture_maxbytes: 0,
        events_enabled: false,
        syslog: false,
        prefix: None,
    }
}

pub fn spec(config: LogConfig, dir: &Path) -> SinkSpec {
    SinkSpec {
        config,
        process_name: "prog".into(),
        group_name: "prog".into(),
        channel: "stdout",
        childlogdir: dir.to_path_buf(),
        identifier: "supervisor".into(),
        strip_ansi: false,
    }
}

/// Runs `sh -c script` with stdout on a pipe; returns the child and the parent's read end.
pub fn sh_with_stdout_pipe(script: &str) -> (KillOnDrop, OwnedFd) {
    let mut child = Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawning sh");
    let out = child.stdout.take().expect("stdout pipe");
    (KillOnDrop(child), OwnedFd::from(out))
}

pub fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// `path` followed by `.n`.
pub fn numbered(p: &Path, n: u32) -> PathBuf {
    PathBuf::from(format!("{}.{n}", p.display()))
}

/// A channel-backed EOF signal for `attach_with_eof`.
pub fn eof_signal() -> (
    impl FnOnce() + Send + 'static,
    crossbeam_channel::Receiver<()>,
) {
    let (tx, rx) = crossbeam_channel::bounded(1);
    (
        move || {
            let _ = tx.send(());
        },
        rx,
    )
}

pub const LONG: Duration = Duration::from_secs(30);
