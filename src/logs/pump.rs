//! The output pump: one thread, one epoll set over every child pipe, draining each as soon as
//! it is readable so a child never blocks on a full pipe. This is the handle other threads use;
//! the thread itself is in `pump_worker`.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Sender;
use nix::sys::epoll::EpollFlags;

use super::epoll::{Epoll, Waker};
use super::pump_worker::{Cmd, Worker, WAKE_TOKEN};
use super::sink::Sink;

/// Drains child pipes into sinks.
pub struct OutputPump {
    tx: Sender<Cmd>,
    waker: Arc<Waker>,
    active: Arc<AtomicUsize>,
}

impl OutputPump {
    /// Starts the pump thread.
    pub fn new() -> io::Result<Arc<OutputPump>> {
        let epoll = Epoll::new()?;
        let waker = Arc::new(Waker::new()?);
        epoll.add(waker.fd(), EpollFlags::EPOLLIN, WAKE_TOKEN)?;
        let (tx, rx) = crossbeam_channel::unbounded();
        let active = Arc::new(AtomicUsize::new(0));
        let worker = Worker::new(epoll, waker.clone(), rx, active.clone());
        std::thread::Builder::new()
            .name("output-pump".into())
            .stack_size(256 * 1024)
            .spawn(move || worker.run())?;
        Ok(Arc::new(OutputPump { tx, waker, active }))
    }

    /// Drains `pipe` into `sink` until EOF.
    pub fn attach(&self, pipe: OwnedFd, sink: Arc<Sink>) {
        self.send(Cmd::Attach {
            pipe,
            sink,
            on_eof: None,
        });
    }

    /// Like [`attach`](Self::attach); `on_eof` runs on the pump thread once the pipe is closed
    /// and everything read from it has been handed to the sink (written, or for a full stdout
    /// pipe queued in its backlog). Keep it short: send on a channel.
    pub fn attach_with_eof(
        &self,
        pipe: OwnedFd,
        sink: Arc<Sink>,
        on_eof: impl FnOnce() + Send + 'static,
    ) {
        self.send(Cmd::Attach {
            pipe,
            sink,
            on_eof: Some(Box::new(on_eof)),
        });
    }

    /// Reads, before it returns, whatever the pipes feeding `sinks` hold now, as Supervisor's
    /// `drain()` does when it reaps a child: output a child wrote before it exited is handed to
    /// its sinks (and logged) before its exit is. Waits at most `limit` for the pump thread.
    pub fn drain(&self, sinks: Vec<Arc<Sink>>, limit: Duration) {
        let (done, answered) = crossbeam_channel::bounded(1);
        self.send(Cmd::Drain { sinks, done });
        if answered.recv_timeout(limit).is_err() {
            log::warn!("output pump did not drain within {limit:?}; exit handled first");
        }
    }

    /// Pipes currently being drained.
    pub fn active_pipes(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    fn send(&self, cmd: Cmd) {
        if self.tx.send(cmd).is_err() {
            log::error!("output pump thread is gone: child output cannot be drained");
            return;
        }
        self.waker.wake();
    }
}

impl Drop for OutputPump {
    fn drop(&mut self) {
        let _ = self.tx.send(Cmd::Stop);
        self.waker.wake();
    }
}
