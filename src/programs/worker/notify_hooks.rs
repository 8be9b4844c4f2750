//! The worker's side of readiness (`type=notify`): the sd_notify socket it owns, the
//! s6-style readiness pipe of each spawn, and turning what they say into table events.

use std::os::fd::{AsRawFd, OwnedFd};

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::config::{ProcessConfig, ServiceType};
use crate::programs::machine::Event;
use crate::programs::notify::{self, Datagram, Notice, NotifySocket};
use crate::util::lock;

use super::Worker;

/// Readiness plumbing of a notify program.
pub(super) struct Notify {
    /// The sd_notify socket (none with `notify_fd`, or when it could not be opened).
    socket: Option<NotifySocket>,
    tx: Sender<Datagram>,
    pub(super) rx: Receiver<Datagram>,
}

impl Notify {
    pub(super) fn for_config(cfg: &ProcessConfig) -> Option<Notify> {
        if cfg.service.kind != ServiceType::Notify {
            return None;
        }
        let (tx, rx) = unbounded();
        let socket = match cfg.service.notify_fd {
            Some(_) => None,
            None => match NotifySocket::open(tx.clone()) {
                Ok(s) => Some(s),
                Err(e) => {
                    log::error!("cannot open the notify socket of {}: {e}", cfg.name);
                    None
                }
            },
        };
        Some(Notify { socket, tx, rx })
    }
}

impl Worker {
    /// NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID for the program's own process (not its
    /// health checks). WATCHDOG_PID is a placeholder here: the child writes its own pid into
    /// it (see `pid_slot`).
    pub(super) fn notify_env(&self, over: &mut Vec<(String, String)>) {
        let Some(n) = &self.notify else { return };
        if let Some(s) = &n.socket {
            over.push(("NOTIFY_SOCKET".into(), s.address().to_string()));
        }
        if let Some(ms) = self.cfg.service.watchdog_ms {
            over.push(("WATCHDOG_USEC".into(), (ms * 1000).to_string()));
            over.push(("WATCHDOG_PID".into(), String::new()));
        }
    }

    /// A new child with a readiness pipe: a small thread waits for its newline.
    pub(super) fn watch_ready_fd(&self, pid: i32, read_end: OwnedFd) {
        let Some(n) = &self.notify else { return };
        let tx = n.tx.clone();
        let spawned = std::thread::Builder::new()
            .name("ready-fd".into())
            .stack_size(32 * 1024)
            .spawn(move || {
                if wait_for_newline(&read_end) {
                    let _ = tx.send(Datagram {
                        pid,
                        notices: vec![Notice::Ready],
                    });
                }
            });
        if let Err(e) = spawned {
            log::error!("cannot watch the notify fd of {}: {e}", self.cfg.name);
        }
    }

    /// A datagram (or a readiness pipe's newline) arrived.
    #[inline(never)]
    pub(super) fn notified(&mut self, d: Datagram) {
        let cfg = self.cfg.clone();
        let name = &cfg.name;
        if !notify::belongs_to(d.pid, self.pid) {
            log::debug!(
                "notify message for {name} from pid {} ignored: not its process",
                d.pid
            );
            return;
        }
        for n in d.notices {
            match n {
                Notice::Ready => {
                    self.feed(Event::Ready);
                }
                Notice::Watchdog => {
                    self.feed(Event::WatchdogPing);
                }
                Notice::WatchdogTrigger => {
                    self.feed(Event::WatchdogTimeout);
                }
                Notice::Status(text) => {
                    log::debug!("{name} status: {text}");
                    lock(&self.info).service.status_text = Some(text);
                }
                Notice::Stopping => log::info!("{name} reports that it is stopping"),
                Notice::Reloading => log::info!("{name} reports that it is reloading"),
                Notice::Errno(e) => log::info!("{name} reports errno {e}"),
                Notice::MainPid(p) => log::debug!("{name}: MAINPID={p} ignored"),
                Notice::Other(s) => log::debug!("{name}: notify {s:?} ignored"),
            }
        }
    }
}

/// Reads until a newline (true) or the end of the pipe (false).
fn wait_for_newline(fd: &OwnedFd) -> bool {
    let mut buf = [0u8; 64];
    loop {
        let n = match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        if buf[..n].contains(&b'\n') {
            return true;
        }
    }
}
