//! The worker's side of `memory_limit` (extension; superlance's memmon built in): while the
//! process is up, every `memory_check_interval` seconds the resident memory of its process
//! tree is read from /proc; above the limit the process is stopped the usual way (stopsignal,
//! stopwaitsecs, then SIGKILL) and started again, with the usual state changes and events.
//! Only programs that set a limit have this timer; it lives on the worker's one deadline.

use std::time::{Duration, Instant};

use crate::programs::machine::Event;
use crate::state::ProcessState;

use super::Worker;

/// Memory-limit state a worker keeps (only for programs with `memory_limit`).
pub(super) struct MemoryLimit {
    limit: u64,
    every: Duration,
    /// The next check, while the process is up.
    next: Option<Instant>,
    /// The limit was exceeded: start the process again once it has stopped.
    restart_pending: bool,
}

impl MemoryLimit {
    pub(super) fn for_config(cfg: &crate::config::ProcessConfig) -> Option<MemoryLimit> {
        Some(MemoryLimit {
            limit: cfg.memory_limit?,
            every: Duration::from_secs(cfg.memory_check_interval),
            next: None,
            restart_pending: false,
        })
    }
}

/// `1536` → `1.5 KiB`: sizes in the log in the units people read.
fn size(bytes: u64) -> String {
    let mut v = bytes as f64;
    for unit in ["bytes", "KiB", "MiB", "GiB"] {
        if v < 1024.0 || unit == "GiB" {
            return if unit == "bytes" {
                format!("{bytes} bytes")
            } else {
                format!("{v:.1} {unit}")
            };
        }
        v /= 1024.0;
    }
    unreachable!()
}

impl Worker {
    /// When the memory check next needs the worker (folded into its one deadline).
    pub(super) fn memory_deadline(&self) -> Option<Instant> {
        self.memory.as_ref().and_then(|m| m.next)
    }

    /// The worker's deadline fired: check the tree's memory if a check is due.
    #[inline(never)]
    pub(super) fn memory_timer(&mut self) {
        let now = Instant::now();
        let pid = self.pid;
        let Some(m) = self.memory.as_mut() else {
            return;
        };
        if m.next.is_none_or(|at| at > now) {
            return;
        }
        m.next = Some(now + m.every);
        let Some(rss) = crate::usage::tree_rss(pid) else {
            return;
        };
        if rss <= m.limit || m.restart_pending {
            return;
        }
        log::warn!(
            "{} uses {} of resident memory (pid {pid} and its descendants), above its memory_limit of {}: restarting it",
            self.cfg.name,
            size(rss),
            size(m.limit)
        );
        m.restart_pending = true;
        m.next = None;
        self.feed(Event::Stop);
    }

    /// After each event: a restart asked for by the limit starts once the process stopped.
    #[inline(never)]
    pub(super) fn memory_restart(&mut self) {
        let Some(m) = self.memory.as_mut() else {
            return;
        };
        if !m.restart_pending || !self.m.state.is_stopped() {
            return;
        }
        m.restart_pending = false;
        if self.m.state == ProcessState::Stopped && !self.m.shutting_down {
            self.feed(Event::Start);
        }
    }

    /// A stop was requested: the process stays stopped even if the limit had asked for a
    /// restart.
    pub(super) fn memory_cancel_restart(&mut self) {
        if let Some(m) = self.memory.as_mut() {
            m.restart_pending = false;
        }
    }

    /// Every state change: checks run while the process is STARTING or RUNNING.
    pub(super) fn memory_on_state(&mut self, to: ProcessState) {
        let Some(m) = self.memory.as_mut() else {
            return;
        };
        let up = matches!(to, ProcessState::Starting | ProcessState::Running);
        match (up, m.next) {
            (true, None) if !m.restart_pending => m.next = Some(Instant::now() + m.every),
            (false, _) => m.next = None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_in_binary_units() {
        assert_eq!(super::size(512), "512 bytes");
        assert_eq!(super::size(64 << 20), "64.0 MiB");
        assert_eq!(super::size(3 << 30), "3.0 GiB");
    }
}
