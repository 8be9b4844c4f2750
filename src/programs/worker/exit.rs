//! Signalling the child (stop, kill, forwarded signals) and recording how it ended.

use std::io;

use crate::state::names::signal_name;
use crate::state::ExitStatus;
use crate::util::{lock, unix_secs};

use super::super::machine::{ExitKind, Failure, SignalKind};
use super::Worker;

impl Worker {
    pub(super) fn signal_kind(&mut self, kind: SignalKind) {
        let (sig, group) = match kind {
            SignalKind::Stop => (
                self.stop_signal.unwrap_or(self.cfg.stopsignal),
                self.cfg.stopasgroup,
            ),
            SignalKind::Kill => (libc::SIGKILL, self.cfg.killasgroup),
            SignalKind::Abort => (libc::SIGABRT, self.cfg.stopasgroup),
        };
        let as_group = if group { "process group " } else { "" };
        log::debug!(
            "killing {} (pid {}) {as_group}with signal {}",
            self.cfg.name,
            self.pid,
            signal_name(sig)
        );
        if let Err(e) = self.kill(sig, group) {
            log::error!(
                "unknown problem killing {} ({}): {e}",
                self.cfg.name,
                self.pid
            );
        }
    }

    /// Sends `sig` to the child (or its process group); a child that just exited is fine.
    pub(super) fn kill(&self, sig: i32, group: bool) -> io::Result<()> {
        if self.pid <= 0 {
            return Ok(());
        }
        let target = if group { -self.pid } else { self.pid };
        let Err(e) = crate::util::kill(target, sig) else {
            return Ok(());
        };
        if e.raw_os_error() == Some(libc::ESRCH) {
            log::debug!(
                "unable to signal {} (pid {}), it probably just exited on its own: {e}",
                self.cfg.name,
                self.pid
            );
            return Ok(());
        }
        Err(e)
    }

    pub(super) fn record_exit(&mut self, kind: ExitKind) {
        let status = self.last_exit.unwrap_or(ExitStatus::Exited(0));
        let name = &self.cfg.name;
        let desc = status.describe();
        {
            let mut info = lock(&self.info);
            info.stop = unix_secs();
            info.pid = 0;
            match kind {
                ExitKind::Early => {
                    info.exitstatus = 0;
                    info.spawnerr = "Exited too quickly (process log may have details)".into();
                }
                ExitKind::Normal { expected } => {
                    info.exitstatus = status.code();
                    if !expected {
                        info.spawnerr = format!("Bad exit code {}", status.code());
                    }
                }
                ExitKind::Stopped => info.exitstatus = status.code(),
                ExitKind::Failed(f) => {
                    info.exitstatus = status.code();
                    info.spawnerr = match f {
                        Failure::StartTimeout => "start timeout (start_timeout)".into(),
                        Failure::Watchdog => "watchdog timeout (watchdog_secs)".into(),
                    };
                }
            }
        }
        self.exited_pid = self.pid;
        self.pid = 0;
        self.stdin = None;
        match kind {
            ExitKind::Early | ExitKind::Failed(_) => {
                log::warn!("exited: {name} ({desc}; not expected)")
            }
            ExitKind::Normal { expected: true } => log::info!("exited: {name} ({desc}; expected)"),
            ExitKind::Normal { expected: false } => {
                log::warn!("exited: {name} ({desc}; not expected)")
            }
            ExitKind::Stopped if status.is_expected(&self.cfg.exitcodes) => {
                log::info!("stopped: {name} ({desc})")
            }
            ExitKind::Stopped => log::warn!("stopped: {name} ({desc})"),
        }
    }
}
